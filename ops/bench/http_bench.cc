// HTTP throughput and latency of the whole platform: wrk against Kiln
// (kiln-scheduler's h2o gateway -> gRPC stream -> a sandboxed kiln-worker),
// workerd (npm `workerd`) and a plain Node.js `http` server, all serving the
// same hello-world JSON handler (examples/hello; Node: the same JSON by hand),
// with the same wrk threads, connections and duration, one after another in
// one run. Prints requests/s, p50, p99 and the servers' CPU per request, and
// the ratios the targets are stated in (Kiln / workerd requests per second,
// Kiln p99 / Node p99).
//
//   bazel run -c opt //ops/bench:http_bench -- [--seconds=10] [--connections=64] [--workers=N (default: kiln-scheduler's, one per two cores)]
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ops/bench/peer_util.h"

namespace {

using kiln::bench::RunWrk;
using kiln::bench::WrkResult;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Figures {
  WrkResult wrk;
  double cpu_us_per_request = 0;
};

// Warms up, then measures one server (the tree under `pid`).
std::optional<Figures> Measure(const std::string& name, pid_t pid, const std::string& url, const std::string& host,
                               int connections, int seconds) {
  if (!RunWrk(url, 2, connections, 2, host)) {
    std::fprintf(stderr, "%s: warm-up failed\n", name.c_str());
    return std::nullopt;
  }
  const double cpu_before = kiln::bench::TreeCpuSeconds(pid);
  std::optional<WrkResult> wrk = RunWrk(url, 2, connections, seconds, host);
  const double cpu_after = kiln::bench::TreeCpuSeconds(pid);
  if (!wrk) return std::nullopt;
  Figures figures{*wrk, (cpu_after - cpu_before) * 1e6 / static_cast<double>(wrk->requests)};
  std::printf("  %-8s %10.0f req/s   p50 %7.2f ms   p99 %7.2f ms   server CPU %6.1f us/req\n", name.c_str(),
              figures.wrk.requests_per_second, figures.wrk.p50_ms, figures.wrk.p99_ms,
              figures.cpu_us_per_request);
  std::fflush(stdout);
  return figures;
}

bool WaitForFile(const std::string& path, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && st.st_size > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 10, connections = 64, workers = -1;  // -1: kiln-scheduler's default
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--seconds=")) (void)absl::SimpleAtoi(arg, &seconds);
    else if (absl::ConsumePrefix(&arg, "--connections=")) (void)absl::SimpleAtoi(arg, &connections);
    else if (absl::ConsumePrefix(&arg, "--workers=")) (void)absl::SimpleAtoi(arg, &workers);
  }
  const std::string workspace = kiln::bench::WorkspaceDir();
  const std::string hello = workspace + "/examples/hello/index.js";
  const std::string scratch = absl::StrCat("/tmp/kiln-http-bench-", getpid());
  std::system(("rm -rf " + scratch + " && mkdir -p " + scratch + "/data").c_str());
  const int kiln_workers =
      workers >= 0 ? workers : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  std::printf("wrk -t2 -c%d -d%ds, hello-world JSON handler, %d Kiln worker(s)%s; %u cores\n", connections,
              seconds, kiln_workers, workers >= 0 ? "" : " (the default)", std::thread::hardware_concurrency());

  // Kiln: the real scheduler (gateway inside) with real sandboxed workers,
  // the function deployed with the real CLI. Binaries come from runfiles.
  const std::string data = scratch + "/data";
  std::vector<std::string> kiln_argv = {"scheduler/server/kiln-scheduler", "--data-dir", data, "--api",
                                        "127.0.0.1:0", "--http", "127.0.0.1:0", "--access-log",
                                        scratch + "/access.log"};
  if (workers >= 0) {
    kiln_argv.push_back("--workers");
    kiln_argv.push_back(std::to_string(workers));
  }
  pid_t kiln = kiln::bench::Spawn(kiln_argv, scratch + "/kiln.log");
  if (kiln < 0 || !WaitForFile(data + "/api.addr", 60000)) {
    std::fprintf(stderr, "kiln-scheduler did not start; see %s/kiln.log\n", scratch.c_str());
    return 1;
  }
  const std::string api = std::string(absl::StripAsciiWhitespace(ReadFile(data + "/api.addr")));
  const std::string http = std::string(absl::StripAsciiWhitespace(ReadFile(data + "/http.addr")));
  const std::string token = std::string(absl::StripAsciiWhitespace(ReadFile(data + "/default.token")));
  const std::string deploy = absl::StrCat("sdk/cli/kiln --api ", api, " --token ", token, " deploy ", hello,
                                          " --name hello >> ", scratch, "/kiln.log 2>&1");
  if (std::system(deploy.c_str()) != 0) {
    std::fprintf(stderr, "deploy failed; see %s/kiln.log\n", scratch.c_str());
    kiln::bench::Stop(kiln);
    return 1;
  }
  std::optional<Figures> kiln_figures =
      Measure("kiln", kiln, "http://" + http + "/", "hello.default.localhost", connections, seconds);
  kiln::bench::Stop(kiln);

  // workerd, same module.
  const int workerd_port = kiln::bench::FreePort();
  pid_t workerd = kiln::bench::StartWorkerd(hello, workerd_port, scratch);
  std::optional<Figures> workerd_figures;
  if (workerd > 0) {
    workerd_figures = Measure("workerd", workerd, absl::StrCat("http://127.0.0.1:", workerd_port, "/"), "",
                              connections, seconds);
    kiln::bench::Stop(workerd);
  } else {
    std::fprintf(stderr, "workerd did not start\n");
  }

  // Node.js http.
  const int node_port = kiln::bench::FreePort();
  pid_t node = kiln::bench::Spawn({"/usr/bin/env", "node", workspace + "/ops/bench/peers/node_hello.mjs",
                                   std::to_string(node_port)},
                                  scratch + "/node.log");
  std::optional<Figures> node_figures;
  if (node > 0 && kiln::bench::WaitForPort(node_port, 10000)) {
    node_figures = Measure("node", node, absl::StrCat("http://127.0.0.1:", node_port, "/"), "", connections,
                           seconds);
  } else {
    std::fprintf(stderr, "node did not start\n");
  }
  kiln::bench::Stop(node);

  if (kiln_figures && workerd_figures) {
    std::printf("  ratio kiln / workerd requests per second  %5.2fx   (target >= 1.5x)\n",
                kiln_figures->wrk.requests_per_second / workerd_figures->wrk.requests_per_second);
    std::printf("  ratio kiln / workerd CPU per request      %5.2fx\n",
                kiln_figures->cpu_us_per_request / workerd_figures->cpu_us_per_request);
  }
  if (kiln_figures && node_figures) {
    std::printf("  ratio kiln / node p99 latency             %5.2fx   (target <= 2x)\n",
                kiln_figures->wrk.p99_ms / node_figures->wrk.p99_ms);
  }
  std::system(("rm -rf " + scratch).c_str());
  return kiln_figures && workerd_figures && node_figures ? 0 : 1;
}
