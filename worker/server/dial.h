// Dialing the scheduler with a plain TCP socket, so the worker can enter an
// empty network namespace afterwards and still talk over that one connection
// (gRPC takes it with CreateInsecureChannelFromFd).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kiln::worker::server {

// Connects to "HOST:PORT" (IPv4 or IPv6, names resolved here) and returns the
// connected, blocking descriptor. Unavailable when nothing answers in time,
// InvalidArgument for a malformed address.
absl::StatusOr<int> DialTcp(const std::string& host_port, absl::Duration timeout);

}  // namespace kiln::worker::server
