// What the HTTP gateway needs from the rest of the scheduler: which function a
// request is for, and a way to run it. kiln-scheduler implements it over its
// route table and placement; tests use a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/control.pb.h"

namespace kiln::scheduler::gateway {

// The function a request goes to.
struct RouteTarget {
  std::string tenant;
  std::string function;
  uint64_t max_body_bytes = 0;  // the function's request body limit; 0: the gateway's
};

// Receives a streamed response body (see HttpBackend::Invoke), in order:
// data, then one OnEnd (OK when complete, else why it broke off). Called on
// any thread; must not block.
class ResponseBodyReceiver {
 public:
  virtual ~ResponseBodyReceiver() = default;
  virtual void OnData(std::string data) = 0;
  virtual void OnEnd(absl::Status status) = 0;
};

class HttpBackend {
 public:
  virtual ~HttpBackend() = default;

  // The function serving `host` (no port) and `path` (with query):
  // `<function>.<tenant>.<base-domain>`, or the most specific custom route.
  // nullopt: no function (404). Called on the gateway's thread; must be fast
  // and never block (it reads memory).
  virtual std::optional<RouteTarget> Route(absl::string_view host, absl::string_view path) = 0;

  // Runs one HTTP invocation of `target`. `done` is called exactly once, on
  // any thread: with the worker's result, or Unavailable when no worker can
  // take it now, NotFound when the function vanished. When the function
  // returns a stream body, the result holds only the head
  // (http.body_streamed) and the body goes to `body`, at most
  // `stream_window_bytes` ahead of the bytes acknowledged with Credit.
  virtual void Invoke(const RouteTarget& target, v1::HttpRequest request, std::string request_id,
                      std::shared_ptr<ResponseBodyReceiver> body, size_t stream_window_bytes,
                      absl::AnyInvocable<void(absl::StatusOr<v1::InvokeResponse>)> done) = 0;

  // The client went away before the end of the answer: stop the invocation.
  virtual void Cancel(const std::string& request_id) {}
  // The client took `bytes` more of request `request_id`'s streamed body.
  virtual void Credit(const std::string& request_id, size_t bytes) {}
};

}  // namespace kiln::scheduler::gateway
