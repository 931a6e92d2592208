// Kiln runtime, part 0: the shared scope. All files of worker/api/js are
// concatenated, in name order, into one classic script, with the bundled npm
// implementations (`vendor`, worker/api/vendor/entry.js) right after this one:
//   (function (natives) { 'use strict'; <files> return internals; })
// evaluated once per snapshot build, before the function's own modules.
// `natives` holds the C++ functions of worker/api/natives.cc; `internals` is
// what the C++ side calls (boot, dispatch*, runTimer, ...). Neither is visible
// to user code.

const internals = Object.create(null);

// Log levels as natives.log expects them (worker/api/natives.cc).
const LOG_DEBUG = 0, LOG_LOG = 1, LOG_INFO = 2, LOG_WARN = 3, LOG_ERROR = 4;

function defineGlobal(name, value) {
  Object.defineProperty(globalThis, name, {
    value, writable: true, enumerable: false, configurable: true,
  });
}

function errorText(error) {
  if (error instanceof Error && typeof error.stack === 'string') return error.stack;
  try {
    return 'Uncaught ' + String(error);
  } catch {
    return 'Uncaught exception';
  }
}

