// Tests of the HTTP gateway against a fake backend, over raw sockets so that
// malformed and hostile requests can be sent exactly: routing, what reaches
// the function and what comes back, every error status, request smuggling
// shapes, keep-alive and pipelining, chunked bodies, timeouts, the
// connection cap, admission control, streamed bodies, cancellation when a
// client leaves (also while a streamed body is quiet), and a stop that writes
// out the streamed bodies it holds.
#include "scheduler/gateway/gateway.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace kiln::scheduler::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeBackend final : public HttpBackend {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<v1::InvokeResponse>)>;

  std::optional<RouteTarget> Route(absl::string_view host, absl::string_view path) override {
    if (host == "hello.acme.localhost") return RouteTarget{"acme", "hello", 0};
    if (host == "small.acme.localhost") return RouteTarget{"acme", "small", 16};
    if (host == "stream.acme.localhost") return RouteTarget{"acme", "stream", 0};
    return std::nullopt;
  }

  void Invoke(const RouteTarget& target, v1::HttpRequest request, std::string request_id,
              std::shared_ptr<ResponseBodyReceiver> body, size_t window, Done done) override {
    if (target.function == "stream") {
      streamer_.Start(request, request_id, std::move(body), window, std::move(done));
      return;
    }
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (hold_) {
      held_.push_back(std::move(done));
      return;
    }
    mu_.Unlock();
    done(answer_(request));
    mu_.Lock();
  }

  void Cancel(const std::string& request_id) override {
    cancelled_++;
    streamer_.Cancel();
  }
  void Credit(const std::string& request_id, size_t bytes) override { streamer_.Credit(bytes); }

  // Plays a function that streams `total` bytes (query ?total=N&chunk=C, or
  // /broken to fail half way, /quiet to wait up to 20 s after the first
  // chunk) the way the fleet relays one: chunks on another thread, never more
  // than the window ahead of the credit.
  class Streamer {
   public:
    ~Streamer() { Join(); }
    void Start(const v1::HttpRequest& request, const std::string& id, std::shared_ptr<ResponseBodyReceiver> body,
               size_t window, Done done) {
      Join();
      const std::string& url = request.url();
      auto param = [&](const std::string& name, size_t fallback) -> size_t {
        size_t at = url.find(name + "=");
        return at == std::string::npos ? fallback : std::stoull(url.substr(at + name.size() + 1));
      };
      const size_t total = param("total", 1000), chunk = param("chunk", 100);
      const bool broken = url.find("/broken") != std::string::npos;
      const bool quiet = url.find("/quiet") != std::string::npos;
      {
        absl::MutexLock lock(&mu_);
        window_ = window;
        sent_ = credited_ = max_ahead_ = 0;
        cancelled_ = false;
        ended_ = false;
      }
      v1::InvokeResponse head;
      head.set_request_id(id);
      head.set_version(1);
      v1::HttpResponse* http = head.mutable_result()->mutable_http();
      http->set_status(200);
      http->set_body_streamed(true);
      v1::Header* type = http->add_headers();
      type->set_name("content-type");
      type->set_value("application/octet-stream");
      done(head);
      thread_ = std::thread([this, body, total, chunk, broken, quiet] {
        size_t produced = 0;
        while (produced < total) {
          const size_t n = std::min(chunk, total - produced);
          {
            absl::MutexLock lock(&mu_);
            auto room = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
              return cancelled_ || sent_ + n <= credited_ + window_;
            };
            if (!mu_.AwaitWithTimeout(absl::Condition(&room), absl::Seconds(20)) || cancelled_) break;
            sent_ += n;
            max_ahead_ = std::max(max_ahead_, sent_ - credited_);
          }
          if (broken && produced >= total / 2) {
            body->OnEnd(absl::AbortedError("the source broke"));
            Finish();
            return;
          }
          body->OnData(std::string(n, static_cast<char>('a' + (produced / chunk) % 26)));
          produced += n;
          if (quiet && produced == n) {
            absl::MutexLock lock(&mu_);
            mu_.AwaitWithTimeout(absl::Condition(&cancelled_), absl::Seconds(20));
          }
        }
        absl::MutexLock lock(&mu_);
        const bool cancelled = cancelled_;
        mu_.Unlock();
        body->OnEnd(cancelled ? absl::CancelledError("cancelled") : absl::OkStatus());
        mu_.Lock();
        ended_ = true;
      });
    }
    void Cancel() {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    void Credit(size_t bytes) {
      absl::MutexLock lock(&mu_);
      credited_ += bytes;
    }
    size_t max_ahead() {
      absl::MutexLock lock(&mu_);
      return max_ahead_;
    }
    size_t credited() {
      absl::MutexLock lock(&mu_);
      return credited_;
    }
    bool cancelled() {
      absl::MutexLock lock(&mu_);
      return cancelled_;
    }
    // Whether a started body was produced to its end (or broke off).
    bool ended() {
      absl::MutexLock lock(&mu_);
      return ended_;
    }
    void Join() {
      if (thread_.joinable()) thread_.join();
    }

   private:
    void Finish() {
      absl::MutexLock lock(&mu_);
      ended_ = true;
    }
    absl::Mutex mu_;
    size_t window_ ABSL_GUARDED_BY(mu_) = 0;
    size_t sent_ ABSL_GUARDED_BY(mu_) = 0;
    size_t credited_ ABSL_GUARDED_BY(mu_) = 0;
    size_t max_ahead_ ABSL_GUARDED_BY(mu_) = 0;
    bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
    bool ended_ ABSL_GUARDED_BY(mu_) = false;
    std::thread thread_;
  };
  Streamer& streamer() { return streamer_; }

  void set_answer(std::function<absl::StatusOr<v1::InvokeResponse>(const v1::HttpRequest&)> answer) {
    answer_ = std::move(answer);
  }
  void set_hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  std::vector<Done> TakeHeld() {
    absl::MutexLock lock(&mu_);
    std::vector<Done> held;
    held.swap(held_);
    return held;
  }
  int held() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  std::vector<v1::HttpRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::atomic<int> cancelled_{0};

 private:
  Streamer streamer_;
  absl::Mutex mu_;
  std::vector<v1::HttpRequest> requests_;
  bool hold_ = false;
  std::vector<Done> held_;
  std::function<absl::StatusOr<v1::InvokeResponse>(const v1::HttpRequest&)> answer_ =
      [](const v1::HttpRequest& request) {
        v1::InvokeResponse response;
        response.set_version(3);
        v1::HttpResponse* http = response.mutable_result()->mutable_http();
        http->set_status(201);
        v1::Header* a = http->add_headers();
        a->set_name("Set-Cookie");
        a->set_value("a=1");
        v1::Header* b = http->add_headers();
        b->set_name("Set-Cookie");
        b->set_value("b=2");
        v1::Header* c = http->add_headers();
        c->set_name("x-echo-method");
        c->set_value(request.method());
        http->set_body("body:" + request.body());
        return response;
      };
};

