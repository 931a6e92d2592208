// Kiln runtime: URL and URLSearchParams (WHATWG URL). Parsing and the URL
// setters are ada's, through natives (worker/api/url_natives.cc); a URL keeps
// its serialization and ada's component offsets and reads its parts from
// them. URLSearchParams keeps its list here and uses whatwg-url's
// application/x-www-form-urlencoded parser and serializer (vendor).

const OMITTED = 4294967295;
const SET_HREF = 0, SET_PROTOCOL = 1, SET_USERNAME = 2, SET_PASSWORD = 3, SET_HOST = 4,
      SET_HOSTNAME = 5, SET_PORT = 6, SET_PATHNAME = 7, SET_SEARCH = 8, SET_HASH = 9;

function toUSVString(value) {
  return String(value);  // natives convert to UTF-8, replacing lone surrogates
}

class URLSearchParams {
  #list = [];
  #url = null;  // the URL whose query this is, if any

  constructor(init = '') {
    if (init !== null && typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          if (pair === null || typeof pair !== 'object' && typeof pair !== 'function' ||
              typeof pair[Symbol.iterator] !== 'function') {
            throw new TypeError('URLSearchParams: each pair must be a sequence');
          }
          const entry = [...pair];
          if (entry.length !== 2) throw new TypeError('URLSearchParams: each pair must have exactly two items');
          this.#list.push([toUSVString(entry[0]), toUSVString(entry[1])]);
        }
      } else {
        for (const key of Reflect.ownKeys(init)) {
          if (typeof key !== 'string') continue;
          const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
          if (descriptor !== undefined && descriptor.enumerable) {
            this.#list.push([toUSVString(key), toUSVString(init[key])]);
          }
        }
      }
    } else {
      let text = toUSVString(init);
      if (text.startsWith('?')) text = text.slice(1);
      this.#list = vendor.parseUrlencodedString(text);
    }
  }

  // A URL's query object: its list is the query parsed as is (a leading
  // '?' in the query is data, not stripped).
  static _forURL(url, query) {
    const params = new URLSearchParams();
    URLSearchParams._reset(params, query);
    params.#url = url;
    return params;
  }
  // The URL's query changed (search or href setter).
  static _reset(params, query) {
    params.#list = query === '' ? [] : vendor.parseUrlencodedString(query);
  }
  #update() {
    if (this.#url !== null) URL._setQueryFromParams(this.#url, vendor.serializeUrlencoded(this.#list));
  }

  get size() { return this.#list.length; }
  append(name, value) {
    this.#list.push([toUSVString(name), toUSVString(value)]);
    this.#update();
  }
  delete(name, value = undefined) {
    name = toUSVString(name);
    if (value === undefined) {
      this.#list = this.#list.filter(([n]) => n !== name);
    } else {
      value = toUSVString(value);
      this.#list = this.#list.filter(([n, v]) => n !== name || v !== value);
    }
    this.#update();
  }
  get(name) {
    name = toUSVString(name);
    const entry = this.#list.find(([n]) => n === name);
    return entry === undefined ? null : entry[1];
  }
  getAll(name) {
    name = toUSVString(name);
    return this.#list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name, value = undefined) {
    name = toUSVString(name);
    if (value === undefined) return this.#list.some(([n]) => n === name);
    value = toUSVString(value);
    return this.#list.some(([n, v]) => n === name && v === value);
  }
  set(name, value) {
    name = toUSVString(name);
    value = toUSVString(value);
    const first = this.#list.findIndex(([n]) => n === name);
    if (first < 0) {
      this.#list.push([name, value]);
    } else {
      this.#list = this.#list.filter(([n], i) => n !== name || i === first);
      this.#list[first][1] = value;
    }
    this.#update();
  }
  sort() {
    // Stable, by code units of the names.
    this.#list = this.#list.map((entry, index) => [entry, index])
        .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j))
        .map(([entry]) => entry);
    this.#update();
  }
  toString() { return vendor.serializeUrlencoded(this.#list); }
  forEach(callback, thisArg = undefined) {
    for (let i = 0; i < this.#list.length; i++) {
      const [name, value] = this.#list[i];
      callback.call(thisArg, value, name, this);
    }
  }
  *entries() { for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]]; }
  *keys() { for (const [name] of this.entries()) yield name; }
  *values() { for (const [, value] of this.entries()) yield value; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
}

