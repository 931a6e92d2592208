// Kiln runtime: the entry points the C++ side calls. One invocation at a time
// per isolate; `env` is set once per isolate at boot; handlers were captured
// when the snapshot was built.

let handlers = null;
let mainModule = '';
let env = Object.freeze({});
let invocation = null;  // { waitUntil: Promise[] }

class ExecutionContext {
  waitUntil(promise) {
    if (invocation === null) throw new Error('ctx.waitUntil() called after the invocation ended');
    invocation.waitUntil.push(Promise.resolve(promise).catch(reportError));
    natives.waitUntilAdded();  // without it, the host skips waitUntilSettled()
  }
  passThroughOnException() {}
}

internals.setHandlers = (exported, main) => {
  mainModule = main;
  const isHandlerObject = exported !== null && (typeof exported === 'object' || typeof exported === 'function');
  if (!isHandlerObject || !['fetch', 'queue', 'scheduled'].some((k) => typeof exported[k] === 'function')) {
    throw new TypeError(
        'the main module must `export default` an object with a fetch, queue or scheduled handler, ' +
        'e.g. export default { async fetch(request, env, ctx) { return new Response("hi"); } }');
  }
  handlers = exported;
};

internals.boot = (envJson) => {
  // Read-only, as documented: one request cannot change what the next sees.
  env = Object.freeze(JSON.parse(envJson));
};

function handler(name) {
  const fn = handlers[name];
  if (typeof fn !== 'function') {
    throw new Error(`${mainModule} exports no ${name}() handler`);
  }
  return fn;
}

// Runs an invocation; the promise always fulfills, with [true, result] or
// [false, error stack], and a failure is logged as an uncaught error.
function run(body) {
  invocation = { waitUntil: [] };
  const ctx = new ExecutionContext();
  let promise;
  try {
    promise = Promise.resolve(body(ctx));
  } catch (error) {
    promise = Promise.reject(error);
  }
  return promise.then((result) => [true, result], (error) => {
    const text = errorText(error);
    natives.log(LOG_ERROR, text.startsWith('Uncaught') ? text : 'Uncaught ' + text);
    return [false, text];
  });
}

// `streamed`: the caller takes a stream body chunk by chunk (pumpBody) rather
// than read to the end first.
internals.dispatchFetch = (method, url, flatHeaders, body, streamed) => run(async (ctx) => {
  const fetch = handler('fetch');
  const request = Request._fromWire(method, url, flatHeaders, body);
  const response = await fetch.call(handlers, request, env, ctx);
  if (!(response instanceof Response)) {
    throw new TypeError(`the fetch handler must return a Response, not ${response === null ? 'null' : typeof response}`);
  }
  if (response.type === 'error') throw new TypeError('the fetch handler returned Response.error()');
  let wire = Response._toWire(response, streamed);
  if (!Array.isArray(wire)) wire = await wire;
  invocation.bodyReader = wire[3];
  return [wire[0], wire[1], wire[2], wire[3] !== null];
});

// Streamed response bodies. The host grants credit (bytes it can take now);
// natives.writeBody(bytes) hands a chunk over and returns the credit left;
// at none the pump waits for addBodyCredit(). Fulfills with [true, null] at
// the end of the stream, [false, error stack] when the stream errors.
let bodyCredit = 0;
let creditWaiter = null;
const BODY_PIECE_BYTES = 64 * 1024;

internals.pumpBody = async (credit) => {
  bodyCredit = credit;
  const reader = invocation.bodyReader;
  invocation.bodyReader = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return [true, null];
      let bytes = value;
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      else if (ArrayBuffer.isView(bytes) && !(bytes instanceof Uint8Array)) {
        bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (!(bytes instanceof Uint8Array)) {
        throw new TypeError('a chunk of a streamed response body must be a Uint8Array (or ArrayBuffer / view); ' +
                            'use TextEncoderStream to send strings');
      }
      // Large chunks go in pieces, each waiting for credit: the caller never
      // holds more than its window plus one piece.
      for (let offset = 0; offset < bytes.byteLength; offset += BODY_PIECE_BYTES) {
        bodyCredit = natives.writeBody(bytes.subarray(offset, offset + BODY_PIECE_BYTES));
        while (bodyCredit <= 0) await new Promise((resolve) => { creditWaiter = resolve; });
      }
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    const text = errorText(error);
    natives.log(LOG_ERROR, 'Uncaught (in response body) ' + text);
    return [false, text];
  }
};

