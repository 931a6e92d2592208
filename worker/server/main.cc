// kiln-worker: runs tenants' JavaScript for a Kiln scheduler. Dials the
// scheduler's Worker/Connect stream, registers, and serves builds and
// invocations until drained. Wiring only: see worker_client.h and
// worker/runtime/runtime.h.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "worker/api/natives.h"
#include "worker/runtime/runtime.h"
#include "worker/server/worker_client.h"

int main(int argc, char** argv) {
  CLI::App app{"kiln-worker: runs Kiln functions for a scheduler"};
  kiln::worker::server::WorkerClientOptions client;
  int executors = static_cast<int>(std::thread::hardware_concurrency());
  uint64_t memory_budget_mib = 1024;
  std::string hash_seed_text;
  app.add_option("--scheduler", client.scheduler, "scheduler address, HOST:PORT")->required();
  app.add_option("--worker-id", client.worker_id, "name of this worker (default: host-pid)");
  app.add_option("--executors", executors, "threads running JavaScript")->check(CLI::Range(1, 64));
  app.add_option("--memory-budget-mib", memory_budget_mib, "isolate memory before idle ones are evicted")
      ->check(CLI::Range(64, 1 << 20));
  app.add_option("--max-concurrency", client.max_concurrency, "invocations this worker accepts at once");
  app.add_option("--hash-seed", hash_seed_text,
                 "the cluster's V8 hash seed (snapshots only load where it matches)")
      ->envname("KILN_HASH_SEED");
  CLI11_PARSE(app, argc, argv);

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

  kiln::worker::server::StreamLogSink logs;
  kiln::worker::WorkerRuntime runtime(
      kiln::worker::api::KilnRuntime(),
      {.executors = executors, .memory_budget_bytes = client.memory_budget_bytes, .logs = &logs,
       .hash_seed = hash_seed});
  kiln::worker::server::WorkerClient worker(runtime, logs, client);
  absl::Status status = worker.Connect();
  if (!status.ok()) {
    std::fprintf(stderr, "kiln-worker: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "kiln-worker %s: connected to %s (runtime %s)\n", client.worker_id.c_str(),
               client.scheduler.c_str(), runtime.fingerprint().c_str());
  status = worker.Serve();
  if (!status.ok()) {
    std::fprintf(stderr, "kiln-worker: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
