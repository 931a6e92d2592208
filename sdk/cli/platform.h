// `kiln up` and `kiln dev`: running the platform (kiln-scheduler and, through
// it, the workers) from the CLI. `up` runs it in the foreground until Ctrl-C;
// `dev` runs it in the background, deploys a function, and redeploys it
// whenever its files change.
#pragma once

#include <string>

#include "sdk/cli/commands.h"

namespace kiln::sdk::cli {

struct PlatformOptions {
  std::string http = "127.0.0.1:8080";  // --http: where the HTTP gateway listens
  int workers = -1;                     // --workers; -1: kiln-scheduler's default
  std::string base_domain = "localhost";
  std::string scheduler_binary;  // --scheduler-binary; "" : see FindSchedulerBinary
};

// Runs kiln-scheduler in the foreground with --data-dir, --api (global --api,
// else KILN_API, else 127.0.0.1:7000), --http, --workers and --base-domain,
// passing its output through. Once it is ready (both listeners announced and
// <data-dir>/api.addr written, i.e. its workers registered) says where it
// listens — the real ports, also for port 0. The first Ctrl-C (or SIGTERM) is
// forwarded for a clean drain, a second one kills it. Returns its exit status.
int RunUp(const GlobalOptions& global, const PlatformOptions& options);

// Runs the platform as RunUp does, but in the background; deploys `deploy`
// once it is listening, then polls the function's files every 500 ms and
// redeploys on change (skipping when the bundle is unchanged), printing each
// result. Ctrl-C stops the platform and returns its exit status.
int RunDev(const GlobalOptions& global, const PlatformOptions& options,
           const DeployOptions& deploy);

}  // namespace kiln::sdk::cli
