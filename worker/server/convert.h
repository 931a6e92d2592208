// Maps kiln.v1 protos to the runtime's domain types and back. The only place
// in the worker that knows both.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kiln/v1/worker.pb.h"
#include "worker/js/types.h"
#include "worker/runtime/invocation.h"
#include "worker/runtime/isolate_pool.h"
#include "worker/runtime/limits.h"

namespace kiln::worker::server {

FunctionKey ToKey(const v1::FunctionVersionRef& ref);
Bundle ToBundle(const v1::Bundle& bundle);
// InvalidArgument for limits outside the allowed ranges.
absl::StatusOr<Limits> ToLimits(const v1::Limits& limits);
// `env` for the function: its vars, then its secrets (a secret wins a clash).
std::string EnvJson(const v1::FunctionConfig& config,
                    const google::protobuf::Map<std::string, std::string>& secrets);
// InvalidArgument when no event is set.
absl::StatusOr<InvocationEvent> ToEvent(const v1::InvocationEvent& event);
// `kind`: the event the outcome answers.
void ToProto(const InvocationOutcome& outcome, v1::InvocationEvent::KindCase kind,
             v1::InvocationResult* result);
void ToProto(const LogLine& line, v1::LogEntry* entry);

}  // namespace kiln::worker::server
