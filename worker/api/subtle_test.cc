// Conformance tests for crypto.subtle (js/lazy/subtle.js over crypto_natives.cc),
// written from the WebCrypto spec and published vectors: FIPS 180 digests,
// RFC 4231 / RFC 2202 HMAC, the GCM spec's AES-GCM cases, RFC 6979 ECDSA,
// RFC 8032 / 8037 / 8410 Ed25519. Each test runs JavaScript in a real isolate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "worker/api/api_test_util.h"

namespace kiln::worker::api {
namespace {

// Helpers every test's module starts with. `rejects(fn)` names how `fn()`
// fails: the DOMException/Error name of its rejection, "sync <name>" if it
// threw instead of returning a promise, or "resolved".
constexpr char kPrelude[] = R"JS(
const subtle = crypto.subtle;
const enc = (s) => new TextEncoder().encode(s);
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
async function rejects(fn) {
  let promise;
  try { promise = fn(); } catch (e) { return 'sync ' + e.name; }
  try { await promise; return 'resolved'; } catch (e) { return e.name; }
}
)JS";

// Runs `body` inside an async fetch handler that collects lines in `out` and
// returns them joined by '\n'.
std::string RunJs(const std::string& body) {
  return testing::FetchBody(std::string(kPrelude) +
                            "export default { async fetch() {\nconst out = [];\n" + body +
                            "\nreturn new Response(out.join('\\n'));\n} };\n");
}

// ---- digest ----------------------------------------------------------------

TEST(SubtleTest, DigestKnownAnswers) {
  EXPECT_EQ(RunJs(R"JS(
    for (const h of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
      out.push(hex(await subtle.digest(h, new Uint8Array(0))));
      out.push(hex(await subtle.digest({ name: h }, enc('abc'))));
    }
  )JS"),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
            "a9993e364706816aba3e25717850c26c9cd0d89d\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b\n"
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7\n"
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e\n"
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(SubtleTest, DigestOfAMillionAs) {
  EXPECT_EQ(RunJs(R"JS(
    out.push(hex(await subtle.digest('SHA-256', new Uint8Array(1000000).fill(0x61))));
  )JS"),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(SubtleTest, DigestTakesAnyBufferSourceAndReturnsAnArrayBuffer) {
  EXPECT_EQ(RunJs(R"JS(
    const padded = enc('xxabcxx');
    const results = [
      await subtle.digest('sha-256', padded.subarray(2, 5)),
      await subtle.digest('SHA-256', new DataView(padded.buffer, 2, 3)),
      await subtle.digest('SHA-256', enc('abc').buffer),
    ];
    out.push(results.map((r) => r instanceof ArrayBuffer && hex(r).slice(0, 8)).join(' '));
  )JS"),
            "ba7816bf ba7816bf ba7816bf");
}

TEST(SubtleTest, DigestRejectsBadInput) {
  EXPECT_EQ(RunJs(R"JS(
    out.push(await rejects(() => subtle.digest('MD5', enc('abc'))));
    out.push(await rejects(() => subtle.digest('SHA-224', enc('abc'))));
    out.push(await rejects(() => subtle.digest({}, enc('abc'))));
    out.push(await rejects(() => subtle.digest('SHA-256', 'abc')));
    out.push(await rejects(() => subtle.digest()));
  )JS"),
            "NotSupportedError\nNotSupportedError\nTypeError\nTypeError\nTypeError");
}

// ---- HMAC ------------------------------------------------------------------

TEST(SubtleTest, HmacRfc4231Vectors) {
  EXPECT_EQ(RunJs(R"JS(
    const cases = [  // [key, data]: RFC 4231 test cases 1, 2 and 6
      [new Uint8Array(20).fill(0x0b), enc('Hi There')],
      [enc('Jefe'), enc('what do ya want for nothing?')],
      [new Uint8Array(131).fill(0xaa), enc('Test Using Larger Than Block-Size Key - Hash Key First')],
    ];
    for (const hash of ['SHA-256', 'SHA-384', 'SHA-512']) {
      for (const [raw, data] of cases) {
        const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign', 'verify']);
        const mac = await subtle.sign('HMAC', key, data);
        const ok = await subtle.verify({ name: 'hmac' }, key, mac, data);
        out.push(`${hex(mac)} ${ok}`);
      }
    }
    // RFC 2202 test case 1 (HMAC-SHA-1).
    const sha1 = await subtle.importKey('raw', new Uint8Array(20).fill(0x0b), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    out.push(hex(await subtle.sign('HMAC', sha1, enc('Hi There'))));
  )JS"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7 true\n"
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 true\n"
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54 true\n"
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6 true\n"
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649 true\n"
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952 true\n"
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854 true\n"
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737 true\n"
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598 true\n"
            "b617318655057264e28bc0b6fb378c8ef146be00");
}

TEST(SubtleTest, HmacVerifyRejectsWrongMacs) {
  EXPECT_EQ(RunJs(R"JS(
    const key = await subtle.importKey('raw', enc('Jefe'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const data = enc('what do ya want for nothing?');
    const mac = new Uint8Array(await subtle.sign('HMAC', key, data));
    const flipped = mac.slice(); flipped[31] ^= 1;
    out.push(await subtle.verify('HMAC', key, mac, data));
    out.push(await subtle.verify('HMAC', key, flipped, data));
    out.push(await subtle.verify('HMAC', key, mac.subarray(0, 16), data));
    out.push(await subtle.verify('HMAC', key, mac, enc('what do ya want for nothing!')));
  )JS"),
            "true\nfalse\nfalse\nfalse");
}

TEST(SubtleTest, HmacGenerateAndJwkRoundTrip) {
  EXPECT_EQ(RunJs(R"JS(
    const key = await subtle.generateKey({ name: 'HMAC', hash: { name: 'SHA-384' } }, true, ['sign', 'verify', 'sign']);
    out.push(`${key.type} ${key.extractable} ${key.algorithm.name} ${key.algorithm.hash.name} ${key.algorithm.length} ${key.usages}`);
    const jwk = await subtle.exportKey('jwk', key);
    out.push(`${jwk.kty} ${jwk.alg} ${jwk.k.length} ${jwk.key_ops} ${jwk.ext}`);
    const raw = await subtle.exportKey('raw', key);
    const back = await subtle.importKey('jwk', jwk, { name: 'HMAC', hash: 'SHA-384' }, false, ['verify']);
    const data = enc('payload');
    out.push(await subtle.verify('HMAC', back, await subtle.sign('HMAC', key, data), data));
    out.push(`${raw.byteLength} ${back.algorithm.length} ${back.usages}`);
    const short = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 128 }, true, ['sign']);
    out.push((await subtle.exportKey('raw', short)).byteLength);
  )JS"),
            "secret true HMAC SHA-384 1024 sign,verify\n"
            "oct HS384 171 sign,verify true\n"
            "true\n"
            "128 1024 verify\n"
            "16");
}

TEST(SubtleTest, HmacBadJwkIsDataError) {
  EXPECT_EQ(RunJs(R"JS(
    const alg = { name: 'HMAC', hash: 'SHA-256' };
    const k = 'AAECAwQFBgcICQoLDA0ODw';  // 16 bytes
    const tries = [
      { kty: 'EC', k },
      { kty: 'oct' },
      { kty: 'oct', k: 'AA+/' },
      { kty: 'oct', k: 'AAECA=' },
      { kty: 'oct', k, alg: 'HS512' },
      { kty: 'oct', k, use: 'enc' },
      { kty: 'oct', k, key_ops: ['verify'] },
      { kty: 'oct', k, ext: false },
      { kty: 'oct', k: '' },
    ];
    for (const jwk of tries) out.push(await rejects(() => subtle.importKey('jwk', jwk, alg, true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('jwk', { kty: 'oct', k, alg: 'HS256', key_ops: ['sign'], ext: true }, alg, true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('jwk', enc(k), alg, true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('raw', enc(k), { ...alg, length: 64 }, true, ['sign'])));
  )JS"),
            "DataError\nDataError\nDataError\nDataError\nDataError\nDataError\nDataError\nDataError\n"
            "DataError\nresolved\nTypeError\nDataError");
}

// ---- AES-GCM ---------------------------------------------------------------

// The GCM specification's (McGrew & Viega) test cases 4, 10 and 16 share
// plaintext, additional data and iv.
constexpr char kGcmCommon[] = R"JS(
const P = unhex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
const A = unhex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
const IV = unhex('cafebabefacedbaddecaf888');
const K = 'feffe9928665731c6d6a8f9467308308';
const aesKey = (h, usages = ['encrypt', 'decrypt']) => subtle.importKey('raw', unhex(h), 'AES-GCM', true, usages);
)JS";

TEST(SubtleTest, AesGcmKnownAnswers) {
  EXPECT_EQ(RunJs(std::string(kGcmCommon) + R"JS(
    const zero = await aesKey('00'.repeat(16));
    out.push(hex(await subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, zero, new Uint8Array(0))));
    out.push(hex(await subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, zero, new Uint8Array(16))));
    for (const k of [K, K + K.slice(0, 16), K + K]) {
      const key = await aesKey(k);
      const sealed = await subtle.encrypt({ name: 'AES-GCM', iv: IV, additionalData: A }, key, P);
      const opened = await subtle.decrypt({ name: 'AES-GCM', iv: IV, additionalData: A, tagLength: 128 }, key, sealed);
      out.push(`${key.algorithm.length} ${hex(sealed)} ${hex(opened) === hex(P)}`);
    }
  )JS"),
            "58e2fccefa7e3061367f1d57a4e7455a\n"
            "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf\n"
            "128 42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
            "5bc94fbc3221a5db94fae95ae7121a47 true\n"
            "192 3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710"
            "2519498e80f1478f37ba55bd6d27618c true\n"
            "256 522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b true");
}

TEST(SubtleTest, AesGcmTamperingIsOperationError) {
  EXPECT_EQ(RunJs(std::string(kGcmCommon) + R"JS(
    const key = await aesKey(K);
    const params = { name: 'AES-GCM', iv: IV, additionalData: A };
    const sealed = new Uint8Array(await subtle.encrypt(params, key, P));
    const flip = (i) => { const c = sealed.slice(); c[i] ^= 0x80; return c; };
    out.push(await rejects(() => subtle.decrypt(params, key, flip(0))));
    out.push(await rejects(() => subtle.decrypt(params, key, flip(sealed.length - 1))));
    out.push(await rejects(() => subtle.decrypt({ ...params, additionalData: enc('other') }, key, sealed)));
    out.push(await rejects(() => subtle.decrypt({ ...params, iv: new Uint8Array(12) }, key, sealed)));
    out.push(await rejects(() => subtle.decrypt(params, key, sealed.subarray(0, 15))));
    out.push(await rejects(() => subtle.decrypt(params, key, sealed)));
  )JS"),
            "OperationError\nOperationError\nOperationError\nOperationError\nOperationError\nresolved");
}

TEST(SubtleTest, AesGcmTagLengthsAndParameters) {
  EXPECT_EQ(RunJs(std::string(kGcmCommon) + R"JS(
    const key = await aesKey(K);
    const s96 = await subtle.encrypt({ name: 'AES-GCM', iv: IV, tagLength: 96 }, key, P);
    const s128 = await subtle.encrypt({ name: 'AES-GCM', iv: IV }, key, P);
    out.push(`${s96.byteLength} ${hex(s96.slice(0, 72)) === hex(s128.slice(0, 72))}`);
    const opened = await subtle.decrypt({ name: 'AES-GCM', iv: IV, tagLength: 96 }, key, s96);
    out.push(hex(opened) === hex(P));
    out.push(await rejects(() => subtle.decrypt({ name: 'AES-GCM', iv: IV }, key, s96)));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM', iv: IV, tagLength: 100 }, key, P)));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM' }, key, P)));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(0) }, key, P)));
    // IVs of 1 to 128 bytes (OpenSSL 3's limit; the spec allows longer).
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(128) }, key, P)));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(129) }, key, P)));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(1) }, key, P)));
  )JS"),
            "72 true\ntrue\nOperationError\nOperationError\nTypeError\nOperationError\n"
            "resolved\nOperationError\nresolved");
}

