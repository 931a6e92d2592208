// kiln-scheduler: Kiln's control plane. Opens the store in --data-dir, loads
// every function's active version into memory, serves kiln.v1.Control (the
// CLI) and kiln.v1.Worker (the workers) on --api and HTTP (the gateway) on
// --http, and supervises --workers local kiln-worker processes.
// SIGINT/SIGTERM drain it. Wiring only.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "scheduler/fleet/fleet.h"
#include "scheduler/fleet/supervisor.h"
#include "scheduler/fleet/worker_service.h"
#include "scheduler/gateway/gateway.h"
#include "scheduler/server/access_log.h"
#include "scheduler/server/auth.h"
#include "scheduler/server/control_service.h"
#include "scheduler/server/gateway_backend.h"
#include "scheduler/server/log_hub.h"
#include "scheduler/server/scheduler_core.h"
#include "scheduler/store/rocksdb_store.h"
#include "scheduler/util/log.h"

namespace {

using namespace kiln::scheduler;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "kiln-scheduler: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// Writes `content` to `path` with `mode`, atomically (a reader sees the old
// file or the whole new one).
absl::Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", tmp, ": ", std::strerror(errno)));
  fchmod(fd, mode);
  const bool written =
      write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!written || !synced || rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("writing ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// kiln-worker beside this binary (an install, or bazel-bin), else in this
// binary's runfiles (`bazel run`).
std::string DefaultWorkerBinary() {
  char self[4096] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  const std::string exe = n > 0 ? std::string(self, n) : "kiln-scheduler";
  const std::string dir = Dirname(exe);
  for (const std::string& candidate :
       {dir + "/kiln-worker", dir + "/../../worker/server/kiln-worker",
        exe + ".runfiles/kiln/worker/server/kiln-worker"}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return dir + "/kiln-worker";
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (GraphCycles); tests keep that on, production binaries turn it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"kiln-scheduler: Kiln's control plane (store, fleet, placement, control API)"};
  std::string data_dir;
  std::string api = "127.0.0.1:7070";
  // One serving worker per two cores: a worker runs JavaScript on as many
  // executor threads as there are cores, and fewer processes mean fewer
  // threads competing and more invocations per stream message (on 2 cores,
  // one worker serves ~1.2x the requests of two, at ~25% less CPU each).
  int workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  int build_workers = 0;
  std::string worker_binary;
  std::vector<std::string> worker_args;
  std::string base_domain = "localhost";
  int http_port = 8080;
  std::string http;
  std::string access_log_path;
  int heartbeat_ms = 1000;
  int drain_timeout_ms = 10000;
  int max_loaded_versions = 64;
  int snapshot_cache_mib = 256;
  std::string create_tenant;
  bool allow_remote_workers = false;
  app.add_option("--data-dir", data_dir, "the store's directory (created if missing)")->required();
  app.add_option("--api", api,
                 "HOST:PORT for kiln.v1.Control and kiln.v1.Worker (port 0: any free)");
  app.add_option("--workers", workers, "local kiln-worker processes that serve invocations")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--build-workers", build_workers,
                 "local kiln-worker processes reserved for snapshot builds (keeps deploy CPU "
                 "off the serving workers)")
      ->check(CLI::Range(0, 16));
  app.add_option("--worker-binary", worker_binary,
                 "path of kiln-worker (default: beside this binary)");
  app.add_option("--worker-arg", worker_args,
                 "an extra argument for every local worker, e.g. --worker-arg=--executors=1");
  app.add_option("--base-domain", base_domain,
                 "functions answer at <function>.<tenant>.<base-domain>");
  app.add_option("--http-port", http_port,
                 "the HTTP gateway's port, on the --api host (0: any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--access-log", access_log_path,
                 "one line per HTTP request: a file (default DATA_DIR/access.log), - for stdout");
  app.add_option("--http", http,
                 "HOST:PORT of the HTTP gateway (overrides --http-port; port 0: any free)");
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "worker heartbeat interval; a worker silent for 3 is dead")
      ->check(CLI::Range(10, 60000));
  app.add_option("--drain-timeout-ms", drain_timeout_ms,
                 "how long a shutdown waits for in-flight work")
      ->check(CLI::Range(0, 600000));
  app.add_option("--max-loaded-versions", max_loaded_versions,
                 "function versions kept loaded per worker")
      ->check(CLI::Range(1, 100000));
  app.add_option("--snapshot-cache-mib", snapshot_cache_mib, "snapshot blobs kept in memory")
      ->check(CLI::Range(0, 1 << 20));
  app.add_flag("--allow-remote-workers", allow_remote_workers,
               "accept kiln-worker streams from other hosts (workers present no credential: "
               "expose the API only on a private network)");
  app.add_option("--create-tenant", create_tenant,
                 "admin: create this tenant, print its token, and exit (the scheduler must not be "
                 "running on --data-dir)");
  CLI11_PARSE(app, argc, argv);

