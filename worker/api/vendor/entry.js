// The npm implementations the Kiln runtime is built on, bundled by esbuild
// (//worker/api:vendor_js) into one script that defines `vendor`:
//   whatwg-url            application/x-www-form-urlencoded parsing and
//                         serializing for URLSearchParams (the WHATWG reference
//                         implementation's); URL parsing itself is native (ada,
//                         worker/api/url_natives.cc)
//   web-streams-polyfill  ReadableStream, WritableStream, TransformStream, ...
//                         (spec-following, tested against the WPT streams suite)
//   @exodus/bytes         TextEncoder/TextDecoder (+ streams) with the WHATWG
//                         labels: UTF-8, UTF-16, legacy single-byte; base64
//   @remix-run/multipart-parser  multipart/form-data parsing for formData()
// Versions are pinned in ops/js/package-lock.json.
const encoding = require('@exodus/bytes/encoding-lite.js');
// whatwg-url's encoding helpers create a TextEncoder and a TextDecoder when
// they load.
for (const name of ['TextEncoder', 'TextDecoder']) {
  Object.defineProperty(globalThis, name, { value: encoding[name], writable: true, configurable: true });
}
const urlencoded = require('whatwg-url/lib/urlencoded.js');
const streams = require('web-streams-polyfill');
const base64 = require('@exodus/bytes/base64.js');
const multipart = require('@remix-run/multipart-parser');

module.exports = {
  parseUrlencodedString: urlencoded.parseUrlencodedString,
  serializeUrlencoded: urlencoded.serializeUrlencoded,
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
