// Lazy runtime module "subtle": crypto.subtle (WebCrypto), SubtleCrypto and
// CryptoKey, over the stateless OpenSSL natives of worker/api/crypto_natives.cc.
// Key material stays in CryptoKey private fields (bytes only) and is handed to
// a native on each call. Loaded on first use of crypto.subtle (js/40_crypto.js).

// ---- helpers ------------------------------------------------------------------

const CONSTRUCT = Symbol('construct');  // only this file may construct CryptoKey / SubtleCrypto

const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
const HMAC_JWK_ALG = { 'SHA-1': 'HS1', 'SHA-256': 'HS256', 'SHA-384': 'HS384', 'SHA-512': 'HS512' };
const HASH_BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
// ECDSA curves: coordinate / scalar bytes, and the JWK alg naming the curve.
const EC_CURVES = { 'P-256': [32, 'ES256'], 'P-384': [48, 'ES384'], 'P-521': [66, 'ES512'] };
const AES_TAG_BITS = [32, 64, 96, 104, 112, 120, 128];
const KEY_USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
const KEY_FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];

function domError(name, message) { return new DOMException(message, name); }
const dataError = (message) => domError('DataError', message);

// Runs a native; its Error becomes the DOMException the spec names for the step.
function callNative(errorName, fn) {
  try {
    return fn();
  } catch (error) {
    throw domError(errorName, error.message);
  }
}

