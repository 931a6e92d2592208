// Conformance cases for the other globals: structuredClone (HTML), Blob, File
// (File API), FormData (XHR), timers and queueMicrotask (HTML), performance,
// navigator, console, crypto.getRandomValues / randomUUID (WebCrypto).
import { test, promise_test, assert_true, assert_false, assert_equals, assert_array_equals,
         assert_throws_js, assert_throws_dom } from './harness.js';

test(() => {
  const source = { a: [1, { b: 'c' }], d: new Date(0), m: new Map([[1, 2]]), s: new Set([3]),
                   r: /x/g, u: new Uint8Array([1, 2]), big: 10n };
  source.self = source;
  const copy = structuredClone(source);
  assert_true(copy !== source);
  assert_equals(copy.a[1].b, 'c');
  assert_equals(copy.d.getTime(), 0);
  assert_equals(copy.m.get(1), 2);
  assert_true(copy.s.has(3));
  assert_equals(copy.r.source, 'x');
  assert_array_equals(copy.u, [1, 2]);
  assert_equals(copy.big, 10n);
  assert_equals(copy.self, copy);
}, 'structuredClone copies deep structures and cycles');
test(() => {
  assert_throws_dom('DataCloneError', () => structuredClone(() => {}));
  assert_throws_dom('DataCloneError', () => structuredClone({ s: Symbol('x') }));
}, 'structuredClone of functions and symbols throws DataCloneError');
test(() => {
  const buffer = new Uint8Array([7]).buffer;
  const copy = structuredClone(buffer, { transfer: [buffer] });
  assert_equals(buffer.byteLength, 0);
  assert_array_equals(new Uint8Array(copy), [7]);
}, 'structuredClone transfers ArrayBuffers');
test(() => {
  const error = structuredClone(new RangeError('bad'));
  assert_true(error instanceof RangeError);
  assert_equals(error.message, 'bad');
}, 'structuredClone of errors');

promise_test(async () => {
  const blob = new Blob(['ab', new Uint8Array([99]), new Blob(['d'])], { type: 'Text/Plain' });
  assert_equals(blob.size, 4);
  assert_equals(blob.type, 'text/plain');
  assert_equals(await blob.text(), 'abcd');
  assert_equals(await blob.slice(1, 3).text(), 'bc');
  assert_equals(await blob.slice(-2).text(), 'cd');
  assert_array_equals(new Uint8Array(await blob.arrayBuffer()), [97, 98, 99, 100]);
}, 'Blob parts, type, slice, text, arrayBuffer');
promise_test(async () => {
  const reader = new Blob(['xy']).stream().getReader();
  const { value } = await reader.read();
  assert_array_equals(value, [120, 121]);
}, 'Blob.stream');
test(() => {
  const file = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 42 });
  assert_equals(file.name, 'a.txt');
  assert_equals(file.lastModified, 42);
  assert_true(file instanceof Blob);
}, 'File');
test(() => {
  const form = new FormData();
  form.append('a', '1');
  form.append('a', '2');
  form.set('b', '3');
  assert_equals(form.get('a'), '1');
  assert_array_equals(form.getAll('a'), ['1', '2']);
  form.set('a', '4');
  assert_array_equals(form.getAll('a'), ['4']);
  assert_true(form.has('b'));
  form.delete('b');
  assert_false(form.has('b'));
  assert_equals(form.get('none'), null);
}, 'FormData append, set, get, getAll, delete');
test(() => {
  const form = new FormData();
  form.append('f', new Blob(['x']), 'name.bin');
  const value = form.get('f');
  assert_true(value instanceof File);
  assert_equals(value.name, 'name.bin');
  form.append('g', new Blob(['y']));
  assert_equals(form.get('g').name, 'blob');
}, 'FormData wraps Blobs in Files');

promise_test(async () => {
  const order = [];
  queueMicrotask(() => order.push('micro'));
  await new Promise((resolve) => setTimeout(() => { order.push('timer'); resolve(); }, 1));
  assert_array_equals(order, ['micro', 'timer']);
}, 'microtasks run before timers');
promise_test(async () => {
  const seen = [];
  await new Promise((resolve) => {
    setTimeout(() => seen.push(2), 2);
    setTimeout(() => seen.push(1), 0);
    setTimeout(() => { seen.push(3); resolve(); }, 5);
  });
  assert_array_equals(seen, [1, 2, 3]);
}, 'timers fire in delay order');
promise_test(async () => {
  const args = await new Promise((resolve) => setTimeout((a, b) => resolve([a, b]), 0, 'x', 'y'));
  assert_array_equals(args, ['x', 'y']);
}, 'setTimeout passes extra arguments');
test(() => {
  assert_throws_js(TypeError, () => setTimeout('code string', 1));
  assert_throws_js(TypeError, () => queueMicrotask('x'));
}, 'string callbacks are refused');
test(() => {
  assert_equals(typeof performance.now(), 'number');
  assert_equals(performance.timeOrigin, 0);
  assert_equals(navigator.userAgent, 'Kiln/0.1');
}, 'performance and navigator');
test(() => {
  const id = crypto.randomUUID();
  assert_true(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id));
  assert_true(crypto.randomUUID() !== id);
}, 'crypto.randomUUID is a v4 UUID');
test(() => {
  const a = crypto.getRandomValues(new Uint8Array(32));
  assert_true(a.some((x) => x !== 0));
  assert_throws_js(TypeError, () => crypto.getRandomValues(new Float64Array(2)));
}, 'crypto.getRandomValues');
test(() => {
  for (const name of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'assert', 'dir', 'time', 'timeEnd', 'count']) {
    assert_equals(typeof console[name], 'function', name);
  }
}, 'console methods');
