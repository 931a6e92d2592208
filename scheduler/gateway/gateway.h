// The HTTP ingress: an h2o server (Debian's libh2o, its libuv build) on one
// thread that routes each request to a function through an HttpBackend and
// writes back what the function answered. It enforces the request limits and
// refuses request smuggling shapes; every response carries kiln-request-id;
// one access-log line per request. A function's stream response body is
// relayed as it comes (chunked on HTTP/1.1), paced by the client.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "scheduler/gateway/http_backend.h"

namespace kiln::scheduler::gateway {

struct AccessLogEntry {
  std::string request_id;
  std::string method;
  std::string host;
  std::string path;
  std::string tenant;    // empty when no function matched
  std::string function;
  uint64_t version = 0;
  int status = 0;
  size_t bytes = 0;       // response body bytes
  absl::Duration duration;
  bool cold = false;
};

struct GatewayOptions {
  std::string listen = "127.0.0.1:8080";   // HOST:PORT; port 0 picks a free one
  size_t max_body_bytes = 32u << 20;       // the largest request body any function may take
  size_t max_url_bytes = 16u << 10;        // 414 above
  size_t max_header_bytes = 128u << 10;    // 431 above
  int max_connections = 10000;             // further connections are closed at once
  int max_in_flight = 4096;                // further requests get 503 at once
  absl::Duration request_timeout = absl::Seconds(10);  // to receive a request (slowloris)
  absl::Duration idle_timeout = absl::Seconds(60);     // an HTTP/2 connection with no stream
  // A streamed response body may run this far ahead of what the client took
  // (the gateway's memory per streaming response).
  size_t stream_window_bytes = 1u << 20;
  // On stop, answers still being written to their clients (streamed bodies
  // included: at most a window of each is held here) get this long.
  absl::Duration stop_grace = absl::Seconds(5);
  // Receives one entry per request, on the gateway's thread; null: none.
  std::function<void(const AccessLogEntry&)> access_log;
};

class Gateway {
 public:
  // Binds, then serves on a thread of its own. `backend` outlives the gateway.
  // InvalidArgument for a bad address, Unavailable when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(HttpBackend& backend, GatewayOptions options);
  // Stops accepting, writes out the answers it holds (at least 200 ms, up to
  // stop_grace while some are still being written), closes every
  // connection, joins the thread.
  ~Gateway();

  // The port it listens on (the bound one when asked for port 0).
  int port() const;

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::scheduler::gateway