internals.addBodyCredit = (credit) => {
  bodyCredit = credit;
  if (creditWaiter !== null && bodyCredit > 0) {
    const wake = creditWaiter;
    creditWaiter = null;
    wake();
  }
};

class Message {
  #outcome = null;  // null | 'ack' | 'retry'
  #delay = 0;
  constructor(id, body, timestamp, attempts) {
    this.id = id;
    this.body = body;
    this.timestamp = new Date(timestamp);
    this.attempts = attempts;
    Object.freeze(this);
  }
  ack() { this.#outcome = 'ack'; }
  retry(options = {}) {
    this.#outcome = 'retry';
    this.#delay = Math.max(0, Math.floor(Number(options.delaySeconds) || 0));
  }
  static _outcome(message) { return [message.#outcome, message.#delay]; }
}

class MessageBatch {
  #all = null;
  #delay = 0;
  constructor(queue, messages) {
    this.queue = queue;
    this.messages = messages;
  }
  ackAll() { this.#all = 'ack'; }
  retryAll(options = {}) {
    this.#all = 'retry';
    this.#delay = Math.max(0, Math.floor(Number(options.delaySeconds) || 0));
  }
  static _all(batch) { return [batch.#all, batch.#delay]; }
}

function decodeQueueBody(body, contentType) {
  if (contentType === 'json') return JSON.parse(body);
  if (contentType === 'bytes') return new Uint8Array(body);
  return body;
}

// Per message: an explicit ack()/retry() wins; then ackAll()/retryAll(); then
// ack if the handler succeeded, retry if it threw (as on Cloudflare Queues).
internals.dispatchQueue = (queue, flat) => {
  const messages = [];
  for (let i = 0; i + 4 < flat.length; i += 5) {
    messages.push(new Message(flat[i], decodeQueueBody(flat[i + 1], flat[i + 2]), flat[i + 3], flat[i + 4]));
  }
  const batch = new MessageBatch(queue, messages);
  return run(async (ctx) => {
    let succeeded = true;
    try {
      await handler('queue').call(handlers, batch, env, ctx);
    } catch (error) {
      succeeded = false;
      reportError(error);
    }
    const [all, allDelay] = MessageBatch._all(batch);
    const outcomes = [];
    for (const message of messages) {
      let [outcome, delay] = Message._outcome(message);
      if (outcome === null && all !== null) [outcome, delay] = [all, allDelay];
      if (outcome === null) outcome = succeeded ? 'ack' : 'retry';
      outcomes.push(message.id, outcome === 'ack', delay);
    }
    return outcomes;
  });
};

internals.dispatchScheduled = (cron, scheduledTime) => run(async (ctx) => {
  const event = Object.freeze({ type: 'scheduled', cron, scheduledTime, noRetry() {} });
  await handler('scheduled').call(handlers, event, env, ctx);
  return undefined;
});

// Settles once every promise passed to ctx.waitUntil() has (including ones
// added meanwhile); null when there are none.
internals.waitUntilSettled = () => {
  if (invocation === null || invocation.waitUntil.length === 0) return null;
  const pending = invocation.waitUntil;
  return (async () => {
    let seen = 0;
    while (seen < pending.length) {
      const batch = pending.slice(seen);
      seen = pending.length;
      await Promise.allSettled(batch);
    }
    return [true, undefined];
  })();
};

internals.endInvocation = () => {
  invocation = null;
  bodyCredit = 0;
  creditWaiter = null;
  clearAllTimers();
};

// Called once while the snapshot is built, after setHandlers: runs the request
// path with a stand-in handler so the runtime's functions are compiled into the
// snapshot (it keeps compiled bytecode) and a booted isolate's first request
// does not pay for compiling them. Leaves no state behind.
internals.warmUp = () => {
  const saved = handlers;
  handlers = {
    async fetch(request) {
      request.headers.get('accept');
      await request.text();
      const response = new Response('warm', { headers: { 'content-type': 'text/plain' } });
      response.headers.set('x-warm', '1');
      return Response.json({ ok: true }, { status: 200 });
    },
  };
  let pending;
  try {
    pending = internals.dispatchFetch('POST', 'http://warm.up/', ['accept', '*/*'], new ArrayBuffer(1));
  } finally {
    handlers = saved;
  }
  return pending.then(() => internals.endInvocation());
};
