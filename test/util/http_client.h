// A tiny HTTP/1.1 client over a plain TCP socket, for integration tests that
// call functions through the gateway the way curl would: one request per
// connection (`Connection: close`), the response read to the end, a chunked
// body decoded. IPv4 addresses only. testonly.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kiln::test {

struct HttpRequest {
  std::string method = "GET";
  std::string host;  // the Host header, e.g. "hello.default.localhost"
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Length when not empty (or the method is POST/PUT)
  absl::Duration timeout = absl::Seconds(30);
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;

  // The first header named `name` (lowercase), or "".
  std::string Header(absl::string_view name) const;
};

// Sends `request` to `address` ("127.0.0.1:PORT") and reads the whole response.
// Unavailable when the connection fails (refused, reset, timed out);
// DataLoss when the answer is not HTTP/1.x.
absl::StatusOr<HttpResponse> HttpFetch(const std::string& address, const HttpRequest& request);

}  // namespace kiln::test
