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
              std::string request_id,
              absl::AnyInvocable<void(absl::StatusOr<kiln::v1::InvokeResponse>)> done) override;

 private:
  Invoker& invoker_;
};

}  // namespace kiln::scheduler
