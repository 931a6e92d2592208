// GatewayBackend: the HTTP gateway's HttpBackend (scheduler/gateway) over the
// scheduler's Invoker: routes with Invoker::ResolveRoute, runs requests with
// Invoker::Invoke. Memory only, never blocks: safe on the gateway's loop.
#pragma once

#include <optional>
#include <string>

#include "scheduler/gateway/http_backend.h"
#include "scheduler/server/invoker.h"

namespace kiln::scheduler {

// Borrowed by the gateway; `invoker` outlives it. Thread-safe.
class GatewayBackend final : public gateway::HttpBackend {
 public:
  explicit GatewayBackend(Invoker& invoker) : invoker_(invoker) {}

  std::optional<gateway::RouteTarget> Route(absl::string_view host,
                                            absl::string_view path) override;
  void Invoke(const gateway::RouteTarget& target, kiln::v1::HttpRequest request,
              std::string request_id, std::shared_ptr<gateway::ResponseBodyReceiver> body,
              size_t stream_window_bytes,
              absl::AnyInvocable<void(absl::StatusOr<kiln::v1::InvokeResponse>)> done) override;
  void Cancel(const std::string& request_id) override { invoker_.Cancel(request_id); }
  void Credit(const std::string& request_id, size_t bytes) override {
    invoker_.Credit(request_id, bytes);
  }

 private:
  Invoker& invoker_;
};

}  // namespace kiln::scheduler