// A BufferSource as a Uint8Array over the same bytes (no copy).
function bytesOf(value, what) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${what} must be an ArrayBuffer or an ArrayBuffer view`);
}

function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function randomBytes(n) {
  const out = new Uint8Array(n);
  natives.getRandomValues(out);
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function toBase64url(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64URL[(n >> 18) & 63] + B64URL[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += B64URL[(n >> 6) & 63];
    if (i + 2 < bytes.length) out += B64URL[n & 63];
  }
  return out;
}

// Decodes unpadded base64url (RFC 7515 §2); DataError on anything else.
function fromBase64url(text, field) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw dataError(`JWK member "${field}" is not base64url`);
  }
  const out = new Uint8Array(Math.floor(text.length * 3 / 4));
  let bits = 0, acc = 0, j = 0;
  for (let i = 0; i < text.length; i++) {
    acc = ((acc << 6) | B64URL.indexOf(text[i])) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

// ---- algorithm and argument normalization (WebCrypto §18.4) ----------------------

// The algorithms registered for each operation. NODE-ED25519 is the
// Cloudflare Workers / Node name of Ed25519.
const ED25519 = ['Ed25519', 'NODE-ED25519'];
const SUPPORTED = {
  digest: HASHES,
  sign: ['HMAC', 'ECDSA', ...ED25519],
  verify: ['HMAC', 'ECDSA', ...ED25519],
  encrypt: ['AES-GCM'],
  decrypt: ['AES-GCM'],
  generateKey: ['HMAC', 'ECDSA', ...ED25519, 'AES-GCM'],
  importKey: ['HMAC', 'ECDSA', ...ED25519, 'AES-GCM'],
};

// The implementation behind an algorithm name (both Ed25519 names share one).
const familyOf = (name) => (name === 'NODE-ED25519' ? 'Ed25519' : name);

function requireMember(algorithm, member) {
  if (algorithm[member] === undefined) throw new TypeError(`algorithm.${member} is required for ${algorithm.name}`);
  return algorithm[member];
}

// Normalizes `algorithm` for `op`: TypeError when malformed, NotSupportedError
// when not registered for `op`. Returns { name, ...the members `op` uses }.
function normalizeAlgorithm(op, algorithm) {
  if (typeof algorithm === 'string') algorithm = { name: algorithm };
  if (algorithm === null || typeof algorithm !== 'object') {
    throw new TypeError('algorithm must be a name or an object with a name');
  }
  const given = requireMember(algorithm, 'name');
  const wanted = String(given).toUpperCase();
  const name = SUPPORTED[op].find((n) => n.toUpperCase() === wanted);
  if (name === undefined) throw domError('NotSupportedError', `${given} is not supported for ${op}`);
  const out = { name };
  const family = familyOf(name);
  if (family === 'HMAC' && (op === 'generateKey' || op === 'importKey')) {
    out.hash = normalizeAlgorithm('digest', requireMember(algorithm, 'hash')).name;
    if (algorithm.length !== undefined) out.length = enforceRange(algorithm.length, 'length');
  } else if (family === 'ECDSA') {
    if (op === 'sign' || op === 'verify') {
      out.hash = normalizeAlgorithm('digest', requireMember(algorithm, 'hash')).name;
    } else {
      out.namedCurve = String(requireMember(algorithm, 'namedCurve'));
    }
  } else if (name === 'NODE-ED25519' && (op === 'generateKey' || op === 'importKey')) {
    if (algorithm.namedCurve !== undefined && algorithm.namedCurve !== 'NODE-ED25519') {
      throw domError('NotSupportedError', `NODE-ED25519 has no curve ${algorithm.namedCurve}`);
    }
  } else if (family === 'AES-GCM') {
    if (op === 'generateKey') {
      out.length = enforceRange(requireMember(algorithm, 'length'), 'length');
    } else if (op === 'encrypt' || op === 'decrypt') {
      out.iv = bytesOf(requireMember(algorithm, 'iv'), 'algorithm.iv');
      out.additionalData = algorithm.additionalData === undefined
        ? new Uint8Array(0) : bytesOf(algorithm.additionalData, 'algorithm.additionalData');
      out.tagLength = algorithm.tagLength === undefined ? 128 : enforceRange(algorithm.tagLength, 'tagLength');
    }
  }
  return out;
}

// WebIDL [EnforceRange] unsigned long.
function enforceRange(value, what) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 0xffffffff) throw new TypeError(`${what} is out of range`);
  return Math.trunc(n);
}

// sequence<KeyUsage>, deduplicated, in the spec's order.
function normalizeUsages(usages) {
  if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') {
    throw new TypeError('keyUsages must be an array of key usages');
  }
  const given = new Set();
  for (const usage of usages) {
    const u = String(usage);
    if (!KEY_USAGES.includes(u)) throw new TypeError(`"${u}" is not a key usage`);
    given.add(u);
  }
  return KEY_USAGES.filter((u) => given.has(u));
}

// SyntaxError unless every usage is one of `allowed` (for a key of `what`).
function checkUsages(usages, allowed, what) {
  const bad = usages.find((u) => !allowed.includes(u));
  if (bad !== undefined) throw domError('SyntaxError', `"${bad}" is not a valid usage for ${what}`);
}

// The JsonWebKey dictionary: the members this file reads, converted.
function toJwk(value) {
  if (value === null || typeof value !== 'object' || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    throw new TypeError('keyData for the "jwk" format must be a JsonWebKey object');
  }
  const jwk = {};
  for (const f of ['kty', 'use', 'alg', 'crv', 'x', 'y', 'd', 'k']) {
    if (value[f] !== undefined) jwk[f] = String(value[f]);
  }
  if (value.ext !== undefined) jwk.ext = Boolean(value.ext);
  if (value.key_ops !== undefined) {
    if (value.key_ops === null || typeof value.key_ops !== 'object' || typeof value.key_ops[Symbol.iterator] !== 'function') {
      throw new TypeError('JWK key_ops must be an array of strings');
    }
    jwk.key_ops = Array.from(value.key_ops, String);
  }
  return jwk;
}

// The checks every JWK import makes (kty, use, key_ops, ext).
function checkJwk(jwk, kty, use, usages, extractable) {
  if (jwk.kty !== kty) throw dataError(`JWK kty must be "${kty}"`);
  if (usages.length > 0 && jwk.use !== undefined && jwk.use !== use) throw dataError(`JWK use must be "${use}"`);
  if (jwk.key_ops !== undefined) {
    if (new Set(jwk.key_ops).size !== jwk.key_ops.length) throw dataError('JWK key_ops has duplicates');
    const missing = usages.find((u) => !jwk.key_ops.includes(u));
    if (missing !== undefined) throw dataError(`JWK key_ops does not allow "${missing}"`);
  }
  if (jwk.ext === false && extractable) throw dataError('JWK ext is false but the key is to be extractable');
}

function jwkMember(jwk, field) {
  if (jwk[field] === undefined) throw dataError(`JWK member "${field}" is missing`);
  return fromBase64url(jwk[field], field);
}

// ---- CryptoKey ------------------------------------------------------------------

let keySlots;  // (key) => its internal slots; TypeError for anything but a CryptoKey

class CryptoKey {
  // Internal slots: { type, extractable, algorithm, usages, data }, frozen;
  // `data` is the key material (see crypto_natives.h for the curve forms).
  #slots;
  #algorithm;  // what `algorithm` returns: the same object every time, as the spec says
  #usages;

  constructor(token, type, extractable, algorithm, usages, data) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
    this.#slots = Object.freeze({ type, extractable, algorithm: Object.freeze(algorithm), usages: Object.freeze(usages), data });
    this.#algorithm = algorithm.hash === undefined ? { ...algorithm } : { ...algorithm, hash: { name: algorithm.hash } };
    this.#usages = [...usages];
  }

  get type() { return keySlots(this).type; }
  get extractable() { return keySlots(this).extractable; }
  get algorithm() { keySlots(this); return this.#algorithm; }
  get usages() { keySlots(this); return this.#usages; }

  static {
    keySlots = (key) => {
      if (key === null || typeof key !== 'object' || !(#slots in key)) throw new TypeError('not a CryptoKey');
      return key.#slots;
    };
  }
}
Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

// A new CryptoKey. `algorithm` names its hash (HMAC) as a string; the key's
// public `algorithm` view shows it as { name }.
function newKey(type, extractable, algorithm, usages, data) {
  return new CryptoKey(CONSTRUCT, type, extractable, algorithm, usages, data);
}

// The part of `usages` that is `allowed`: what each half of a generated pair keeps.
const usagesFor = (usages, allowed) => usages.filter((u) => allowed.includes(u));

// ---- algorithms -------------------------------------------------------------------
// Each implements the spec's steps for its operations; the shared checks
// (normalization, key/algorithm match, usages, extractable) are in SubtleCrypto.

const HMAC = {
  sign(alg, key, data) {
    return callNative('OperationError', () => natives.hmacSign(key.algorithm.hash, key.data, data));
  },
  verify(alg, key, signature, data) {
    return callNative('OperationError', () => natives.hmacVerify(key.algorithm.hash, key.data, data, signature));
  },
  generateKey(alg, extractable, usages) {
    checkUsages(usages, ['sign', 'verify'], 'an HMAC key');
    const length = alg.length ?? HASH_BLOCK_BITS[alg.hash];
    if (length === 0) throw domError('OperationError', 'HMAC key length must not be zero');
    if (length % 8 !== 0) throw domError('NotSupportedError', 'HMAC key lengths must be whole bytes');
    return newKey('secret', extractable, { name: 'HMAC', hash: alg.hash, length }, usages, randomBytes(length / 8));
  },
  importKey(format, keyData, alg, extractable, usages) {
    checkUsages(usages, ['sign', 'verify'], 'an HMAC key');
    let data;
    if (format === 'raw') {
      data = keyData.slice();
    } else if (format === 'jwk') {
      checkJwk(keyData, 'oct', 'sig', usages, extractable);
      data = jwkMember(keyData, 'k');
      if (keyData.alg !== undefined && keyData.alg !== HMAC_JWK_ALG[alg.hash]) {
        throw dataError(`JWK alg ${keyData.alg} does not match ${alg.hash}`);
      }
    } else {
      throw domError('NotSupportedError', `HMAC keys cannot be imported as ${format}`);
    }
    const length = data.length * 8;
    if (length === 0) throw dataError('HMAC key must not be empty');
    if (alg.length !== undefined && alg.length !== length) {
      throw dataError(`HMAC key has ${length} bits, not ${alg.length}`);
    }
    return newKey('secret', extractable, { name: 'HMAC', hash: alg.hash, length }, usages, data);
  },
  exportKey(format, key) {
    if (format === 'raw') return key.data.slice().buffer;
    if (format === 'jwk') {
      return { kty: 'oct', k: toBase64url(key.data), alg: HMAC_JWK_ALG[key.algorithm.hash], key_ops: [...key.usages], ext: key.extractable };
    }
    throw domError('NotSupportedError', `HMAC keys cannot be exported as ${format}`);
  },
};

function aesGcmArgs(alg) {
  if (!AES_TAG_BITS.includes(alg.tagLength)) throw domError('OperationError', `AES-GCM tagLength ${alg.tagLength} is not allowed`);
  return alg.tagLength / 8;
}

const AES_GCM = {
  encrypt(alg, key, data) {
    const tagBytes = aesGcmArgs(alg);
    return callNative('OperationError', () => natives.aesGcmEncrypt(key.data, alg.iv, alg.additionalData, tagBytes, data));
  },
  decrypt(alg, key, data) {
    const tagBytes = aesGcmArgs(alg);
    if (data.length < tagBytes) throw domError('OperationError', 'AES-GCM data is shorter than its tag');
    return callNative('OperationError', () => natives.aesGcmDecrypt(key.data, alg.iv, alg.additionalData, tagBytes, data));
  },
  generateKey(alg, extractable, usages) {
    checkUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], 'an AES-GCM key');
    if (![128, 192, 256].includes(alg.length)) throw domError('OperationError', 'AES key length must be 128, 192 or 256');
    return newKey('secret', extractable, { name: 'AES-GCM', length: alg.length }, usages, randomBytes(alg.length / 8));
  },
  importKey(format, keyData, alg, extractable, usages) {
    checkUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], 'an AES-GCM key');
    let data;
    if (format === 'raw') {
      data = keyData.slice();
    } else if (format === 'jwk') {
      checkJwk(keyData, 'oct', 'enc', usages, extractable);
      data = jwkMember(keyData, 'k');
      if (keyData.alg !== undefined && keyData.alg !== `A${data.length * 8}GCM`) {
        throw dataError(`JWK alg ${keyData.alg} does not match a ${data.length * 8}-bit key`);
      }
    } else {
      throw domError('NotSupportedError', `AES-GCM keys cannot be imported as ${format}`);
    }
    if (![16, 24, 32].includes(data.length)) throw dataError('AES key must be 128, 192 or 256 bits');
    return newKey('secret', extractable, { name: 'AES-GCM', length: data.length * 8 }, usages, data);
  },
  exportKey(format, key) {
    if (format === 'raw') return key.data.slice().buffer;
    if (format === 'jwk') {
      return { kty: 'oct', k: toBase64url(key.data), alg: `A${key.data.length * 8}GCM`, key_ops: [...key.usages], ext: key.extractable };
    }
    throw domError('NotSupportedError', `AES-GCM keys cannot be exported as ${format}`);
  },
};

// ECDSA and Ed25519 share their key handling; `curveOf` names the native
// curve of a normalized algorithm or key algorithm.
function curveKeys({ curveOf, publicSize, jwkToCanonical, canonicalToJwk }) {
  return {
    sign(alg, key, data) {
      if (key.type !== 'private') throw domError('InvalidAccessError', 'signing needs a private key');
      return callNative('OperationError', () => natives.ecSign(curveOf(key.algorithm), alg.hash ?? '', key.data, data));
    },
    verify(alg, key, signature, data) {
      if (key.type !== 'public') throw domError('InvalidAccessError', 'verifying needs a public key');
      return callNative('OperationError', () => natives.ecVerify(curveOf(key.algorithm), alg.hash ?? '', key.data, data, signature));
    },
    generateKey(alg, extractable, usages, keyAlgorithm) {
      checkUsages(usages, ['sign', 'verify'], `a ${alg.name} key`);
      const curve = curveOf(keyAlgorithm);
      const privateData = callNative('OperationError', () => natives.ecGenerateKey(curve));
      const publicData = privateData.slice(privateData.length - publicSize(curve));
      return {
        publicKey: newKey('public', true, keyAlgorithm, usagesFor(usages, ['verify']), publicData),
        privateKey: newKey('private', extractable, keyAlgorithm, usagesFor(usages, ['sign']), privateData),
      };
    },
    importKey(format, keyData, alg, extractable, usages, keyAlgorithm) {
      const curve = curveOf(keyAlgorithm);
      const isPrivate = format === 'pkcs8' || (format === 'jwk' && keyData.d !== undefined);
      checkUsages(usages, [isPrivate ? 'sign' : 'verify'], `a ${isPrivate ? 'private' : 'public'} ${alg.name} key`);
      let data;
      if (format === 'jwk') {
        const [nativeFormat, bytes] = jwkToCanonical(keyData, curve, usages, extractable);
        data = callNative('DataError', () => natives.ecImportKey(curve, nativeFormat, bytes));
      } else {
        data = callNative('DataError', () => natives.ecImportKey(curve, format, keyData));
      }
      return newKey(isPrivate ? 'private' : 'public', extractable, keyAlgorithm, usages, data);
    },
    exportKey(format, key) {
      const curve = curveOf(key.algorithm);
      const wantPrivate = format === 'pkcs8';
      if (format === 'jwk') return { ...canonicalToJwk(key.data, curve, key.type === 'private'), key_ops: [...key.usages], ext: key.extractable };
      if ((key.type === 'private') !== wantPrivate) {
        throw domError('InvalidAccessError', `a ${key.type} key cannot be exported as ${format}`);
      }
      if (format === 'raw') return key.data.slice().buffer;
      return callNative('OperationError', () => natives.ecExportKey(curve, format, key.data)).buffer;
    },
  };
}

const ECDSA = curveKeys({
  curveOf: (algorithm) => algorithm.namedCurve,
  publicSize: (curve) => 1 + 2 * EC_CURVES[curve][0],
  jwkToCanonical(jwk, curve, usages, extractable) {
    checkJwk(jwk, 'EC', 'sig', usages, extractable);
    if (jwk.crv !== curve) throw dataError(`JWK crv must be ${curve}`);
    const [size, alg] = EC_CURVES[curve];
    if (jwk.alg !== undefined && jwk.alg !== alg) throw dataError(`JWK alg ${jwk.alg} does not match ${curve}`);
    const x = jwkMember(jwk, 'x'), y = jwkMember(jwk, 'y');
    if (x.length !== size || y.length !== size) throw dataError(`JWK x and y must be ${size} bytes for ${curve}`);
    const point = concatBytes([4], x, y);
    if (jwk.d === undefined) return ['raw', point];
    const d = jwkMember(jwk, 'd');
    if (d.length !== size) throw dataError(`JWK d must be ${size} bytes for ${curve}`);
    return ['private', concatBytes(d, point)];
  },
  canonicalToJwk(data, curve, isPrivate) {
    const size = EC_CURVES[curve][0];
    const point = isPrivate ? data.subarray(size) : data;
    const jwk = { kty: 'EC', crv: curve, x: toBase64url(point.subarray(1, 1 + size)), y: toBase64url(point.subarray(1 + size)) };
    if (isPrivate) jwk.d = toBase64url(data.subarray(0, size));
    return jwk;
  },
});

const Ed25519 = curveKeys({
  curveOf: () => 'Ed25519',
  publicSize: () => 32,
  jwkToCanonical(jwk, curve, usages, extractable) {
    checkJwk(jwk, 'OKP', 'sig', usages, extractable);
    if (jwk.crv !== 'Ed25519') throw dataError('JWK crv must be Ed25519');
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA' && jwk.alg !== 'Ed25519') throw dataError(`JWK alg ${jwk.alg} is not EdDSA`);
    const x = jwkMember(jwk, 'x');
    if (x.length !== 32) throw dataError('JWK x must be 32 bytes');
    if (jwk.d === undefined) return ['raw', x];
    const d = jwkMember(jwk, 'd');
    if (d.length !== 32) throw dataError('JWK d must be 32 bytes');
    return ['private', concatBytes(d, x)];
  },
  canonicalToJwk(data, curve, isPrivate) {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: toBase64url(data.subarray(data.length - 32)) };
    if (isPrivate) jwk.d = toBase64url(data.subarray(0, 32));
    return jwk;
  },
});

const ALGORITHMS = { HMAC, 'AES-GCM': AES_GCM, ECDSA, Ed25519 };

// The [[algorithm]] of a key generated or imported with `alg`.
function keyAlgorithmOf(alg) {
  if (alg.name === 'ECDSA') {
    if (EC_CURVES[alg.namedCurve] === undefined) throw domError('NotSupportedError', `curve ${alg.namedCurve} is not supported`);
    return { name: 'ECDSA', namedCurve: alg.namedCurve };
  }
  if (alg.name === 'NODE-ED25519') return { name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' };
  return { name: alg.name };
}

// ---- SubtleCrypto -----------------------------------------------------------------

// The key's slots, after the checks sign/verify/encrypt/decrypt share:
// InvalidAccessError when `alg` is not the key's algorithm or `usage` is not allowed.
function keyFor(key, alg, usage) {
  const slots = keySlots(key);
  if (familyOf(slots.algorithm.name) !== familyOf(alg.name)) {
    throw domError('InvalidAccessError', `the key is for ${slots.algorithm.name}, not ${alg.name}`);
  }
  if (!slots.usages.includes(usage)) throw domError('InvalidAccessError', `the key's usages do not include "${usage}"`);
  return slots;
}