// A plain TCP client for exact bytes.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Send(const std::string& data) { (void)!write(fd_, data.data(), data.size()); }
  // Reads until `count` complete responses arrived (by Content-Length), the
  // connection closed, or `timeout` passed.
  std::string Read(int count = 1, absl::Duration timeout = absl::Seconds(5)) {
    absl::Time deadline = absl::Now() + timeout;
    while (Complete() < count && absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[65536];
      ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n <= 0) {
        closed_ = true;
        break;
      }
      data_.append(buffer, n);
    }
    return data_;
  }
  // Whether the server closed the connection (within `timeout`).
  bool Closed(absl::Duration timeout = absl::Seconds(5)) {
    absl::Time deadline = absl::Now() + timeout;
    while (!closed_ && absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n <= 0) closed_ = true;
      else data_.append(buffer, n);
    }
    return closed_;
  }

 private:
  int Complete() const {
    int count = 0;
    size_t pos = 0;
    while (true) {
      size_t end = data_.find("\r\n\r\n", pos);
      if (end == std::string::npos) return count;
      std::string head = data_.substr(pos, end - pos);
      size_t length = 0;
      size_t cl = head.find("content-length: ");
      if (cl != std::string::npos) length = std::stoul(head.substr(cl + 16));
      if (data_.size() < end + 4 + length) return count;
      pos = end + 4 + length;
      ++count;
    }
  }
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string data_;
};

