// The h2o gateway: accept, check, route, invoke, answer.
#include "scheduler/gateway/gateway.h"

#include <h2o.h>
#include <sys/random.h>
#include <uv.h>

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/turn_batch.h"

// picohttpparser, the HTTP/1 parser inside libh2o (exported, no header
// installed). Used to look at a request head as the client sent it, which h2o
// does not keep: it drops Content-Length and Transfer-Encoding from the
// headers it hands to handlers.
extern "C" {
struct phr_header {
  const char* name;
  size_t name_len;
  const char* value;
  size_t value_len;
};
int phr_parse_request(const char* buf, size_t len, const char** method, size_t* method_len, const char** path,
                      size_t* path_len, int* minor_version, struct phr_header* headers, size_t* num_headers,
                      size_t last_len);
}

namespace kiln::scheduler::gateway {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
}

// Request ids: a random prefix per process xor a counter times an odd
// constant (so distinct while the counter does not wrap). The loop keys its
// requests by the number; clients and the backend see its 16 hex digits.
uint64_t NewRequestId() {
  static const uint64_t prefix = [] {
    uint64_t seed = 0;
    while (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    }
    return seed;
  }();
  static std::atomic<uint64_t> counter{0};
  return prefix ^ (++counter * 0x9e3779b97f4a7c15ULL);
}

// A request id as text: 16 lowercase hex digits.
class IdText {
 public:
  explicit IdText(uint64_t id) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, id >>= 4) text_[i] = kDigits[id & 0xf];
  }
  absl::string_view view() const { return absl::string_view(text_, sizeof(text_)); }
  std::string str() const { return std::string(view()); }

 private:
  char text_[16];
};

// RFC 9110 tchar: the characters of a header name.
constexpr bool IsTokenChar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && std::char_traits<char>::find("!#$%&'*+-.^_`|~", 15, static_cast<char>(c)) != nullptr);
}

