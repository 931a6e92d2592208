// Kiln runtime: Headers, Request, Response (WHATWG Fetch). Bodies are
// ReadableStreams; a body made from bytes or a string keeps them until
// someone asks for the stream, so the common case (read it whole, or write a
// string) never builds one.

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_INVALID = /[\0\r\n]/;

function normalizeHeaderValue(value) {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (HEADER_VALUE_INVALID.test(value)) throw new TypeError(`Invalid header value: ${JSON.stringify(value)}`);
  return value;
}

function checkHeaderName(name) {
  name = String(name);
  if (!HEADER_NAME.test(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

class Headers {
  // Lower-cased name -> values, in order of first appearance.
  #map = new Map();
  #immutable = false;

  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, values] of init.#map) this.#map.set(name, values.slice());
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const entry = typeof pair === 'string' ? null : [...pair];
        if (entry === null || entry.length !== 2) throw new TypeError('Headers: each pair must be [name, value]');
        this.append(entry[0], entry[1]);
      }
    } else if (typeof init === 'object') {
      for (const name of Object.keys(init)) this.append(name, init[name]);
    } else {
      throw new TypeError('Headers: init must be an object, a sequence of pairs, or Headers');
    }
  }

  static _fromFlat(flat, immutable) {
    const headers = new Headers();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      const values = headers.#map.get(name);
      if (values) values.push(flat[i + 1]);
      else headers.#map.set(name, [flat[i + 1]]);
    }
    headers.#immutable = immutable;
    return headers;
  }
  static _freeze(headers) { headers.#immutable = true; }
  // [name, value, ...] for the wire: set-cookie values stay separate.
  static _flat(headers) {
    const flat = [];
    for (const [name, values] of headers.#map) {
      if (name === 'set-cookie') {
        for (const value of values) flat.push(name, value);
      } else {
        flat.push(name, values.join(', '));
      }
    }
    return flat;
  }

  #mutable() {
    if (this.#immutable) throw new TypeError("Can't modify immutable headers");
  }
  append(name, value) {
    name = checkHeaderName(name);
    value = normalizeHeaderValue(value);
    this.#mutable();
    const values = this.#map.get(name);
    if (values) values.push(value);
    else this.#map.set(name, [value]);
  }
  set(name, value) {
    name = checkHeaderName(name);
    value = normalizeHeaderValue(value);
    this.#mutable();
    this.#map.set(name, [value]);
  }
  delete(name) {
    name = checkHeaderName(name);
    this.#mutable();
    this.#map.delete(name);
  }
  get(name) {
    const values = this.#map.get(checkHeaderName(name));
    return values === undefined ? null : values.join(', ');
  }
  getSetCookie() { return (this.#map.get('set-cookie') || []).slice(); }
  has(name) { return this.#map.has(checkHeaderName(name)); }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }
  // Sorted by name, set-cookie values one by one (Fetch: "sort and combine").
  *entries() {
    for (const name of [...this.#map.keys()].sort()) {
      const values = this.#map.get(name);
      if (values === undefined) continue;
      if (name === 'set-cookie') {
        for (const value of values) yield [name, value];
      } else {
        yield [name, values.join(', ')];
      }
    }
  }
  *keys() { for (const [name] of this.entries()) yield name; }
  *values() { for (const [, value] of this.entries()) yield value; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'Headers'; }
}

// ---- bodies -----------------------------------------------------------------

// Returns [source, contentType]: source is a string, a Uint8Array, a
// ReadableStream, or null.
function extractBody(body) {
  if (body === null || body === undefined) return [null, null];
  if (typeof body === 'string') return [body, 'text/plain;charset=UTF-8'];
  if (body instanceof ArrayBuffer) return [new Uint8Array(body.slice(0)), null];
  if (ArrayBuffer.isView(body)) {
    return [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), null];
  }
  if (body instanceof Blob) return [Blob._bytes(body), body.type || null];
  if (body instanceof URLSearchParams) return [body.toString(), 'application/x-www-form-urlencoded;charset=UTF-8'];
  if (body instanceof FormData) return FormData._serialize(body);
  if (isReadableStream(body)) {
    if (body.locked || body._disturbed) throw new TypeError('The body stream is locked or already read');
    return [body, null];
  }
  return [String(body), 'text/plain;charset=UTF-8'];
}

function bytesStream(bytes) {
  return new ReadableStream({
    type: 'bytes',
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function readAllBytes(stream) {
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) throw new TypeError('A body stream chunk is not a Uint8Array');
    chunks.push(value);
    total += value.length;
  }
  return joinChunks(chunks, total);
}

function mimeEssence(contentType) {
  return (contentType || '').split(';')[0].trim().toLowerCase();
}

class Body {
  #source = null;  // string | Uint8Array | null, until a stream is asked for
  #stream = null;
  #used = false;

  _initBody(source) {
    if (isReadableStream(source)) this.#stream = source;
    else this.#source = source;
  }
  _hasBody() { return this.#source !== null || this.#stream !== null; }
  // The body as a fresh copy for clone(): sources are shared (immutable),
  // streams are teed.
  _cloneBody() {
    if (this.#stream !== null) {
      const [a, b] = this.#stream.tee();
      this.#stream = a;
      return b;
    }
    return this.#source;
  }
  // The stream when there is one, else the string or bytes (not consumed).
  _peekBody() { return this.#stream ?? this.#source; }
  // Moves the body out (to a new Request made from this one): this one is used.
  _takeBody() {
    const body = this.#stream ?? this.#source;
    this.#stream = null;
    this.#source = null;
    this.#used = true;
    return body;
  }

  get body() {
    if (this.#stream === null && this.#source !== null) {
      const source = this.#source;
      this.#stream = bytesStream(typeof source === 'string' ? utf8Encode(source) : source);
      this.#source = null;
    }
    return this.#stream;
  }
  get bodyUsed() { return this.#used || (this.#stream !== null && Boolean(this.#stream._disturbed)); }

  async #consume() {
    if (this.bodyUsed) throw new TypeError('Body has already been used');
    if (this.#stream !== null) {
      if (this.#stream.locked) throw new TypeError('The body stream is locked');
      this.#used = true;
      return readAllBytes(this.#stream);
    }
    this.#used = true;
    const source = this.#source;
    this.#source = null;
    return source ?? EMPTY_BYTES;
  }
  async text() {
    const body = await this.#consume();
    return typeof body === 'string' ? body : utf8Decode(body);
  }
  async json() { return JSON.parse(await this.text()); }
  async bytes() {
    const body = await this.#consume();
    return typeof body === 'string' ? utf8Encode(body) : body.slice();
  }
  async arrayBuffer() { return (await this.bytes()).buffer; }
  async blob() {
    const bytes = await this.bytes();
    return Blob._fromBytes(bytes, this.headers.get('content-type') ?? '');
  }
  async formData() {
    const contentType = this.headers.get('content-type') ?? '';
    const essence = mimeEssence(contentType);
    if (essence === 'multipart/form-data') {
      const multipart = lazyModule('multipart');
      const boundary = multipart.getMultipartBoundary(contentType);
      if (!boundary) throw new TypeError('multipart/form-data without a boundary');
      const bytes = await this.bytes();
      const form = new FormData();
      try {
        for (const part of multipart.parseMultipart(bytes, { boundary })) {
          if (part.name === undefined) continue;
          if (part.filename !== undefined) {
            form.append(part.name, new File([part.bytes], part.filename, { type: part.mediaType ?? '' }));
          } else {
            form.append(part.name, utf8Decode(part.bytes));
          }
        }
      } catch (error) {
        throw new TypeError(`Could not parse the multipart body: ${error.message}`);
      }
      return form;
    }
    if (essence === 'application/x-www-form-urlencoded') {
      const form = new FormData();
      for (const [name, value] of new URLSearchParams(await this.text())) form.append(name, value);
      return form;
    }
    throw new TypeError(`Could not parse a ${essence || 'body without a content-type'} as FormData`);
  }
}
const EMPTY_BYTES = new Uint8Array(0);

// ---- Request ---------------------------------------------------------------

const WIRE_REQUEST = Symbol('wire request');
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

function normalizeMethod(method) {
  method = String(method);
  if (!HEADER_NAME.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported`);
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

class Request extends Body {
  #url;
  #method = 'GET';
  #headers = null;
  #flatHeaders = null;  // as they came off the wire, turned into Headers lazily
  #redirect = 'follow';
  #signal = null;

  constructor(input, init = {}) {
    super();
    if (input === WIRE_REQUEST) {
      // From the worker (dispatchFetch): trusted, already normalized.
      this.#url = init.url;
      this.#method = init.method;
      this.#flatHeaders = init.headers;
      if (init.body !== null) this._initBody(new Uint8Array(init.body));
      return;
    }
    init = init ?? {};
    let inheritedBody = null;
    if (input instanceof Request) {
      this.#url = input.#url;
      this.#method = input.#method;
      this.#headers = new Headers(input.headers);
      this.#redirect = input.#redirect;
      this.#signal = input.#signal;
      if (input._hasBody()) {
        if (input.bodyUsed) throw new TypeError('Cannot construct a Request from one whose body was used');
        inheritedBody = input;
      }
    } else {
      this.#url = new URL(String(input)).href;
    }
    if (init.method !== undefined) this.#method = normalizeMethod(init.method);
    if (init.headers !== undefined) this.#headers = new Headers(init.headers);
    if (this.#headers === null) this.#headers = new Headers();
    if (init.redirect !== undefined) {
      if (!['follow', 'error', 'manual'].includes(init.redirect)) throw new TypeError(`Invalid redirect mode '${init.redirect}'`);
      this.#redirect = init.redirect;
    }
    if (init.signal !== undefined && init.signal !== null) {
      if (!(init.signal instanceof AbortSignal)) throw new TypeError("Request: 'signal' must be an AbortSignal");
      this.#signal = init.signal;
    }
    const body = init.body !== undefined ? init.body : null;
    if ((body !== null || (inheritedBody && init.body === undefined)) && (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError('A Request with a GET or HEAD method cannot have a body');
    }
    if (body !== null) {
      const [source, type] = extractBody(body);
      this._initBody(source);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
    } else if (inheritedBody !== null && init.body === undefined) {
      // The new request takes the old one's body; the old one is used up.
      this._initBody(inheritedBody._takeBody());
    }
  }

  static _fromWire(method, url, headers, body) {
    return new Request(WIRE_REQUEST, { method, url, headers, body });
  }

  get url() { return this.#url; }
  get method() { return this.#method; }
  get headers() {
    if (this.#headers === null) {
      this.#headers = Headers._fromFlat(this.#flatHeaders, true);
      this.#flatHeaders = null;
    }
    return this.#headers;
  }
  get redirect() { return this.#redirect; }
  get signal() {
    if (this.#signal === null) this.#signal = new AbortController().signal;
    return this.#signal;
  }
  get cache() { return 'default'; }
  get credentials() { return 'same-origin'; }
  get destination() { return ''; }
  get integrity() { return ''; }
  get keepalive() { return false; }
  get mode() { return 'cors'; }
  get referrer() { return 'about:client'; }
  get referrerPolicy() { return ''; }
  get duplex() { return 'half'; }

  clone() {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Request whose body was used');
    const copy = new Request(this.#url, { method: this.#method, headers: this.headers, redirect: this.#redirect,
                                          signal: this.#signal ?? undefined });
    const body = this._cloneBody();
    if (body !== null) copy._initBody(body);
    return copy;
  }
  get [Symbol.toStringTag]() { return 'Request'; }
}

// ---- Response --------------------------------------------------------------

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

class Response extends Body {
  #status = 200;
  #statusText = '';
  #headers;
  #type = 'default';

  constructor(body = null, init = {}) {
    super();
    init = init ?? {};
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response status must be an integer from 200 to 599, not ${init.status}`);
    }
    const statusText = init.statusText === undefined ? '' : String(init.statusText);
    if (!REASON_PHRASE.test(statusText)) throw new TypeError('Invalid statusText');
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined) {
      if (NULL_BODY_STATUS.has(status)) throw new TypeError(`A Response with status ${status} cannot have a body`);
      const [source, type] = extractBody(body);
      this._initBody(source);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
    }
  }

  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the value is not JSON-serializable');
    const response = new Response(text, init);
    response.#headers.set('content-type', 'application/json');
    return response;
  }
  static redirect(url, status = 302) {
    const location = new URL(String(url)).href;
    status = Number(status);
    if (!REDIRECT_STATUS.has(status)) throw new RangeError(`Invalid redirect status ${status}`);
    const response = new Response(null, { status, headers: { location } });
    Headers._freeze(response.#headers);
    return response;
  }
  static error() {
    const response = new Response(null, { status: 200 });
    response.#status = 0;
    response.#type = 'error';
    Headers._freeze(response.#headers);
    return response;
  }

  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return ''; }
  get redirected() { return false; }
  clone() {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Response whose body was used');
    const copy = new Response(null, { status: this.#status === 0 ? 200 : this.#status,
                                      statusText: this.#statusText, headers: this.#headers });
    copy.#status = this.#status;
    copy.#type = this.#type;
    const body = this._cloneBody();
    if (body !== null) copy._initBody(body);
    return copy;
  }
  get [Symbol.toStringTag]() { return 'Response'; }

  // [status, flat headers, body (string | Uint8Array | null)] for the wire. A
  // stream body is read to the end first.
  // [status, flat headers, body, reader]: a stream body is read here to the
  // end, unless the caller can take it streamed (`streamed`): then body is
  // null and `reader` (the locked stream's reader) is pumped by pumpBody.
  // [status, flat headers, body, stream reader]; a promise of it only when a
  // stream body is read whole first.
  static _toWire(response, streamed) {
    const body = response._peekBody();
    if (isReadableStream(body)) {
      if (streamed) {
        if (response.bodyUsed || body.locked) throw new TypeError('The response body is locked or already read');
        return [response.#status, Headers._flat(response.#headers), null, response._takeBody().getReader()];
      }
      return response.bytes().then((bytes) => [response.#status, Headers._flat(response.#headers), bytes, null]);
    }
    return [response.#status, Headers._flat(response.#headers), body, null];
  }
}

defineGlobal('Headers', Headers);
defineGlobal('Request', Request);
defineGlobal('Response', Response);