TEST(SubtleTest, AesGcmKeys) {
  EXPECT_EQ(RunJs(std::string(kGcmCommon) + R"JS(
    const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
    out.push(`${key.type} ${key.algorithm.name} ${key.algorithm.length}`);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await subtle.encrypt({ name: 'AES-GCM', iv }, key, enc('hello'));
    out.push(new TextDecoder().decode(await subtle.decrypt({ name: 'AES-GCM', iv }, key, sealed)));
    const jwk = await subtle.exportKey('jwk', key);
    out.push(`${jwk.kty} ${jwk.alg} ${jwk.key_ops} ${jwk.ext}`);
    const back = await subtle.importKey('jwk', jwk, 'AES-GCM', false, ['decrypt']);
    out.push(new TextDecoder().decode(await subtle.decrypt({ name: 'AES-GCM', iv }, back, sealed)));
    out.push(await rejects(() => subtle.generateKey({ name: 'AES-GCM', length: 100 }, true, ['encrypt'])));
    out.push(await rejects(() => subtle.importKey('raw', new Uint8Array(15), 'AES-GCM', true, ['encrypt'])));
    out.push(await rejects(() => subtle.importKey('jwk', { ...jwk, alg: 'A128GCM' }, 'AES-GCM', true, ['encrypt'])));
    out.push(await rejects(() => subtle.importKey('jwk', { ...jwk, use: 'sig' }, 'AES-GCM', true, ['encrypt'])));
    out.push(await rejects(() => subtle.importKey('spki', new Uint8Array(16), 'AES-GCM', true, ['encrypt'])));
    out.push(await rejects(() => subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, ['sign'])));
  )JS"),
            "secret AES-GCM 256\nhello\noct A256GCM encrypt,decrypt true\nhello\n"
            "OperationError\nDataError\nDataError\nDataError\nNotSupportedError\nSyntaxError");
}

