// The OpenSSL 3 natives behind crypto.subtle: one function per primitive,
// taking key bytes per call (see crypto_natives.h for the byte forms). Each
// primitive is a plain function returning absl::StatusOr; the natives at the
// bottom only move arguments in and results (or errors) out.
#include "worker/api/crypto_natives.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <climits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kiln::worker::api {
namespace {

using Bytes = absl::Span<const uint8_t>;

// Frees any OpenSSL object owned through Ossl<T>.
struct OsslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};
template <typename T>
using Ossl = std::unique_ptr<T, OsslFree>;

// A status naming what failed and OpenSSL's first reason; empties the
// thread's OpenSSL error queue so failures never pile up across calls.
absl::Status Failure(absl::string_view what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  if (reason == nullptr) return absl::InvalidArgumentError(what);
  return absl::InvalidArgumentError(absl::StrCat(what, " (", reason, ")"));
}

// OpenSSL wants a valid pointer even for zero bytes in some paths.
const uint8_t* Ptr(Bytes b) {
  static const uint8_t kEmpty = 0;
  return b.empty() ? &kEmpty : b.data();
}

std::string Str(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

absl::StatusOr<const EVP_MD*> Hash(absl::string_view name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  return absl::InvalidArgumentError(absl::StrCat("unknown hash ", name));
}

// ---- digest, HMAC ----------------------------------------------------------

absl::StatusOr<std::string> Digest(absl::string_view hash, Bytes data) {
  absl::StatusOr<const EVP_MD*> md = Hash(hash);
  if (!md.ok()) return md.status();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(Ptr(data), data.size(), out, &size, *md, nullptr) != 1) return Failure("digest failed");
  return Str(out, size);
}

absl::StatusOr<std::string> Hmac(absl::string_view hash, Bytes key, Bytes data) {
  absl::StatusOr<const EVP_MD*> md = Hash(hash);
  if (!md.ok()) return md.status();
  if (key.empty()) return absl::InvalidArgumentError("HMAC key is empty");
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, EVP_MD_get0_name(*md), nullptr, key.data(), key.size(),
                Ptr(data), data.size(), out, sizeof(out), &size) == nullptr) {
    return Failure("HMAC failed");
  }
  return Str(out, size);
}

// ---- AES-GCM ---------------------------------------------------------------

