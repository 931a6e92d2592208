// Tests of the HTTP gateway against a fake backend, over raw sockets so that
// malformed and hostile requests can be sent exactly: routing, what reaches
// the function and what comes back, every error status, request smuggling
// shapes, keep-alive and pipelining, chunked bodies, timeouts, the
// connection cap, admission control, and cancellation when a client leaves.
#include "scheduler/gateway/gateway.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
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
    return std::nullopt;
  }

  void Invoke(const RouteTarget& target, v1::HttpRequest request, std::string request_id, Done done) override {
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

  void Cancel(const std::string& request_id) override { cancelled_++; }

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

class GatewayLimitsTest : public GatewayTest {
 protected:
  void SetUp() override {}
};

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
