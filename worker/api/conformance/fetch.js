// Conformance cases for Headers, Request, Response and bodies (WHATWG Fetch).
import { test, promise_test, assert_true, assert_false, assert_equals, assert_array_equals,
         assert_throws_js, promise_rejects_js } from './harness.js';

// ---- Headers ----------------------------------------------------------------
test(() => {
  const h = new Headers({ 'Content-Type': 'text/plain', 'X-A': '1' });
  assert_equals(h.get('content-type'), 'text/plain');
  assert_equals(h.get('CONTENT-TYPE'), 'text/plain');
  assert_true(h.has('x-a'));
}, 'Headers names are case-insensitive');
test(() => {
  const h = new Headers();
  h.append('Accept', 'a');
  h.append('accept', 'b');
  assert_equals(h.get('accept'), 'a, b');
}, 'Headers.append combines values with ", "');
test(() => {
  const h = new Headers([['b', '2'], ['a', '1'], ['C', '3']]);
  assert_array_equals([...h.keys()], ['a', 'b', 'c']);
}, 'Headers iterate sorted by lower-cased name');
test(() => {
  const h = new Headers();
  h.append('Set-Cookie', 'a=1');
  h.append('Set-Cookie', 'b=2');
  assert_array_equals(h.getSetCookie(), ['a=1', 'b=2']);
  assert_array_equals([...h].map(([n, v]) => `${n}=${v}`), ['set-cookie=a=1', 'set-cookie=b=2']);
}, 'set-cookie values stay separate (getSetCookie, iteration)');
test(() => {
  assert_equals(new Headers().getSetCookie().length, 0);
}, 'getSetCookie on no cookies is empty');
test(() => {
  const h = new Headers({ a: '  padded \t' });
  assert_equals(h.get('a'), 'padded');
}, 'header values are trimmed of HTTP whitespace');
test(() => {
  assert_throws_js(TypeError, () => new Headers({ 'bad name': 'x' }));
  assert_throws_js(TypeError, () => new Headers({ 'a': 'x\ny' }));
  assert_throws_js(TypeError, () => new Headers([['only-one']]));
}, 'invalid names, values and pairs throw TypeError');
test(() => {
  const h = new Headers({ a: '1' });
  h.set('a', '2');
  h.delete('A');
  assert_false(h.has('a'));
  assert_equals(h.get('missing'), null);
}, 'set, delete, get of a missing name');
test(() => {
  const copy = new Headers(new Headers({ a: '1' }));
  assert_equals(copy.get('a'), '1');
}, 'Headers copy another Headers');
test(() => {
  const seen = [];
  new Headers({ b: '2', a: '1' }).forEach((value, name) => seen.push(name + value));
  assert_array_equals(seen, ['a1', 'b2']);
}, 'Headers.forEach');