bool IsToken(absl::string_view name) {
  static constexpr auto kTable = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) table[c] = IsTokenChar(static_cast<unsigned char>(c));
    return table;
  }();
  if (name.empty()) return false;
  for (char c : name) {
    if (!kTable[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Headers a function may not set: the gateway owns the connection and framing.
bool IsHopByHop(absl::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "transfer-encoding" ||
         lower == "upgrade" || lower == "content-length" || lower == "proxy-connection" ||
         lower == "te" || lower == "trailer";
}

absl::string_view View(h2o_iovec_t v) { return absl::string_view(v.base, v.len); }

}  // namespace

class Gateway::Impl {
 public:
  Impl(HttpBackend& backend, GatewayOptions options) : backend_(backend), options_(std::move(options)) {}

  absl::Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  struct Handler {
    h2o_handler_t super;
    Impl* impl;
  };
  struct Connection {
    uv_tcp_t tcp;  // first: h2o's close callback gets it
    Impl* impl;
    h2o_socket_t* sock = nullptr;
    h2o_conn_t* conn = nullptr;  // h2o's HTTP/1 connection on it
  };
  // Lives in the request's memory pool: tells us when h2o drops the request
  // (answered, or the client went away).
  struct DisposeToken {
    Impl* impl;
    uint64_t id;
  };
  struct InFlight {
    h2o_req_t* req;
    absl::Time started;
    RouteTarget target;
  };
  // What other threads hand the loop: an invocation's result, or a piece or
  // the end of a streamed body.
  struct Completion {
    enum class Kind { kResult, kData, kEnd };
    Kind kind = Kind::kResult;
    uint64_t id = 0;
    absl::StatusOr<v1::InvokeResponse> result;
    std::string data;
    absl::Status status;
  };
  // Shared with callbacks that may outlive the gateway (the fleet holds body
  // receivers): once closed, posts are dropped.
  struct Mailbox {
    absl::Mutex mu;
    std::vector<Completion> items ABSL_GUARDED_BY(mu);
    bool closed ABSL_GUARDED_BY(mu) = false;
    uv_async_t* wakeup = nullptr;  // valid until closed
    void Post(Completion completion) {
      absl::MutexLock lock(&mu);
      if (closed) return;
      // Items already waiting mean the loop was woken and has not taken
      // them yet: it takes this one with them.
      const bool wake = items.empty();
      items.push_back(std::move(completion));
      if (wake) uv_async_send(wakeup);
    }
  };
  class Receiver;
  // h2o's generator for a streamed body; lives in the request's pool.
  struct StreamGenerator {
    h2o_generator_t super;
    Impl* impl;
    uint64_t id;
  };
  struct Stream {
    h2o_req_t* req = nullptr;
    InFlight flight;
    uint64_t version = 0;
    bool cold = false;
    std::deque<std::string> queue;  // arrived, not yet given to h2o
    std::string sending;            // what h2o holds until it calls proceed
    bool in_send = false;
    bool ended = false;
    absl::Status end_status;
    size_t bytes = 0;
  };

  static int OnRequest(h2o_handler_t* self, h2o_req_t* req);
  static void OnAccept(uv_stream_t* listener, int status);
  static void OnConnectionClosed(uv_handle_t* handle);
  static void OnWakeup(uv_async_t* handle);
  static void OnRequestDisposed(void* token);
  // h2o stops reading an HTTP/1 connection while its request is handled, so
  // it would not see the client leave until it writes the answer. This checks
  // the sockets of pending requests, and of streamed bodies waiting for the
  // function's next chunk, for EOF every 200 ms, cancels their invocations
  // and lets h2o close them.
  static void OnWatchClients(uv_timer_t* timer);
  static void OnStreamProceed(h2o_generator_t* generator, h2o_req_t* req);
  static void OnStreamStop(h2o_generator_t* generator, h2o_req_t* req);

  int Handle(h2o_req_t* req);
  // Why the request's head, as sent, is ambiguous (request smuggling
  // shapes), or empty when it is not.
  absl::string_view CheckRawHead(h2o_req_t* req);
  void Answer(uint64_t id, absl::StatusOr<v1::InvokeResponse> result);
  void StreamData(uint64_t id, std::string data);
  void StreamEnd(uint64_t id, absl::Status status);
  // Gives h2o the next queued chunk, or ends the response; no-op while h2o
  // still holds a chunk.
  void SendNext(uint64_t id);
  // Whether an answer is still going out: a streamed body not finished, or
  // an HTTP/1 socket with a write in progress.
  bool Writing() const;
  // An error answer: short text body with the error id; `close` ends the
  // connection after it (malformed requests).
  void SendError(h2o_req_t* req, uint64_t id, int status, absl::string_view message,
                 bool close = false, bool retry_after = false, const InFlight* flight = nullptr);
  void Log(h2o_req_t* req, uint64_t id, const InFlight* flight, int status, size_t bytes,
           uint64_t version, bool cold);

  HttpBackend& backend_;
  const GatewayOptions options_;
  h2o_globalconf_t config_;
  h2o_context_t ctx_;
  h2o_accept_ctx_t accept_ctx_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t wakeup_;
  uv_timer_t watch_clients_;
  // Around each turn's I/O callbacks: the Invoke frames requests queue in
  // one turn leave together (common/turn_batch.h). Unreferenced, and never
  // closed: the loop ends by uv_stop.
  uv_prepare_t turn_start_;
  uv_check_t turn_end_;
  std::thread thread_;
  int port_ = 0;
  int connections_ = 0;  // loop thread only
  int in_flight_ = 0;    // loop thread only
  absl::flat_hash_map<uint64_t, InFlight> pending_;                  // loop thread only
  std::unordered_map<h2o_conn_t*, Connection*> http1_connections_;  // loop thread only
  std::unordered_map<uint64_t, Stream> streams_;                     // loop thread only
  absl::Time stop_by_;                                               // loop thread only
  // Reused per request, so that steady traffic allocates none of them (loop
  // thread only): the mailbox's items being handled, the lowercased host,
  // the access-log entry.
  std::vector<Completion> completions_;
  std::string lower_host_;
  AccessLogEntry log_entry_;

  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  std::atomic<bool> stopping_{false};
};

// Posts one request's answer and streamed body to the loop: the backend
// holds it as the body receiver, and the `done` callback holds it too (one
// allocation per request for both).
class Gateway::Impl::Receiver final : public ResponseBodyReceiver {
 public:
  Receiver(std::shared_ptr<Mailbox> mailbox, uint64_t id) : mailbox_(std::move(mailbox)), id_(id) {}
  void OnResult(absl::StatusOr<v1::InvokeResponse> result) {
    Completion completion;
    completion.id = id_;
    completion.result = std::move(result);
    mailbox_->Post(std::move(completion));
  }
  void OnData(std::string data) override {
    Completion completion;
    completion.kind = Completion::Kind::kData;
    completion.id = id_;
    completion.data = std::move(data);
    mailbox_->Post(std::move(completion));
  }
  void OnEnd(absl::Status status) override {
    Completion completion;
    completion.kind = Completion::Kind::kEnd;
    completion.id = id_;
    completion.status = std::move(status);
    mailbox_->Post(std::move(completion));
  }

 private:
  std::shared_ptr<Mailbox> mailbox_;
  const uint64_t id_;
};

absl::Status Gateway::Impl::Start() {
  size_t colon = options_.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", options_.listen, "' is not HOST:PORT"));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", host, "' is not an IP address"));
  }

  h2o_config_init(&config_);
  config_.max_request_entity_size = options_.max_body_bytes;
  config_.http1.req_timeout = static_cast<uint64_t>(absl::ToInt64Milliseconds(options_.request_timeout));
  config_.http2.idle_timeout = static_cast<uint64_t>(absl::ToInt64Milliseconds(options_.idle_timeout));
  config_.server_name = h2o_iovec_init(H2O_STRLIT("kiln"));
  h2o_hostconf_t* hostconf = h2o_config_register_host(&config_, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* pathconf = h2o_config_register_path(hostconf, "/", 0);
  auto* handler = reinterpret_cast<Handler*>(h2o_create_handler(pathconf, sizeof(Handler)));
  handler->super.on_req = OnRequest;
  handler->impl = this;

  uv_loop_init(&loop_);
  h2o_context_init(&ctx_, &loop_, &config_);
  accept_ctx_ = {};
  accept_ctx_.ctx = &ctx_;
  accept_ctx_.hosts = config_.hosts;
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, OnAccept);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen, ": ", uv_strerror(rc)));
  }
  sockaddr_storage bound{};
  int length = sizeof(bound);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  uv_async_init(&loop_, &wakeup_, OnWakeup);
  wakeup_.data = this;
  mailbox_->wakeup = &wakeup_;
  uv_timer_init(&loop_, &watch_clients_);
  watch_clients_.data = this;
  uv_timer_start(&watch_clients_, OnWatchClients, 200, 200);
  uv_prepare_init(&loop_, &turn_start_);
  uv_prepare_start(&turn_start_, [](uv_prepare_t*) { TurnBatch::Begin(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_start_));
  uv_check_init(&loop_, &turn_end_);
  uv_check_start(&turn_end_, [](uv_check_t*) { TurnBatch::End(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_end_));
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kiln-gateway");
    // h2o keeps at most 16 freed socket input buffers (8 KiB each) per
    // thread for reuse; with more connections than that busy, every request
    // would malloc and free one. Keep enough for a busy gateway (about 2 MiB
    // at most, only after that many were in use at once).
    h2o_socket_buffer_prototype.allocator.max = 256;
    uv_run(&loop_, UV_RUN_DEFAULT);
    TurnBatch::End();
  });
  return absl::OkStatus();
}