class SubtleCrypto {
  constructor(token) {
    if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
  }

  async digest(algorithm, data) {
    const alg = normalizeAlgorithm('digest', algorithm);
    const bytes = bytesOf(data, 'data');
    return callNative('OperationError', () => natives.digest(alg.name, bytes)).buffer;
  }

  async sign(algorithm, key, data) {
    const alg = normalizeAlgorithm('sign', algorithm);
    const bytes = bytesOf(data, 'data');
    const slots = keyFor(key, alg, 'sign');
    return ALGORITHMS[familyOf(alg.name)].sign(alg, slots, bytes).buffer;
  }

  async verify(algorithm, key, signature, data) {
    const alg = normalizeAlgorithm('verify', algorithm);
    const sig = bytesOf(signature, 'signature');
    const bytes = bytesOf(data, 'data');
    const slots = keyFor(key, alg, 'verify');
    return ALGORITHMS[familyOf(alg.name)].verify(alg, slots, sig, bytes);
  }

  async encrypt(algorithm, key, data) {
    const alg = normalizeAlgorithm('encrypt', algorithm);
    const bytes = bytesOf(data, 'data');
    return ALGORITHMS[alg.name].encrypt(alg, keyFor(key, alg, 'encrypt'), bytes).buffer;
  }

  async decrypt(algorithm, key, data) {
    const alg = normalizeAlgorithm('decrypt', algorithm);
    const bytes = bytesOf(data, 'data');
    return ALGORITHMS[alg.name].decrypt(alg, keyFor(key, alg, 'decrypt'), bytes).buffer;
  }

