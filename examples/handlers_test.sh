#!/bin/sh
# Runs examples_test.mjs (every example's handlers, in Node.js) against the
# examples in this test's runfiles.
set -eu
script="$1"
exec node "$script" "$(dirname "$script")"
