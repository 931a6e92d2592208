// Invoker: the seam between request front ends and the scheduler core. The
// HTTP gateway (scheduler/gateway) resolves a request's host and path to a
// function with ResolveRoute and runs it with Invoke; Control.Invoke (`kiln
// invoke`) uses Invoke too. The implementation (SchedulerCore) answers both
// from memory: no store read, no unary RPC, on the warm path.
//
//   absl::StatusOr<RouteTarget> target = invoker.ResolveRoute(host, path);
//   if (!target.ok()) { /* 404 */ }
//   invoker.Invoke({.tenant = target->tenant, .function = target->function,
//                   .event = std::move(event), .request_id = id},
//                  [](absl::StatusOr<kiln::v1::InvokeResponse> response) {
//                    // runs on a scheduler thread: post back to your loop
//                  });
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"
#include "kiln/v1/control.pb.h"
#include "scheduler/fleet/fleet.h"
#include "scheduler/server/route_table.h"

namespace kiln::scheduler {

// One invocation for Invoker::Invoke.
struct Invocation {
  std::string tenant;
  std::string function;
  uint64_t version = 0;  // 0: the active version
  kiln::v1::InvocationEvent event;
  std::string request_id;  // empty: one is generated (returned in the response)
  // Set (HTTP): a stream response body may stream into it (see
  // Fleet's InvocationRequest::body); the response then holds the head.
  std::shared_ptr<ResponseBodySink> body;
  size_t stream_window_bytes = 1 << 20;
  // Reachable by request_id for Cancel and Credit (ids must be unique).
  bool cancellable = false;
};

using InvokeCallback = absl::AnyInvocable<void(absl::StatusOr<kiln::v1::InvokeResponse>)>;

// Thread-safe; owned by the scheduler's main, borrowed by front ends.
class Invoker {
 public:
  virtual ~Invoker() = default;

  // Runs `invocation` on a worker. `done` is called exactly once — on the
  // calling thread when the invocation fails before dispatch, otherwise on a
  // scheduler thread — and must not block (post the answer to your own loop).
  //
  // OK with an InvokeResponse whenever a worker took the invocation: its
  // `result` holds the function's answer, or an InvocationError (a user
  // exception, a limit, or WORKER_LOST when the worker died after dispatch:
  // answer 502 with the request id; it is never re-run). Errors when no
  // worker ran it:
  //   NotFound            no such function (or version) for the tenant;
  //   Unavailable         no worker can take it now (every worker at its cap,
  //                       none connected, shutting down): answer 503 with
  //                       Retry-After; safe to retry;
  //   FailedPrecondition  the version cannot load (built for another runtime,
  //                       a secret it binds is not set);
  //   InvalidArgument     no event, or the request is too large for a worker;
  //   Internal            a worker failed to load the version.
  virtual void Invoke(Invocation invocation, InvokeCallback done) = 0;

  // The function a request for `host` (any case, may carry ":port") and
  // `path` (may carry a query) goes to: <function>.<tenant>.<base-domain>, or
  // the most specific custom route (see RouteTable). NotFound when no route
  // matches or the function does not exist.
  virtual absl::StatusOr<RouteTarget> ResolveRoute(absl::string_view host,
                                                   absl::string_view path) const = 0;

  // The caller of cancellable invocation `request_id` went away: stop it.
  virtual void Cancel(const std::string& request_id) {}
  // The caller of `request_id` consumed `bytes` more of its streamed body.
  virtual void Credit(const std::string& request_id, size_t bytes) {}
};

}  // namespace kiln::scheduler
