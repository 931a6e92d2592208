// A process-wide WorkerRuntime for API tests.
#include "worker/api/api_test_util.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "worker/api/natives.h"
#include "worker/runtime/runtime.h"
#include "worker/runtime/testing/test_builder.h"

namespace kiln::worker::api::testing {

InvocationOutcome RunFetch(const std::string& source, const std::string& url) {
  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = source;
  return RunFetch(bundle, FunctionSettings(), url);
}

InvocationOutcome RunFetch(const Bundle& bundle, const FunctionSettings& settings,
                           const std::string& url) {
  static WorkerRuntime* runtime =
      new WorkerRuntime(KilnRuntime(), {.executors = 1, .builder = &worker::testing::TestBuilder()});
  static std::atomic<uint64_t> version{0};
  InvocationOutcome outcome;
  js::BuildOptions build_options;
  build_options.allow_eval = settings.allow_eval;
  build_options.allow_wasm_codegen = settings.allow_wasm_codegen;
  absl::StatusOr<js::BuildResult> built = runtime->Build(bundle, build_options);
  if (!built.ok()) {
    outcome.status = InvocationOutcome::Status::kInternal;
    outcome.error = std::string(built.status().message());
    return outcome;
  }
  FunctionKey key{"test", "api", ++version};
  absl::Status loaded = runtime->Load(key, std::move(built->blob), settings);
  if (!loaded.ok()) {
    outcome.status = InvocationOutcome::Status::kInternal;
    outcome.error = std::string(loaded.message());
    return outcome;
  }
  HttpRequest request;
  request.url = url;
  absl::Notification done;
  runtime->Invoke(key, request, "test", [&](InvocationOutcome result) {
    outcome = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  runtime->Unload(key);
  return outcome;
}

std::string FetchBody(const std::string& source) {
  InvocationOutcome outcome = RunFetch(source);
  if (outcome.status != InvocationOutcome::Status::kOk) return "error: " + outcome.error;
  return outcome.http.body;
}

}  // namespace kiln::worker::api::testing
