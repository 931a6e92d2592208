// Peers and wrk for the benchmarks.
#include "ops/bench/peer_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace kiln::bench {

std::string WorkspaceDir() {
  const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return dir != nullptr ? dir : ".";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

bool WaitForPort(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

double ToMs(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

}  // namespace

std::optional<WrkResult> RunWrk(const std::string& url, int threads, int connections, int seconds,
                                const std::string& host) {
  std::string command = "wrk --latency -t" + std::to_string(threads) + " -c" + std::to_string(connections) +
                        " -d" + std::to_string(seconds) + "s " +
                        (host.empty() ? "" : "-H 'Host: " + host + "' ") + url + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  pclose(pipe);
  WrkResult result;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) result.requests_per_second = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(\s50%\s+([0-9.]+)(us|ms|s))"))) result.p50_ms = ToMs(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"(\s99%\s+([0-9.]+)(us|ms|s))"))) result.p99_ms = ToMs(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) result.requests = std::stol(m[1]);
  if (result.requests == 0) {
    std::fprintf(stderr, "wrk failed:\n%s\n", out.c_str());
    return std::nullopt;
  }
  return result;
}

pid_t StartWorkerd(const std::string& module_path, int port, const std::string& scratch_dir) {
  std::ifstream in(WorkspaceDir() + "/ops/bench/peers/workerd.capnp.in");
  std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  config = std::regex_replace(config, std::regex("PORT"), std::to_string(port));
  std::string module_copy = scratch_dir + "/worker.js";
  {
    std::ifstream module(module_path);
    std::ofstream out(module_copy);
    out << module.rdbuf();
  }
  config = std::regex_replace(config, std::regex("MODULE"), "worker.js");
  std::string config_path = scratch_dir + "/workerd.capnp";
  std::ofstream(config_path) << config;
  std::string binary = WorkspaceDir() + "/ops/js/node_modules/.bin/workerd";
  std::vector<std::string> argv = {binary, "serve", config_path};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, args.data(), environ) != 0) return -1;
  if (!WaitForPort(port, 15000)) {
    Stop(pid);
    return -1;
  }
  return pid;
}

void Stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace kiln::bench

namespace kiln::bench {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

double TreeCpuSeconds(pid_t pid) {
  double total = ProcessCpuSeconds(pid);
  // Children are listed per thread that forked them.
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* dir = opendir(tasks.c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream children(tasks + "/" + entry->d_name + "/children");
      pid_t child;
      while (children >> child) total += TreeCpuSeconds(child);
    }
    closedir(dir);
  }
  return total;
}

}  // namespace kiln::bench
