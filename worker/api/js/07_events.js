// Kiln runtime: Event, EventTarget, AbortController, AbortSignal (DOM
// Standard), without a node tree: an event is dispatched to its target only.

const EVENT_NONE = 0, EVENT_AT_TARGET = 2;

class Event {
  #type;
  #bubbles;
  #cancelable;
  #composed;
  #timeStamp;
  #defaultPrevented = false;
  #stopImmediate = false;
  #stop = false;
  #passive = false;
  #dispatching = false;
  #target = null;
  #currentTarget = null;

  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("Event constructor requires a type");
    this.#type = String(type);
    this.#bubbles = Boolean(init?.bubbles);
    this.#cancelable = Boolean(init?.cancelable);
    this.#composed = Boolean(init?.composed);
    this.#timeStamp = Date.now();
  }
  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get composed() { return this.#composed; }
  get timeStamp() { return this.#timeStamp; }
  get isTrusted() { return false; }
  get target() { return this.#target; }
  get srcElement() { return this.#target; }
  get currentTarget() { return this.#currentTarget; }
  get eventPhase() { return this.#dispatching ? EVENT_AT_TARGET : EVENT_NONE; }
  get defaultPrevented() { return this.#defaultPrevented; }
  get returnValue() { return !this.#defaultPrevented; }
  set returnValue(value) { if (!value) this.preventDefault(); }
  get cancelBubble() { return this.#stop; }
  set cancelBubble(value) { if (value) this.#stop = true; }
  composedPath() { return this.#dispatching && this.#currentTarget ? [this.#currentTarget] : []; }
  preventDefault() { if (this.#cancelable && !this.#passive) this.#defaultPrevented = true; }
  stopPropagation() { this.#stop = true; }
  stopImmediatePropagation() { this.#stop = true; this.#stopImmediate = true; }

  static _begin(event, target) {
    if (event.#dispatching) throw new DOMException('The event is already being dispatched.', 'InvalidStateError');
    event.#dispatching = true;
    event.#target = target;
    event.#currentTarget = target;
    event.#stop = false;
    event.#stopImmediate = false;
  }
  static _end(event) {
    event.#dispatching = false;
    event.#currentTarget = null;
  }
  static _stoppedImmediately(event) { return event.#stopImmediate; }
  static _setPassive(event, passive) { event.#passive = passive; }
}
for (const [name, value] of [['NONE', 0], ['CAPTURING_PHASE', 1], ['AT_TARGET', 2], ['BUBBLING_PHASE', 3]]) {
  Object.defineProperty(Event, name, { value, enumerable: true });
  Object.defineProperty(Event.prototype, name, { value, enumerable: true });
}

function normalizeListenerOptions(options) {
  if (typeof options === 'boolean') return { capture: options, once: false, passive: false, signal: undefined };
  options = options ?? {};
  return { capture: Boolean(options.capture), once: Boolean(options.once), passive: Boolean(options.passive),
           signal: options.signal };
}

class EventTarget {
  // type -> [{ callback, capture, once, passive, removed }]
  #listeners = new Map();

  addEventListener(type, callback, options = undefined) {
    const { capture, once, passive, signal } = normalizeListenerOptions(options);
    if (callback === null || callback === undefined) return;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("addEventListener: 'signal' must be an AbortSignal");
    }
    if (signal?.aborted) return;
    type = String(type);
    let list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, list = []);
    if (list.some((l) => l.callback === callback && l.capture === capture)) return;
    const listener = { callback, capture, once, passive, removed: false };
    list.push(listener);
    signal?.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
  }

  removeEventListener(type, callback, options = undefined) {
    const { capture } = normalizeListenerOptions(options);
    const list = this.#listeners.get(String(type));
    if (list === undefined) return;
    const index = list.findIndex((l) => l.callback === callback && l.capture === capture);
    if (index >= 0) {
      list[index].removed = true;
      list.splice(index, 1);
    }
  }

  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent: argument must be an Event");
    Event._begin(event, this);
    try {
      const list = this.#listeners.get(event.type);
      if (list !== undefined) {
        for (const listener of list.slice()) {
          if (listener.removed) continue;
          if (listener.once) this.removeEventListener(event.type, listener.callback, { capture: listener.capture });
          Event._setPassive(event, listener.passive);
          try {
            if (typeof listener.callback === 'function') {
              listener.callback.call(this, event);
            } else if (typeof listener.callback?.handleEvent === 'function') {
              listener.callback.handleEvent(event);
            }
          } catch (error) {
            reportError(error);
          }
          Event._setPassive(event, false);
          if (Event._stoppedImmediately(event)) break;
        }
      }
    } finally {
      Event._end(event);
    }
    return !event.defaultPrevented;
  }
}

class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #onabort = null;
  #dependents = [];

  constructor(key) {
    super();
    if (key !== ABORT_SIGNAL_KEY) throw new TypeError('Illegal constructor');
  }
  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  throwIfAborted() { if (this.#aborted) throw this.#reason; }
  get onabort() { return this.#onabort; }
  set onabort(handler) {
    if (this.#onabort) this.removeEventListener('abort', this.#onabort);
    this.#onabort = typeof handler === 'function' ? handler : null;
    if (this.#onabort) this.addEventListener('abort', this.#onabort);
  }

  static abort(reason = undefined) {
    const signal = new AbortSignal(ABORT_SIGNAL_KEY);
    AbortSignal._signal(signal, reason);
    return signal;
  }
  static timeout(milliseconds) {
    milliseconds = Number(milliseconds);
    if (!(milliseconds >= 0) || !Number.isFinite(milliseconds)) {
      throw new TypeError('AbortSignal.timeout needs a non-negative finite number');
    }
    const signal = new AbortSignal(ABORT_SIGNAL_KEY);
    setTimeout(() => AbortSignal._signal(signal, new DOMException('The operation timed out.', 'TimeoutError')),
               milliseconds);
    return signal;
  }
  static any(signals) {
    const result = new AbortSignal(ABORT_SIGNAL_KEY);
    for (const signal of signals) {
      if (!(signal instanceof AbortSignal)) throw new TypeError('AbortSignal.any needs AbortSignals');
      if (signal.aborted) {
        AbortSignal._signal(result, signal.reason);
        return result;
      }
    }
    for (const signal of signals) signal.#dependents.push(result);
    return result;
  }

  static _signal(signal, reason) {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const dependents = signal.#dependents;
    signal.#dependents = [];
    signal.dispatchEvent(new Event('abort'));
    for (const dependent of dependents) AbortSignal._signal(dependent, signal.#reason);
  }
  get [Symbol.toStringTag]() { return 'AbortSignal'; }
}
const ABORT_SIGNAL_KEY = Symbol('AbortSignal');

class AbortController {
  #signal = new AbortSignal(ABORT_SIGNAL_KEY);
  get signal() { return this.#signal; }
  abort(reason = undefined) { AbortSignal._signal(this.#signal, reason); }
  get [Symbol.toStringTag]() { return 'AbortController'; }
}

defineGlobal('Event', Event);
defineGlobal('EventTarget', EventTarget);
defineGlobal('AbortSignal', AbortSignal);
defineGlobal('AbortController', AbortController);
