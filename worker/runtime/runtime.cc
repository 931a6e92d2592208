// WorkerRuntime wiring: pool, watchdog, executors.
#include "worker/runtime/runtime.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "worker/js/v8_process.h"
#include "worker/runtime/invocation_runner.h"

namespace kiln::worker {

WorkerRuntime::WorkerRuntime(const js::RuntimeSpec& spec, RuntimeOptions options)
    : spec_(spec),
      fingerprint_((js::InitializeV8(options.hash_seed), js::RuntimeFingerprint(spec))),
      in_process_builder_(spec),
      options_(options),
      pool_(spec, options.memory_budget_bytes) {
  int count = options.executors > 0 ? options.executors : 1;
  for (int i = 0; i < count; ++i) {
    executors_.push_back(std::make_unique<Executor>(watchdog_, absl::StrCat("kiln-exec-", i)));
  }
}

WorkerRuntime::~WorkerRuntime() {
  stopping_ = true;
  for (auto& executor : executors_) executor->Post([] { internal::InvocationRunner::AbortAll(); });
  executors_.clear();
}

absl::StatusOr<js::BuildResult> WorkerRuntime::Build(const Bundle& bundle,
                                                     const js::BuildOptions& options) {
  SnapshotBuilder& builder = options_.builder != nullptr ? *options_.builder : in_process_builder_;
  return builder.Build(bundle, options);
}

absl::Status WorkerRuntime::Load(const FunctionKey& key, std::string snapshot_blob,
                                 const FunctionSettings& settings) {
  absl::StatusOr<std::shared_ptr<const js::Snapshot>> snapshot =
      js::Snapshot::Parse(std::move(snapshot_blob), fingerprint_);
  if (!snapshot.ok()) return snapshot.status();
  auto function = std::make_shared<LoadedFunction>();
  function->key = key;
  function->snapshot = std::move(*snapshot);
  function->settings = settings;
  pool_.Load(std::move(function));
  return absl::OkStatus();
}

void WorkerRuntime::SetIterationEnd(std::function<void()> flush) {
  iteration_end_ = std::make_unique<const std::function<void()>>(std::move(flush));
  for (auto& executor : executors_) executor->SetIterationEnd(iteration_end_.get());
}

void WorkerRuntime::Unload(const FunctionKey& key) { pool_.Unload(key); }

absl::Status WorkerRuntime::WarmUp() {
  Bundle bundle;
  bundle.main_module = "warmup.js";
  bundle.files["warmup.js"] = R"JS(
    export default {
      async fetch() {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const parts = [new Date().toString(), new Intl.DateTimeFormat('en-US').format(0),
                       (1234.5).toLocaleString(), 'ab'.localeCompare('b'), /a+b/u.test('aab'),
                       JSON.stringify({ a: [1] }), crypto.randomUUID(), Math.random()];
        return new Response(parts.join('|'));
      },
    };
  )JS";
  absl::StatusOr<js::BuildResult> built = Build(bundle);
  if (!built.ok()) return built.status();
  const FunctionKey key{"kiln", "warmup", 0};
  absl::Status loaded = Load(key, std::move(built->blob));
  if (!loaded.ok()) return loaded;
  absl::Notification done;
  InvocationOutcome result;
  HttpRequest request;
  request.url = "http://warmup.kiln.localhost/";
  Invoke(key, request, "warmup", [&](InvocationOutcome outcome) {
    result = std::move(outcome);
    done.Notify();
  });
  done.WaitForNotification();
  Unload(key);
  if (result.status != InvocationOutcome::Status::kOk) {
    return absl::InternalError(absl::StrCat("warm-up invocation failed: ", result.error));
  }
  return absl::OkStatus();
}

// Prefers executors not running JavaScript at this moment (so a request does
// not queue behind a long turn of another function), then the least loaded.
Executor& WorkerRuntime::PickExecutor() {
  Executor* best = nullptr;
  for (auto& executor : executors_) {
    if (best == nullptr) {
      best = executor.get();
      continue;
    }
    bool free = !executor->in_turn(), best_free = !best->in_turn();
    if (free != best_free) {
      if (free) best = executor.get();
      continue;
    }
    if (executor->load().load() < best->load().load()) best = executor.get();
  }
  return *best;
}

void WorkerRuntime::Invoke(const FunctionKey& key, InvocationEvent event, std::string request_id,
                           absl::AnyInvocable<void(InvocationOutcome)> done, InvokeOptions options) {
  if (stopping_) {
    InvocationOutcome outcome;
    outcome.status = InvocationOutcome::Status::kUnavailable;
    outcome.error = "the worker is shutting down";
    done(std::move(outcome));
    return;
  }
  in_flight_++;
  Executor& executor = PickExecutor();
  executor.load()++;  // counted from now, not from when the task runs
  // The route is published with the start task posted, under one lock: a
  // Cancel or GrantCredit that finds it is posted behind the start.
  absl::MutexLock lock(&routes_mu_);
  const uint64_t token = ++next_route_token_;
  if (options.id != 0) routes_[options.id] = {&executor, token};
  executor.Post([this, &executor, key, event = std::move(event), request_id = std::move(request_id),
                 done = std::move(done), options = std::move(options), token]() mutable {
    executor.load()--;
    const uint64_t id = options.id;
    internal::InvocationRunner::Start(
        executor, pool_, options_.logs, std::move(key), std::move(event), std::move(request_id),
        [this, done = std::move(done)](InvocationOutcome outcome) mutable {
          // After `done`: a caller that counts a streamed body from its head
          // on is never seen with neither counted.
          done(std::move(outcome));
          in_flight_--;
        },
        std::move(options), [this, id, token] {
          if (id == 0) return;
          absl::MutexLock lock(&routes_mu_);
          // A retry may have reused the id meanwhile: erase only our route.
          auto it = routes_.find(id);
          if (it != routes_.end() && it->second.token == token) routes_.erase(it);
        });
  });
}

void WorkerRuntime::Cancel(uint64_t id) {
  Executor* executor = nullptr;
  {
    absl::MutexLock lock(&routes_mu_);
    auto it = routes_.find(id);
    if (it == routes_.end()) return;
    executor = it->second.executor;
  }
  executor->Post([id] { internal::InvocationRunner::Cancel(id); });
}

void WorkerRuntime::GrantCredit(uint64_t id, size_t bytes) {
  Executor* executor = nullptr;
  {
    absl::MutexLock lock(&routes_mu_);
    auto it = routes_.find(id);
    if (it == routes_.end()) return;
    executor = it->second.executor;
  }
  executor->Post([id, bytes] { internal::InvocationRunner::GrantCredit(id, bytes); });
}

}  // namespace kiln::worker