void Gateway::Impl::Stop() {
  stopping_.store(true);
  {
    absl::MutexLock lock(&mailbox_->mu);
    if (!mailbox_->closed) uv_async_send(&wakeup_);
  }
  thread_.join();
}

void Gateway::Impl::OnAccept(uv_stream_t* listener, int status) {
  auto* impl = static_cast<Impl*>(listener->data);
  if (status != 0) return;
  auto* conn = new Connection{{}, impl};
  uv_tcp_init(listener->loop, &conn->tcp);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<Connection*>(h); });
    return;
  }
  if (impl->connections_ >= impl->options_.max_connections) {
    // Over the cap: close at once, before reading a byte.
    uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<Connection*>(h); });
    return;
  }
  impl->connections_++;
  uv_tcp_nodelay(&conn->tcp, 1);
  h2o_socket_t* sock = h2o_uv_socket_create(reinterpret_cast<uv_stream_t*>(&conn->tcp), OnConnectionClosed);
  conn->sock = sock;
  h2o_accept(&impl->accept_ctx_, sock);
  // h2o's HTTP/1 connection object starts with its h2o_conn_t and is the
  // socket's data: remember it, to find the raw request bytes later.
  conn->conn = static_cast<h2o_conn_t*>(sock->data);
  if (conn->conn != nullptr) impl->http1_connections_[conn->conn] = conn;
}

