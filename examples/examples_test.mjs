// Runs every example's handlers in Node.js (whose Request, Response, URL,
// ReadableStream and TextEncoder are the same Web APIs Kiln provides), with
// batch, message, controller and ctx objects that behave like the Kiln
// runtime's (worker/api/js/90_dispatch.js). Checks what each example's
// comment promises. Usage: node examples_test.mjs EXAMPLES_DIR
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.dirname(new URL(import.meta.url).pathname));
const load = async (name) => (await import(pathToFileURL(path.join(root, name, 'index.js')).href)).default;

function context() {
  const waited = [];
  return { waited, ctx: { waitUntil: (p) => waited.push(Promise.resolve(p)), passThroughOnException() {} } };
}

// As the runtime: per-message ack()/retry(), then ackAll()/retryAll(), then
// ack on success and retry on a throw.
async function runQueue(handler, queue, bodies, env = {}) {
  const outcomes = new Map();
  const messages = bodies.map((body, i) => Object.freeze({
    id: `m${i}`, body, timestamp: new Date(1700000000000), attempts: body?.attempts ?? 1,
    ack() { outcomes.set(`m${i}`, ['ack', 0]); },
    retry(options = {}) { outcomes.set(`m${i}`, ['retry', Math.max(0, Math.floor(Number(options.delaySeconds) || 0))]); },
  }));
  let all = null;
  const batch = { queue, messages, ackAll() { all = ['ack', 0]; }, retryAll(o = {}) { all = ['retry', o.delaySeconds ?? 0]; } };
  let ok = true;
  try {
    await handler.queue.call(handler, batch, env, context().ctx);
  } catch {
    ok = false;
  }
  return messages.map((m) => outcomes.get(m.id) ?? all ?? [ok ? 'ack' : 'retry', 0]);
}

const logs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => logs.push(`${level}: ${args.join(' ')}`);
}

const tests = {
  async hello() {
    const hello = await load('hello');
    const response = await hello.fetch(new Request('http://hello.default.localhost/a/b?c=1'), { WHO: 'kiln' }, context().ctx);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { hello: 'kiln', method: 'GET', path: '/a/b?c=1' });
  },

  async jsonApi() {
    const api = await load('json-api');
    const env = { API_NAME: 'todos' };
    const call = async (method, p, body) => {
      const init = { method, headers: { 'content-type': 'application/json' } };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const response = await api.fetch(new Request(`http://json-api.default.localhost${p}`, init), env, context().ctx);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
    };
    assert.deepEqual((await call('GET', '/')).body.name, 'todos');
    let r = await call('POST', '/todos', { title: 'write docs' });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), '/todos/1');
    assert.deepEqual(r.body, { id: '1', title: 'write docs', done: false });
    assert.equal((await call('POST', '/todos', { nope: 1 })).status, 400);
    assert.equal((await call('POST', '/todos', 'not json')).status, 400);
    assert.deepEqual((await call('GET', '/todos')).body, [{ id: '1', title: 'write docs', done: false }]);
    r = await call('PATCH', '/todos/1', { done: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.done, true);
    r = await call('GET', '/todos/2');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: 'no such todo', id: '2' });
    r = await call('PUT', '/todos');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, POST');
    r = await call('GET', '/nowhere');
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.body, { error: 'not found', path: '/nowhere' });
    assert.equal((await call('DELETE', '/todos/1')).status, 204);
    assert.equal((await call('DELETE', '/todos/1')).status, 404);
  },

  async streaming() {
    const streaming = await load('streaming');
    const response = await streaming.fetch(new Request('http://streaming.default.localhost/?limit=30'), {}, context().ctx);
    assert.ok(response.body instanceof ReadableStream);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    // Read chunk by chunk: the report arrives in pieces.
    const reader = response.body.getReader();
    const chunks = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(new TextDecoder().decode(next.value));
    }
    assert.ok(chunks.length >= 3, `expected several chunks, got ${chunks.length}`);
    assert.equal(chunks.join(''), 'primes up to 30\n2 3 5 7 11 13 17 19 23 29\n10 primes\n');
    const big = await streaming.fetch(new Request('http://x/?limit=1000'), {}, context().ctx);
    assert.match(await big.text(), /\n168 primes\n$/);
  },

  async queueConsumer() {
    const consumer = await load('queue-consumer');
    const outcomes = await runQueue(consumer, 'orders', [
      { id: 'a', amount: 10 },
      { id: 'b', amount: 5, paymentPending: true, attempts: 2 },
      { bogus: true },
    ]);
    assert.deepEqual(outcomes, [['ack', 0], ['retry', 120], ['ack', 0]]);
    assert.ok(logs.some((l) => l.startsWith('warn: dropping malformed message m2 from orders')));
    assert.ok(logs.includes('info: orders: 1/3 accepted'));
    const response = await consumer.fetch(new Request('http://x/'), {}, context().ctx);
    assert.equal(response.status, 200);
  },

  async scheduledJob() {
    const job = await load('scheduled-job');
    const env = { RETENTION_DAYS: '1' };
    const event = (cron) => Object.freeze({ type: 'scheduled', cron, scheduledTime: Date.UTC(2024, 0, 2, 3), noRetry() {} });
    const nightly = context();
    await job.scheduled(event('0 3 * * *'), env, nightly.ctx);
    assert.equal(nightly.waited.length, 1);
    await Promise.all(nightly.waited);
    assert.ok(logs.includes('log: cleanup: removed entries older than 2024-01-01T03:00:00.000Z'));
    const frequent = context();
    await job.scheduled(event('*/5 * * * *'), env, frequent.ctx);
    assert.equal(frequent.waited.length, 0);
    assert.ok(logs.some((l) => l.startsWith('log: health check (*/5 * * * *) due 2024-01-02T03:00:00.000Z')));
    const response = await job.fetch(new Request('http://x/'), env, context().ctx);
    assert.deepEqual(await response.json(), { crons: ['*/5 * * * *', '0 3 * * *'] });
  },
};

let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  try {
    await test();
    process.stdout.write(`ok ${name}\n`);
  } catch (error) {
    failed++;
    process.stdout.write(`FAIL ${name}: ${error.stack}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
