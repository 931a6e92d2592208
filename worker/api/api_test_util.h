// Test helper for the JavaScript APIs: deploys a module on a real
// WorkerRuntime (snapshot build, boot, executors, timers) and runs its fetch
// handler once. testonly.
#pragma once

#include <string>

#include "worker/runtime/invocation.h"
#include "worker/runtime/isolate_pool.h"

namespace kiln::worker::api::testing {

// Builds `source` as the bundle's index.js and runs `fetch` once with a GET of
// `url`. The outcome carries the response, or the error of a failed build
// (status kInternal, message in `error`) or invocation.
InvocationOutcome RunFetch(const std::string& source,
                           const std::string& url = "http://test.acme.localhost/");

// The same for a whole bundle and explicit settings (limits, eval/wasm
// policy; the build uses the same policy).
InvocationOutcome RunFetch(const Bundle& bundle, const FunctionSettings& settings,
                           const std::string& url = "http://test.acme.localhost/");

// The response body when the invocation succeeded, else "error: <message>".
std::string FetchBody(const std::string& source);

}  // namespace kiln::worker::api::testing