class GatewayTest : public ::testing::Test {
 protected:
  void StartGateway(GatewayOptions options = {}) {
    options.listen = "127.0.0.1:0";
    options.access_log = [this](const AccessLogEntry& entry) {
      absl::MutexLock lock(&log_mu_);
      log_.push_back(entry);
    };
    auto gateway = Gateway::Start(backend_, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
  }
  void SetUp() override { StartGateway(); }
  std::string Get(const std::string& raw) {
    Client client(gateway_->port());
    client.Send(raw);
    return client.Read();
  }

  FakeBackend backend_;
  std::unique_ptr<Gateway> gateway_;
  absl::Mutex log_mu_;
  std::vector<AccessLogEntry> log_;
};

TEST_F(GatewayTest, RoutesAndPassesRequestAndResponseThrough) {
  std::string response = Get(
      "POST /path?q=1 HTTP/1.1\r\nHost: hello.acme.localhost:8080\r\nX-Custom: Value\r\n"
      "Content-Length: 5\r\n\r\nhello");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 201 Created\r\n"));
  EXPECT_THAT(response, HasSubstr("set-cookie: a=1\r\n"));
  EXPECT_THAT(response, HasSubstr("set-cookie: b=2\r\n"));
  EXPECT_THAT(response, HasSubstr("x-echo-method: POST\r\n"));
  EXPECT_THAT(response, HasSubstr("kiln-request-id: "));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nbody:hello"));
  ASSERT_EQ(backend_.requests().size(), 1u);
  const v1::HttpRequest request = backend_.requests()[0];
  EXPECT_EQ(request.method(), "POST");
  EXPECT_EQ(request.url(), "http://hello.acme.localhost:8080/path?q=1");
  EXPECT_EQ(request.body(), "hello");
  bool saw_custom = false;
  for (const v1::Header& header : request.headers()) {
    if (header.name() == "X-Custom" && header.value() == "Value") saw_custom = true;
  }
  EXPECT_TRUE(saw_custom);
  absl::MutexLock lock(&log_mu_);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].function, "hello");
  EXPECT_EQ(log_[0].tenant, "acme");
  EXPECT_EQ(log_[0].version, 3u);
  EXPECT_EQ(log_[0].status, 201);
}

