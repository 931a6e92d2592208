// Runs the WHATWG URL conformance data from web-platform-tests inside a Kiln
// isolate, the way wpt's url/*.any.js tests do, and answers with a JSON
// report: for each file, subtests passed / total, and the failures.
import urltestdata from './urltestdata.json';
import setters from './setters_tests.json';
import toascii from './toascii.json';
import urlencoded from './urlencoded-parser-data.json';

const ATTRIBUTES = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port',
                    'pathname', 'search', 'hash'];

function report() {
  const results = {};
  const run = (file, name, body) => {
    const entry = results[file] ??= { passed: 0, total: 0, failures: [] };
    entry.total++;
    try {
      const problem = body();
      if (problem) throw new Error(problem);
      entry.passed++;
    } catch (error) {
      entry.failures.push(`${name}: ${error.message}`);
    }
  };
  const mismatch = (what, actual, expected) =>
      actual === expected ? null : `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`;
  const throwsTypeError = (fn) => {
    try {
      fn();
    } catch (error) {
      return error instanceof TypeError ? null : `threw ${error?.name}, want TypeError`;
    }
    return 'did not throw';
  };

  // urltestdata.json: wpt url/url-constructor.any.js (+ origin, canParse).
  for (const test of urltestdata) {
    if (typeof test === 'string') continue;
    const base = test.base === null ? undefined : test.base;
    const name = `new URL(${JSON.stringify(test.input)}, ${JSON.stringify(test.base)})`;
    if (test.failure) {
      run('urltestdata.json', name, () => throwsTypeError(() => new URL(test.input, base)) ??
          mismatch('URL.canParse', URL.canParse(test.input, base), false));
      continue;
    }
    run('urltestdata.json', name, () => {
      const url = new URL(test.input, base);
      for (const attribute of ATTRIBUTES) {
        const problem = mismatch(attribute, url[attribute], test[attribute]);
        if (problem) return problem;
      }
      if ('origin' in test) {
        const problem = mismatch('origin', url.origin, test.origin);
        if (problem) return problem;
      }
      if ('searchParams' in test) {
        const problem = mismatch('searchParams', url.searchParams.toString(), test.searchParams);
        if (problem) return problem;
      }
      return mismatch('URL.canParse', URL.canParse(test.input, base), true);
    });
  }

  // setters_tests.json: wpt url/url-setters.any.js.
  for (const [attribute, tests] of Object.entries(setters)) {
    if (attribute === 'comment') continue;
    for (const test of tests) {
      const name = `${JSON.stringify(test.href)}.${attribute} = ${JSON.stringify(test.new_value)}`;
      run('setters_tests.json', name, () => {
        const url = new URL(test.href);
        url[attribute] = test.new_value;
        for (const [key, value] of Object.entries(test.expected)) {
          const problem = mismatch(key, url[key], value);
          if (problem) return problem;
        }
        return null;
      });
    }
  }

  // toascii.json: wpt url/toascii.window.js (URL constructor, host and
  // hostname setters; the element-based subtests need a document).
  for (const test of toascii) {
    if (typeof test === 'string') continue;
    run('toascii.json', `${JSON.stringify(test.input)} (URL)`, () => {
      if (test.output === null) return throwsTypeError(() => new URL(`https://${test.input}/x`));
      const url = new URL(`https://${test.input}/x`);
      return mismatch('host', url.host, test.output) ?? mismatch('hostname', url.hostname, test.output) ??
          mismatch('pathname', url.pathname, '/x') ?? mismatch('href', url.href, `https://${test.output}/x`);
    });
    for (const setter of ['host', 'hostname']) {
      run('toascii.json', `${JSON.stringify(test.input)} (${setter} setter)`, () => {
        const url = new URL('https://x/x');
        url[setter] = test.input;
        return mismatch(setter, url[setter], test.output === null ? 'x' : test.output);
      });
    }
  }

  // urlencoded-parser-data.json: wpt url/urlencoded-parser.any.js
  // (URLSearchParams; Request and Response formData() run in the async part).
  for (const test of urlencoded) {
    run('urlencoded-parser-data.json', `URLSearchParams(${JSON.stringify(test.input)})`, () =>
        mismatch('entries', JSON.stringify([...new URLSearchParams(test.input)]), JSON.stringify(test.output)));
  }
  return results;
}

async function formDataSubtests(results) {
  const entry = results['urlencoded-parser-data.json'];
  for (const test of urlencoded) {
    for (const kind of ['request', 'response']) {
      entry.total++;
      const init = { headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      const body = kind === 'request'
          ? new Request('https://example.com/', { method: 'POST', body: test.input, ...init })
          : new Response(test.input, init);
      try {
        const form = await body.formData();
        const actual = JSON.stringify([...form]);
        if (actual !== JSON.stringify(test.output)) throw new Error(`got ${actual}`);
        entry.passed++;
      } catch (error) {
        entry.failures.push(`${kind}.formData(${JSON.stringify(test.input)}): ${error.message}`);
      }
    }
  }
}

export default {
  async fetch() {
    const results = report();
    await formDataSubtests(results);
    return Response.json(results);
  },
};
