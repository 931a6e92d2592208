// Kiln runtime: TextEncoder / TextDecoder (UTF-8), backed by V8's own UTF-8
// conversion through natives.

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') {
    return natives.encodeUtf8(String(input));
  }
  encodeInto(source, destination) {
    const bytes = natives.encodeUtf8(String(source));
    const n = Math.min(bytes.length, destination.length);
    destination.set(bytes.subarray(0, n));
    return { read: n === bytes.length ? source.length : natives.decodeUtf8(bytes.subarray(0, n)).length, written: n };
  }
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  constructor(label = 'utf-8', options = {}) {
    const name = String(label).trim().toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
      throw new RangeError(`The "${label}" encoding is not supported`);
    }
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options = {}) {
    if (input === undefined) return '';
    let bytes;
    if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
    else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    else throw new TypeError('TextDecoder.decode needs an ArrayBuffer or a view');
    if (!this.#ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
    }
    if (this.#fatal && !natives.isValidUtf8(bytes)) {
      throw new TypeError('The encoded data was not valid utf-8');
    }
    return natives.decodeUtf8(bytes);
  }
}

defineGlobal('TextEncoder', TextEncoder);
defineGlobal('TextDecoder', TextDecoder);
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
