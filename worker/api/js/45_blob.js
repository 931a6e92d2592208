// Kiln runtime: Blob, File (File API) and FormData (XHR Standard), in memory.

function blobPartBytes(part) {
  if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
  if (part instanceof Blob) return Blob._bytes(part);
  return utf8Encode(String(part));
}

function joinChunks(chunks, total = undefined) {
  if (chunks.length === 1) return chunks[0];
  if (total === undefined) total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function normalizeBlobType(type) {
  type = String(type ?? '');
  return /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : '';
}

class Blob {
  #bytes;
  #type;
  constructor(parts = [], options = {}) {
    if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
      throw new TypeError("Blob: parts must be a sequence");
    }
    let chunks = [];
    for (const part of parts) {
      let bytes = blobPartBytes(part);
      if (typeof part === 'string' && options?.endings === 'native') bytes = utf8Encode(part.replace(/\r\n|\r/g, '\n'));
      chunks.push(bytes);
    }
    this.#bytes = joinChunks(chunks);
    this.#type = normalizeBlobType(options?.type);
  }
  static _fromBytes(bytes, type) {
    const blob = new Blob();
    blob.#bytes = bytes;
    blob.#type = normalizeBlobType(type);
    return blob;
  }
  static _bytes(blob) { return blob.#bytes; }
  get size() { return this.#bytes.length; }
  get type() { return this.#type; }
  slice(start = 0, end = this.size, type = '') {
    const size = this.size;
    const clamp = (v) => (v < 0 ? Math.max(size + v, 0) : Math.min(v, size));
    start = clamp(Math.trunc(Number(start)) || 0);
    end = clamp(Math.trunc(Number(end)) || 0);
    return Blob._fromBytes(this.#bytes.slice(start, Math.max(start, end)), type);
  }
  async text() { return utf8Decode(this.#bytes); }
  async arrayBuffer() { return this.#bytes.slice().buffer; }
  async bytes() { return this.#bytes.slice(); }
  stream() {
    const bytes = this.#bytes;
    return new ReadableStream({
      type: 'bytes',
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes.slice());
        controller.close();
      },
    });
  }
  get [Symbol.toStringTag]() { return 'Blob'; }
}

class File extends Blob {
  #name;
  #lastModified;
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError('File needs parts and a name');
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Number(options.lastModified);
  }
  get name() { return this.#name; }
  get lastModified() { return this.#lastModified; }
  get [Symbol.toStringTag]() { return 'File'; }
}

function formDataValue(value, filename) {
  if (value instanceof Blob) {
    if (value instanceof File && filename === undefined) return value;
    return new File([value], filename === undefined ? 'blob' : String(filename), { type: value.type });
  }
  return String(value);
}

class FormData {
  #entries = [];
  constructor(form = undefined) {
    if (form !== undefined) throw new TypeError('FormData: forms are not supported here');
  }
  append(name, value, filename = undefined) { this.#entries.push([String(name), formDataValue(value, filename)]); }
  set(name, value, filename = undefined) {
    name = String(name);
    const entry = [name, formDataValue(value, filename)];
    const first = this.#entries.findIndex(([n]) => n === name);
    if (first < 0) {
      this.#entries.push(entry);
      return;
    }
    this.#entries = this.#entries.filter(([n], i) => n !== name || i === first);
    this.#entries[first] = entry;
  }
  get(name) {
    name = String(name);
    const entry = this.#entries.find(([n]) => n === name);
    return entry === undefined ? null : entry[1];
  }
  getAll(name) { name = String(name); return this.#entries.filter(([n]) => n === name).map(([, v]) => v); }
  has(name) { name = String(name); return this.#entries.some(([n]) => n === name); }
  delete(name) { name = String(name); this.#entries = this.#entries.filter(([n]) => n !== name); }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }
  *entries() { for (const [name, value] of this.#entries) yield [name, value]; }
  *keys() { for (const [name] of this.#entries) yield name; }
  *values() { for (const [, value] of this.#entries) yield value; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'FormData'; }

  // multipart/form-data serialization (HTML Standard): returns [bytes, content-type].
  static _serialize(form) {
    const boundary = '----KilnFormBoundary' + randomUUID().replace(/-/g, '');
    const escape = (s) => s.replace(/\r\n|\r|\n/g, '\r\n').replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
    const chunks = [];
    for (const [name, value] of form.#entries) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"`;
      if (value instanceof File) {
        head += `; filename="${escape(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
        chunks.push(utf8Encode(head), Blob._bytes(value), utf8Encode('\r\n'));
      } else {
        chunks.push(utf8Encode(`${head}\r\n\r\n${value.replace(/\r\n|\r|\n/g, '\r\n')}\r\n`));
      }
    }
    chunks.push(utf8Encode(`--${boundary}--\r\n`));
    return [joinChunks(chunks), `multipart/form-data; boundary=${boundary}`];
  }
}

defineGlobal('Blob', Blob);
defineGlobal('File', File);
defineGlobal('FormData', FormData);
