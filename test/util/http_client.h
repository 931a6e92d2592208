// A tiny HTTP/1.1 client over a plain TCP socket, for integration tests that
// call functions through the gateway the way curl would: one request per
// connection (`Connection: close`), a chunked body decoded. HttpFetch reads a
// response to its end; HttpStream reads one as it arrives (head, then body
// piece by piece) and can hang up at any point. IPv4 addresses only. testonly.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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
  absl::Duration timeout = absl::Seconds(30);  // for each send and receive
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
// DataLoss when the answer is not HTTP/1.x or its body is cut short.
absl::StatusOr<HttpResponse> HttpFetch(const std::string& address, const HttpRequest& request);

// One request on its own connection, its response read as it comes:
//
//   auto stream = HttpStream::Send(address, request);   // connect, send
//   (*stream)->ReadHead();                              // status, headers
//   std::string piece;
//   while (*(*stream)->Read(&piece)) { ...; piece.clear(); }
//
// Not thread-safe. The connection closes on Close() or destruction.
class HttpStream {
 public:
  // Connects to `address` and sends `request` (Unavailable on failure).
  static absl::StatusOr<std::unique_ptr<HttpStream>> Send(const std::string& address,
                                                          const HttpRequest& request);
  ~HttpStream();

  // Reads the status line and headers into head(). DataLoss when the answer
  // is not HTTP/1.x; Unavailable when the connection fails or times out first.
  absl::Status ReadHead();
  // Status and headers (body empty), once ReadHead succeeded.
  const HttpResponse& head() const { return head_; }
  // The body is sent with Transfer-Encoding: chunked.
  bool chunked() const { return chunked_; }

  // Appends the next piece of the body that has arrived (decoded), waiting
  // for one. true: some bytes were appended; false: the body ended cleanly
  // (the terminating chunk, Content-Length reached, or the end of a body
  // delimited by the connection's close). DataLoss when the connection ended
  // before the body did (truncated), or the chunked framing is malformed;
  // Unavailable when receiving fails or times out.
  absl::StatusOr<bool> Read(std::string* out);

  // Hangs up now, as a client going away does. Idempotent.
  void Close();

 private:
  HttpStream(int fd, std::string address, absl::Duration timeout)
      : fd_(fd), address_(std::move(address)), timeout_(timeout) {}
  // Receives more bytes into in_: true if some came, false at EOF.
  absl::StatusOr<bool> Fill();
  // in_ from pos_ holds a full line (without its CRLF); false: not yet.
  bool TakeLine(std::string* line);

  enum class Framing { kChunked, kLength, kUntilClose, kNone };
  enum class ChunkState { kSize, kData, kDataEnd, kDone };

  int fd_;
  const std::string address_;
  const absl::Duration timeout_;
  bool head_request_ = false;
  HttpResponse head_;
  bool chunked_ = false;
  Framing framing_ = Framing::kNone;
  ChunkState chunk_state_ = ChunkState::kSize;
  uint64_t remaining_ = 0;  // of the current chunk, or of a Content-Length body
  std::string in_;          // received, not yet consumed from pos_
  size_t pos_ = 0;
};

}  // namespace kiln::test
