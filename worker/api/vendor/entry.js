// The npm implementations the Kiln runtime is built on, bundled by esbuild
// (//worker/api:vendor_js) into one script that defines `vendor`:
//   whatwg-url            URL, URLSearchParams (the WHATWG reference implementation);
//                         its IDNA step (tr46) is replaced by ICU through natives
//                         (tr46_icu.js), so no Unicode mapping table lives in
//                         every isolate's heap
//   web-streams-polyfill  ReadableStream, WritableStream, TransformStream, ...
//                         (spec-following, tested against the WPT streams suite)
//   @exodus/bytes         TextEncoder/TextDecoder (+ streams) with the WHATWG
//                         labels: UTF-8, UTF-16, legacy single-byte; base64
//   @remix-run/multipart-parser  multipart/form-data parsing for formData()
// Versions are pinned in ops/js/package-lock.json.
const encoding = require('@exodus/bytes/encoding-lite.js');
// whatwg-url creates a TextEncoder and a TextDecoder when it loads.
for (const name of ['TextEncoder', 'TextDecoder']) {
  Object.defineProperty(globalThis, name, { value: encoding[name], writable: true, configurable: true });
}
const { URL, URLSearchParams } = require('whatwg-url');
const streams = require('web-streams-polyfill');
const base64 = require('@exodus/bytes/base64.js');
const multipart = require('@remix-run/multipart-parser');

module.exports = {
  URL,
  URLSearchParams,
  ReadableStream: streams.ReadableStream,
  ReadableStreamDefaultReader: streams.ReadableStreamDefaultReader,
  ReadableStreamBYOBReader: streams.ReadableStreamBYOBReader,
  ReadableStreamDefaultController: streams.ReadableStreamDefaultController,
  ReadableByteStreamController: streams.ReadableByteStreamController,
  ReadableStreamBYOBRequest: streams.ReadableStreamBYOBRequest,
  WritableStream: streams.WritableStream,
  WritableStreamDefaultWriter: streams.WritableStreamDefaultWriter,
  WritableStreamDefaultController: streams.WritableStreamDefaultController,
  TransformStream: streams.TransformStream,
  TransformStreamDefaultController: streams.TransformStreamDefaultController,
  ByteLengthQueuingStrategy: streams.ByteLengthQueuingStrategy,
  CountQueuingStrategy: streams.CountQueuingStrategy,
  TextEncoder: encoding.TextEncoder,
  TextDecoder: encoding.TextDecoder,
  TextEncoderStream: encoding.TextEncoderStream,
  TextDecoderStream: encoding.TextDecoderStream,
  toBase64: base64.toBase64,
  fromBase64: base64.fromBase64,
  parseMultipart: multipart.parseMultipart,
  getMultipartBoundary: multipart.getMultipartBoundary,
};