void Gateway::Impl::OnConnectionClosed(uv_handle_t* handle) {
  auto* conn = reinterpret_cast<Connection*>(handle);
  Impl* impl = conn->impl;
  impl->connections_--;
  auto found = impl->http1_connections_.find(conn->conn);
  if (found != impl->http1_connections_.end() && found->second == conn) impl->http1_connections_.erase(found);
  delete conn;
}

absl::string_view Gateway::Impl::CheckRawHead(h2o_req_t* req) {
  if (req->version >= 0x200) return "";  // HTTP/2 framing has no such ambiguity
  auto found = http1_connections_.find(req->conn);
  if (found == http1_connections_.end() || found->second->sock->input == nullptr) return "";
  h2o_buffer_t* input = found->second->sock->input;
  const char *method, *path;
  size_t method_len, path_len, num_headers = H2O_MAX_HEADERS;
  int minor_version;
  phr_header headers[H2O_MAX_HEADERS];
  if (phr_parse_request(input->bytes, input->size, &method, &method_len, &path, &path_len, &minor_version,
                        headers, &num_headers, 0) <= 0) {
    return "";
  }
  absl::string_view content_length;
  bool transfer_encoding = false;
  for (size_t i = 0; i < num_headers; ++i) {
    if (headers[i].name == nullptr) return "obsolete line folding in a header";
    absl::string_view name(headers[i].name, headers[i].name_len), value(headers[i].value, headers[i].value_len);
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      if (!content_length.empty() && content_length != value) return "conflicting Content-Length headers";
      content_length = value;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      transfer_encoding = true;
    }
  }
  if (transfer_encoding && !content_length.empty()) return "both Content-Length and Transfer-Encoding";
  return "";
}

int Gateway::Impl::OnRequest(h2o_handler_t* self, h2o_req_t* req) {
  return reinterpret_cast<Handler*>(self)->impl->Handle(req);
}