// ---- ECDSA -----------------------------------------------------------------

// RFC 6979 A.2.5: the P-256 key, as a JWK.
constexpr char kRfc6979[] = R"JS(
const P256 = {
  kty: 'EC', crv: 'P-256',
  d: 'ya-p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyE',
  x: 'YP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Y',
  y: 'eQP-EAi4vJmkGunpVii8ZPLxsgwtfp9Rd6PClNRGIpk',
};
const P256_PUBLIC = { kty: 'EC', crv: 'P-256', x: P256.x, y: P256.y };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' };
const importEc = (jwk, usages, extractable = true) =>
  subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, extractable, usages);
)JS";

TEST(SubtleTest, EcdsaVerifiesRfc6979Signatures) {
  EXPECT_EQ(RunJs(std::string(kRfc6979) + R"JS(
    const pub = await importEc(P256_PUBLIC, ['verify']);
    // RFC 6979 A.2.5, SHA-256, messages "sample" and "test": r || s.
    const sample = unhex('efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' +
                         'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8');
    const test = unhex('f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367' +
                       '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083');
    out.push(await subtle.verify(ES256, pub, sample, enc('sample')));
    out.push(await subtle.verify(ES256, pub, test, enc('test')));
    out.push(await subtle.verify(ES256, pub, sample, enc('test')));
    out.push(await subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, pub, sample, enc('sample')));
    out.push(await subtle.verify(ES256, pub, sample.subarray(1), enc('sample')));
    // A signature made here verifies, and is r || s, not DER.
    const priv = await importEc(P256, ['sign']);
    const sig = await subtle.sign(ES256, priv, enc('sample'));
    out.push(`${sig.byteLength} ${await subtle.verify(ES256, pub, sig, enc('sample'))}`);
  )JS"),
            "true\ntrue\nfalse\nfalse\nfalse\n64 true");
}

