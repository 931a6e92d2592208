// Running benchmark peers (workerd from npm, a Node.js http server) and
// driving them with wrk, for the programs in ops/bench/.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace kiln::bench {

// The checkout's root (from BUILD_WORKSPACE_DIRECTORY under `bazel run`, else
// the current directory).
std::string WorkspaceDir();

// A free TCP port on 127.0.0.1 (bound and released; racy, fine for benches).
int FreePort();

// CPU time (user + system) a process has used, in seconds.
double ProcessCpuSeconds(pid_t pid);

// Waits until something accepts connections on 127.0.0.1:port.
bool WaitForPort(int port, int timeout_ms);

struct WrkResult {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long requests = 0;
};

// Runs wrk against `url` and parses its report (latency distribution on).
// `host`: a Host header to send (empty: the URL's).
std::optional<WrkResult> RunWrk(const std::string& url, int threads, int connections, int seconds,
                                const std::string& host = "");

// Starts workerd serving `module_path` on `port`; returns its pid (or -1).
pid_t StartWorkerd(const std::string& module_path, int port, const std::string& scratch_dir);

// Stops a process started here (SIGTERM, then SIGKILL).
void Stop(pid_t pid);

// Starts `argv` with stdout and stderr appended to `log_path`; its pid or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);

// CPU seconds (user + system) of `pid` and all its descendants.
double TreeCpuSeconds(pid_t pid);

}  // namespace kiln::bench