int Gateway::Impl::Handle(h2o_req_t* req) {
  const uint64_t id = NewRequestId();

  // Framing and header checks first: a request that could be read two ways
  // (request smuggling) is refused and its connection closed. h2o itself
  // refuses unknown transfer codings and invalid header names.
  if (absl::string_view ambiguous = CheckRawHead(req); !ambiguous.empty()) {
    SendError(req, id, 400, ambiguous, /*close=*/true);
    return 0;
  }
  size_t header_bytes = 0;
  for (size_t i = 0; i < req->headers.size; ++i) {
    const h2o_header_t& header = req->headers.entries[i];
    absl::string_view name = View(*header.name);
    header_bytes += name.size() + header.value.len + 4;
    if (!IsToken(name)) {
      SendError(req, id, 400, "invalid header name", /*close=*/true);
      return 0;
    }
  }
  if (req->input.path.len > options_.max_url_bytes) {
    SendError(req, id, 414, absl::StrCat("URL longer than ", options_.max_url_bytes, " bytes"), true);
    return 0;
  }
  if (header_bytes > options_.max_header_bytes) {
    SendError(req, id, 431, absl::StrCat("headers larger than ", options_.max_header_bytes, " bytes"), true);
    return 0;
  }

  absl::string_view authority = View(req->input.authority);
  absl::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  lower_host_.assign(host.data(), host.size());
  absl::AsciiStrToLower(&lower_host_);
  std::optional<RouteTarget> target = backend_.Route(lower_host_, View(req->input.path));
  if (!target.has_value()) {
    SendError(req, id, 404, absl::StrCat("no function answers at ", lower_host_));
    return 0;
  }
  const size_t limit = target->max_body_bytes != 0 ? target->max_body_bytes : options_.max_body_bytes;
  if (req->entity.base != nullptr && req->entity.len > limit) {
    SendError(req, id, 413, absl::StrCat("request body larger than ", limit, " bytes"));
    return 0;
  }
  if (in_flight_ >= options_.max_in_flight) {
    SendError(req, id, 503, "overloaded: too many requests in flight", false, /*retry_after=*/true);
    return 0;
  }

  v1::HttpRequest request;
  request.set_method(req->input.method.base, req->input.method.len);
  absl::StrAppend(request.mutable_url(), "http://", authority, View(req->input.path));
  request.mutable_headers()->Reserve(static_cast<int>(req->headers.size));
  for (size_t i = 0; i < req->headers.size; ++i) {
    const h2o_header_t& header = req->headers.entries[i];
    v1::Header* out = request.add_headers();
    out->set_name(header.orig_name != nullptr ? header.orig_name : header.name->base, header.name->len);
    out->set_value(header.value.base, header.value.len);
  }
  if (req->entity.base != nullptr) request.set_body(req->entity.base, req->entity.len);

  auto* token = static_cast<DisposeToken*>(h2o_mem_alloc_shared(&req->pool, sizeof(DisposeToken), OnRequestDisposed));
  token->impl = this;
  token->id = id;
  pending_.emplace(id, InFlight{req, absl::Now(), *target});
  in_flight_++;
  auto receiver = std::make_shared<Receiver>(mailbox_, id);
  backend_.Invoke(*target, std::move(request), IdText(id).str(), receiver, options_.stream_window_bytes,
                  [receiver](absl::StatusOr<v1::InvokeResponse> result) mutable {
                    receiver->OnResult(std::move(result));
                    receiver.reset();
                  });
  return 0;
}

void Gateway::Impl::OnRequestDisposed(void* arg) {
  auto* token = static_cast<DisposeToken*>(arg);
  Impl* impl = token->impl;
  auto found = impl->pending_.find(token->id);
  if (found == impl->pending_.end()) return;
  // h2o dropped a request we have not answered: the client went away.
  impl->pending_.erase(found);
  impl->in_flight_--;
  impl->backend_.Cancel(IdText(token->id).str());
}

void Gateway::Impl::OnWatchClients(uv_timer_t* timer) {
  auto* impl = static_cast<Impl*>(timer->data);
  // Whether the client of an HTTP/1 request closed its connection (h2o reads
  // nothing while a request is being answered, so it cannot tell).
  auto gone = [impl](h2o_req_t* req) {
    auto connection = impl->http1_connections_.find(req->conn);
    if (connection == impl->http1_connections_.end()) return false;
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&connection->second->tcp), &fd) != 0) return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  };
  std::vector<uint64_t> left;
  for (const auto& [id, flight] : impl->pending_) {
    if (gone(flight.req)) left.push_back(id);
  }
  for (uint64_t id : left) {
    auto found = impl->pending_.find(id);
    h2o_req_t* req = found->second.req;
    impl->pending_.erase(found);
    impl->in_flight_--;
    impl->backend_.Cancel(IdText(id).str());
    // Answering makes h2o write, fail and close the connection.
    impl->SendError(req, id, 499, "client closed the connection", /*close=*/true);
  }
  // Streamed bodies waiting for the function's next chunk (one h2o is
  // writing ends by itself: the write fails and h2o stops the stream).
  left.clear();
  for (const auto& [id, stream] : impl->streams_) {
    if (!stream.in_send && !stream.ended && gone(stream.req)) left.push_back(id);
  }
  for (uint64_t id : left) {
    impl->backend_.Cancel(IdText(id).str());
    Stream& stream = impl->streams_[id];
    stream.ended = true;
    stream.end_status = absl::CancelledError("client closed the connection");
    impl->SendNext(id);  // aborts the response; h2o closes the connection
  }
}