  // Signals are taken by sigwait below; every thread started from here on
  // inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::Open({.path = data_dir});
  if (!opened.ok()) return Fail(absl::StrCat("opening the store in ", data_dir), opened.status());
  std::unique_ptr<RocksDbStore> store = std::move(*opened);

  if (!create_tenant.empty()) {
    absl::StatusOr<std::string> token = store->CreateTenant(create_tenant);
    if (!token.ok()) return Fail(absl::StrCat("creating tenant ", create_tenant), token.status());
    std::printf("%s\n", token->c_str());
    return 0;
  }

  absl::StatusOr<std::optional<std::string>> default_token = store->EnsureDefaultTenant();
  if (!default_token.ok()) return Fail("creating the default tenant", default_token.status());
  if (*default_token) {
    absl::Status written =
        WriteFileAtomically(data_dir + "/default.token", **default_token + "\n", 0600);
    if (!written.ok()) return Fail("writing the default token", written);
    Log("main",
        absl::StrCat("created tenant default; its token is in ", data_dir, "/default.token"));
  }
  const uint64_t hash_seed = store->cluster_settings().hash_seed;
  absl::Status written = WriteFileAtomically(
      data_dir + "/worker.env", absl::StrCat("KILN_HASH_SEED=", hash_seed, "\n"), 0600);
  if (!written.ok()) return Fail("writing worker.env", written);

  LogHub log_hub;
  SchedulerCore core(*store,
                     {.base_domain = base_domain,
                      .http_port = static_cast<uint16_t>(http_port),
                      .snapshot_cache_bytes = static_cast<size_t>(snapshot_cache_mib) << 20});
  absl::Status loaded = core.LoadFromStore();
  if (!loaded.ok()) return Fail("loading functions from the store", loaded);

  if (worker_binary.empty()) worker_binary = DefaultWorkerBinary();
  Supervisor supervisor({.worker_binary = worker_binary,
                         .hash_seed = hash_seed,
                         .workers = workers,
                         .build_workers = build_workers,
                         .worker_args = worker_args});
  Fleet fleet(core, &log_hub,
              {.heartbeat_interval = absl::Milliseconds(heartbeat_ms),
               .build_only = &Supervisor::IsBuildWorkerId,
               .max_loaded_versions = static_cast<size_t>(max_loaded_versions)});
  fleet.SetObserver(&supervisor);
  core.AttachFleet(&fleet);