TEST(SubtleTest, EcdsaRoundTripsOnEveryCurve) {
  EXPECT_EQ(RunJs(R"JS(
    for (const [namedCurve, hash] of [['P-256', 'SHA-256'], ['P-384', 'SHA-384'], ['P-521', 'SHA-512'], ['P-256', 'SHA-1']]) {
      const { publicKey, privateKey } = await subtle.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify']);
      const other = await subtle.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify']);
      const alg = { name: 'ECDSA', hash };
      const sig = new Uint8Array(await subtle.sign(alg, privateKey, enc('message')));
      const bad = sig.slice(); bad[5] ^= 1;
      out.push([namedCurve, sig.length, await subtle.verify(alg, publicKey, sig, enc('message')),
                await subtle.verify(alg, other.publicKey, sig, enc('message')),
                await subtle.verify(alg, publicKey, bad, enc('message')),
                publicKey.algorithm.namedCurve, publicKey.extractable, privateKey.extractable,
                publicKey.usages, privateKey.usages].join(' '));
    }
  )JS"),
            "P-256 64 true false false P-256 true false verify sign\n"
            "P-384 96 true false false P-384 true false verify sign\n"
            "P-521 132 true false false P-521 true false verify sign\n"
            "P-256 64 true false false P-256 true false verify sign");
}