const EVP_CIPHER* AesGcm(size_t key_size) {
  switch (key_size) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

// Checks the shared AES-GCM arguments and starts `ctx` for `encrypt`ing or
// decrypting, with the additional data already absorbed.
absl::Status AesGcmStart(EVP_CIPHER_CTX* ctx, bool encrypt, Bytes key, Bytes iv, Bytes aad,
                         int tag_size, size_t data_size) {
  const EVP_CIPHER* cipher = AesGcm(key.size());
  if (cipher == nullptr) return absl::InvalidArgumentError("AES key must be 16, 24 or 32 bytes");
  if (tag_size < 4 || tag_size > 16) return absl::InvalidArgumentError("bad AES-GCM tag length");
  // OpenSSL 3's GCM takes IVs of 1 to 128 bytes (WebCrypto allows longer).
  if (iv.empty() || iv.size() > 128) return absl::InvalidArgumentError("AES-GCM iv must be 1 to 128 bytes");
  if (aad.size() > INT_MAX || data_size > INT_MAX - 16) {
    return absl::InvalidArgumentError("AES-GCM input too large");
  }
  int len = 0;
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), iv.data(), encrypt) != 1 ||
      (!aad.empty() &&
       EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)) {
    return Failure("AES-GCM setup failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AesGcmEncrypt(Bytes key, Bytes iv, Bytes aad, int tag_size,
                                          Bytes plaintext) {
  Ossl<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return Failure("out of memory");
  absl::Status started = AesGcmStart(ctx.get(), true, key, iv, aad, tag_size, plaintext.size());
  if (!started.ok()) return started;
  std::string out(plaintext.size() + tag_size, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  int len = 0, final_len = 0;
  if ((!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), p, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), p + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, p + plaintext.size()) != 1) {
    return Failure("AES-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmDecrypt(Bytes key, Bytes iv, Bytes aad, int tag_size, Bytes sealed) {
  if (tag_size < 0 || sealed.size() < static_cast<size_t>(tag_size)) {
    return absl::InvalidArgumentError("AES-GCM data is shorter than its tag");
  }
  Bytes ciphertext = sealed.first(sealed.size() - tag_size);
  Bytes tag = sealed.last(tag_size);
  Ossl<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return Failure("out of memory");
  absl::Status started = AesGcmStart(ctx.get(), false, key, iv, aad, tag_size, ciphertext.size());
  if (!started.ok()) return started;
  std::string out(ciphertext.size(), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  int len = 0, final_len = 0;
  if ((!ciphertext.empty() &&
       EVP_DecryptUpdate(ctx.get(), p, &len, ciphertext.data(), static_cast<int>(ciphertext.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return Failure("AES-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), p + len, &final_len) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("AES-GCM authentication failed");
  }
  return out;
}

// ---- curves: keys ----------------------------------------------------------

struct Curve {
  absl::string_view name;  // WebCrypto's
  const char* group;       // OpenSSL's EC group; nullptr for Ed25519
  size_t size;             // L: bytes of a coordinate, a scalar or an Ed25519 key
  bool ed25519() const { return group == nullptr; }
  size_t public_size() const { return ed25519() ? size : 1 + 2 * size; }
  size_t private_size() const { return size + public_size(); }
};

constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
    {"Ed25519", nullptr, 32},
};

absl::StatusOr<Curve> FindCurve(absl::string_view name) {
  for (const Curve& curve : kCurves) {
    if (curve.name == name) return curve;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown curve ", name));
}

// An EC key of `curve` from its public point and, when not empty, private
// scalar `d`. OpenSSL refuses points that are not on the curve.
absl::StatusOr<Ossl<EVP_PKEY>> EcKey(const Curve& curve, Bytes d, Bytes point) {
  Ossl<OSSL_PARAM_BLD> build(OSSL_PARAM_BLD_new());
  Ossl<BIGNUM> scalar(d.empty() ? nullptr : BN_bin2bn(d.data(), static_cast<int>(d.size()), nullptr));
  if (build == nullptr || (!d.empty() && scalar == nullptr) ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1 ||
      (scalar != nullptr && OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1)) {
    return Failure("out of memory");
  }
  Ossl<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(build.get()));
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, d.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
                        params.get()) != 1) {
    return Failure(absl::StrCat("not a valid ", curve.name, " key"));
  }
  return Ossl<EVP_PKEY>(key);
}

// The EVP_PKEY of a key in canonical form (see crypto_natives.h).
absl::StatusOr<Ossl<EVP_PKEY>> KeyFromCanonical(const Curve& curve, Bytes key, bool is_private) {
  if (key.size() != (is_private ? curve.private_size() : curve.public_size())) {
    return absl::InvalidArgumentError(absl::StrCat("wrong size for a ", curve.name, " key"));
  }
  if (curve.ed25519()) {
    EVP_PKEY* pkey = is_private
                         ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key.data(), curve.size)
                         : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), curve.size);
    if (pkey == nullptr) return Failure("not a valid Ed25519 key");
    return Ossl<EVP_PKEY>(pkey);
  }
  return is_private ? EcKey(curve, key.first(curve.size), key.subspan(curve.size))
                    : EcKey(curve, {}, key);
}

// Appends `bn` as exactly `size` big-endian bytes.
bool AppendPadded(const BIGNUM* bn, size_t size, std::string& out) {
  size_t at = out.size();
  out.resize(at + size);
  return BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data() + at), static_cast<int>(size)) ==
         static_cast<int>(size);
}

// The canonical form of `pkey`, which must be a key of `curve`.
absl::StatusOr<std::string> CanonicalFromKey(const Curve& curve, EVP_PKEY* pkey, bool is_private) {
  std::string out;
  if (curve.ed25519()) {
    if (!EVP_PKEY_is_a(pkey, "ED25519")) return absl::InvalidArgumentError("not an Ed25519 key");
    uint8_t seed[32], pub[32];
    size_t seed_size = sizeof(seed), pub_size = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &pub_size) != 1 ||
        (is_private && EVP_PKEY_get_raw_private_key(pkey, seed, &seed_size) != 1)) {
      return Failure("cannot read the Ed25519 key");
    }
    if (is_private) out = Str(seed, seed_size);
    out += Str(pub, pub_size);
    OPENSSL_cleanse(seed, sizeof(seed));
    return out;
  }
  char group[64];
  if (!EVP_PKEY_is_a(pkey, "EC") ||
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not an EC key on a named curve");
  }
  if (absl::string_view(group) != curve.group) {
    return absl::InvalidArgumentError(absl::StrCat("the key is not on ", curve.name));
  }
  BIGNUM *x = nullptr, *y = nullptr, *d = nullptr;
  bool read = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
              EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
              (!is_private || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1);
  Ossl<BIGNUM> own_x(x), own_y(y), own_d(d);
  if (!read) return Failure(absl::StrCat("cannot read the ", curve.name, " key"));
  if ((is_private && !AppendPadded(d, curve.size, out))) return Failure("bad private scalar");
  out += '\x04';
  if (!AppendPadded(x, curve.size, out) || !AppendPadded(y, curve.size, out)) return Failure("bad point");
  return out;
}

