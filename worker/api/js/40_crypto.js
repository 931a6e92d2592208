// Kiln runtime: crypto.getRandomValues and crypto.randomUUID, from the
// operating system's CSPRNG through natives (never frozen in a snapshot);

function getRandomValues(array) {
  if (!(ArrayBuffer.isView(array)) || array instanceof Float32Array || array instanceof Float64Array ||
      array instanceof DataView) {
    throw new TypeError('crypto.getRandomValues needs an integer typed array');
  }
  if (array.byteLength > 65536) {
    throw new RangeError(`crypto.getRandomValues: ${array.byteLength} bytes requested, at most 65536 allowed`);
  }
  natives.getRandomValues(array);
  return array;
}

function randomUUID() {
  const b = getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let hex = '';
  for (let i = 0; i < 16; i++) {
    hex += (b[i] + 0x100).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += '-';
  }
  return hex;
}

// crypto.subtle and its classes come from the lazy module "subtle"
// (js/lazy/subtle.js).
defineGlobal('crypto', Object.freeze({ getRandomValues, randomUUID, get subtle() { return lazyModule('subtle').subtle; } }));
defineLazyGlobal('SubtleCrypto', () => lazyModule('subtle')?.SubtleCrypto);
defineLazyGlobal('CryptoKey', () => lazyModule('subtle')?.CryptoKey);