TEST(SubtleTest, EcdsaJwkRoundTrip) {
  EXPECT_EQ(RunJs(std::string(kRfc6979) + R"JS(
    const priv = await importEc(P256, ['sign']);
    const jwk = await subtle.exportKey('jwk', priv);
    out.push(`${jwk.kty} ${jwk.crv} ${jwk.d === P256.d} ${jwk.x === P256.x} ${jwk.y === P256.y} ${jwk.key_ops} ${jwk.ext}`);
    const pub = await importEc(P256_PUBLIC, ['verify']);
    const pubJwk = await subtle.exportKey('jwk', pub);
    out.push(`${pubJwk.d} ${pubJwk.x === P256.x} ${pubJwk.y === P256.y} ${pubJwk.key_ops}`);
    const raw = new Uint8Array(await subtle.exportKey('raw', pub));
    out.push(`${raw.length} ${raw[0]}`);
    const fromRaw = await subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
    const sig = await subtle.sign(ES256, await importEc(jwk, ['sign']), enc('m'));
    out.push(await subtle.verify(ES256, fromRaw, sig, enc('m')));
    // P-521 coordinates are 66 bytes.
    const big = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign']);
    const bigJwk = await subtle.exportKey('jwk', big.privateKey);
    const bigBack = await subtle.importKey('jwk', bigJwk, { name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign']);
    out.push(`${bigJwk.x.length} ${bigJwk.d.length} ${JSON.stringify(await subtle.exportKey('jwk', bigBack)) === JSON.stringify(bigJwk)}`);
  )JS"),
            "EC P-256 true true true sign true\n"
            "undefined true true verify\n"
            "65 4\n"
            "true\n"
            "88 88 true");
}

TEST(SubtleTest, EcdsaSpkiAndPkcs8) {
  EXPECT_EQ(RunJs(std::string(kRfc6979) + R"JS(
    const P256ALG = { name: 'ECDSA', namedCurve: 'P-256' };
    const priv = await importEc(P256, ['sign']);
    const pub = await importEc(P256_PUBLIC, ['verify']);
    const spki = await subtle.exportKey('spki', pub);
    const pkcs8 = await subtle.exportKey('pkcs8', priv);
    // SubjectPublicKeyInfo: id-ecPublicKey, prime256v1, then the point.
    out.push(hex(spki).startsWith('3059301306072a8648ce3d020106082a8648ce3d030107034200' + '04' + '60fed4ba'));
    const pub2 = await subtle.importKey('spki', spki, P256ALG, true, ['verify']);
    const priv2 = await subtle.importKey('pkcs8', pkcs8, P256ALG, true, ['sign']);
    out.push(await subtle.verify(ES256, pub2, await subtle.sign(ES256, priv2, enc('m')), enc('m')));
    out.push((await subtle.exportKey('jwk', priv2)).d === P256.d);
    out.push(await rejects(() => subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])));
    out.push(await rejects(() => subtle.importKey('spki', new Uint8Array(spki).subarray(0, 40), P256ALG, true, ['verify'])));
    out.push(await rejects(() => subtle.importKey('pkcs8', spki, P256ALG, true, ['sign'])));
    const offCurve = new Uint8Array(await subtle.exportKey('raw', pub)); offCurve[64] ^= 1;
    out.push(await rejects(() => subtle.importKey('raw', offCurve, P256ALG, true, ['verify'])));
    out.push(await rejects(() => subtle.exportKey('pkcs8', pub)));
    out.push(await rejects(() => subtle.exportKey('spki', priv)));
    out.push(await rejects(() => subtle.exportKey('raw', priv)));
  )JS"),
            "true\ntrue\ntrue\nDataError\nDataError\nDataError\nDataError\n"
            "InvalidAccessError\nInvalidAccessError\nInvalidAccessError");
}