// Runs OpenSSL's public-key check, or the key-pair check for private keys.
absl::Status CheckKey(EVP_PKEY* pkey, bool is_private) {
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr) return Failure("out of memory");
  int ok = is_private ? EVP_PKEY_pairwise_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
  return ok == 1 ? absl::OkStatus() : Failure("the key does not check out");
}

// Decodes all of `der` with `decode`, refusing trailing bytes.
template <typename T, typename Decode>
Ossl<T> DecodeAll(Bytes der, Decode decode) {
  const unsigned char* p = der.data();
  Ossl<T> out(decode(&p, static_cast<long>(der.size())));
  if (out != nullptr && p != der.data() + der.size()) out.reset();
  return out;
}

absl::StatusOr<std::string> EcImportKey(absl::string_view curve_name, absl::string_view format,
                                        Bytes data) {
  absl::StatusOr<Curve> curve = FindCurve(curve_name);
  if (!curve.ok()) return curve.status();
  if (data.empty() || data.size() > INT_MAX) return absl::InvalidArgumentError("no key data");
  Ossl<EVP_PKEY> pkey;
  bool is_private = format == "pkcs8" || format == "private";
  if (format == "raw") {
    absl::StatusOr<Ossl<EVP_PKEY>> key =
        curve->ed25519() ? KeyFromCanonical(*curve, data, false) : EcKey(*curve, {}, data);
    if (!key.ok()) return key.status();
    pkey = std::move(*key);
  } else if (format == "spki") {
    pkey = DecodeAll<EVP_PKEY>(data, [](const unsigned char** p, long n) { return d2i_PUBKEY(nullptr, p, n); });
    if (pkey == nullptr) return Failure("not a SubjectPublicKeyInfo");
  } else if (format == "pkcs8") {
    Ossl<PKCS8_PRIV_KEY_INFO> info = DecodeAll<PKCS8_PRIV_KEY_INFO>(
        data, [](const unsigned char** p, long n) { return d2i_PKCS8_PRIV_KEY_INFO(nullptr, p, n); });
    if (info != nullptr) pkey.reset(EVP_PKCS82PKEY(info.get()));
    if (pkey == nullptr) return Failure("not a PKCS #8 PrivateKeyInfo");
  } else if (format == "private") {
    absl::StatusOr<Ossl<EVP_PKEY>> key = KeyFromCanonical(*curve, data, true);
    if (!key.ok()) return key.status();
    pkey = std::move(*key);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown key format ", format));
  }
  absl::StatusOr<std::string> canonical = CanonicalFromKey(*curve, pkey.get(), is_private);
  if (!canonical.ok()) return canonical.status();
  if (curve->ed25519()) {
    // OpenSSL has no Ed25519 key check; a private key must match its public half.
    if (format == "private" && Bytes(reinterpret_cast<const uint8_t*>(canonical->data()),
                                     canonical->size()) != data) {
      return absl::InvalidArgumentError("the Ed25519 public key does not match the private key");
    }
  } else {
    absl::Status checked = CheckKey(pkey.get(), is_private);
    if (!checked.ok()) return checked;
  }
  return canonical;
}

