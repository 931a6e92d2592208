// Scheduler figures (issue "kiln-scheduler"), each beside its peer in the same
// run:
//   1. invocation overhead of the scheduler and the worker stream: a warm
//      no-op fetch through Control.Invoke (the CLI's path: gRPC call ->
//      scheduler -> Worker/Connect stream -> kiln-worker -> back) and through
//      Invoker::Invoke (the gateway's path: no Control hop), vs the same
//      handler through WorkerRuntime::Invoke in this process (what a worker
//      does per Invoke frame);
//   2. deploy of a 100 KiB bundle until it serves: Control.Deploy (validate,
//      snapshot build on a worker, durable commit) and then Control.Invoke
//      until the new version answers, p50 over distinct bundles.
// The scheduler runs embedded here (store, core, fleet, gRPC services, as
// kiln-scheduler's main wires them) with one supervised kiln-worker and one
// build-only worker from the runfiles.
//
//   bazel run -c opt //ops/bench:scheduler_bench -- [invocations] [deploys]
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "kiln/v1/control.grpc.pb.h"
#include "scheduler/fleet/fleet.h"
#include "scheduler/fleet/supervisor.h"
#include "scheduler/fleet/worker_service.h"
#include "scheduler/server/auth.h"
#include "scheduler/server/control_service.h"
#include "scheduler/server/log_hub.h"
#include "scheduler/server/scheduler_core.h"
#include "scheduler/store/rocksdb_store.h"
#include "worker/api/natives.h"
#include "worker/runtime/runtime.h"

namespace {

using namespace kiln;

constexpr char kNoop[] = "export default { fetch() { return new Response('ok'); } };";

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * (values.size() - 1))];
}

std::string Runfile(const std::string& path) {
  for (const std::string& candidate :
       {path,
        std::string(getenv("RUNFILES_DIR") ? getenv("RUNFILES_DIR") : "") + "/kiln/" + path}) {
    if (access(candidate.c_str(), X_OK) == 0) return std::filesystem::absolute(candidate);
  }
  return path;
}

// A ~100 KiB module of ordinary code: many small functions and a table.
std::string HundredKiBSource(int n) {
  std::string source = absl::StrCat("// deploy ", n, "\n");
  int i = 0;
  while (source.size() < 100 * 1024) {
    absl::StrAppend(&source, "function helper", i, "(x) { const y = x * ", i, " + ", n,
                    "; return y % 7 === 0 ? 'seven-' + y : String(y).padStart(8, '0'); }\n");
    ++i;
  }
  absl::StrAppend(&source, "export default { fetch() { return new Response('v", n, " ' + helper",
                  i - 1, "(3)); } };\n");
  return source;
}

v1::Bundle Bundle(const std::string& source) {
  v1::Bundle bundle;
  bundle.set_main_module("index.js");
  v1::BundleFile* file = bundle.add_files();
  file->set_path("index.js");
  file->set_content(source);
  return bundle;
}

// Invocations per second with `concurrency` kept in flight for `duration`:
// `issue(done)` starts one and calls done() when it finishes (on any thread).
double Throughput(const std::function<void(std::function<void()>)>& issue, int concurrency,
                  absl::Duration duration) {
  std::atomic<long> completed{0};
  std::atomic<int> running{concurrency};
  std::atomic<bool> stop{false};
  absl::Notification drained;
  std::function<void()> loop = [&] {
    completed++;
    if (stop.load()) {
      if (--running == 0) drained.Notify();
      return;
    }
    issue(loop);
  };
  const absl::Time t0 = absl::Now();
  for (int i = 0; i < concurrency; ++i) issue(loop);
  absl::SleepFor(duration);
  stop = true;
  const long done = completed.load();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  drained.WaitForNotification();
  return done / seconds;
}

struct InProcessFigures {
  std::vector<double> latency;
  double throughput = 0;
};

