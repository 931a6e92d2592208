// Kiln runtime: structuredClone (HTML Standard), on V8's ValueSerializer
// (natives.structuredClone in worker/js/core_natives.cc).

defineGlobal('structuredClone', function structuredClone(value, options = undefined) {
  if (arguments.length === 0) throw new TypeError('structuredClone requires 1 argument');
  const transfer = options?.transfer === undefined ? [] : [...options.transfer];
  try {
    return natives.structuredClone(value, transfer);
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith('DataCloneError: ')) {
      throw new DOMException(error.message.slice('DataCloneError: '.length), 'DataCloneError');
    }
    throw error;
  }
});