  async generateKey(algorithm, extractable, keyUsages) {
    const usages = normalizeUsages(keyUsages);
    const alg = normalizeAlgorithm('generateKey', algorithm);
    const result = ALGORITHMS[familyOf(alg.name)].generateKey(alg, Boolean(extractable), usages, keyAlgorithmOf(alg));
    const secretOrPrivate = result instanceof CryptoKey ? result : result.privateKey;
    if (secretOrPrivate.usages.length === 0) throw domError('SyntaxError', 'the key would have no usages');
    return result;
  }

  async importKey(format, keyData, algorithm, extractable, keyUsages) {
    format = String(format);
    if (!KEY_FORMATS.includes(format)) throw new TypeError(`"${format}" is not a key format`);
    const data = format === 'jwk' ? toJwk(keyData) : bytesOf(keyData, 'keyData');
    const usages = normalizeUsages(keyUsages);
    const alg = normalizeAlgorithm('importKey', algorithm);
    const key = ALGORITHMS[familyOf(alg.name)].importKey(format, data, alg, Boolean(extractable), usages, keyAlgorithmOf(alg));
    if (key.type !== 'public' && usages.length === 0) throw domError('SyntaxError', 'the key would have no usages');
    return key;
  }

  async exportKey(format, key) {
    format = String(format);
    if (!KEY_FORMATS.includes(format)) throw new TypeError(`"${format}" is not a key format`);
    const slots = keySlots(key);
    const impl = ALGORITHMS[familyOf(slots.algorithm.name)];
    if (!slots.extractable) throw domError('InvalidAccessError', 'the key is not extractable');
    return impl.exportKey(format, slots);
  }

  async deriveBits() { throw domError('NotSupportedError', 'deriveBits is not supported'); }
  async deriveKey() { throw domError('NotSupportedError', 'deriveKey is not supported'); }
  async wrapKey() { throw domError('NotSupportedError', 'wrapKey is not supported'); }
  async unwrapKey() { throw domError('NotSupportedError', 'unwrapKey is not supported'); }
}
Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });

return { subtle: new SubtleCrypto(CONSTRUCT), SubtleCrypto, CryptoKey };