// 1a. The same no-op handler through WorkerRuntime::Invoke in this process.
InProcessFigures InProcess(int calls, int concurrency) {
  worker::WorkerRuntime runtime(worker::api::KilnRuntime(), {.executors = 1});
  worker::Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = kNoop;
  auto built = runtime.Build(bundle);  // before any isolate exists, so in-process
  if (!built.ok()) {
    std::fprintf(stderr, "build: %s\n", std::string(built.status().message()).c_str());
    std::exit(1);
  }
  const worker::FunctionKey key{"bench", "noop", 1};
  if (!runtime.Load(key, built->blob).ok()) std::exit(1);
  worker::HttpRequest request;
  request.url = "http://noop.bench.localhost/";
  std::vector<double> samples;
  for (int i = 0; i < calls + 1000; ++i) {
    absl::Notification done;
    const absl::Time t0 = absl::Now();
    runtime.Invoke(key, request, "r", [&](worker::InvocationOutcome) { done.Notify(); });
    done.WaitForNotification();
    if (i >= 1000) samples.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  const double throughput = Throughput(
      [&](std::function<void()> done) {
        runtime.Invoke(key, request, "r",
                       [done = std::move(done)](worker::InvocationOutcome) { done(); });
      },
      concurrency, absl::Seconds(2));
  return {std::move(samples), throughput};
}

class Client {
 public:
  Client(const std::string& address, std::string token)
      : stub_(
            v1::Control::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        token_(std::move(token)) {}
  grpc::Status Deploy(const std::string& name, const std::string& source,
                      v1::DeployResponse* response) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    v1::DeployRequest request;
    request.set_name(name);
    *request.mutable_bundle() = Bundle(source);
    return stub_->Deploy(&context, request, response);
  }
  grpc::Status Invoke(const std::string& name, v1::InvokeResponse* response) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    v1::InvokeRequest request;
    request.set_name(name);
    request.mutable_event()->mutable_http()->set_method("GET");
    request.mutable_event()->mutable_http()->set_url("http://" + name + ".default.localhost/");
    return stub_->Invoke(&context, request, response);
  }

 private:
  std::unique_ptr<v1::Control::Stub> stub_;
  std::string token_;
};

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int deploys = argc > 2 ? std::atoi(argv[2]) : 15;
  constexpr int kConcurrency = 16;

  InProcessFigures local = InProcess(calls, kConcurrency);
  const std::vector<double>& in_process = local.latency;

  // The scheduler, wired as kiln-scheduler's main wires it.
  const std::string dir =
      std::filesystem::temp_directory_path() / absl::StrCat("kiln-scheduler-bench-", getpid());
  auto store = std::move(*scheduler::RocksDbStore::Open({.path = dir}));
  const std::string token = **store->EnsureDefaultTenant();
  scheduler::LogHub logs;
  scheduler::SchedulerCore core(*store, {});
  scheduler::Supervisor supervisor({.worker_binary = Runfile("worker/server/kiln-worker"),
                                    .hash_seed = store->cluster_settings().hash_seed,
                                    .workers = 1,
                                    .build_workers = 1,
                                    .worker_args = {"--executors=1"}});
  scheduler::Fleet fleet(core, &logs, {.build_only = &scheduler::Supervisor::IsBuildWorkerId});
  fleet.SetObserver(&supervisor);
  core.AttachFleet(&fleet);
  scheduler::Authenticator auth(*store);
  scheduler::ControlService control(core, auth, logs);
  scheduler::WorkerService workers(fleet);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.RegisterService(&control);
  builder.RegisterService(&workers);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  if (!supervisor.Start(address).ok() || !fleet.AwaitWorkers(1, 1, absl::Seconds(30)).ok()) {
    std::fprintf(stderr, "the workers did not start (is %s built?)\n",
                 Runfile("worker/server/kiln-worker").c_str());
    return 1;
  }
  Client client(address, token);

  // 1b. Control.Invoke and Invoker::Invoke of the same no-op handler.
  v1::DeployResponse deployed;
  grpc::Status status = client.Deploy("noop", kNoop, &deployed);
  if (!status.ok()) {
    std::fprintf(stderr, "deploy: %s\n", status.error_message().c_str());
    return 1;
  }
  std::vector<double> control_samples, invoker_samples;
  for (int i = 0; i < calls + 1000; ++i) {
    v1::InvokeResponse response;
    absl::Time t0 = absl::Now();
    status = client.Invoke("noop", &response);
    const double control_s = absl::ToDoubleSeconds(absl::Now() - t0);
    if (!status.ok() || response.result().http().body() != "ok") {
      std::fprintf(stderr, "invoke: %s %s\n", status.error_message().c_str(),
                   response.DebugString().c_str());
      return 1;
    }
    absl::Notification done;
    v1::InvocationEvent event;
    event.mutable_http()->set_method("GET");
    event.mutable_http()->set_url("http://noop.default.localhost/");
    t0 = absl::Now();
    core.Invoke({.tenant = "default", .function = "noop", .event = std::move(event)},
                [&](absl::StatusOr<v1::InvokeResponse>) { done.Notify(); });
    done.WaitForNotification();
    const double invoker_s = absl::ToDoubleSeconds(absl::Now() - t0);
    if (i >= 1000) {
      control_samples.push_back(control_s);
      invoker_samples.push_back(invoker_s);
    }
  }

  const double invoker_throughput = Throughput(
      [&](std::function<void()> done) {
        v1::InvocationEvent event;
        event.mutable_http()->set_method("GET");
        event.mutable_http()->set_url("http://noop.default.localhost/");
        core.Invoke({.tenant = "default", .function = "noop", .event = std::move(event)},
                    [done = std::move(done)](absl::StatusOr<v1::InvokeResponse>) { done(); });
      },
      kConcurrency, absl::Seconds(2));

  // 2. Deploy a 100 KiB bundle until it serves.
  std::vector<double> until_serves, build_ms;
  for (int n = 0; n < deploys; ++n) {
    const std::string source = HundredKiBSource(n);
    const absl::Time t0 = absl::Now();
    status = client.Deploy("big", source, &deployed);
    if (!status.ok()) {
      std::fprintf(stderr, "deploy: %s\n", status.error_message().c_str());
      return 1;
    }
    v1::InvokeResponse response;
    const std::string expected = absl::StrCat("v", n, " ");
    while (!(client.Invoke("big", &response).ok() &&
             response.result().http().body().rfind(expected, 0) == 0)) {
    }
    until_serves.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
    build_ms.push_back(static_cast<double>(deployed.build_ms()));
  }

  const double in_p50 = Percentile(in_process, .5) * 1e6;
  const double control_p50 = Percentile(control_samples, .5) * 1e6;
  const double invoker_p50 = Percentile(invoker_samples, .5) * 1e6;
  std::printf("warm no-op fetch (%d calls each)                 p50         p99\n", calls);
  std::printf("  WorkerRuntime::Invoke, in this process      %8.1f us  %8.1f us\n", in_p50,
              Percentile(in_process, .99) * 1e6);
  std::printf(
      "  Invoker::Invoke (gateway path, via stream)  %8.1f us  %8.1f us   overhead %+.1f us\n",
      invoker_p50, Percentile(invoker_samples, .99) * 1e6, invoker_p50 - in_p50);
  std::printf(
      "  Control.Invoke (CLI path, gRPC + stream)    %8.1f us  %8.1f us   overhead %+.1f us\n",
      control_p50, Percentile(control_samples, .99) * 1e6, control_p50 - in_p50);
  std::printf("  ratio Control.Invoke / in-process           %8.2fx\n\n", control_p50 / in_p50);
  std::printf("warm no-op fetch, %d in flight, closed loop, 2 s        invocations/s\n",
              kConcurrency);
  std::printf("  WorkerRuntime::Invoke, in this process      %9.0f\n", local.throughput);
  std::printf("  Invoker::Invoke through one worker stream   %9.0f   (%.2fx of in-process)\n\n",
              invoker_throughput, invoker_throughput / local.throughput);
  std::printf("deploy of a %zu KiB bundle until it serves (%d deploys)   p50         p90\n",
              HundredKiBSource(0).size() >> 10, deploys);
  std::printf("  Deploy + first answer of the new version    %8.1f ms  %8.1f ms\n",
              Percentile(until_serves, .5) * 1e3, Percentile(until_serves, .9) * 1e3);
  std::printf("  of which the snapshot build (worker)        %8.1f ms  %8.1f ms\n",
              Percentile(build_ms, .5), Percentile(build_ms, .9));

  supervisor.StopRestarting();
  fleet.Drain(absl::Seconds(5));
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  fleet.Stop();
  supervisor.Shutdown(absl::Seconds(2));
  server.reset();
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