void Gateway::Impl::OnWakeup(uv_async_t* handle) {
  auto* impl = static_cast<Impl*>(handle->data);
  // Swapped with the mailbox's, so both vectors keep their capacity.
  std::vector<Completion>& done = impl->completions_;
  const bool stopping = impl->stopping_.load();
  {
    absl::MutexLock lock(&impl->mailbox_->mu);
    done.swap(impl->mailbox_->items);
    if (stopping) impl->mailbox_->closed = true;  // before the async handle closes
  }
  for (Completion& completion : done) {
    switch (completion.kind) {
      case Completion::Kind::kResult:
        impl->Answer(completion.id, std::move(completion.result));
        break;
      case Completion::Kind::kData:
        impl->StreamData(completion.id, std::move(completion.data));
        break;
      case Completion::Kind::kEnd:
        impl->StreamEnd(completion.id, std::move(completion.status));
        break;
    }
  }
  done.clear();
  if (stopping) {
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->wakeup_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->watch_clients_), nullptr);
    h2o_context_request_shutdown(&impl->ctx_);
    // Give open connections a moment to finish, and answers still being
    // written (a streamed body's rest is here, going out as fast as its
    // client reads) up to the grace, then stop regardless.
    impl->stop_by_ = absl::Now() + impl->options_.stop_grace;
    auto* timer = new uv_timer_t;
    uv_timer_init(&impl->loop_, timer);
    timer->data = impl;
    uv_timer_start(
        timer,
        [](uv_timer_t* t) {
          Impl* impl = static_cast<Impl*>(t->data);
          if (impl->Writing() && absl::Now() < impl->stop_by_) return;  // again in 50 ms
          uv_stop(t->loop);
          uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        },
        200, 50);
    uv_unref(reinterpret_cast<uv_handle_t*>(timer));
  }
}