TEST(SubtleTest, EcdsaBadJwkIsDataError) {
  EXPECT_EQ(RunJs(std::string(kRfc6979) + R"JS(
    const tries = [
      [{ ...P256, crv: 'P-384' }, ['sign']],
      [{ ...P256, alg: 'ES384' }, ['sign']],
      [{ ...P256, kty: 'RSA' }, ['sign']],
      [{ ...P256, x: P256.x.slice(0, 40) }, ['sign']],
      [{ ...P256, d: P256.y }, ['sign']],              // d does not match x, y
      [{ ...P256_PUBLIC, y: P256.x }, ['verify']],     // not on the curve
      [{ ...P256, use: 'enc' }, ['sign']],
      [{ ...P256_PUBLIC, y: undefined }, ['verify']],
    ];
    for (const [jwk, usages] of tries) out.push(await rejects(() => importEc(jwk, usages)));
    out.push(await rejects(() => importEc({ ...P256, alg: 'ES256' }, ['sign'])));
    out.push(await rejects(() => subtle.importKey('jwk', P256, { name: 'ECDSA', namedCurve: 'P-192' }, true, ['sign'])));
    out.push(await rejects(() => subtle.generateKey({ name: 'ECDSA', namedCurve: 'secp256k1' }, true, ['sign'])));
  )JS"),
            "DataError\nDataError\nDataError\nDataError\nDataError\nDataError\nDataError\nDataError\n"
            "resolved\nNotSupportedError\nNotSupportedError");
}

TEST(SubtleTest, EcdsaImportsPkcs8WithoutPublicKeyAndCompressedPoints) {
  // An OpenSSL-made P-256 key: PKCS #8 whose ECPrivateKey omits the optional
  // public key, and its public point compressed (SEC 1 §2.3.3).
  EXPECT_EQ(RunJs(R"JS(
    const P256ALG = { name: 'ECDSA', namedCurve: 'P-256' };
    const ES256 = { name: 'ECDSA', hash: 'SHA-256' };
    const pkcs8 = unhex('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420' +
                        'b9963c0ea16897dbb6b1d03d9be165cd69c32cbf6aac1a93f2e0b38f31e4d142');
    const compressed = unhex('03e73cddadbf09d6ebdf7cf7bacbbd2c382b13bd89a910249454aa0e19a8eb6d7e');
    const priv = await subtle.importKey('pkcs8', pkcs8, P256ALG, true, ['sign']);
    const pub = await subtle.importKey('raw', compressed, P256ALG, true, ['verify']);
    out.push(await subtle.verify(ES256, pub, await subtle.sign(ES256, priv, enc('m')), enc('m')));
    out.push(hex(await subtle.exportKey('raw', pub)));
    out.push((await subtle.exportKey('jwk', priv)).x === (await subtle.exportKey('jwk', pub)).x);
  )JS"),
            "true\n"
            "04e73cddadbf09d6ebdf7cf7bacbbd2c382b13bd89a910249454aa0e19a8eb6d7e"
            "ac40fb28d1a5e75c954b9baf998a3427021626dd92d36a42334cfb574fe97f1d\n"
            "true");
}

// ---- Ed25519 ---------------------------------------------------------------

// RFC 8032 §7.1 test 1 (its key also is RFC 8037's JWK example).
constexpr char kRfc8032[] = R"JS(
const SEED = unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const PUB = unhex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
const SIG1 = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
const JWK = { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
// RFC 8410 §7: PrivateKeyInfo holding the seed.
const PKCS8 = unhex('302e020100300506032b657004220420' + hex(SEED));
)JS";

TEST(SubtleTest, Ed25519Rfc8032Vectors) {
  EXPECT_EQ(RunJs(std::string(kRfc8032) + R"JS(
    const priv = await subtle.importKey('pkcs8', PKCS8, { name: 'Ed25519' }, true, ['sign']);
    const pub = await subtle.importKey('raw', PUB, 'Ed25519', true, ['verify']);
    const sig = await subtle.sign('Ed25519', priv, new Uint8Array(0));
    out.push(hex(sig) === SIG1);
    out.push(await subtle.verify('Ed25519', pub, sig, new Uint8Array(0)));
    out.push(await subtle.verify('Ed25519', pub, sig, new Uint8Array(1)));
    // RFC 8032 §7.1 test 2: one byte, 0x72.
    const priv2 = await subtle.importKey('pkcs8', unhex('302e020100300506032b657004220420' +
        '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'), 'Ed25519', false, ['sign']);
    out.push(hex(await subtle.sign('Ed25519', priv2, unhex('72'))));
    // Encodings: RFC 8410 SPKI / PKCS #8, RFC 8037 JWK.
    out.push(hex(await subtle.exportKey('spki', pub)));
    out.push(hex(await subtle.exportKey('pkcs8', priv)) === hex(PKCS8));
    const jwk = await subtle.exportKey('jwk', priv);
    out.push(`${jwk.kty} ${jwk.crv} ${jwk.d === JWK.d} ${jwk.x === JWK.x} ${jwk.key_ops}`);
    const fromJwk = await subtle.importKey('jwk', JWK, 'Ed25519', false, ['sign']);
    out.push(hex(await subtle.sign('Ed25519', fromJwk, new Uint8Array(0))) === SIG1);
    out.push(hex(await subtle.exportKey('raw', pub)) === hex(PUB));
  )JS"),
            "true\ntrue\nfalse\n"
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00\n"
            "302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n"
            "true\nOKP Ed25519 true true sign\ntrue\ntrue");
}

