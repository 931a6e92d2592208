// Kiln runtime: setTimeout / setInterval / queueMicrotask. Timers run on the
// worker's libuv loop and belong to the invocation that set them: they are
// dropped when it ends. At global scope (the snapshot build) they throw, as on
// Cloudflare Workers.

let nextTimerId = 1;
const timers = new Map();  // id -> {callback, args, repeat}

function reportError(error) {
  natives.log(LOG_ERROR, 'Uncaught ' + errorText(error).replace(/^Uncaught /, ''));
}

function startTimer(callback, delay, args, repeat) {
  if (typeof callback !== 'function') {
    throw new TypeError('The callback given to a timer must be a function');
  }
  delay = Number(delay);
  if (!(delay >= 0)) delay = 0;  // NaN and negatives run as soon as possible
  const id = nextTimerId++;
  natives.setTimer(id, delay, repeat);
  timers.set(id, { callback, args, repeat });
  return id;
}

function stopTimer(id) {
  id = Number(id);
  if (timers.delete(id)) natives.clearTimer(id);
}

defineGlobal('setTimeout', function setTimeout(callback, delay = 0, ...args) {
  return startTimer(callback, delay, args, false);
});
defineGlobal('setInterval', function setInterval(callback, delay = 0, ...args) {
  return startTimer(callback, delay, args, true);
});
defineGlobal('clearTimeout', function clearTimeout(id) { stopTimer(id); });
defineGlobal('clearInterval', function clearInterval(id) { stopTimer(id); });
defineGlobal('queueMicrotask', function queueMicrotask(callback) {
  if (typeof callback !== 'function') throw new TypeError('queueMicrotask needs a function');
  Promise.resolve().then(() => {
    try {
      callback();
    } catch (error) {
      reportError(error);
    }
  });
});

internals.runTimer = (id) => {
  const timer = timers.get(id);
  if (timer === undefined) return undefined;
  if (!timer.repeat) timers.delete(id);
  try {
    timer.callback(...timer.args);
  } catch (error) {
    reportError(error);
  }
  return undefined;
};

function clearAllTimers() {
  if (timers.size !== 0) timers.clear();  // clear() allocates a new table even when empty
}