absl::StatusOr<std::string> EcExportKey(absl::string_view curve_name, absl::string_view format,
                                        Bytes key) {
  absl::StatusOr<Curve> curve = FindCurve(curve_name);
  if (!curve.ok()) return curve.status();
  if (format != "spki" && format != "pkcs8") {
    return absl::InvalidArgumentError(absl::StrCat("cannot export to ", format));
  }
  bool is_private = format == "pkcs8";
  absl::StatusOr<Ossl<EVP_PKEY>> pkey = KeyFromCanonical(*curve, key, is_private);
  if (!pkey.ok()) return pkey.status();
  unsigned char* der = nullptr;
  int size = -1;
  if (is_private) {
    Ossl<PKCS8_PRIV_KEY_INFO> info(EVP_PKEY2PKCS8(pkey->get()));
    if (info != nullptr) size = i2d_PKCS8_PRIV_KEY_INFO(info.get(), &der);
  } else {
    size = i2d_PUBKEY(pkey->get(), &der);
  }
  if (size <= 0) return Failure(absl::StrCat("cannot encode the key as ", format));
  std::string out = Str(der, size);
  OPENSSL_clear_free(der, size);
  return out;
}

absl::StatusOr<std::string> EcGenerateKey(absl::string_view curve_name) {
  absl::StatusOr<Curve> curve = FindCurve(curve_name);
  if (!curve.ok()) return curve.status();
  Ossl<EVP_PKEY> pkey(curve->ed25519() ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve->group));
  if (pkey == nullptr) return Failure("key generation failed");
  return CanonicalFromKey(*curve, pkey.get(), true);
}

// ---- curves: signatures ----------------------------------------------------

absl::StatusOr<std::string> EcSign(absl::string_view curve_name, absl::string_view hash, Bytes key,
                                   Bytes data) {
  absl::StatusOr<Curve> curve = FindCurve(curve_name);
  if (!curve.ok()) return curve.status();
  const EVP_MD* md = nullptr;  // Ed25519 hashes internally
  if (!curve->ed25519()) {
    absl::StatusOr<const EVP_MD*> found = Hash(hash);
    if (!found.ok()) return found.status();
    md = *found;
  }
  absl::StatusOr<Ossl<EVP_PKEY>> pkey = KeyFromCanonical(*curve, key, true);
  if (!pkey.ok()) return pkey.status();
  Ossl<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey->get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, Ptr(data), data.size()) != 1) {
    return Failure("signing failed");
  }
  std::string sig(size, '\0');
  auto* p = reinterpret_cast<unsigned char*>(sig.data());
  if (EVP_DigestSign(ctx.get(), p, &size, Ptr(data), data.size()) != 1) return Failure("signing failed");
  sig.resize(size);
  if (curve->ed25519()) return sig;
  // ECDSA: DER SEQUENCE { r, s } -> r || s.
  const unsigned char* der = p;
  Ossl<ECDSA_SIG> parsed(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(size)));
  std::string raw;
  if (parsed == nullptr || !AppendPadded(ECDSA_SIG_get0_r(parsed.get()), curve->size, raw) ||
      !AppendPadded(ECDSA_SIG_get0_s(parsed.get()), curve->size, raw)) {
    return Failure("cannot convert the ECDSA signature");
  }
  return raw;
}

absl::StatusOr<bool> EcVerify(absl::string_view curve_name, absl::string_view hash, Bytes key,
                              Bytes data, Bytes sig) {
  absl::StatusOr<Curve> curve = FindCurve(curve_name);
  if (!curve.ok()) return curve.status();
  const EVP_MD* md = nullptr;
  if (!curve->ed25519()) {
    absl::StatusOr<const EVP_MD*> found = Hash(hash);
    if (!found.ok()) return found.status();
    md = *found;
  }
  absl::StatusOr<Ossl<EVP_PKEY>> pkey = KeyFromCanonical(*curve, key, false);
  if (!pkey.ok()) return pkey.status();
  if (sig.size() != (curve->ed25519() ? 64 : 2 * curve->size)) return false;
  std::string der;
  if (curve->ed25519()) {
    der = Str(sig.data(), sig.size());
  } else {
    // r || s -> DER SEQUENCE { r, s }.
    Ossl<ECDSA_SIG> parsed(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(sig.data(), static_cast<int>(curve->size), nullptr);
    BIGNUM* s = BN_bin2bn(sig.data() + curve->size, static_cast<int>(curve->size), nullptr);
    if (parsed == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(parsed.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return Failure("out of memory");
    }
    unsigned char* out = nullptr;
    int size = i2d_ECDSA_SIG(parsed.get(), &out);
    if (size <= 0) return Failure("cannot encode the ECDSA signature");
    der = Str(out, size);
    OPENSSL_free(out);
  }
  Ossl<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey->get()) != 1) {
    return Failure("verification failed");
  }
  bool valid = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                Ptr(data), data.size()) == 1;
  ERR_clear_error();  // a bad signature leaves a reason behind
  return valid;
}