  Authenticator auth(*store);
  ControlService control(core, auth, log_hub);
  WorkerService worker_service(fleet, allow_remote_workers);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(api, grpc::InsecureServerCredentials(), &port);
  // Local workers dial an abstract Unix socket instead of the API's TCP port:
  // the invocation stream then skips the TCP stack (several syscalls' worth
  // of kernel time per request). Abstract names need no file and vanish with
  // the process.
  const std::string local_workers_address =
      absl::StrCat("unix-abstract:kiln-scheduler-", getpid(), "-", absl::Hex(absl::Uniform<uint64_t>(absl::BitGen())));
  if (workers + build_workers > 0) {
    builder.AddListeningPort(local_workers_address, grpc::InsecureServerCredentials());
  }
  builder.SetMaxReceiveMessageSize(256 << 20);  // 10 MiB bundles; snapshots in BuildResult
  builder.SetMaxSendMessageSize(256 << 20);
  // Sync-server pollers wake this often; the default (10 s) made a shutdown
  // wait seconds for an idle one while a client stayed connected.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC, 200);
  builder.RegisterService(&control);
  builder.RegisterService(&worker_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail("starting the API", absl::UnavailableError(absl::StrCat("cannot listen on ", api)));
  }
  const std::string host = api.substr(0, api.rfind(':'));
  const std::string listening = absl::StrCat(host, ":", port);
  std::printf("kiln-scheduler: api listening on %s\n", listening.c_str());
  std::fflush(stdout);

  // The HTTP gateway: --http, else the API's host on --http-port.
  if (http.empty()) http = absl::StrCat(host, ":", http_port);
  const std::string http_host = http.substr(0, http.rfind(':'));
  if (access_log_path.empty()) access_log_path = data_dir + "/access.log";
  absl::StatusOr<std::unique_ptr<AccessLog>> access_log = AccessLog::Open(access_log_path);
  if (!access_log.ok()) return Fail("opening the access log", access_log.status());
  GatewayBackend http_backend(core);
  absl::StatusOr<std::unique_ptr<gateway::Gateway>> gateway = gateway::Gateway::Start(
      http_backend, {.listen = http,
                     .access_log = [log = access_log->get()](const gateway::AccessLogEntry& entry) {
                       log->Write(entry);
                     }});
  if (!gateway.ok()) return Fail("starting the HTTP gateway", gateway.status());
  core.SetHttpPort(static_cast<uint16_t>((*gateway)->port()));
  const std::string http_listening = absl::StrCat(http_host, ":", (*gateway)->port());
  std::printf("kiln-scheduler: http listening on %s\n", http_listening.c_str());
  std::fflush(stdout);

  if (workers + build_workers > 0) {
    absl::Status started = supervisor.Start(local_workers_address);
    if (!started.ok()) return Fail("starting the workers", started);
    absl::Status ready = fleet.AwaitWorkers(workers, build_workers, absl::Seconds(30));
    if (!ready.ok()) Log("main", std::string(ready.message()));
  }
  // Written once the local workers have registered (or 30 s passed): the CLI
  // and tests read it as "ready".
  written = WriteFileAtomically(data_dir + "/http.addr", http_listening + "\n", 0644);
  if (written.ok()) written = WriteFileAtomically(data_dir + "/api.addr", listening + "\n", 0644);
  if (!written.ok()) return Fail("writing api.addr", written);
  Log("main", absl::StrCat("ready: ", fleet.Workers().size(), " workers, api on ", listening,
                           ", functions at http://<function>.<tenant>.", base_domain, ":",
                           (*gateway)->port(), "/"));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  Log("main",
      absl::StrCat("signal ", signal_number, ": draining (deadline ", drain_timeout_ms, " ms)"));

  // Take no more invocations or builds, let the workers finish what they
  // hold, then close the API (control calls still running get a second).
  const absl::Duration drain = absl::Milliseconds(drain_timeout_ms);
  log_hub.Close();
  supervisor.StopRestarting();
  fleet.Drain(drain);
  Log("main", "workers drained");
  gateway->reset();  // after the drain: in-flight HTTP answers were written
  access_log->reset();
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  Log("main", "api closed");
  fleet.Stop();
  supervisor.Shutdown(absl::Seconds(2));
  Log("main", "workers stopped");
  server.reset();
  store.reset();
  Log("main", "stopped");
  return 0;
}
