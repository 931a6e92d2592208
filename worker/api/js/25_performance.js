// Kiln runtime: performance and navigator. As on hosted Workers, the clock
// JavaScript sees (Date.now(), new Date(), performance.now()) stands still
// while code computes and moves only across I/O: the worker's V8 platform
// returns the time the current turn began (worker/js/v8_process.cc).

const kilnPerformance = {
  get timeOrigin() { return 0; },
  now() { return Date.now(); },
  toJSON() { return { timeOrigin: 0 }; },
  get [Symbol.toStringTag]() { return 'Performance'; },
};
defineGlobal('performance', kilnPerformance);
defineGlobal('navigator', Object.freeze({
  userAgent: 'Kiln/0.1',
  hardwareConcurrency: 1,
  get [Symbol.toStringTag]() { return 'Navigator'; },
}));