class URL {
  #href;
  #c;             // [protocol_end, username_end, host_start, host_end, port, pathname_start, search_start, hash_start]
  #params = null; // created on first use

  constructor(url, base = undefined) {
    if (arguments.length === 0) throw new TypeError("URL constructor requires a url");
    const parsed = base === undefined ? natives.urlParse(toUSVString(url))
                                      : natives.urlParse(toUSVString(url), toUSVString(base));
    if (parsed === null) {
      throw new TypeError(base === undefined ? `Invalid URL: ${url}` : `Invalid URL: ${url} (base ${base})`);
    }
    this.#take(parsed);
  }

  static canParse(url, base = undefined) {
    return base === undefined ? natives.urlCanParse(toUSVString(url))
                              : natives.urlCanParse(toUSVString(url), toUSVString(base));
  }
  static parse(url, base = undefined) {
    try {
      return base === undefined ? new URL(url) : new URL(url, base);
    } catch {
      return null;
    }
  }

  #take(parsed) {
    this.#href = parsed[0];
    this.#c = parsed;  // offsets at indices 1..8
  }
  #set(component, value) {
    const parsed = natives.urlSet(this.#href, component, toUSVString(value));
    if (parsed === null) return false;
    this.#take(parsed);
    return true;
  }
  #queryChanged() {
    if (this.#params !== null) URLSearchParams._reset(this.#params, this.#query());
  }
  #query() {
    const search = this.search;
    return search === '' ? '' : search.slice(1);
  }
  static _setQueryFromParams(url, serialized) {
    url.#set(SET_SEARCH, serialized);
  }

  get href() { return this.#href; }
  set href(value) {
    if (!this.#set(SET_HREF, value)) throw new TypeError(`Invalid URL: ${value}`);
    this.#queryChanged();
  }
  get origin() { return natives.urlOrigin(this.#href); }
  get protocol() { return this.#href.slice(0, this.#c[1]); }
  set protocol(value) { this.#set(SET_PROTOCOL, value); }
  get username() {
    const c = this.#c;
    return c[1] + 2 < c[2] ? this.#href.slice(c[1] + 2, c[2]) : '';
  }
  set username(value) { this.#set(SET_USERNAME, value); }
  get password() {
    const c = this.#c;
    return c[3] - c[2] > 0 ? this.#href.slice(c[2] + 1, c[3]) : '';
  }
  set password(value) { this.#set(SET_PASSWORD, value); }
  get host() {
    const c = this.#c;
    let start = c[3];
    if (this.#href[start] === '@') start++;
    if (start === c[4]) return '';
    return this.#href.slice(start, c[6]);
  }
  set host(value) { this.#set(SET_HOST, value); }
  get hostname() {
    const c = this.#c;
    let start = c[3];
    if (this.#href[start] === '@') start++;
    return this.#href.slice(start, c[4]);
  }
  set hostname(value) { this.#set(SET_HOSTNAME, value); }
  get port() { return this.#c[5] === OMITTED ? '' : String(this.#c[5]); }
  set port(value) { this.#set(SET_PORT, value); }
  get pathname() {
    const c = this.#c;
    const end = c[7] !== OMITTED ? c[7] : c[8] !== OMITTED ? c[8] : this.#href.length;
    return this.#href.slice(c[6], end);
  }
  set pathname(value) { this.#set(SET_PATHNAME, value); }
  get search() {
    const c = this.#c;
    if (c[7] === OMITTED) return '';
    const end = c[8] !== OMITTED ? c[8] : this.#href.length;
    return end - c[7] <= 1 ? '' : this.#href.slice(c[7], end);
  }
  set search(value) {
    this.#set(SET_SEARCH, value);
    this.#queryChanged();
  }
  get searchParams() {
    if (this.#params === null) this.#params = URLSearchParams._forURL(this, this.#query());
    return this.#params;
  }
  get hash() {
    const c = this.#c;
    if (c[8] === OMITTED || this.#href.length - c[8] <= 1) return '';
    return this.#href.slice(c[8]);
  }
  set hash(value) { this.#set(SET_HASH, value); }
  toString() { return this.#href; }
  toJSON() { return this.#href; }
  get [Symbol.toStringTag]() { return 'URL'; }
}

defineGlobal('URL', URL);
defineGlobal('URLSearchParams', URLSearchParams);