TEST_F(GatewayTest, UnknownHostIs404WithErrorId) {
  std::string response = Get("GET / HTTP/1.1\r\nHost: nope.localhost\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(response, HasSubstr("error id: "));
  EXPECT_THAT(response, HasSubstr("kiln-request-id: "));
}

TEST_F(GatewayTest, BodyOverTheFunctionsLimitIs413) {
  std::string body(17, 'x');
  std::string response = Get("POST / HTTP/1.1\r\nHost: small.acme.localhost\r\nContent-Length: 17\r\n\r\n" + body);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 413 "));
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(GatewayTest, LongUrlIs414AndHugeHeadersAre431) {
  std::string long_path(17 * 1024, 'a');
  EXPECT_THAT(Get("GET /" + long_path + " HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n"),
              StartsWith("HTTP/1.1 414 "));
  std::string headers;
  for (int i = 0; i < 40; ++i) headers += "X-Big-" + std::to_string(i) + ": " + std::string(4000, 'v') + "\r\n";
  EXPECT_THAT(Get("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n" + headers + "\r\n"),
              StartsWith("HTTP/1.1 431 "));
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(GatewayTest, InvocationErrorsMapToStatuses) {
  struct Case {
    v1::InvocationError::Kind kind;
    std::string message;
    std::string status;
  };
  for (const Case& c : std::vector<Case>{
           {v1::InvocationError::CPU_LIMIT, "cpu limit exceeded", "503"},
           {v1::InvocationError::MEMORY_LIMIT, "memory limit exceeded", "503"},
           {v1::InvocationError::WALL_LIMIT, "wall time limit exceeded", "503"},
           {v1::InvocationError::EXCEPTION, "Error: secret detail", "500"},
           {v1::InvocationError::WORKER_LOST, "gone", "502"},
       }) {
    backend_.set_answer([c](const v1::HttpRequest&) {
      v1::InvokeResponse response;
      response.mutable_result()->mutable_error()->set_kind(c.kind);
      response.mutable_result()->mutable_error()->set_message(c.message);
      return response;
    });
    std::string response = Get("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
    EXPECT_THAT(response, StartsWith("HTTP/1.1 " + c.status + " ")) << c.message;
    if (c.status == "503") {
      EXPECT_THAT(response, HasSubstr(c.message));
    }
    EXPECT_THAT(response, ::testing::Not(HasSubstr("secret detail")));
  }
  backend_.set_answer([](const v1::HttpRequest&) -> absl::StatusOr<v1::InvokeResponse> {
    return absl::UnavailableError("no worker can take it");
  });
  std::string response = Get("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(response, HasSubstr("retry-after: 1\r\n"));
}

TEST_F(GatewayTest, SmugglingShapesAreRefusedAndTheConnectionClosed) {
  for (const std::string& raw : {
           std::string("POST / HTTP/1.1\r\nHost: hello.acme.localhost\r\nContent-Length: 3\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: hello.acme.localhost\r\nContent-Length: 3\r\n"
                       "Content-Length: 4\r\n\r\nabcd"),
           std::string("POST / HTTP/1.1\r\nHost: hello.acme.localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                       "0\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\nX-Folded: a\r\n b\r\n\r\n"),
       }) {
    Client client(gateway_->port());
    client.Send(raw);
    std::string response = client.Read();
    EXPECT_THAT(response, StartsWith("HTTP/1.1 400 ")) << raw;
    EXPECT_TRUE(client.Closed()) << raw;
  }
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(GatewayTest, InvalidHeaderNamesAre400AndCloseTheConnection) {
  // h2o's parser refuses these before any handler runs.
  for (const std::string& line : {std::string("Bad Name: x"), std::string(": no-name"),
                                  std::string("Bad\x01Name: x"), std::string("(x): y"),
                                  std::string("Name:\x7f")}) {
    Client client(gateway_->port());
    client.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n" + line + "\r\n\r\n");
    std::string response = client.Read();
    EXPECT_THAT(response, StartsWith("HTTP/1.1 400 ")) << line;
    EXPECT_TRUE(client.Closed()) << line;
  }
  EXPECT_TRUE(backend_.requests().empty());
}

// curl (installed by ops/setup) speaks HTTP/2 for these; the gateway has no
// HTTP/2 client of its own to test with.
std::string Curl(const std::string& args) {
  FILE* pipe = popen(("curl -sS -i " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

TEST_F(GatewayTest, Http2CleartextWithPriorKnowledgeAndUpgrade) {
  const std::string url = "http://127.0.0.1:" + std::to_string(gateway_->port()) + "/h2";
  for (const std::string mode : {"--http2-prior-knowledge", "--http2"}) {
    std::string response =
        Curl(mode + " -H 'Host: hello.acme.localhost' --data-binary hi " + url);
    EXPECT_THAT(response, HasSubstr("HTTP/2 201")) << mode << "\n" << response;
    EXPECT_THAT(response, HasSubstr("set-cookie: a=1")) << response;
    EXPECT_THAT(response, HasSubstr("set-cookie: b=2")) << response;
    EXPECT_THAT(response, HasSubstr("kiln-request-id: ")) << response;
    EXPECT_THAT(response, HasSubstr("body:hi")) << response;
  }
  std::string missing = Curl("--http2-prior-knowledge -H 'Host: nope.localhost' " + url);
  EXPECT_THAT(missing, HasSubstr("HTTP/2 404")) << missing;
  ASSERT_EQ(backend_.requests().size(), 2u);
  EXPECT_EQ(backend_.requests()[0].url(), "http://hello.acme.localhost/h2");
}

TEST_F(GatewayTest, KeepAliveAndPipelining) {
  Client client(gateway_->port());
  client.Send(
      "POST /1 HTTP/1.1\r\nHost: hello.acme.localhost\r\nContent-Length: 1\r\n\r\na"
      "POST /2 HTTP/1.1\r\nHost: hello.acme.localhost\r\nContent-Length: 1\r\n\r\nb");
  std::string responses = client.Read(2);
  size_t first = responses.find("body:a"), second = responses.find("body:b");
  ASSERT_NE(first, std::string::npos) << responses;
  ASSERT_NE(second, std::string::npos) << responses;
  EXPECT_LT(first, second);
  EXPECT_FALSE(client.Closed(absl::Milliseconds(100)));
}

TEST_F(GatewayTest, ChunkedRequestBody) {
  std::string response = Get(
      "POST / HTTP/1.1\r\nHost: hello.acme.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  EXPECT_THAT(response, HasSubstr("body:abcdefg"));
}

TEST_F(GatewayTest, ClientThatLeavesCancelsItsInvocation) {
  backend_.set_hold(true);
  {
    Client client(gateway_->port());
    client.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
    for (int i = 0; i < 100 && backend_.held() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  }
  for (int i = 0; i < 100 && backend_.cancelled_ == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(backend_.cancelled_, 1);
  for (auto& done : backend_.TakeHeld()) done(absl::UnavailableError("late"));  // answered after: dropped
}

// Reads a whole chunked response: until the terminating chunk, the server
// closing, or `timeout`. Returns the head and the de-chunked body; sets
// `complete` when the terminating chunk arrived. Keeps only a running count
// of body bytes when `keep_body` is false (for large bodies).
struct ChunkedResponse {
  std::string head;
  std::string body;
  size_t body_bytes = 0;
  bool complete = false;
  bool closed = false;
  bool malformed = false;
  std::string raw_tail;  // where parsing stopped, when malformed
};

ChunkedResponse ReadChunked(int fd, absl::Duration timeout, bool keep_body = true) {
  ChunkedResponse out;
  std::string buffer;
  bool in_body = false;
  const absl::Time deadline = absl::Now() + timeout;
  while (!out.complete && absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char data[65536];
    ssize_t n = read(fd, data, sizeof(data));
    if (n <= 0) {
      out.closed = true;
      break;
    }
    buffer.append(data, n);
    if (!in_body) {
      size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      out.head = buffer.substr(0, end + 4);
      buffer.erase(0, end + 4);
      in_body = true;
    }
    // Parse as many whole chunks as are buffered.
    while (true) {
      size_t line = buffer.find("\r\n");
      if (line == std::string::npos) break;
      const std::string size_text = buffer.substr(0, line);
      char* end = nullptr;
      const size_t size = std::strtoul(size_text.c_str(), &end, 16);
      if (size_text.empty() || end != size_text.c_str() + size_text.size()) {
        // Not a chunk: h2o ends an aborted body this way ("\r\n1\r\n", then
        // it closes), so no client can take it for complete. Drain to EOF.
        out.malformed = true;
        out.raw_tail = buffer.substr(0, 200);
        while (absl::Now() < deadline) {
          pollfd p{fd, POLLIN, 0};
          if (poll(&p, 1, 50) <= 0) continue;
          if (read(fd, data, sizeof(data)) <= 0) {
            out.closed = true;
            break;
          }
        }
        return out;
      }
      if (buffer.size() < line + 2 + size + 2) break;
      if (size == 0) {
        out.complete = true;
        break;
      }
      if (keep_body) out.body.append(buffer, line + 2, size);
      out.body_bytes += size;
      buffer.erase(0, line + 2 + size + 2);
    }
  }
  return out;
}

size_t RssBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f != nullptr) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(GatewayTest, AStreamedBodyIsRelayedChunked) {
  Client client(gateway_->port());
  client.Send("GET /?total=1000&chunk=100 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n");
  ChunkedResponse response = ReadChunked(client.fd(), absl::Seconds(10));
  EXPECT_THAT(response.head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response.head, HasSubstr("transfer-encoding: chunked\r\n"));
  EXPECT_THAT(response.head, HasSubstr("kiln-request-id: "));
  EXPECT_THAT(response.head, ::testing::Not(HasSubstr("content-length")));
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.body.size(), 1000u);
  EXPECT_EQ(response.body.substr(0, 100), std::string(100, 'a'));
  EXPECT_EQ(response.body.substr(900), std::string(100, 'j'));
  backend_.streamer().Join();
  // The connection stays usable (keep-alive) after a streamed response.
  client.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  ChunkedResponse next = ReadChunked(client.fd(), absl::Seconds(2));
  EXPECT_THAT(next.head, StartsWith("HTTP/1.1 201 "));
  absl::MutexLock lock(&log_mu_);
  bool logged = false;
  for (const AccessLogEntry& entry : log_) logged |= entry.function == "stream" && entry.bytes == 1000;
  EXPECT_TRUE(logged);
}

TEST_F(GatewayTest, HundredMebibyteDownloadStreamsWithBoundedMemory) {
  const size_t total = 100u << 20;
  const size_t rss_before = RssBytes();
  Client client(gateway_->port());
  client.Send(absl::StrCat("GET /?total=", total, "&chunk=65536 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n"));
  size_t rss_peak = rss_before;
  ChunkedResponse response;
  // The client does not read at first: once the socket buffers are full,
  // the gateway must stop crediting (it credits only what it wrote out), so
  // the producer stops too. Then the client reads at full speed.
  absl::SleepFor(absl::Milliseconds(400));
  const size_t credited_early = backend_.streamer().credited();
  absl::SleepFor(absl::Milliseconds(400));
  const size_t credited_later = backend_.streamer().credited();
  EXPECT_EQ(credited_early, credited_later) << "credit kept coming while the client read nothing";
  EXPECT_LT(credited_later, 16u << 20) << "more was credited than kernel buffers can hold";
  rss_peak = std::max(rss_peak, RssBytes());
  response = ReadChunked(client.fd(), absl::Seconds(60), /*keep_body=*/false);
  rss_peak = std::max(rss_peak, RssBytes());
  ASSERT_TRUE(response.complete);
  EXPECT_EQ(response.body_bytes, total);
  // The producer never ran more than the window (1 MiB) ahead of what the
  // client took, and the process did not grow by anything near 100 MiB.
  EXPECT_LE(backend_.streamer().max_ahead(), (1u << 20));
  EXPECT_LT(rss_peak - rss_before, 24u << 20);
}

TEST_F(GatewayTest, AStreamThatBreaksAbortsTheResponse) {
  Client client(gateway_->port());
  client.Send("GET /broken?total=1000&chunk=100 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n");
  ChunkedResponse response = ReadChunked(client.fd(), absl::Seconds(10));
  EXPECT_THAT(response.head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_FALSE(response.complete);  // never a clean end
  EXPECT_TRUE(response.closed);
  EXPECT_LT(response.body.size(), 1000u);
}

TEST_F(GatewayTest, AClientLeavingMidBodyCancelsTheInvocation) {
  {
    Client client(gateway_->port());
    client.Send("GET /?total=104857600&chunk=65536 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n");
    // Take the head and a little of the body, then leave with the rest unread.
    char buffer[4096];
    pollfd p{client.fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    ASSERT_GT(read(client.fd(), buffer, sizeof(buffer)), 0);
    EXPECT_EQ(std::string(buffer, 15), "HTTP/1.1 200 OK");
    absl::SleepFor(absl::Milliseconds(100));
  }  // closes mid-body
  for (int i = 0; i < 300 && !backend_.streamer().cancelled(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(backend_.streamer().cancelled());
  backend_.streamer().Join();
}

TEST_F(GatewayTest, AClientLeavingWhileTheBodyIsQuietCancelsTheInvocation) {
  const absl::Time start = absl::Now();
  {
    Client client(gateway_->port());
    client.Send("GET /quiet?total=1000&chunk=100 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n");
    // The head and the first chunk, then nothing comes for 20 s: leave.
    std::string data;
    while (data.find(std::string(100, 'a')) == std::string::npos && absl::Now() - start < absl::Seconds(5)) {
      pollfd p{client.fd(), POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = read(client.fd(), buffer, sizeof(buffer));
      if (n <= 0) break;
      data.append(buffer, n);
    }
    ASSERT_THAT(data, HasSubstr(std::string(100, 'a')));
  }  // nothing is being written to it when it closes
  const absl::Time closed = absl::Now();
  for (int i = 0; i < 300 && !backend_.streamer().cancelled(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(backend_.streamer().cancelled());
  EXPECT_LT(absl::Now() - closed, absl::Seconds(1));
  backend_.streamer().Join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(GatewayTest, AStreamedBodyOverHttp2) {
  const std::string url = "http://127.0.0.1:" + std::to_string(gateway_->port()) + "/?total=300000&chunk=1000";
  std::string response = Curl("--http2-prior-knowledge -o /dev/null -w 'status=%{http_code} bytes=%{size_download}' "
                              "-H 'Host: stream.acme.localhost' '" + url + "'");
  EXPECT_THAT(response, HasSubstr("status=200 bytes=300000")) << response;
  backend_.streamer().Join();
}

class GatewayLimitsTest : public GatewayTest {
 protected:
  void SetUp() override {}
};

TEST_F(GatewayLimitsTest, StoppingWritesOutAStreamedBodyToASlowClient) {
  // A window bigger than the body: the function is done at once, and what
  // socket buffers (a few MiB on loopback) do not take waits in the gateway
  // for a client that is not reading yet.
  GatewayOptions options;
  options.stream_window_bytes = 64u << 20;
  StartGateway(options);
  const size_t total = 32u << 20;
  Client client(gateway_->port());
  client.Send(absl::StrCat("GET /?total=", total, "&chunk=65536 HTTP/1.1\r\nHost: stream.acme.localhost\r\n\r\n"));
  // The body is complete (on the gateway's side).
  for (int i = 0; i < 1000 && !backend_.streamer().ended(); ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(backend_.streamer().ended());
  backend_.streamer().Join();
  std::thread stop([this] { gateway_.reset(); });
  absl::SleepFor(absl::Milliseconds(500));  // longer than open connections get
  ChunkedResponse response = ReadChunked(client.fd(), absl::Seconds(10), /*keep_body=*/false);
  stop.join();
  EXPECT_TRUE(response.complete);
  EXPECT_EQ(response.body_bytes, total);
}

TEST_F(GatewayLimitsTest, SlowClientsAreTimedOut) {
  GatewayOptions options;
  options.request_timeout = absl::Milliseconds(300);
  StartGateway(options);
  Client client(gateway_->port());
  client.Send("GET / HTTP/1.1\r\nHost: hello.acme.loc");  // and nothing more
  EXPECT_TRUE(client.Closed(absl::Seconds(3)));
}

TEST_F(GatewayLimitsTest, ConnectionsOverTheCapAreClosed) {
  GatewayOptions options;
  options.max_connections = 2;
  StartGateway(options);
  Client a(gateway_->port()), b(gateway_->port());
  a.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  b.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  a.Read();
  b.Read();
  Client c(gateway_->port());
  EXPECT_TRUE(c.Closed(absl::Seconds(2)));
}

TEST_F(GatewayLimitsTest, AdmissionControlAnswers503AtOnce) {
  GatewayOptions options;
  options.max_in_flight = 1;
  StartGateway(options);
  backend_.set_hold(true);
  Client first(gateway_->port());
  first.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  for (int i = 0; i < 100 && backend_.held() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  absl::Time t0 = absl::Now();
  Client second(gateway_->port());
  second.Send("GET / HTTP/1.1\r\nHost: hello.acme.localhost\r\n\r\n");
  std::string response = second.Read();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(response, HasSubstr("retry-after: 1"));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(1));
  for (auto& done : backend_.TakeHeld()) {
    v1::InvokeResponse ok;
    ok.mutable_result()->mutable_http()->set_status(200);
    done(ok);
  }
  EXPECT_THAT(first.Read(), StartsWith("HTTP/1.1 200 "));
}

}  // namespace
}  // namespace kiln::scheduler::gateway
