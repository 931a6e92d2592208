// Unit tests of the test HTTP client (http_client.h) against canned server bytes.
// Chunked bodies are decoded whatever the packet boundaries, and every way a
// body can be cut short is DataLoss, never a clean end.
#include "test/util/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::test {
namespace {

// Accepts one connection, reads the request head, writes `pieces` (pausing
// between them so that they arrive apart), then closes.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> pieces) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 1);
    socklen_t length = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
    thread_ = std::thread([this, pieces = std::move(pieces)] {
      const int fd = accept(listener_, nullptr, nullptr);
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        request.append(buffer, n);
      }
      for (const std::string& piece : pieces) {
        (void)!send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);  // the client may have left
        absl::SleepFor(absl::Milliseconds(5));
      }
      close(fd);
    });
  }
  ~CannedServer() {
    thread_.join();
    close(listener_);
  }
  const std::string& address() const { return address_; }

 private:
  int listener_;
  std::string address_;
  std::thread thread_;
};

absl::StatusOr<HttpResponse> FetchFrom(std::vector<std::string> pieces) {
  CannedServer server(std::move(pieces));
  HttpRequest request;
  request.host = "test";
  request.timeout = absl::Seconds(5);
  return HttpFetch(server.address(), request);
}

constexpr char kChunkedHead[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(HttpClientTest, AChunkedBodySplitAnywhereIsDecoded) {
  absl::StatusOr<HttpResponse> response =
      FetchFrom({"HTTP/1.1 200 OK\r\nTransfer-Enc", "oding: chunked\r\nX-A: b\r\n\r\n5\r", "\nhel",
                 "lo\r\n6;ext=1\r\n world\r", "\n0\r\nTrailer: x\r\n", "\r\n"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("x-a"), "b");
  EXPECT_EQ(response->body, "hello world");
}

TEST(HttpClientTest, AChunkedBodyWithoutItsTerminatingChunkIsDataLoss) {
  EXPECT_EQ(FetchFrom({kChunkedHead, "5\r\nhello\r\n"}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(FetchFrom({kChunkedHead, "5\r\nhel"}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(FetchFrom({kChunkedHead, "5\r\nhello\r\n0\r\n"}).status().code(),
            absl::StatusCode::kDataLoss);
  // h2o's way of aborting a chunked body: a bare CRLF where a size belongs.
  EXPECT_EQ(FetchFrom({kChunkedHead, "5\r\nhello\r\n\r\n1\r\n"}).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(HttpClientTest, ContentLengthAndCloseDelimitedBodies) {
  absl::StatusOr<HttpResponse> sized =
      FetchFrom({"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\n\r\nab", "cde"});
  ASSERT_TRUE(sized.ok()) << sized.status();
  EXPECT_EQ(sized->status, 413);
  EXPECT_EQ(sized->body, "abcde");
  EXPECT_EQ(FetchFrom({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"}).status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<HttpResponse> until_close = FetchFrom({"HTTP/1.0 200 OK\r\n\r\nsome", " text"});
  ASSERT_TRUE(until_close.ok()) << until_close.status();
  EXPECT_EQ(until_close->body, "some text");
  EXPECT_EQ(FetchFrom({"SSH-2.0-nope\r\n\r\n"}).status().code(), absl::StatusCode::kDataLoss);
}

TEST(HttpClientTest, AStreamIsReadPieceByPieceAndCanHangUp) {
  CannedServer server({kChunkedHead, "3\r\none\r\n", "3\r\ntwo\r\n", "0\r\n\r\n"});
  HttpRequest request;
  request.host = "test";
  absl::StatusOr<std::unique_ptr<HttpStream>> stream = HttpStream::Send(server.address(), request);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->ReadHead().ok());
  EXPECT_TRUE((*stream)->chunked());
  std::string body;
  absl::StatusOr<bool> more = (*stream)->Read(&body);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(body, "one");
  (*stream)->Close();
  EXPECT_FALSE((*stream)->Read(&body).ok());
}

}  // namespace
}  // namespace kiln::test
