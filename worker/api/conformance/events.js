// Conformance cases for Event, EventTarget, AbortController and AbortSignal
// (DOM Standard), and DOMException (WebIDL).
import { test, promise_test, assert_true, assert_false, assert_equals, assert_array_equals,
         assert_throws_js, assert_throws_dom } from './harness.js';

test(() => {
  const event = new Event('ping', { cancelable: true, bubbles: true });
  assert_equals(event.type, 'ping');
  assert_true(event.cancelable);
  assert_true(event.bubbles);
  assert_false(event.defaultPrevented);
  assert_false(event.isTrusted);
  assert_equals(event.eventPhase, Event.NONE);
}, 'Event init');
test(() => {
  const target = new EventTarget();
  const calls = [];
  const listener = (e) => calls.push(e.type);
  target.addEventListener('x', listener);
  target.addEventListener('x', listener);
  target.dispatchEvent(new Event('x'));
  target.removeEventListener('x', listener);
  target.dispatchEvent(new Event('x'));
  assert_array_equals(calls, ['x']);
}, 'a listener is added once and can be removed');
test(() => {
  const target = new EventTarget();
  let count = 0;
  target.addEventListener('x', () => count++, { once: true });
  target.dispatchEvent(new Event('x'));
  target.dispatchEvent(new Event('x'));
  assert_equals(count, 1);
}, 'once');
test(() => {
  const target = new EventTarget();
  target.addEventListener('x', (e) => e.preventDefault());
  assert_false(target.dispatchEvent(new Event('x', { cancelable: true })));
  assert_true(target.dispatchEvent(new Event('x')));
}, 'preventDefault on a cancelable event makes dispatchEvent return false');
test(() => {
  const target = new EventTarget();
  let passive = null;
  target.addEventListener('x', (e) => { e.preventDefault(); passive = e.defaultPrevented; }, { passive: true });
  target.dispatchEvent(new Event('x', { cancelable: true }));
  assert_false(passive);
}, 'passive listeners cannot cancel');
test(() => {
  const target = new EventTarget();
  const calls = [];
  target.addEventListener('x', (e) => { calls.push(1); e.stopImmediatePropagation(); });
  target.addEventListener('x', () => calls.push(2));
  target.dispatchEvent(new Event('x'));
  assert_array_equals(calls, [1]);
}, 'stopImmediatePropagation');
test(() => {
  const target = new EventTarget();
  let seen = null;
  target.addEventListener('x', { handleEvent(e) { seen = e.target; } });
  target.dispatchEvent(new Event('x'));
  assert_equals(seen, target);
}, 'listener objects with handleEvent; target is set');
test(() => {
  const target = new EventTarget();
  const calls = [];
  target.addEventListener('x', () => { throw new Error('listener failed'); });
  target.addEventListener('x', () => calls.push('second'));
  target.dispatchEvent(new Event('x'));
  assert_array_equals(calls, ['second']);
}, 'a throwing listener does not stop the others');
test(() => {
  const event = new Event('x');
  const target = new EventTarget();
  target.addEventListener('x', () => assert_throws_dom('InvalidStateError', () => target.dispatchEvent(event)));
  target.dispatchEvent(event);
}, 'dispatching an event being dispatched throws InvalidStateError');
test(() => {
  const controller = new AbortController();
  let fired = 0;
  controller.signal.addEventListener('abort', () => fired++);
  controller.abort();
  controller.abort();
  assert_true(controller.signal.aborted);
  assert_equals(fired, 1);
  assert_equals(controller.signal.reason.name, 'AbortError');
  assert_true(controller.signal.reason instanceof DOMException);
}, 'AbortController aborts once with an AbortError');
test(() => {
  const controller = new AbortController();
  controller.abort('why');
  assert_equals(controller.signal.reason, 'why');
  assert_throws_js(Error, () => { try { controller.signal.throwIfAborted(); } catch (e) { throw new Error(e); } });
}, 'abort(reason) and throwIfAborted');
test(() => {
  const signal = AbortSignal.abort();
  assert_true(signal.aborted);
  assert_throws_js(TypeError, () => new AbortSignal());
}, 'AbortSignal.abort(); no public constructor');
promise_test(async () => {
  const signal = AbortSignal.timeout(5);
  await new Promise((resolve) => signal.addEventListener('abort', resolve));
  assert_equals(signal.reason.name, 'TimeoutError');
}, 'AbortSignal.timeout');
test(() => {
  const a = new AbortController(), b = new AbortController();
  const any = AbortSignal.any([a.signal, b.signal]);
  assert_false(any.aborted);
  b.abort('second');
  assert_true(any.aborted);
  assert_equals(any.reason, 'second');
  assert_true(AbortSignal.any([AbortSignal.abort('x')]).aborted);
}, 'AbortSignal.any');
test(() => {
  const controller = new AbortController();
  let called = false;
  controller.signal.onabort = () => { called = true; };
  controller.abort();
  assert_true(called);
}, 'onabort');
test(() => {
  const target = new EventTarget();
  const controller = new AbortController();
  let count = 0;
  target.addEventListener('x', () => count++, { signal: controller.signal });
  controller.abort();
  target.dispatchEvent(new Event('x'));
  assert_equals(count, 0);
}, 'addEventListener with a signal');
test(() => {
  const e = new DOMException('msg', 'NotFoundError');
  assert_equals(e.name, 'NotFoundError');
  assert_equals(e.message, 'msg');
  assert_equals(e.code, 8);
  assert_equals(DOMException.NOT_FOUND_ERR, 8);
  assert_true(e instanceof Error);
  assert_equals(new DOMException().name, 'Error');
}, 'DOMException');
