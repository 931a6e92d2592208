// Kiln runtime: Headers, Request, Response (WHATWG Fetch), with bodies held as
// bytes or strings. Handlers receive a Request and return a Response.

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeHeaderValue(value) {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(value)) throw new TypeError(`Invalid header value: ${JSON.stringify(value)}`);
  return value;
}

function checkHeaderName(name) {
  name = String(name);
  if (!HEADER_NAME.test(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

class Headers {
  // Lower-cased name -> array of values, in insertion order of first use.
  #map = new Map();
  #guard = 'none';

  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, values] of init.#map) this.#map.set(name, values.slice());
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const entry = [...pair];
        if (entry.length !== 2) throw new TypeError('Each header pair must be [name, value]');
        this.append(entry[0], entry[1]);
      }
    } else if (typeof init === 'object') {
      for (const name of Object.keys(init)) this.append(name, init[name]);
    } else {
      throw new TypeError('Headers: init must be an object, an iterable of pairs, or Headers');
    }
  }

  static _fromFlat(flat) {
    const headers = new Headers();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      const values = headers.#map.get(name);
      if (values) values.push(flat[i + 1]);
      else headers.#map.set(name, [flat[i + 1]]);
    }
    return headers;
  }
  static _setGuard(headers, guard) { headers.#guard = guard; }
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

  #checkMutable() {
    if (this.#guard === 'immutable') throw new TypeError('Headers are immutable');
  }
  append(name, value) {
    this.#checkMutable();
    name = checkHeaderName(name);
    value = normalizeHeaderValue(value);
    const values = this.#map.get(name);
    if (values) values.push(value);
    else this.#map.set(name, [value]);
  }
  set(name, value) {
    this.#checkMutable();
    this.#map.set(checkHeaderName(name), [normalizeHeaderValue(value)]);
  }
  delete(name) {
    this.#checkMutable();
    this.#map.delete(checkHeaderName(name));
  }
  get(name) {
    const values = this.#map.get(checkHeaderName(name));
    return values === undefined ? null : values.join(', ');
  }
  getAll(name) {
    return (this.#map.get(checkHeaderName(name)) || []).slice();
  }
  getSetCookie() {
    return (this.#map.get('set-cookie') || []).slice();
  }
  has(name) {
    return this.#map.has(checkHeaderName(name));
  }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }
  *entries() {
    const names = [...this.#map.keys()].sort();
    for (const name of names) {
      const values = this.#map.get(name);
      if (values === undefined) continue;
      if (name === 'set-cookie') {
        for (const value of values) yield [name, value];
      } else {
        yield [name, values.join(', ')];
      }
    }
  }
  *keys() {
    for (const [name] of this.entries()) yield name;
  }
  *values() {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() { return 'Headers'; }
}

// Body: what Request and Response share. The body is kept as a string, a
// Uint8Array, or null; reading it marks it used.
const EMPTY_BYTES = new Uint8Array(0);

function extractBody(body) {
  // Returns [stored body, default content-type or null].
  if (body === null || body === undefined) return [null, null];
  if (typeof body === 'string') return [body, 'text/plain;charset=UTF-8'];
  if (body instanceof ArrayBuffer) return [new Uint8Array(body.slice(0)), null];
  if (ArrayBuffer.isView(body)) {
    return [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), null];
  }
  if (body instanceof URLSearchParamsLike) return [String(body), 'application/x-www-form-urlencoded;charset=UTF-8'];
  return [String(body), 'text/plain;charset=UTF-8'];
}

// Replaced by the real URLSearchParams once the URL API is loaded.
let URLSearchParamsLike = class {};

class Body {
  #body = null;
  #used = false;

  _initBody(body) {
    this.#body = body;
  }
  _rawBody() {
    return this.#body;
  }
  get bodyUsed() {
    return this.#used;
  }
  get body() {
    return this.#body;
  }
  #consume() {
    if (this.#used) throw new TypeError('Body has already been used');
    this.#used = true;
    return this.#body;
  }
  async text() {
    const body = this.#consume();
    if (body === null) return '';
    return typeof body === 'string' ? body : utf8Decoder.decode(body);
  }
  async json() {
    return JSON.parse(await this.text());
  }
  async arrayBuffer() {
    const body = this.#consume();
    if (body === null) return new ArrayBuffer(0);
    const bytes = typeof body === 'string' ? utf8Encoder.encode(body) : body;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  async bytes() {
    return new Uint8Array(await this.arrayBuffer());
  }
}

const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

class Request extends Body {
  #url;
  #method;
  #headers;
  #flatHeaders = null;  // headers as they came off the wire, materialized lazily
  #redirect;

  constructor(input, init = {}) {
    super();
    if (input instanceof Request) {
      this.#url = input.url;
      this.#method = input.method;
      this.#headers = new Headers(input.headers);
      this.#redirect = input.redirect;
      if (init.body === undefined && input._rawBody() !== null) this._initBody(input._rawBody());
    } else {
      this.#url = String(input);
      this.#method = 'GET';
      this.#redirect = 'follow';
    }
    if (init.method !== undefined) {
      const method = String(init.method);
      this.#method = METHODS.has(method.toUpperCase()) ? method.toUpperCase() : method;
    }
    if (init.headers !== undefined) this.#headers = new Headers(init.headers);
    if (this.#headers === undefined) this.#headers = new Headers();
    if (init.redirect !== undefined) this.#redirect = String(init.redirect);
    if (init.body !== undefined && init.body !== null) {
      if (this.#method === 'GET' || this.#method === 'HEAD') {
        throw new TypeError('Request with GET/HEAD method cannot have body');
      }
      const [body, type] = extractBody(init.body);
      this._initBody(body);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
    }
  }

  static _fromWire(method, url, flatHeaders, body) {
    const request = new Request(url);
    request.#method = method;
    request.#headers = undefined;
    request.#flatHeaders = flatHeaders;
    if (body !== null) request._initBody(new Uint8Array(body));
    return request;
  }

  get url() { return this.#url; }
  get method() { return this.#method; }
  get headers() {
    if (this.#headers === undefined) {
      this.#headers = Headers._fromFlat(this.#flatHeaders);
      this.#flatHeaders = null;
    }
    return this.#headers;
  }
  get redirect() { return this.#redirect; }
  clone() {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Request whose body was used');
    return new Request(this);
  }
  get [Symbol.toStringTag]() { return 'Request'; }
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

class Response extends Body {
  #status;
  #statusText;
  #headers;
  #type = 'default';
  #url = '';

  constructor(body = null, init = {}) {
    super();
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response status must be an integer from 200 to 599, got ${init.status}`);
    }
    this.#status = status;
    this.#statusText = init.statusText === undefined ? '' : String(init.statusText);
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined) {
      if (NULL_BODY_STATUS.has(status)) throw new TypeError(`Response with status ${status} cannot have a body`);
      const [stored, type] = extractBody(body);
      this._initBody(stored);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
    }
  }

  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: data is not JSON-serializable');
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, { ...init, headers });
  }
  static redirect(url, status = 302) {
    if (!REDIRECT_STATUS.has(status)) throw new RangeError(`Invalid redirect status ${status}`);
    return new Response(null, { status, headers: { location: String(url) } });
  }
  static error() {
    const response = new Response(null, { status: 200 });
    response.#status = 0;
    response.#type = 'error';
    Headers._setGuard(response.#headers, 'immutable');
    return response;
  }

  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return false; }
  clone() {
    if (this.bodyUsed) throw new TypeError('Cannot clone a Response whose body was used');
    const copy = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    copy._initBody(this._rawBody());
    return copy;
  }
  get [Symbol.toStringTag]() { return 'Response'; }

  // [status, flat headers, body] for the wire.
  static _toWire(response) {
    const body = response._rawBody();
    return [response.#status, Headers._flat(response.#headers), body === null ? null : body];
  }
}

defineGlobal('Headers', Headers);
defineGlobal('Request', Request);
defineGlobal('Response', Response);
