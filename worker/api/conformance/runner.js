// Entry module of a conformance suite: imports the suite (suite.js in the
// bundle), runs it, answers with the harness's JSON report.
import './suite.js';
import { run } from './harness.js';

export default {
  async fetch() {
    return Response.json(await run());
  },
};
