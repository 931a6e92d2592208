// The npm code the Kiln runtime loads eagerly, bundled by esbuild
// (//worker/api:vendor_js) into one script that defines `vendor`:
//   whatwg-url      application/x-www-form-urlencoded parsing and serializing
//                   for URLSearchParams (the WHATWG reference
//                   implementation's; URL parsing itself is native: ada,
//                   worker/api/url_natives.cc)
//   @exodus/bytes   base64 for btoa
// The rest loads on first use, as lazy runtime modules (streams.js,
// encoding.js, multipart.js here; see RuntimeSpec::lazy_modules). Versions are
// pinned in ops/js/package-lock.json.

// whatwg-url's encoding helpers create a UTF-8 TextEncoder and TextDecoder
// (ignoreBOM) when they load; these stand-ins use V8's own UTF-8 conversion.
// The globals user code sees are defined afterwards (js/05_vendor.js).
class NativeUtf8Encoder {
  encode(text = '') { return natives.encodeUtf8(String(text)); }
}
class NativeUtf8Decoder {
  decode(bytes) { return natives.decodeUtf8(bytes); }
}
Object.defineProperty(globalThis, 'TextEncoder', { value: NativeUtf8Encoder, writable: true, configurable: true });
Object.defineProperty(globalThis, 'TextDecoder', { value: NativeUtf8Decoder, writable: true, configurable: true });
const urlencoded = require('whatwg-url/lib/urlencoded.js');
const base64 = require('@exodus/bytes/base64.js');

module.exports = {
  parseUrlencodedString: urlencoded.parseUrlencodedString,
  serializeUrlencoded: urlencoded.serializeUrlencoded,
  toBase64: base64.toBase64,
};