void Gateway::Impl::Answer(uint64_t id, absl::StatusOr<v1::InvokeResponse> result) {
  auto found = pending_.find(id);
  if (found == pending_.end()) {
    // The client is gone (its invocation was cancelled then); a body that
    // started streaming meanwhile is stopped too.
    if (result.ok() && result->result().http().body_streamed()) backend_.Cancel(IdText(id).str());
    return;
  }
  InFlight flight = std::move(found->second);
  pending_.erase(found);
  in_flight_--;
  h2o_req_t* req = flight.req;
  if (!result.ok()) {
    switch (result.status().code()) {
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kResourceExhausted:
        SendError(req, id, 503, result.status().message(), false, /*retry_after=*/true, &flight);
        return;
      case absl::StatusCode::kNotFound:
        SendError(req, id, 404, result.status().message(), false, false, &flight);
        return;
      default:
        SendError(req, id, 502, result.status().message(), false, false, &flight);
        return;
    }
  }
  const v1::InvocationResult& outcome = result->result();
  if (outcome.has_error()) {
    const v1::InvocationError& error = outcome.error();
    switch (error.kind()) {
      case v1::InvocationError::CPU_LIMIT:
      case v1::InvocationError::WALL_LIMIT:
      case v1::InvocationError::MEMORY_LIMIT:
      case v1::InvocationError::RESPONSE_TOO_LARGE:
        SendError(req, id, 503, error.message(), false, false, &flight);
        break;
      case v1::InvocationError::UNAVAILABLE:
      case v1::InvocationError::NOT_FOUND:
        SendError(req, id, 503, "no worker can take this request now", false, true, &flight);
        break;
      case v1::InvocationError::WORKER_LOST:
        SendError(req, id, 502, "the worker running this request died", false, false, &flight);
        break;
      default:
        // The function threw: its message stays in its logs, not in the response.
        SendError(req, id, 500, "the function threw an exception (see `kiln logs`)", false, false, &flight);
        break;
    }
    return;
  }
  const v1::HttpResponse& http = outcome.http();
  req->res.status = static_cast<int>(http.status());
  req->res.reason = ReasonPhrase(req->res.status);
  for (const v1::Header& header : http.headers()) {
    // Lowercased straight into the request's pool.
    const std::string& name = header.name();
    char* lower = static_cast<char*>(h2o_mem_alloc_pool(&req->pool, name.size() + 1));
    for (size_t i = 0; i < name.size(); ++i) lower[i] = absl::ascii_tolower(static_cast<unsigned char>(name[i]));
    lower[name.size()] = '\0';
    const absl::string_view lower_name(lower, name.size());
    if (IsHopByHop(lower_name) || lower_name == "kiln-request-id") continue;
    h2o_add_header_by_str(&req->pool, &req->res.headers, lower, name.size(), 1, nullptr,
                          h2o_strdup(&req->pool, header.value().data(), header.value().size()).base,
                          header.value().size());
  }
  const IdText id_text(id);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("kiln-request-id"), 0, nullptr,
                        h2o_strdup(&req->pool, id_text.view().data(), id_text.view().size()).base,
                        id_text.view().size());
  if (http.body_streamed()) {
    // No Content-Length: chunked on HTTP/1.1. The head goes out now; the
    // body follows as the worker sends it and the client takes it.
    auto* generator = static_cast<StreamGenerator*>(h2o_mem_alloc_pool(&req->pool, sizeof(StreamGenerator)));
    generator->super.proceed = OnStreamProceed;
    generator->super.stop = OnStreamStop;
    generator->impl = this;
    generator->id = id;
    Stream& stream = streams_[id];
    stream.req = req;
    stream.flight = std::move(flight);
    stream.version = result->version();
    stream.cold = outcome.cold();
    stream.in_send = true;
    h2o_start_response(req, &generator->super);
    h2o_send(req, nullptr, 0, H2O_SEND_STATE_IN_PROGRESS);
    return;
  }
  Log(req, id, &flight, req->res.status, http.body().size(), result->version(), outcome.cold());
  req->res.content_length = http.body().size();
  h2o_send_inline(req, http.body().data(), http.body().size());
}

void Gateway::Impl::StreamData(uint64_t id, std::string data) {
  auto found = streams_.find(id);
  if (found == streams_.end()) return;  // the client left
  found->second.queue.push_back(std::move(data));
  SendNext(id);
}

void Gateway::Impl::StreamEnd(uint64_t id, absl::Status status) {
  auto found = streams_.find(id);
  if (found == streams_.end()) return;
  found->second.ended = true;
  found->second.end_status = std::move(status);
  SendNext(id);
}

