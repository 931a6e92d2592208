// fake-kiln-scheduler: stands in for kiln-scheduler in `kiln up` / `kiln dev`
// tests. Same flags and start-up contract (writes DIR/default.token once;
// prints "kiln-scheduler: api listening on HOST:PORT" and "kiln-scheduler:
// http listening on HOST:PORT" (--http as given: it serves no HTTP), then
// writes DIR/http.addr and DIR/api.addr as "ready"; stops cleanly on
// SIGINT/SIGTERM), serving a FakeControl. It also writes its
// arguments to DIR/fake-args so tests can check what `kiln up` passed.
// FAKE_SCHEDULER_FAIL_AT_START=1 makes it exit 1 before listening;
// FAKE_SCHEDULER_EXIT_STATUS=N makes it exit N when stopped;
// FAKE_SCHEDULER_READY_DELAY_MS=N makes it wait N ms between announcing its
// listeners and writing the address files (as workers registering would).
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "sdk/testing/fake_control.h"

int main(int argc, char** argv) {
  CLI::App app{"fake kiln-scheduler for tests"};
  std::string data_dir, api = "127.0.0.1:7000", http = "127.0.0.1:8080", base_domain = "localhost";
  int workers = 2;
  app.add_option("--data-dir", data_dir)->required();
  app.add_option("--api", api);
  app.add_option("--http", http);
  app.add_option("--workers", workers);
  app.add_option("--base-domain", base_domain);
  CLI11_PARSE(app, argc, argv);

  // Signals are taken synchronously below; block them before gRPC's threads start.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  if (const char* fail = std::getenv("FAKE_SCHEDULER_FAIL_AT_START"); fail && *fail == '1') {
    std::fprintf(stderr, "kiln-scheduler: cannot listen on %s: address already in use\n",
                 api.c_str());
    return 1;
  }
  mkdir(data_dir.c_str(), 0700);
  {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::ofstream(data_dir + "/fake-args") << absl::StrJoin(args, " ") << "\n";
  }
  const std::string token_path = data_dir + "/default.token";
  std::string token;
  {
    std::ifstream in(token_path);
    std::getline(in, token);
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  if (token.empty()) {
    token = kiln::sdk::testing::FakeToken("default", 'b');
    std::ofstream(token_path) << token << "\n";
  }
  int http_port = 8080;
  absl::SimpleAtoi(http.substr(http.rfind(':') + 1), &http_port);
  kiln::sdk::testing::FakeControl service(token, base_domain, http_port);
  std::unique_ptr<kiln::sdk::testing::FakeControlServer> server =
      kiln::sdk::testing::FakeControlServer::Start(&service, api);
  if (server == nullptr) {
    std::fprintf(stderr, "kiln-scheduler: cannot listen on %s\n", api.c_str());
    return 1;
  }
  std::printf("kiln-scheduler: api listening on %s\n", server->address().c_str());
  std::printf("kiln-scheduler: http listening on %s\n", http.c_str());
  std::fflush(stdout);
  int delay_ms = 0;
  if (const char* text = std::getenv("FAKE_SCHEDULER_READY_DELAY_MS")) {
    absl::SimpleAtoi(text, &delay_ms);
  }
  if (delay_ms > 0) absl::SleepFor(absl::Milliseconds(delay_ms));
  std::ofstream(data_dir + "/http.addr") << http << "\n";
  std::ofstream(data_dir + "/api.addr") << server->address() << "\n";

  int signal = 0;
  sigwait(&stop, &signal);
  std::printf("kiln-scheduler: %s, draining\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  server->Shutdown();
  std::printf("kiln-scheduler: stopped\n");
  std::fflush(stdout);
  int status = 0;
  if (const char* text = std::getenv("FAKE_SCHEDULER_EXIT_STATUS")) absl::SimpleAtoi(text, &status);
  return status;
}