TEST(SubtleTest, Ed25519GenerateAndNodeAlias) {
  EXPECT_EQ(RunJs(std::string(kRfc8032) + R"JS(
    const pair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const sig = await subtle.sign({ name: 'Ed25519' }, pair.privateKey, enc('m'));
    out.push(`${pair.publicKey.algorithm.name} ${sig.byteLength} ${await subtle.verify('Ed25519', pair.publicKey, sig, enc('m'))}`);
    const node = await subtle.generateKey({ name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }, false, ['sign', 'verify']);
    const nodeSig = await subtle.sign({ name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }, node.privateKey, enc('m'));
    out.push(`${node.privateKey.algorithm.name} ${node.privateKey.algorithm.namedCurve} ${await subtle.verify('Ed25519', node.publicKey, nodeSig, enc('m'))}`);
    const nodePub = await subtle.importKey('raw', PUB, { name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }, true, ['verify']);
    out.push(await subtle.verify('NODE-ED25519', nodePub, unhex(SIG1), new Uint8Array(0)));
    out.push(await subtle.verify('Ed25519', nodePub, unhex(SIG1).subarray(1), new Uint8Array(0)));
    out.push(await rejects(() => subtle.importKey('jwk', { ...JWK, x: JWK.d }, 'Ed25519', true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('jwk', { ...JWK, crv: 'X25519' }, 'Ed25519', true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('raw', PUB.subarray(1), 'Ed25519', true, ['verify'])));
    out.push(await rejects(() => subtle.importKey('spki', PKCS8, 'Ed25519', true, ['verify'])));
    out.push(await rejects(() => subtle.importKey('raw', PUB, 'Ed25519', true, ['sign'])));
  )JS"),
            "Ed25519 64 true\nNODE-ED25519 NODE-ED25519 true\ntrue\nfalse\n"
            "DataError\nDataError\nDataError\nDataError\nSyntaxError");
}

// ---- usages, extractability, unsupported algorithms ------------------------

TEST(SubtleTest, UsagesAndExtractabilityAreEnforced) {
  EXPECT_EQ(RunJs(R"JS(
    const hmac = { name: 'HMAC', hash: 'SHA-256' };
    const verifyOnly = await subtle.importKey('raw', enc('key'), hmac, false, ['verify']);
    out.push(await rejects(() => subtle.sign('HMAC', verifyOnly, enc('m'))));
    out.push(await rejects(() => subtle.exportKey('raw', verifyOnly)));
    out.push(await rejects(() => subtle.exportKey('jwk', verifyOnly)));
    out.push(await rejects(() => subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, verifyOnly, enc('m'))));
    out.push(await rejects(() => subtle.generateKey(hmac, true, [])));
    out.push(await rejects(() => subtle.generateKey(hmac, true, ['encrypt'])));
    out.push(await rejects(() => subtle.generateKey(hmac, true, ['launch'])));
    out.push(await rejects(() => subtle.importKey('raw', enc('key'), hmac, true, [])));
    const ec = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    out.push(await rejects(() => subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, enc('m'))));
    out.push(await rejects(() => subtle.exportKey('pkcs8', ec.privateKey)));
    out.push(await rejects(() => subtle.exportKey('spki', ec.publicKey)));
    out.push(await rejects(() => subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])));
    const aes = await subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    out.push(await rejects(() => subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, new Uint8Array(32))));
    out.push(await rejects(() => subtle.sign('HMAC', 'not a key', enc('m'))));
  )JS"),
            "InvalidAccessError\nInvalidAccessError\nInvalidAccessError\nInvalidAccessError\n"
            "SyntaxError\nSyntaxError\nTypeError\nSyntaxError\n"
            "InvalidAccessError\nInvalidAccessError\nresolved\nSyntaxError\n"
            "InvalidAccessError\nTypeError");
}

