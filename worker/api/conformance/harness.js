// A small testharness in the style of web-platform-tests' testharness.js,
// for the conformance suites in this folder (written from the WHATWG Fetch,
// Encoding, Streams and DOM standards and the HTML and File API standards).
// Each suite registers cases with test() / promise_test(); run() executes
// them in order and answers { passed, total, failures }.
const cases = [];

export function test(fn, name) { cases.push({ name, fn, async: false }); }
export function promise_test(fn, name) { cases.push({ name, fn, async: true }); }

class AssertionError extends Error {}

function show(value) {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return '<value>';
  }
}

export function assert_true(value, message = '') {
  if (value !== true) throw new AssertionError(`expected true, got ${show(value)} ${message}`);
}
export function assert_false(value, message = '') {
  if (value !== false) throw new AssertionError(`expected false, got ${show(value)} ${message}`);
}
export function assert_equals(actual, expected, message = '') {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`expected ${show(expected)}, got ${show(actual)} ${message}`);
  }
}
export function assert_array_equals(actual, expected, message = '') {
  const a = [...actual];
  if (a.length !== expected.length || a.some((v, i) => !Object.is(v, expected[i]))) {
    throw new AssertionError(`expected [${expected.map(show)}], got [${a.map(show)}] ${message}`);
  }
}
export function assert_deep_equals(actual, expected, message = '') {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`expected ${e}, got ${a} ${message}`);
}
export function assert_throws_js(type, fn, message = '') {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return;
    throw new AssertionError(`expected ${type.name}, got ${error?.name}: ${error?.message} ${message}`);
  }
  throw new AssertionError(`expected ${type.name}, nothing thrown ${message}`);
}
export function assert_throws_dom(name, fn, message = '') {
  try {
    fn();
  } catch (error) {
    if (error instanceof DOMException && error.name === name) return;
    throw new AssertionError(`expected DOMException ${name}, got ${error?.name}: ${error?.message} ${message}`);
  }
  throw new AssertionError(`expected DOMException ${name}, nothing thrown ${message}`);
}
export async function promise_rejects_js(type, promise, message = '') {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return;
    throw new AssertionError(`expected rejection with ${type.name}, got ${error?.name}: ${error?.message} ${message}`);
  }
  throw new AssertionError(`expected rejection with ${type.name}, it fulfilled ${message}`);
}
export async function promise_rejects_dom(name, promise, message = '') {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DOMException && error.name === name) return;
    throw new AssertionError(`expected rejection with ${name}, got ${error?.name}: ${error?.message} ${message}`);
  }
  throw new AssertionError(`expected rejection with ${name}, it fulfilled ${message}`);
}

export async function run() {
  const failures = [];
  let passed = 0;
  for (const { name, fn, async } of cases) {
    try {
      if (async) await fn();
      else fn();
      passed++;
    } catch (error) {
      failures.push(`${name}: ${error?.message ?? error}`);
    }
  }
  return { passed, total: cases.length, failures };
}
