// Kiln runtime: console. Output goes to the invocation's log (level, time,
// request id), formatted like Node's util.format for common cases.

function inspect(value, depth, seen) {
  switch (typeof value) {
    case 'string': return depth === 0 ? value : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'symbol': return String(value);
    case 'bigint': return value + 'n';
    case 'function': return `[Function: ${value.name || '(anonymous)'}]`;
  }
  if (value === null) return 'null';
  if (value instanceof Error) return value.stack || String(value);
  if (seen.includes(value)) return '[Circular]';
  if (depth > 2) return Array.isArray(value) ? '[Array]' : '[Object]';
  seen.push(value);
  try {
    if (Array.isArray(value)) {
      return '[ ' + value.map((v) => inspect(v, depth + 1, seen)).join(', ') + ' ]';
    }
    if (value instanceof Map) {
      return `Map(${value.size}) { ` +
          [...value].map(([k, v]) => `${inspect(k, depth + 1, seen)} => ${inspect(v, depth + 1, seen)}`).join(', ') + ' }';
    }
    if (value instanceof Set) {
      return `Set(${value.size}) { ` + [...value].map((v) => inspect(v, depth + 1, seen)).join(', ') + ' }';
    }
    if (value instanceof Date) return value.toISOString();
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.length}) [ ${Array.prototype.slice.call(value, 0, 50).join(', ')} ]`;
    const keys = Object.keys(value);
    const name = value.constructor && value.constructor !== Object ? value.constructor.name + ' ' : '';
    if (keys.length === 0) return name + '{}';
    return name + '{ ' + keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${inspect(value[k], depth + 1, seen)}`).join(', ') + ' }';
  } finally {
    seen.pop();
  }
}

function formatLogArgs(args) {
  let first = 0;
  let out = '';
  if (typeof args[0] === 'string' && args[0].includes('%')) {
    let next = 1;
    out = args[0].replace(/%[sdifjoOc%]/g, (spec) => {
      if (spec === '%%') return '%';
      if (next >= args.length) return spec;
      const arg = args[next++];
      switch (spec) {
        case '%s': return typeof arg === 'string' ? arg : inspect(arg, 1, []);
        case '%d':
        case '%i': return String(spec === '%i' ? parseInt(arg) : Number(arg));
        case '%f': return String(parseFloat(arg));
        case '%j': try { return JSON.stringify(arg); } catch { return '[Circular]'; }
        case '%c': return '';
        default: return inspect(arg, 1, []);
      }
    });
    first = next;
  } else if (args.length > 0) {
    out = inspect(args[0], 0, []);
    first = 1;
  }
  for (let i = first; i < args.length; i++) out += ' ' + inspect(args[i], 0, []);
  return out;
}

const consoleCounts = new Map();
const consoleTimers = new Map();
const kilnConsole = {
  log: (...args) => natives.log(LOG_LOG, formatLogArgs(args)),
  info: (...args) => natives.log(LOG_INFO, formatLogArgs(args)),
  debug: (...args) => natives.log(LOG_DEBUG, formatLogArgs(args)),
  warn: (...args) => natives.log(LOG_WARN, formatLogArgs(args)),
  error: (...args) => natives.log(LOG_ERROR, formatLogArgs(args)),
  trace: (...args) => natives.log(LOG_LOG, 'Trace: ' + formatLogArgs(args) + '\n' + new Error().stack.split('\n').slice(2).join('\n')),
  assert: (condition, ...args) => {
    if (!condition) natives.log(LOG_ERROR, 'Assertion failed' + (args.length ? ': ' + formatLogArgs(args) : ''));
  },
  dir: (value) => natives.log(LOG_LOG, inspect(value, 1, [])),
  count: (label = 'default') => {
    const n = (consoleCounts.get(label) || 0) + 1;
    consoleCounts.set(label, n);
    natives.log(LOG_LOG, `${label}: ${n}`);
  },
  countReset: (label = 'default') => consoleCounts.delete(label),
  time: (label = 'default') => consoleTimers.set(label, natives.now()),
  timeEnd: (label = 'default') => {
    const start = consoleTimers.get(label);
    consoleTimers.delete(label);
    if (start !== undefined) natives.log(LOG_LOG, `${label}: ${natives.now() - start}ms`);
  },
  timeLog: (label = 'default', ...args) => {
    const start = consoleTimers.get(label);
    if (start !== undefined) natives.log(LOG_LOG, `${label}: ${natives.now() - start}ms ${formatLogArgs(args)}`.trimEnd());
  },
};
kilnConsole.table = kilnConsole.log;
kilnConsole.group = kilnConsole.log;
kilnConsole.groupCollapsed = kilnConsole.log;
kilnConsole.groupEnd = () => {};
defineGlobal('console', kilnConsole);
