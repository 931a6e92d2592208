// Kiln runtime, part 0: the shared scope. All files of worker/api/js are
// concatenated, in name order, into one classic script, with the eagerly
// loaded npm code (`vendor`, worker/api/vendor/entry.js) right after this one:
//   (function (natives) { 'use strict'; <files> return internals; })
// Larger parts few functions need (streams, TextEncoder/TextDecoder, multipart
// parsing, crypto.subtle) are lazy modules: compiled in an isolate the first
// time something uses them (lazyModule below; worker/js/core_natives.cc).
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


// What lazy modules may use from this scope; files below add to it.
const shared = Object.create(null);
shared.defineGlobal = defineGlobal;

const loadedModules = Object.create(null);
const LOADING = Symbol('loading');

// The exports of lazy module `name`, loading it on first use. While a module
// loads, asking for it again (its code probing its own globals) gives
// undefined.
function lazyModule(name) {
  let exports = loadedModules[name];
  if (exports === LOADING) return undefined;
  if (exports === undefined) {
    loadedModules[name] = LOADING;
    try {
      exports = loadedModules[name] = natives.loadModule(name)(natives, shared);
    } finally {
      if (loadedModules[name] === LOADING) delete loadedModules[name];
    }
  }
  return exports;
}

function moduleLoaded(name) {
  const exports = loadedModules[name];
  return exports !== undefined && exports !== LOADING;
}

// A global that loads its value on first access (and can be overwritten).
// It reads as undefined while its own module is loading.
function defineLazyGlobal(name, load) {
  Object.defineProperty(globalThis, name, {
    get() {
      const value = load();
      if (value === undefined) return undefined;
      defineGlobal(name, value);
      return value;
    },
    set(value) { defineGlobal(name, value); },
    enumerable: false,
    configurable: true,
  });
}
