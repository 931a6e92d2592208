// GatewayBackend: RouteTarget and event mapping.
#include "scheduler/server/gateway_backend.h"

#include <utility>

namespace kiln::scheduler {

std::optional<gateway::RouteTarget> GatewayBackend::Route(absl::string_view host,
                                                          absl::string_view path) {
  absl::StatusOr<RouteTarget> target = invoker_.ResolveRoute(host, path);
  if (!target.ok()) return std::nullopt;
  return gateway::RouteTarget{.tenant = std::move(target->tenant),
                              .function = std::move(target->function),
                              .max_body_bytes = target->max_body_bytes};
}

void GatewayBackend::Invoke(
    const gateway::RouteTarget& target, kiln::v1::HttpRequest request, std::string request_id,
    absl::AnyInvocable<void(absl::StatusOr<kiln::v1::InvokeResponse>)> done) {
  Invocation invocation{
      .tenant = target.tenant, .function = target.function, .request_id = std::move(request_id)};
  *invocation.event.mutable_http() = std::move(request);
  invoker_.Invoke(std::move(invocation), std::move(done));
}

}  // namespace kiln::scheduler
