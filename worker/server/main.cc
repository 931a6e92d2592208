// kiln-worker: runs tenants' JavaScript for a Kiln scheduler. Start-up order
// matters (see sandbox/confine.h): close inherited descriptors, fork the
// snapshot builder, dial the scheduler, enter empty namespaces while
// single-threaded, start V8 and the gRPC stream on the dialed socket, warm up,
// confine with seccomp, then serve builds and invocations until drained.
// Wiring only.
#include <grpcpp/create_channel_posix.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sandbox/confine.h"
#include "sandbox/hardening.h"
#include "sandbox/namespaces.h"
#include "sandbox/worker_policy.h"
#include "worker/api/natives.h"
#include "worker/runtime/builder.h"
#include "worker/runtime/runtime.h"
#include "worker/server/dial.h"
#include "worker/server/worker_client.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "kiln-worker: %s: %s\n", what.c_str(), std::string(status.message()).c_str());
  return 1;
}

}  // namespace

// The largest frame either side of the stream takes; the scheduler's
// FleetOptions.max_frame_bytes matches it.
constexpr int kMaxFrameBytes = 256 << 20;

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (GraphCycles); tests keep that on, production binaries turn it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"kiln-worker: runs Kiln functions for a scheduler"};
  kiln::worker::server::WorkerClientOptions client;
  int executors = static_cast<int>(std::thread::hardware_concurrency());
  uint64_t memory_budget_mib = 1024;
  std::string hash_seed_text;
  std::string sandbox = "enforce";
  bool namespaces = true;
  bool print_policy = false;
  app.add_option("--scheduler", client.scheduler, "scheduler address, HOST:PORT");
  int connect_timeout_ms = 10000;
  app.add_option("--connect-timeout-ms", connect_timeout_ms, "how long to keep trying to reach the scheduler")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--worker-id", client.worker_id, "name of this worker (default: host-pid)");
  app.add_option("--executors", executors, "threads running JavaScript")->check(CLI::Range(1, 64));
  app.add_option("--memory-budget-mib", memory_budget_mib, "isolate memory before idle ones are evicted")
      ->check(CLI::Range(64, 1 << 20));
  app.add_option("--max-concurrency", client.max_concurrency, "invocations this worker accepts at once");
  app.add_option("--hash-seed", hash_seed_text,
                 "the cluster's V8 hash seed (snapshots only load where it matches)")
      ->envname("KILN_HASH_SEED");
  app.add_option("--sandbox", sandbox,
                 "seccomp policy: enforce (kill on a forbidden syscall), log (staging: report "
                 "would-be violations to the kernel log), off")
      ->check(CLI::IsMember({"enforce", "log", "off"}));
  app.add_flag("--namespaces,!--no-namespaces", namespaces,
               "enter empty user, mount and network namespaces (default on; skipped where the "
               "kernel refuses)");
  app.add_flag("--print-policy", print_policy, "print the seccomp policy and exit");
  CLI11_PARSE(app, argc, argv);

  const kiln::sandbox::Mode mode = sandbox == "log" ? kiln::sandbox::Mode::kLog : kiln::sandbox::Mode::kEnforce;
  if (print_policy) {
    absl::StatusOr<kiln::sandbox::Policy> policy = kiln::sandbox::WorkerPolicy(mode);
    if (!policy.ok()) return Fail("building the policy", policy.status());
    std::fputs(policy->Describe().c_str(), stdout);
    return 0;
  }
  if (client.scheduler.empty()) {
    std::fprintf(stderr, "kiln-worker: --scheduler HOST:PORT is required\n");
    return 2;
  }
  uint64_t hash_seed = 0;
  if (!hash_seed_text.empty() && !absl::SimpleAtoi(hash_seed_text, &hash_seed)) {
    std::fprintf(stderr, "kiln-worker: --hash-seed must be an unsigned integer\n");
    return 2;
  }
  if (client.worker_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    client.worker_id = absl::StrCat(host, "-", getpid());
  }
  client.memory_budget_bytes = memory_budget_mib << 20;
  client.connect_timeout = absl::Milliseconds(connect_timeout_ms);

  // 1. Nothing a parent leaked survives.
  absl::Status status = kiln::sandbox::CloseInheritedDescriptors();
  if (!status.ok()) return Fail("closing inherited descriptors", status);

  // 2. The snapshot builder, a child process (fork needs a single thread):
  // builds never run beside this process's isolates (worker/runtime/builder.h),
  // and top-level code of a deploy runs apart from serving tenants. It is
  // confined like the worker.
  const bool confine = sandbox != "off";
  kiln::worker::BuilderProcessOptions builder_options;
  builder_options.hash_seed = hash_seed;
  if (confine && namespaces) {
    builder_options.before_v8 = [] {
      absl::StatusOr<kiln::sandbox::Namespaces> entered = kiln::sandbox::EnterEmptyNamespaces();
      return entered.ok() || entered.status().code() == absl::StatusCode::kPermissionDenied
                 ? absl::OkStatus()
                 : entered.status();
    };
  }
  if (confine) builder_options.after_warm_up = [mode] { return kiln::sandbox::ConfineWorker({.mode = mode}); };
  if (hash_seed == 0) {
    // Builder and worker must agree on the seed (js::InitializeV8).
    while (hash_seed == 0) getrandom(&hash_seed, sizeof(hash_seed), 0);
    builder_options.hash_seed = hash_seed;
  }
  absl::StatusOr<std::unique_ptr<kiln::worker::BuilderProcess>> builder =
      kiln::worker::BuilderProcess::Start(kiln::worker::api::KilnRuntime(), builder_options);
  if (!builder.ok()) return Fail("starting the snapshot builder", builder.status());

  // 3. The one connection this worker will ever make, then the namespaces
  // (both while single-threaded).
  absl::StatusOr<int> socket = kiln::worker::server::DialScheduler(client.scheduler, client.connect_timeout);
  if (!socket.ok()) return Fail("connecting", socket.status());
  std::string confinement = "no namespaces";
  if (confine && namespaces) {
    absl::StatusOr<kiln::sandbox::Namespaces> entered = kiln::sandbox::EnterEmptyNamespaces();
    if (entered.ok()) {
      confinement = "namespaces " + entered->ToString();
    } else if (entered.status().code() == absl::StatusCode::kPermissionDenied) {
      std::fprintf(stderr, "kiln-worker: running without namespaces: %s\n",
                   std::string(entered.status().message()).c_str());
    } else {
      return Fail("entering namespaces", entered.status());
    }
  }

  // 4. V8, executors, and the stream on the dialed socket.
  kiln::worker::server::StreamLogSink logs;
  // Owned by pointer: it must stop (its executors answer through `worker`)
  // before `worker` is destroyed.
  auto runtime_owner = std::make_unique<kiln::worker::WorkerRuntime>(
      kiln::worker::api::KilnRuntime(),
      kiln::worker::RuntimeOptions{.executors = executors,
                                   .memory_budget_bytes = client.memory_budget_bytes,
                                   .logs = &logs,
                                   .hash_seed = hash_seed,
                                   .builder = builder->get()});
  kiln::worker::WorkerRuntime& runtime = *runtime_owner;
  client.max_frame_bytes = kMaxFrameBytes;
  kiln::worker::server::WorkerClient worker(runtime, logs, client);
  // Snapshots of 10 MiB bundles (LoadFunction) exceed gRPC's default 4 MiB.
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(kMaxFrameBytes);
  channel_args.SetMaxSendMessageSize(kMaxFrameBytes);
  status = worker.Connect(
      grpc::CreateCustomInsecureChannelFromFd(client.scheduler, *socket, channel_args));
  if (!status.ok()) return Fail("registering", status);

  // 5. Load what V8 and ICU read lazily, then confine every thread.
  status = runtime.WarmUp();
  if (!status.ok()) return Fail("warming up", status);
  if (confine) {
    status = kiln::sandbox::ConfineWorker({.mode = mode});
    if (!status.ok()) return Fail("applying the sandbox", status);
    confinement += absl::StrCat(", seccomp ", sandbox);
  } else {
    confinement += ", NO SANDBOX";
  }
  std::fprintf(stderr, "kiln-worker %s: connected to %s (runtime %s; %s)\n", client.worker_id.c_str(),
               client.scheduler.c_str(), runtime.fingerprint().c_str(), confinement.c_str());

  // 6. Serve until drained. Then stop the executors (anything still running
  // is answered through `worker`, which outlives them).
  status = worker.Serve();
  runtime_owner.reset();
  if (!status.ok()) return Fail("serving", status);
  return 0;
}