// ---- natives ---------------------------------------------------------------

using js::NativeCall;

// Returns `result` or throws its message. Either way the thread's OpenSSL
// error queue is left empty for the next call.
void Return(NativeCall& call, const absl::StatusOr<std::string>& result) {
  ERR_clear_error();
  if (result.ok()) {
    call.ReturnBytes(*result);
  } else {
    call.ThrowError(result.status().message());
  }
}

void Return(NativeCall& call, const absl::StatusOr<bool>& result) {
  ERR_clear_error();
  if (result.ok()) {
    call.ReturnBool(*result);
  } else {
    call.ThrowError(result.status().message());
  }
}

int TagSize(NativeCall& call, int i) {
  double n = call.Number(i);
  return n >= 0 && n <= 16 ? static_cast<int>(n) : -1;
}

// natives.digest(hash, data) -> bytes
void DigestNative(NativeCall& call) { Return(call, Digest(call.String(0), call.Bytes(1))); }

// natives.hmacSign(hash, key, data) -> bytes
void HmacSignNative(NativeCall& call) { Return(call, Hmac(call.String(0), call.Bytes(1), call.Bytes(2))); }

// natives.hmacVerify(hash, key, data, signature) -> bool
void HmacVerifyNative(NativeCall& call) {
  absl::StatusOr<std::string> mac = Hmac(call.String(0), call.Bytes(1), call.Bytes(2));
  if (!mac.ok()) return Return(call, absl::StatusOr<bool>(mac.status()));
  Bytes sig = call.Bytes(3);
  ERR_clear_error();
  call.ReturnBool(sig.size() == mac->size() && CRYPTO_memcmp(sig.data(), mac->data(), sig.size()) == 0);
}

// natives.aesGcmEncrypt(key, iv, additionalData, tagBytes, plaintext) -> bytes
void AesGcmEncryptNative(NativeCall& call) {
  Return(call, AesGcmEncrypt(call.Bytes(0), call.Bytes(1), call.Bytes(2), TagSize(call, 3), call.Bytes(4)));
}

// natives.aesGcmDecrypt(key, iv, additionalData, tagBytes, data) -> bytes
void AesGcmDecryptNative(NativeCall& call) {
  Return(call, AesGcmDecrypt(call.Bytes(0), call.Bytes(1), call.Bytes(2), TagSize(call, 3), call.Bytes(4)));
}

// natives.ecGenerateKey(curve) -> private key bytes
void EcGenerateKeyNative(NativeCall& call) { Return(call, EcGenerateKey(call.String(0))); }

// natives.ecImportKey(curve, format, data) -> canonical key bytes
void EcImportKeyNative(NativeCall& call) {
  Return(call, EcImportKey(call.String(0), call.String(1), call.Bytes(2)));
}

// natives.ecExportKey(curve, format, key) -> DER
void EcExportKeyNative(NativeCall& call) {
  Return(call, EcExportKey(call.String(0), call.String(1), call.Bytes(2)));
}

// natives.ecSign(curve, hash, privateKey, data) -> signature
void EcSignNative(NativeCall& call) {
  Return(call, EcSign(call.String(0), call.String(1), call.Bytes(2), call.Bytes(3)));
}

// natives.ecVerify(curve, hash, publicKey, data, signature) -> bool
void EcVerifyNative(NativeCall& call) {
  Return(call, EcVerify(call.String(0), call.String(1), call.Bytes(2), call.Bytes(3), call.Bytes(4)));
}

}  // namespace

std::vector<js::NativeBinding> CryptoNatives() {
  return {
      {"digest", DigestNative},
      {"hmacSign", HmacSignNative},
      {"hmacVerify", HmacVerifyNative},
      {"aesGcmEncrypt", AesGcmEncryptNative},
      {"aesGcmDecrypt", AesGcmDecryptNative},
      {"ecGenerateKey", EcGenerateKeyNative},
      {"ecImportKey", EcImportKeyNative},
      {"ecExportKey", EcExportKeyNative},
      {"ecSign", EcSignNative},
      {"ecVerify", EcVerifyNative},
  };
}

}  // namespace kiln::worker::api