TEST(SubtleTest, UnsupportedAlgorithmsAreNotSupportedError) {
  EXPECT_EQ(RunJs(R"JS(
    const key = await subtle.importKey('raw', enc('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    out.push(await rejects(() => subtle.sign('RSASSA-PKCS1-v1_5', key, enc('m'))));
    out.push(await rejects(() => subtle.sign('AES-GCM', key, enc('m'))));
    out.push(await rejects(() => subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, enc('m'))));
    out.push(await rejects(() => subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048 }, true, ['encrypt'])));
    out.push(await rejects(() => subtle.importKey('raw', enc('key'), 'PBKDF2', false, ['deriveBits'])));
    out.push(await rejects(() => subtle.importKey('raw', enc('key'), { name: 'HMAC', hash: 'MD5' }, true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('spki', enc('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])));
    out.push(await rejects(() => subtle.exportKey('spki', key)));
    out.push(await rejects(() => subtle.deriveBits({ name: 'ECDH' }, key, 128)));
    out.push(await rejects(() => subtle.importKey('pem', enc('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])));
    out.push(await rejects(() => subtle.importKey('raw', enc('key'), { name: 'HMAC' }, true, ['sign'])));
  )JS"),
            "NotSupportedError\nNotSupportedError\nNotSupportedError\nNotSupportedError\n"
            "NotSupportedError\nNotSupportedError\nNotSupportedError\nNotSupportedError\n"
            "NotSupportedError\nTypeError\nTypeError");
}

// ---- API shape -------------------------------------------------------------

TEST(SubtleTest, ApiShape) {
  EXPECT_EQ(RunJs(R"JS(
    out.push(`${crypto.subtle instanceof SubtleCrypto} ${crypto.subtle === crypto.subtle} ${Object.isFrozen(crypto)}`);
    out.push(await rejects(async () => new SubtleCrypto()));
    out.push(await rejects(async () => new CryptoKey()));
    const key = await subtle.importKey('raw', enc('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    out.push(`${key instanceof CryptoKey} ${Object.prototype.toString.call(key)} ${key.algorithm === key.algorithm}`);
    // The algorithm and usages views are the caller's to mutate; the key keeps its own.
    key.algorithm.hash.name = 'SHA-1';
    key.usages.push('verify');
    out.push(`${(await subtle.sign('HMAC', key, enc('m'))).byteLength} ${await rejects(() => subtle.verify('HMAC', key, new Uint8Array(32), enc('m')))}`);
    const e = new DOMException('bad', 'DataError');
    out.push(`${e instanceof Error} ${e.name} ${e.message} ${e.code} ${new DOMException('x', 'NotSupportedError').code} ${String(e)}`);
    const pending = subtle.digest();
    pending.catch(() => {});
    out.push(typeof pending.then);
  )JS"),
            "true true true\nTypeError\nTypeError\ntrue [object CryptoKey] true\n"
            "32 InvalidAccessError\ntrue DataError bad 0 9 DataError: bad\nfunction");
}

TEST(SubtleTest, InputsAreReadWhenCalled) {
  EXPECT_EQ(RunJs(R"JS(
    const raw = enc('Jefe');
    const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    raw.fill(0);  // the key holds a copy
    const data = enc('what do ya want for nothing?');
    const pending = subtle.sign('HMAC', key, data);
    data.fill(0);  // so does the operation in flight
    out.push(hex(await pending));
  )JS"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SubtleTest, KeysMadeAtGlobalScopeSurviveTheSnapshot) {
  // Module code runs when the snapshot is built; the key it makes is bytes in
  // CryptoKey fields, so it is still usable in an isolate booted from that snapshot.
  EXPECT_EQ(testing::FetchBody(std::string(kPrelude) + R"JS(
    const key = await subtle.importKey('raw', enc('Jefe'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    export default { async fetch() {
      return new Response(hex(await subtle.sign('HMAC', key, enc('what do ya want for nothing?'))));
    } };
  )JS"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace kiln::worker::api
