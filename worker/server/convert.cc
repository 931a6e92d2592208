// Proto <-> runtime conversions for kiln-worker.
#include "worker/server/convert.h"

#include <nlohmann/json.hpp>

namespace kiln::worker::server {

FunctionKey ToKey(const v1::FunctionVersionRef& ref) {
  return FunctionKey{ref.tenant(), ref.function(), ref.version()};
}

Bundle ToBundle(const v1::Bundle& bundle) {
  Bundle out;
  out.main_module = bundle.main_module();
  for (const v1::BundleFile& file : bundle.files()) out.files[file.path()] = file.content();
  return out;
}

absl::StatusOr<Limits> ToLimits(const v1::Limits& limits) {
  return Limits::FromConfig(limits.cpu_ms(), limits.wall_ms(), limits.heap_bytes(),
                            limits.response_body_bytes(), limits.wait_until_ms());
}

std::string EnvJson(const v1::FunctionConfig& config,
                    const google::protobuf::Map<std::string, std::string>& secrets) {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [name, value] : config.vars()) env[name] = value;
  for (const auto& [name, value] : secrets) env[name] = value;
  // Invalid UTF-8 becomes U+FFFD rather than failing the load.
  return env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<InvocationEvent> ToEvent(const v1::InvocationEvent& event) {
  switch (event.kind_case()) {
    case v1::InvocationEvent::kHttp: {
      HttpRequest request;
      request.method = event.http().method().empty() ? "GET" : event.http().method();
      request.url = event.http().url();
      for (const v1::Header& header : event.http().headers()) {
        request.headers.emplace_back(header.name(), header.value());
      }
      request.body = event.http().body();
      return request;
    }
    case v1::InvocationEvent::kQueue: {
      QueueBatch batch;
      batch.queue = event.queue().queue();
      for (const v1::QueueMessage& message : event.queue().messages()) {
        batch.messages.push_back(QueueMessage{message.id(), message.body(),
                                              message.content_type().empty() ? "json" : message.content_type(),
                                              message.timestamp_ms(), message.attempts()});
      }
      return batch;
    }
    case v1::InvocationEvent::kScheduled:
      return ScheduledEvent{event.scheduled().cron(), event.scheduled().scheduled_time_ms()};
    case v1::InvocationEvent::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the invocation carries no event");
}

namespace {

v1::InvocationError::Kind ErrorKind(const InvocationOutcome& outcome) {
  using Status = InvocationOutcome::Status;
  switch (outcome.status) {
    case Status::kOk: return v1::InvocationError::KIND_UNSPECIFIED;
    case Status::kException:
    case Status::kHung: return v1::InvocationError::EXCEPTION;
    case Status::kNotFound: return v1::InvocationError::NOT_FOUND;
    case Status::kUnavailable: return v1::InvocationError::UNAVAILABLE;
    case Status::kInternal: return v1::InvocationError::INTERNAL;
    case Status::kCancelled: return v1::InvocationError::CANCELLED;
    case Status::kBreach:
      switch (outcome.breach) {
        case Breach::kCpu: return v1::InvocationError::CPU_LIMIT;
        case Breach::kWall: return v1::InvocationError::WALL_LIMIT;
        case Breach::kMemory: return v1::InvocationError::MEMORY_LIMIT;
        case Breach::kResponseSize: return v1::InvocationError::RESPONSE_TOO_LARGE;
        case Breach::kCancelled: return v1::InvocationError::CANCELLED;
        case Breach::kNone: break;
      }
  }
  return v1::InvocationError::INTERNAL;
}

}  // namespace

void ToProto(const InvocationOutcome& outcome, v1::InvocationEvent::KindCase kind,
             v1::InvocationResult* result) {
  result->set_cpu_us(absl::ToInt64Microseconds(outcome.cpu));
  result->set_wall_us(absl::ToInt64Microseconds(outcome.wall));
  result->set_cold(outcome.cold);
  if (outcome.status != InvocationOutcome::Status::kOk) {
    v1::InvocationError* error = result->mutable_error();
    error->set_kind(ErrorKind(outcome));
    // The first line is the message; the rest (if any) the stack.
    error->set_message(outcome.error.substr(0, outcome.error.find('\n')));
    error->set_stack(outcome.error);
    return;
  }
  if (kind == v1::InvocationEvent::kQueue) {
    result->mutable_queue();
    for (const QueueOutcome& message : outcome.queue) {
      v1::QueueMessageOutcome* out = result->mutable_queue()->add_outcomes();
      out->set_id(message.id);
      out->set_kind(message.ack ? v1::QueueMessageOutcome::ACK : v1::QueueMessageOutcome::RETRY);
      out->set_delay_seconds(message.delay_seconds);
    }
    return;
  }
  if (kind == v1::InvocationEvent::kHttp) {
    v1::HttpResponse* http = result->mutable_http();
    http->set_status(outcome.http.status);
    for (const auto& [name, value] : outcome.http.headers) {
      v1::Header* header = http->add_headers();
      header->set_name(name);
      header->set_value(value);
    }
    http->set_body(outcome.http.body);
    http->set_body_streamed(outcome.http.body_streamed);
    return;
  }
  result->set_scheduled_ok(true);
}

void ToProto(const LogLine& line, v1::LogEntry* entry) {
  entry->set_timestamp_ms(line.timestamp_ms);
  switch (line.level) {
    case LogLevel::kDebug: entry->set_level(v1::LogEntry::DEBUG); break;
    case LogLevel::kLog: entry->set_level(v1::LogEntry::LOG); break;
    case LogLevel::kInfo: entry->set_level(v1::LogEntry::INFO); break;
    case LogLevel::kWarn: entry->set_level(v1::LogEntry::WARN); break;
    case LogLevel::kError: entry->set_level(v1::LogEntry::ERROR); break;
  }
  entry->set_message(line.message);
  entry->set_request_id(line.request_id);
  entry->set_tenant(line.function.tenant);
  entry->set_function(line.function.function);
  entry->set_version(line.function.version);
  entry->set_cold(line.cold);
}

}  // namespace kiln::worker::server
