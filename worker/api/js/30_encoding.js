// Kiln runtime: fast UTF-8 paths for bodies (V8's own conversion through
// natives), and atob/btoa (forgiving-base64, HTML Standard).

// UTF-8 decode as the Fetch body readers do it: BOM stripped, invalid
// sequences replaced by U+FFFD.
function utf8Decode(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    bytes = bytes.subarray(3);
  }
  return natives.decodeUtf8(bytes);
}

function utf8Encode(text) {
  return natives.encodeUtf8(text);
}

const BASE64_WHITESPACE = /[\t\n\f\r ]/g;
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;

defineGlobal('atob', function atob(data) {
  if (arguments.length === 0) throw new TypeError("atob requires 1 argument");
  // forgiving-base64 decode (https://infra.spec.whatwg.org/#forgiving-base64-decode)
  let text = String(data).replace(BASE64_WHITESPACE, '');
  if (text.length % 4 === 0) text = text.replace(/={1,2}$/, '');
  if (text.length % 4 === 1 || !BASE64_ALPHABET.test(text)) {
    throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  }
  // Pad, then decode leniently: the discarded bits of a final group may be set.
  const bytes = natives.decodeBase64(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return out;
});

defineGlobal('btoa', function btoa(data) {
  if (arguments.length === 0) throw new TypeError("btoa requires 1 argument");
  const text = String(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new DOMException('The string to be encoded contains characters outside of the Latin1 range.',
                             'InvalidCharacterError');
    }
    bytes[i] = code;
  }
  return vendor.toBase64(bytes);
});
