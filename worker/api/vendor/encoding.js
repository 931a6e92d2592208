// Lazy runtime module "encoding": TextEncoder, TextDecoder and their streams
// from @exodus/bytes' encoding-lite (UTF-8, UTF-16 and every legacy
// single-byte encoding of the WHATWG Encoding Standard; its streams use the
// TransformStream global, which loads the "streams" module).
const encoding = require('@exodus/bytes/encoding-lite.js');

module.exports = {
  TextEncoder: encoding.TextEncoder,
  TextDecoder: encoding.TextDecoder,
  TextEncoderStream: encoding.TextEncoderStream,
  TextDecoderStream: encoding.TextDecoderStream,
};
