// Conformance cases for ReadableStream, WritableStream, TransformStream and
// queuing strategies (WHATWG Streams).
import { test, promise_test, assert_true, assert_false, assert_equals, assert_array_equals,
         assert_throws_js, promise_rejects_js } from './harness.js';

async function readAll(stream) {
  const reader = stream.getReader();
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}

promise_test(async () => {
  const stream = new ReadableStream({
    start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); },
  });
  assert_array_equals(await readAll(stream), ['a', 'b']);
}, 'ReadableStream: enqueue, close, read');
promise_test(async () => {
  let pulls = 0;
  const stream = new ReadableStream({
    pull(c) { pulls++; c.enqueue(pulls); if (pulls === 3) c.close(); },
  }, { highWaterMark: 0 });
  assert_array_equals(await readAll(stream), [1, 2, 3]);
}, 'pull() is called on demand');
promise_test(async () => {
  const stream = new ReadableStream({ start(c) { c.error(new TypeError('boom')); } });
  await promise_rejects_js(TypeError, stream.getReader().read());
}, 'an errored stream rejects reads');
test(() => {
  const stream = new ReadableStream();
  const reader = stream.getReader();
  assert_true(stream.locked);
  assert_throws_js(TypeError, () => stream.getReader());
  reader.releaseLock();
  assert_false(stream.locked);
}, 'a reader locks the stream');
promise_test(async () => {
  let reason;
  const stream = new ReadableStream({ cancel(r) { reason = r; } });
  await stream.cancel('enough');
  assert_equals(reason, 'enough');
}, 'cancel() reaches the source');
promise_test(async () => {
  const [a, b] = new ReadableStream({ start(c) { c.enqueue(1); c.close(); } }).tee();
  assert_array_equals(await readAll(a), [1]);
  assert_array_equals(await readAll(b), [1]);
}, 'tee() gives two streams of the same chunks');
promise_test(async () => {
  const values = [];
  for await (const value of new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } })) {
    values.push(value);
  }
  assert_array_equals(values, [1, 2]);
}, 'async iteration');
promise_test(async () => {
  const stream = new ReadableStream({
    type: 'bytes',
    start(c) { c.enqueue(new Uint8Array([1, 2, 3])); c.close(); },
  });
  const reader = stream.getReader({ mode: 'byob' });
  const { value } = await reader.read(new Uint8Array(2));
  assert_array_equals(value, [1, 2]);
}, 'byte streams with a BYOB reader');
promise_test(async () => {
  const written = [];
  const stream = new WritableStream({ write(chunk) { written.push(chunk); } });
  const writer = stream.getWriter();
  await writer.write('x');
  await writer.write('y');
  await writer.close();
  assert_array_equals(written, ['x', 'y']);
}, 'WritableStream: write and close');
promise_test(async () => {
  const stream = new WritableStream({ write() { throw new RangeError('no'); } });
  const writer = stream.getWriter();
  await promise_rejects_js(RangeError, writer.write('x'));
}, 'a failing sink rejects write()');
promise_test(async () => {
  const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
  const out = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } }).pipeThrough(upper);
  assert_array_equals(await readAll(out), ['A', 'B']);
}, 'TransformStream with pipeThrough');
promise_test(async () => {
  const collected = [];
  await new ReadableStream({ start(c) { c.enqueue(1); c.close(); } })
      .pipeTo(new WritableStream({ write(v) { collected.push(v); } }));
  assert_array_equals(collected, [1]);
}, 'pipeTo');
promise_test(async () => {
  const controller = new AbortController();
  const piping = new ReadableStream({ pull() {} })
      .pipeTo(new WritableStream(), { signal: controller.signal });
  controller.abort();
  try {
    await piping;
    throw new Error('pipeTo fulfilled');
  } catch (error) {
    assert_equals(error.name, 'AbortError');
  }
}, 'pipeTo stops on an aborted signal');
test(() => {
  assert_equals(new CountQueuingStrategy({ highWaterMark: 4 }).size(), 1);
  assert_equals(new ByteLengthQueuingStrategy({ highWaterMark: 4 }).size(new Uint8Array(3)), 3);
}, 'queuing strategies');
promise_test(async () => {
  const { readable, writable } = new TransformStream();
  const writer = writable.getWriter();
  writer.write('passes');
  writer.close();
  assert_array_equals(await readAll(readable), ['passes']);
}, 'an identity TransformStream');
test(() => {
  const stream = new ReadableStream({ start(c) { assert_equals(c.desiredSize, 1); } });
  assert_true(stream instanceof ReadableStream);
}, 'desiredSize with the default strategy');
