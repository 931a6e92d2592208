// Kiln runtime: the globals of the lazy modules "streams" (web-streams-polyfill)
// and "encoding" (@exodus/bytes), defined to load on first access.

for (const name of [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
  'ReadableStreamDefaultController', 'ReadableByteStreamController', 'ReadableStreamBYOBRequest',
  'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
  'TransformStream', 'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
]) {
  defineLazyGlobal(name, () => lazyModule('streams')?.[name]);
}
for (const name of ['TextEncoder', 'TextDecoder', 'TextEncoderStream', 'TextDecoderStream']) {
  defineLazyGlobal(name, () => lazyModule('encoding')?.[name]);
}

// ReadableStream without loading the streams module when none can exist yet.
function isReadableStream(value) {
  return moduleLoaded('streams') && value instanceof lazyModule('streams').ReadableStream;
}