// ---- Request ----------------------------------------------------------------
test(() => {
  const r = new Request('https://example.com/a?b#c');
  assert_equals(r.url, 'https://example.com/a?b#c');
  assert_equals(r.method, 'GET');
  assert_equals(r.redirect, 'follow');
  assert_equals(r.body, null);
  assert_false(r.bodyUsed);
}, 'Request defaults');
test(() => {
  assert_equals(new Request('https://x/', { method: 'post' }).method, 'POST');
  assert_equals(new Request('https://x/', { method: 'patch' }).method, 'patch');
  assert_equals(new Request('https://x/', { method: 'Custom' }).method, 'Custom');
}, 'methods: the six standard ones are upper-cased, others kept');
test(() => {
  assert_throws_js(TypeError, () => new Request('https://x/', { method: 'CONNECT' }));
  assert_throws_js(TypeError, () => new Request('https://x/', { method: 'bad method' }));
}, 'forbidden and invalid methods throw');
test(() => {
  assert_throws_js(TypeError, () => new Request('not a url'));
}, 'an invalid URL throws TypeError');
test(() => {
  assert_throws_js(TypeError, () => new Request('https://x/', { body: 'a' }));
  assert_throws_js(TypeError, () => new Request('https://x/', { method: 'HEAD', body: 'a' }));
}, 'GET and HEAD requests cannot have a body');
promise_test(async () => {
  const r = new Request('https://x/', { method: 'POST', body: 'hello' });
  assert_equals(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
  assert_equals(await r.text(), 'hello');
  assert_true(r.bodyUsed);
  await promise_rejects_js(TypeError, r.text());
}, 'a string body, read once');
promise_test(async () => {
  const a = new Request('https://x/', { method: 'POST', body: 'x', headers: { k: 'v' } });
  const b = a.clone();
  assert_equals(await a.text(), 'x');
  assert_equals(await b.text(), 'x');
  assert_equals(b.headers.get('k'), 'v');
}, 'Request.clone copies the body and headers');
promise_test(async () => {
  const a = new Request('https://x/', { method: 'PUT', body: 'moved' });
  const b = new Request(a);
  assert_true(a.bodyUsed);
  assert_equals(b.method, 'PUT');
  assert_equals(await b.text(), 'moved');
}, 'new Request(request) takes its body');
test(() => {
  const controller = new AbortController();
  const r = new Request('https://x/', { signal: controller.signal });
  controller.abort();
  assert_true(r.signal.aborted);
}, 'Request keeps its AbortSignal');

// ---- Response ---------------------------------------------------------------
test(() => {
  const r = new Response();
  assert_equals(r.status, 200);
  assert_true(r.ok);
  assert_equals(r.statusText, '');
  assert_equals(r.type, 'default');
  assert_equals(r.body, null);
}, 'Response defaults');
test(() => {
  assert_throws_js(RangeError, () => new Response('', { status: 199 }));
  assert_throws_js(RangeError, () => new Response('', { status: 600 }));
  assert_throws_js(TypeError, () => new Response('body', { status: 204 }));
  assert_throws_js(TypeError, () => new Response('', { statusText: 'a\nb' }));
}, 'status range, null-body statuses, statusText');
promise_test(async () => {
  const r = Response.json({ a: [1, 2] }, { status: 201, headers: { 'x-a': '1' } });
  assert_equals(r.status, 201);
  assert_equals(r.headers.get('content-type'), 'application/json');
  assert_equals(r.headers.get('x-a'), '1');
  assert_equals(await r.text(), '{"a":[1,2]}');
}, 'Response.json');
test(() => {
  assert_throws_js(TypeError, () => Response.json(undefined));
  assert_throws_js(TypeError, () => Response.json(1n));
}, 'Response.json of a non-serializable value throws');
test(() => {
  const r = Response.redirect('https://example.com/next', 307);
  assert_equals(r.status, 307);
  assert_equals(r.headers.get('location'), 'https://example.com/next');
  assert_throws_js(TypeError, () => r.headers.set('x', 'y'));
  assert_throws_js(RangeError, () => Response.redirect('https://x/', 200));
  assert_throws_js(TypeError, () => Response.redirect('not a url'));
}, 'Response.redirect');
test(() => {
  const r = Response.error();
  assert_equals(r.type, 'error');
  assert_equals(r.status, 0);
  assert_false(r.ok);
}, 'Response.error');
promise_test(async () => {
  const r = new Response(new Uint8Array([104, 105]));
  assert_equals(r.headers.get('content-type'), null);
  const bytes = new Uint8Array(await r.arrayBuffer());
  assert_array_equals(bytes, [104, 105]);
}, 'bytes body, arrayBuffer()');
promise_test(async () => {
  assert_equals(await new Response('{"x":1}').json().then((v) => v.x), 1);
  await promise_rejects_js(SyntaxError, new Response('{').json());
}, 'json() parses and rejects bad JSON with SyntaxError');
promise_test(async () => {
  const r = new Response('abc', { headers: { 'content-type': 'text/x-kiln' } });
  const blob = await r.blob();
  assert_equals(blob.type, 'text/x-kiln');
  assert_equals(blob.size, 3);
  assert_equals(await blob.text(), 'abc');
}, 'blob() carries the content-type');
promise_test(async () => {
  const r = new Response('caf\u00e9');
  const bytes = await r.bytes();
  assert_equals(bytes.length, 5);
}, 'bytes() is UTF-8');
promise_test(async () => {
  const r = new Response('streamed');
  const reader = r.body.getReader();
  const { value } = await reader.read();
  assert_equals(new TextDecoder().decode(value), 'streamed');
  assert_true(r.bodyUsed);
}, 'a body is a ReadableStream of Uint8Arrays; reading it uses the body');
promise_test(async () => {
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('a'));
      controller.enqueue(new TextEncoder().encode('b'));
      controller.close();
    },
  });
  assert_equals(await new Response(stream).text(), 'ab');
}, 'a ReadableStream body');
promise_test(async () => {
  const a = new Response(new ReadableStream({
    start(c) { c.enqueue(new Uint8Array([1])); c.close(); },
  }));
  const b = a.clone();
  assert_array_equals(new Uint8Array(await a.arrayBuffer()), [1]);
  assert_array_equals(new Uint8Array(await b.arrayBuffer()), [1]);
}, 'clone() of a stream body tees it');
test(() => {
  const stream = new ReadableStream();
  stream.getReader();
  assert_throws_js(TypeError, () => new Response(stream));
}, 'a locked stream cannot be a body');
promise_test(async () => {
  const r = new Response(new URLSearchParams({ a: '1', b: 'x y' }));
  assert_equals(r.headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8');
  assert_equals(await r.text(), 'a=1&b=x+y');
}, 'a URLSearchParams body');
promise_test(async () => {
  const form = new FormData();
  form.append('field', 'value');
  form.append('file', new File(['content'], 'a.txt', { type: 'text/plain' }));
  const r = new Response(form);
  assert_true(r.headers.get('content-type').startsWith('multipart/form-data; boundary='));
  const parsed = await r.formData();
  assert_equals(parsed.get('field'), 'value');
  const file = parsed.get('file');
  assert_equals(file.name, 'a.txt');
  assert_equals(file.type, 'text/plain');
  assert_equals(await file.text(), 'content');
}, 'FormData bodies serialize as multipart and parse back');
promise_test(async () => {
  await promise_rejects_js(TypeError, new Response('x', { headers: { 'content-type': 'text/plain' } }).formData());
}, 'formData() of another type rejects');
