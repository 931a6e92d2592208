// The OpenSSL 3 natives behind crypto.subtle (worker/api/js/41_subtle.js):
// digests, HMAC, AES-GCM, ECDSA (P-256/384/521) and Ed25519. They are
// stateless: key material lives in JavaScript (CryptoKey private fields) and is
// passed in on every call, so no C++ object outlives a call and snapshots hold
// only bytes.
#pragma once

#include <vector>

#include "worker/js/native.h"

namespace kiln::worker::api {

// The natives, as `natives.<name>` for the runtime script. Arguments are
// strings and bytes (ArrayBuffer or any view); results are fresh Uint8Arrays
// or booleans. A native throws an Error whose message says what failed;
// 41_subtle.js turns it into the DOMException the WebCrypto spec names for
// that step (DataError for imports, OperationError otherwise). `hash` is a
// WebCrypto name: "SHA-1", "SHA-256", "SHA-384" or "SHA-512".
//
//   digest(hash, data) -> bytes
//   hmacSign(hash, key, data) -> bytes
//   hmacVerify(hash, key, data, signature) -> bool   (constant-time compare)
//   aesGcmEncrypt(key, iv, additionalData, tagBytes, plaintext)
//       -> ciphertext || tag; iv of 1 to 128 bytes (OpenSSL's limit)
//   aesGcmDecrypt(key, iv, additionalData, tagBytes, ciphertextAndTag)
//       -> plaintext; throws when authentication fails
//
// The curve natives take `curve` = "P-256", "P-384", "P-521" (ECDSA) or
// "Ed25519", and hold keys in one canonical byte form:
//   public  P-n: the uncompressed point 04 || X || Y (X, Y of L = 32, 48, 66
//                bytes); Ed25519: the 32-byte public key.
//   private P-n: d (L bytes, big-endian) || public; Ed25519: the 32-byte seed
//                || public.
//
//   ecGenerateKey(curve) -> private
//   ecImportKey(curve, format, data) -> canonical key; format "raw" (a public
//       point, compressed or not / a 32-byte Ed25519 key) or "spki" give a
//       public key, "pkcs8" or "private" (the canonical private form, e.g.
//       from a JWK; checked for consistency) give a private key. Throws when
//       the data is malformed, of another curve, or not a valid key.
//   ecExportKey(curve, format, key) -> DER; format "spki" (key public) or
//       "pkcs8" (key private)
//   ecSign(curve, hash, private, data) -> signature; ECDSA as r || s (2L
//       bytes, as WebCrypto wants), Ed25519 as 64 bytes; `hash` ignored for
//       Ed25519
//   ecVerify(curve, hash, public, data, signature) -> bool; false for a
//       signature of the wrong length
std::vector<js::NativeBinding> CryptoNatives();

}  // namespace kiln::worker::api
