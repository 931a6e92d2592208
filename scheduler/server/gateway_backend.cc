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

namespace {

// The Fleet's body sink over the gateway's receiver (the two layers do not
// share headers).
class BodyRelay final : public ResponseBodySink {
 public:
  explicit BodyRelay(std::shared_ptr<gateway::ResponseBodyReceiver> to) : to_(std::move(to)) {}
  void OnData(std::string data) override { to_->OnData(std::move(data)); }
  void OnEnd(absl::Status status) override { to_->OnEnd(std::move(status)); }

 private:
  std::shared_ptr<gateway::ResponseBodyReceiver> to_;
};

}  // namespace

void GatewayBackend::Invoke(
    const gateway::RouteTarget& target, kiln::v1::HttpRequest request, std::string request_id,
    std::shared_ptr<gateway::ResponseBodyReceiver> body, size_t stream_window_bytes,
    absl::AnyInvocable<void(absl::StatusOr<kiln::v1::InvokeResponse>)> done) {
  Invocation invocation{.tenant = target.tenant,
                        .function = target.function,
                        .request_id = std::move(request_id),
                        .stream_window_bytes = stream_window_bytes,
                        .cancellable = true};
  if (body != nullptr) invocation.body = std::make_shared<BodyRelay>(std::move(body));
  *invocation.event.mutable_http() = std::move(request);
  invoker_.Invoke(std::move(invocation), std::move(done));
}

}  // namespace kiln::scheduler