void Gateway::Impl::SendNext(uint64_t id) {
  auto found = streams_.find(id);
  if (found == streams_.end()) return;
  Stream& stream = found->second;
  if (stream.in_send) return;
  h2o_req_t* req = stream.req;
  if (!stream.queue.empty()) {
    stream.sending = std::move(stream.queue.front());
    stream.queue.pop_front();
    stream.bytes += stream.sending.size();
    stream.in_send = true;
    h2o_iovec_t buf = h2o_iovec_init(stream.sending.data(), stream.sending.size());
    h2o_send(req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
    return;
  }
  if (!stream.ended) return;
  // The end: a complete body finishes the response; a broken one aborts it
  // (the client sees a truncated chunked body or a reset stream, never a
  // clean end).
  const bool complete = stream.end_status.ok();
  Log(req, id, &stream.flight, req->res.status, stream.bytes, stream.version, stream.cold);
  streams_.erase(found);
  h2o_send(req, nullptr, 0, complete ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_ERROR);
}

bool Gateway::Impl::Writing() const {
  if (!streams_.empty()) return true;
  for (const auto& [conn, connection] : http1_connections_) {
    if (connection->sock != nullptr && h2o_socket_is_writing(connection->sock)) return true;
  }
  return false;
}

void Gateway::Impl::OnStreamProceed(h2o_generator_t* generator, h2o_req_t*) {
  auto* self = reinterpret_cast<StreamGenerator*>(generator);
  Impl* impl = self->impl;
  const uint64_t id = self->id;
  auto found = impl->streams_.find(id);
  if (found == impl->streams_.end()) return;
  Stream& stream = found->second;
  stream.in_send = false;
  // What h2o wrote out is room for more from the worker.
  if (!stream.sending.empty()) impl->backend_.Credit(IdText(id).str(), stream.sending.size());
  stream.sending.clear();
  impl->SendNext(id);
}

void Gateway::Impl::OnStreamStop(h2o_generator_t* generator, h2o_req_t* req) {
  auto* self = reinterpret_cast<StreamGenerator*>(generator);
  Impl* impl = self->impl;
  const uint64_t id = self->id;
  auto found = impl->streams_.find(id);
  if (found == impl->streams_.end()) return;
  // The client went away mid-body: stop the function.
  impl->Log(req, id, &found->second.flight, req->res.status, found->second.bytes, found->second.version,
            found->second.cold);
  impl->streams_.erase(found);
  impl->backend_.Cancel(IdText(id).str());
}

void Gateway::Impl::SendError(h2o_req_t* req, uint64_t id, int status, absl::string_view message,
                              bool close, bool retry_after, const InFlight* flight) {
  req->res.status = status;
  req->res.reason = ReasonPhrase(status);
  if (close) req->http1_is_persistent = 0;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                 H2O_STRLIT("text/plain; charset=utf-8"));
  if (retry_after) h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, nullptr, H2O_STRLIT("1"));
  const IdText id_text(id);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("kiln-request-id"), 0, nullptr,
                        h2o_strdup(&req->pool, id_text.view().data(), id_text.view().size()).base,
                        id_text.view().size());
  std::string body = absl::StrCat(message, "\nerror id: ", id_text.view(), "\n");
  h2o_iovec_t copy = h2o_strdup(&req->pool, body.data(), body.size());
  Log(req, id, flight, status, body.size(), 0, false);
  req->res.content_length = copy.len;
  h2o_send_inline(req, copy.base, copy.len);
}

void Gateway::Impl::Log(h2o_req_t* req, uint64_t id, const InFlight* flight, int status, size_t bytes,
                        uint64_t version, bool cold) {
  if (!options_.access_log) return;
  // Assigned, not built: the strings keep their capacity between requests.
  AccessLogEntry& entry = log_entry_;
  const IdText id_text(id);
  entry.request_id.assign(id_text.view().data(), id_text.view().size());
  entry.method.assign(req->input.method.base, req->input.method.len);
  entry.host.assign(req->input.authority.base, req->input.authority.len);
  entry.path.assign(req->input.path.base, req->input.path.len);
  if (flight != nullptr) {
    entry.tenant.assign(flight->target.tenant);
    entry.function.assign(flight->target.function);
    entry.duration = absl::Now() - flight->started;
  } else {
    entry.tenant.clear();
    entry.function.clear();
    entry.duration = absl::ZeroDuration();
  }
  entry.version = version;
  entry.status = status;
  entry.bytes = bytes;
  entry.cold = cold;
  options_.access_log(entry);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(HttpBackend& backend, GatewayOptions options) {
  auto impl = std::make_unique<Impl>(backend, std::move(options));
  absl::Status status = impl->Start();
  if (!status.ok()) return status;
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() { impl_->Stop(); }

int Gateway::port() const { return impl_->port(); }

}  // namespace kiln::scheduler::gateway
