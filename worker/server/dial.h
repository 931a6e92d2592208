// Dialing the scheduler with a plain socket, so the worker can enter an empty
// network namespace afterwards and still talk over that one connection (gRPC
// takes it with CreateCustomInsecureChannelFromFd).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kiln::worker::server {

// Connects to "HOST:PORT" (TCP, IPv4 or IPv6, names resolved here) or to
// "unix-abstract:NAME" (a Linux abstract Unix socket, what kiln-scheduler
// offers its local workers: no TCP stack on the hot path) and returns the
// connected, blocking descriptor. Retries until `timeout` (the scheduler may
// still be starting); Unavailable when nothing answers in time,
// InvalidArgument for a malformed address.
absl::StatusOr<int> DialScheduler(const std::string& address, absl::Duration timeout);

}  // namespace kiln::worker::server
