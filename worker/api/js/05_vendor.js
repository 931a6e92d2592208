// Kiln runtime: globals from the npm implementations bundled in `vendor`
// (worker/api/vendor/entry.js): Web Streams, TextEncoder/TextDecoder and their
// streams.

for (const name of [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
  'ReadableStreamDefaultController', 'ReadableByteStreamController', 'ReadableStreamBYOBRequest',
  'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
  'TransformStream', 'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
  'TextEncoder', 'TextDecoder', 'TextEncoderStream', 'TextDecoderStream',
]) {
  defineGlobal(name, vendor[name]);
}
