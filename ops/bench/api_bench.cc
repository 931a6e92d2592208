// The Web API surface on a typical handler: new URL(request.url),
// searchParams.get(), JSON.stringify, new Response(..., {headers}), per warm
// invocation, beside workerd (npm `workerd`) running the same handler in the
// same run. Kiln is measured in the isolate's own thread (JsIsolate turn:
// Request built, handler run, Response read back); workerd by its CPU time per
// request under wrk, which also pays for HTTP. So both are also measured with
// a no-op handler, and the difference -- what the handler's API calls cost --
// is compared too.
//
//   bazel run -c opt //ops/bench:api_bench
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "ops/bench/peer_util.h"
#include "worker/api/natives.h"
#include "worker/js/js_isolate.h"
#include "worker/js/snapshot.h"
#include "worker/js/v8_process.h"

namespace {

using namespace kiln::worker;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr char kPath[] = "/hello?name=kiln&n=1&n=2";

// p50 of a warm invocation, microseconds.
double KilnWarmMicros(const std::string& blob, int calls) {
  const js::RuntimeSpec& spec = api::KilnRuntime();
  auto snapshot = *js::Snapshot::Parse(blob, js::RuntimeFingerprint(spec));
  auto isolate = std::move(*js::JsIsolate::Boot(snapshot, spec, {}));
  HttpRequest request;
  request.url = std::string("http://bench.acme.localhost") + kPath;
  request.headers = {{"accept", "*/*"}, {"user-agent", "bench"}};
  std::vector<double> samples;
  for (int i = 0; i < calls + 2000; ++i) {
    absl::Time t0 = absl::Now();
    js::TurnResult turn = isolate->StartFetch(request, nullptr);
    if (turn.state != js::TurnResult::State::kDone) {
      std::fprintf(stderr, "kiln call failed: %s\n", turn.error.c_str());
      std::exit(1);
    }
    isolate->TakeHttpResponse();
    isolate->Finish();
    if (i >= 2000) samples.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
  }
  return Median(samples);
}

struct PeerFigures {
  double cpu_us_per_request = 0;
  double requests_per_second = 0;
};

PeerFigures Workerd(const std::string& module, int seconds) {
  std::string scratch = "/tmp/kiln-bench-workerd-" + std::to_string(getpid());
  std::system(("mkdir -p " + scratch).c_str());
  int port = kiln::bench::FreePort();
  pid_t pid = kiln::bench::StartWorkerd(module, port, scratch);
  if (pid < 0) {
    std::fprintf(stderr, "workerd did not start (is ops/js/node_modules installed? run ./ops/setup)\n");
    std::exit(1);
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + kPath;
  kiln::bench::RunWrk(url, 1, 8, 1);  // warm up
  double cpu0 = kiln::bench::ProcessCpuSeconds(pid);
  auto result = kiln::bench::RunWrk(url, 1, 8, seconds);
  double cpu = kiln::bench::ProcessCpuSeconds(pid) - cpu0;
  kiln::bench::Stop(pid);
  std::system(("rm -rf " + scratch).c_str());
  if (!result) std::exit(1);
  return {cpu * 1e6 / static_cast<double>(result->requests), result->requests_per_second};
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = 20000;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string peers = kiln::bench::WorkspaceDir() + "/ops/bench/peers/";
  js::InitializeV8();
  const js::RuntimeSpec& spec = api::KilnRuntime();
  // Build both snapshots before any isolate exists (see worker/runtime/builder.h).
  std::string blobs[2];
  const char* modules[2] = {"url_handler.js", "noop_handler.js"};
  for (int i = 0; i < 2; ++i) {
    Bundle bundle;
    bundle.main_module = "index.js";
    bundle.files["index.js"] = ReadFile(peers + modules[i]);
    auto built = js::BuildSnapshot(bundle, spec);
    if (!built.ok()) {
      std::fprintf(stderr, "build failed: %s\n", std::string(built.status().message()).c_str());
      return 1;
    }
    blobs[i] = std::move(built->blob);
  }
  double kiln_url = KilnWarmMicros(blobs[0], calls);
  double kiln_noop = KilnWarmMicros(blobs[1], calls);
  PeerFigures workerd_url = Workerd(peers + "url_handler.js", seconds);
  PeerFigures workerd_noop = Workerd(peers + "noop_handler.js", seconds);

  std::printf("handler: new URL + searchParams.get/getAll + JSON.stringify + new Response(body, {headers})\n\n");
  std::printf("                                   URL handler   no-op handler   handler's API cost\n");
  std::printf("kiln, warm call in the isolate     %8.2f us     %8.2f us         %8.2f us\n", kiln_url, kiln_noop,
              kiln_url - kiln_noop);
  std::printf("workerd, CPU per HTTP request      %8.2f us     %8.2f us         %8.2f us\n",
              workerd_url.cpu_us_per_request, workerd_noop.cpu_us_per_request,
              workerd_url.cpu_us_per_request - workerd_noop.cpu_us_per_request);
  std::printf("workerd throughput (wrk -t1 -c8)   %8.0f /s     %8.0f /s\n", workerd_url.requests_per_second,
              workerd_noop.requests_per_second);
  std::printf("\nratio of the handler's API cost, kiln / workerd: %.2fx\n",
              (kiln_url - kiln_noop) / (workerd_url.cpu_us_per_request - workerd_noop.cpu_us_per_request));
  return 0;
}
