// FakeInvoker: an Invoker for front-end tests (the gateway's) without workers:
// a RouteTable the test fills, and a handler the test supplies. testonly.
#pragma once

#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "scheduler/server/invoker.h"

namespace kiln::scheduler {

class FakeInvoker final : public Invoker {
 public:
  using Handler = std::function<absl::StatusOr<kiln::v1::InvokeResponse>(const Invocation&)>;

  explicit FakeInvoker(std::string base_domain = "localhost") : routes_(std::move(base_domain)) {}

  // Every invocation is answered by `handler`, synchronously on the caller's
  // thread. Default: 200 with body "<tenant>/<function>".
  void SetHandler(Handler handler) {
    absl::MutexLock lock(&mu_);
    handler_ = std::move(handler);
  }
  // Functions that exist, with their custom routes.
  void AddFunction(const std::string& tenant, const std::string& function,
                   std::vector<RoutePattern> routes = {}) {
    absl::MutexLock lock(&mu_);
    routes_.Set(tenant, function, std::move(routes));
    functions_.insert(tenant + "/" + function);
  }

  void Invoke(Invocation invocation, InvokeCallback done) override {
    Handler handler;
    bool exists;
    {
      absl::MutexLock lock(&mu_);
      handler = handler_;
      exists = functions_.contains(invocation.tenant + "/" + invocation.function);
    }
    if (!exists) {
      done(absl::NotFoundError(absl::StrCat(invocation.function, " does not exist")));
      return;
    }
    if (handler) {
      done(handler(invocation));
      return;
    }
    kiln::v1::InvokeResponse response;
    response.set_request_id(invocation.request_id);
    response.set_version(1);
    response.mutable_result()->mutable_http()->set_status(200);
    response.mutable_result()->mutable_http()->set_body(invocation.tenant + "/" +
                                                        invocation.function);
    done(std::move(response));
  }

  absl::StatusOr<RouteTarget> ResolveRoute(absl::string_view host,
                                           absl::string_view path) const override {
    absl::MutexLock lock(&mu_);
    std::optional<RouteTarget> target = routes_.Resolve(host, path);
    if (!target || !functions_.contains(target->tenant + "/" + target->function)) {
      return absl::NotFoundError(absl::StrCat("no function answers at ", host, path));
    }
    return *target;
  }

 private:
  mutable absl::Mutex mu_;
  RouteTable routes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> functions_ ABSL_GUARDED_BY(mu_);
  Handler handler_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::scheduler
