// WorkerClient: the Connect stream's reader loop, writer thread, builder
// thread and heartbeats.
#include "worker/server/worker_client.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "worker/server/convert.h"

namespace kiln::worker::server {
namespace {

// The client whose outbox this executor thread added frames to without
// waking the writer; WakeWriter() at the end of the loop iteration does.
thread_local WorkerClient* unannounced = nullptr;

}  // namespace

void StreamLogSink::OnLog(LogLine line) {
  absl::MutexLock lock(&mu_);
  lines_.push_back(std::move(line));
}

std::vector<LogLine> StreamLogSink::Take() {
  absl::MutexLock lock(&mu_);
  std::vector<LogLine> lines;
  lines.swap(lines_);
  return lines;
}

WorkerClient::WorkerClient(WorkerRuntime& runtime, StreamLogSink& logs, WorkerClientOptions options)
    : runtime_(runtime), logs_(logs), options_(std::move(options)) {
  runtime_.SetIterationEnd([this] { WakeWriter(); });
}

WorkerClient::~WorkerClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (drainer_.joinable()) drainer_.join();
  if (writer_.joinable()) writer_.join();
  if (builder_.joinable()) builder_.join();
}

absl::Status WorkerClient::Connect(std::shared_ptr<grpc::Channel> channel) {
  channel_ = std::move(channel);
  stub_ = v1::Worker::NewStub(channel_);
  stream_ = stub_->Connect(&context_);
  v1::WorkerFrame hello;
  v1::Register* reg = hello.mutable_register_();
  reg->set_worker_id(options_.worker_id);
  reg->set_runtime_fingerprint(runtime_.fingerprint());
  reg->set_max_concurrency(options_.max_concurrency);
  reg->set_memory_budget_bytes(options_.memory_budget_bytes);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  reg->set_host(host);
  reg->set_pid(static_cast<uint32_t>(getpid()));
  if (!stream_->Write(hello)) return absl::UnavailableError("the scheduler closed the stream");
  v1::SchedulerFrame ack;
  if (!stream_->Read(&ack) || !ack.has_register_ack()) {
    grpc::Status status = stream_->Finish();
    return absl::UnavailableError(
        absl::StrCat("the scheduler refused this worker: ", status.error_message()));
  }
  if (ack.register_ack().heartbeat_interval_ms() > 0) {
    heartbeat_interval_ = absl::Milliseconds(ack.register_ack().heartbeat_interval_ms());
  }
  writer_ = std::thread([this] { WriterMain(); });
  builder_ = std::thread([this] { BuilderMain(); });
  return absl::OkStatus();
}

void WorkerClient::Send(v1::WorkerFrame frame) {
  // On an executor thread the writer is woken once per loop iteration, after
  // all the results and body chunks of that iteration are queued.
  const bool defer = WorkerRuntime::OnExecutorThread();
  absl::MutexLock lock(&mu_);
  outbox_.push_back(std::move(frame));
  if (defer) {
    unannounced = this;
  } else {
    announced_ = true;
  }
}

void WorkerClient::WakeWriter() {
  if (unannounced != this) return;
  unannounced = nullptr;
  absl::MutexLock lock(&mu_);
  announced_ = true;
}

void WorkerClient::FillHeartbeat(v1::Heartbeat* heartbeat) {
  PoolStats stats = runtime_.Stats();
  heartbeat->set_in_flight(static_cast<uint32_t>(runtime_.in_flight()));
  heartbeat->set_isolate_memory_bytes(stats.memory_bytes);
  heartbeat->set_sent_ms(absl::ToUnixMillis(absl::Now()));
  for (const PoolStats::Version& version : stats.versions) {
    v1::WarmFunction* warm = heartbeat->add_warm();
    warm->mutable_function()->set_tenant(version.key.tenant);
    warm->mutable_function()->set_function(version.key.function);
    warm->mutable_function()->set_version(version.key.version);
    warm->set_idle_isolates(version.idle);
    warm->set_busy_isolates(version.busy);
  }
}

void WorkerClient::WriterMain() {
  absl::Time next_heartbeat = absl::Now() + heartbeat_interval_;
  while (true) {
    std::deque<v1::WorkerFrame> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || announced_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.log_flush);
      announced_ = false;
      batch.swap(outbox_);
    }
    // Logs first, so an invocation's output precedes its result.
    std::vector<LogLine> lines = logs_.Take();
    bool last = false;
    {
      // Stopping with nothing left to send (log lines included): done.
      absl::MutexLock lock(&mu_);
      last = stopping_ && outbox_.empty();
    }
    if (last && batch.empty() && lines.empty()) break;
    if (!lines.empty()) {
      v1::WorkerFrame frame;
      for (const LogLine& line : lines) ToProto(line, frame.mutable_logs()->add_entries());
      batch.push_front(std::move(frame));
    }
    if (absl::Now() >= next_heartbeat) {
      v1::WorkerFrame frame;
      FillHeartbeat(frame.mutable_heartbeat());
      batch.push_back(std::move(frame));
      next_heartbeat = absl::Now() + heartbeat_interval_;
    }
    // Frames queued together leave in one batch message; a large one (a
    // snapshot) alone.
    constexpr size_t kBatchBytes = 256 << 10;
    while (!batch.empty()) {
      v1::WorkerFrame message;
      size_t bytes = 0;
      while (!batch.empty()) {
        const size_t size = batch.front().ByteSizeLong();
        if (message.batch().frames_size() > 0 && bytes + size > kBatchBytes) break;
        bytes += size;
        *message.mutable_batch()->add_frames() = std::move(batch.front());
        batch.pop_front();
      }
      if (message.batch().frames_size() == 1) {
        v1::WorkerFrame single = std::move(*message.mutable_batch()->mutable_frames(0));
        message = std::move(single);
      }
      if (!stream_->Write(message)) return;  // the reader sees the break too
    }
  }
}

void WorkerClient::BuilderMain() {
  while (true) {
    v1::BuildSnapshot build;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !builds_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      build = std::move(builds_.front());
      builds_.pop_front();
    }
    absl::Time started = absl::Now();
    js::BuildOptions options = options_.build;
    options.allow_eval = build.config().allow_eval();
    options.allow_wasm_codegen = build.config().allow_wasm_codegen();
    absl::StatusOr<js::BuildResult> built = runtime_.Build(ToBundle(build.bundle()), options);
    v1::WorkerFrame frame;
    v1::BuildResult* result = frame.mutable_build_result();
    result->set_build_id(build.build_id());
    result->set_runtime_fingerprint(runtime_.fingerprint());
    result->set_build_ms(absl::ToInt64Milliseconds(absl::Now() - started));
    if (built.ok()) {
      result->set_snapshot(std::move(built->blob));
    } else {
      result->set_error(std::string(built.status().message()));
    }
    Send(std::move(frame));
  }
}

void WorkerClient::HandleLoad(const v1::LoadFunction& load) {
  v1::WorkerFrame frame;
  v1::LoadResult* result = frame.mutable_load_result();
  *result->mutable_function() = load.function();
  absl::StatusOr<Limits> limits = ToLimits(load.config().limits());
  absl::Status status = limits.status();
  if (status.ok()) {
    FunctionSettings settings;
    settings.limits = *limits;
    settings.env_json = EnvJson(load.config(), load.secrets());
    settings.allow_eval = load.config().allow_eval();
    settings.allow_wasm_codegen = load.config().allow_wasm_codegen();
    status = runtime_.Load(ToKey(load.function()), load.snapshot(), settings);
  }
  if (!status.ok()) result->set_error(std::string(status.message()));
  Send(std::move(frame));
}

// A streamed response body, as BodyChunk frames on the stream (behind the
// result frame with its head: both go through the one outbox, in order).
// Counts in the client's open_bodies_ from Open() (the head was answered) to
// End(), so a drain waits for it.
class WorkerClient::StreamedBody final : public ResponseBodyWriter {
 public:
  StreamedBody(WorkerClient* client, uint64_t id) : client_(client), id_(id) {}
  ~StreamedBody() override {
    if (open_) client_->open_bodies_--;
  }
  // The head went out with body_streamed; called before any Write or End.
  void Open() {
    open_ = true;
    client_->open_bodies_++;
  }
  void Write(std::string chunk) override {
    v1::WorkerFrame frame;
    frame.mutable_response_body()->set_invocation_id(id_);
    frame.mutable_response_body()->set_data(std::move(chunk));
    client_->Send(std::move(frame));
  }
  void End(std::string error) override {
    if (!open_) return;  // no body was streamed (the head carried it, or none went out)
    v1::WorkerFrame frame;
    frame.mutable_response_body()->set_invocation_id(id_);
    frame.mutable_response_body()->set_last(true);
    frame.mutable_response_body()->set_error(std::move(error));
    client_->Send(std::move(frame));
    open_ = false;
    client_->open_bodies_--;
  }

 private:
  WorkerClient* const client_;
  const uint64_t id_;
  bool open_ = false;  // executor thread only
};

void WorkerClient::HandleInvoke(const v1::Invoke& invoke) {
  const uint64_t id = invoke.invocation_id();
  const v1::InvocationEvent::KindCase kind = invoke.event().kind_case();
  auto answer = [this, id, kind](const InvocationOutcome& outcome) {
    v1::WorkerFrame frame;
    frame.mutable_result()->set_invocation_id(id);
    ToProto(outcome, kind, frame.mutable_result()->mutable_result());
    if (frame.ByteSizeLong() + 1024 > options_.max_frame_bytes) {
      const size_t bytes = frame.ByteSizeLong();
      frame.mutable_result()->clear_result();
      v1::InvocationError* error = frame.mutable_result()->mutable_result()->mutable_error();
      error->set_kind(v1::InvocationError::RESPONSE_TOO_LARGE);
      error->set_message(absl::StrCat("response size limit exceeded: the response (", bytes,
                                      " bytes with its headers) is larger than a worker frame"));
    }
    Send(std::move(frame));
  };
  bool draining;
  {
    absl::MutexLock lock(&mu_);
    draining = draining_;
  }
  absl::StatusOr<InvocationEvent> event = ToEvent(invoke.event());
  if (draining || !event.ok()) {
    InvocationOutcome outcome;
    outcome.status = draining ? InvocationOutcome::Status::kUnavailable : InvocationOutcome::Status::kInternal;
    outcome.error = draining ? "the worker is draining" : std::string(event.status().message());
    answer(outcome);
    return;
  }
  InvokeOptions options;
  options.id = id;  // for Cancel and BodyCredit frames
  StreamedBody* body = nullptr;  // owned by the invocation, which outlives its answer
  if (invoke.stream_window_bytes() > 0 && std::holds_alternative<HttpRequest>(*event)) {
    auto streamed = std::make_unique<StreamedBody>(this, id);
    body = streamed.get();
    options.body = std::move(streamed);
    options.initial_credit = invoke.stream_window_bytes();
  }
  runtime_.Invoke(
      ToKey(invoke.function()), std::move(*event), invoke.request_id(),
      [answer, body](InvocationOutcome outcome) {
        if (body != nullptr && outcome.http.body_streamed) body->Open();
        answer(outcome);
      },
      std::move(options));
}


absl::Status WorkerClient::Serve() {
  v1::SchedulerFrame frame;
  while (stream_->Read(&frame)) {
    if (frame.has_batch()) {
      for (v1::SchedulerFrame& inner : *frame.mutable_batch()->mutable_frames()) {
        if (!inner.has_batch()) Dispatch(inner);  // never nested
      }
    } else {
      Dispatch(frame);
    }
  }
  // The scheduler ended the stream: after a drain, once the drainer closed
  // this side (or the scheduler gave up waiting); otherwise it broke.
  bool drained;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // also ends a drain still waiting
    drained = draining_;
  }
  if (drainer_.joinable()) drainer_.join();
  if (writer_.joinable()) writer_.join();
  builder_.join();
  grpc::Status status = stream_->Finish();
  if (drained) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the stream to the scheduler ended: ", status.error_message()));
}

void WorkerClient::Dispatch(v1::SchedulerFrame& frame) {
  switch (frame.kind_case()) {
    case v1::SchedulerFrame::kInvoke:
      HandleInvoke(frame.invoke());
      break;
    case v1::SchedulerFrame::kLoad:
      HandleLoad(frame.load());
      break;
    case v1::SchedulerFrame::kUnload:
      runtime_.Unload(ToKey(frame.unload().function()));
      break;
    case v1::SchedulerFrame::kBuild: {
      absl::MutexLock lock(&mu_);
      builds_.push_back(std::move(*frame.mutable_build()));
      break;
    }
    case v1::SchedulerFrame::kCancel:
      runtime_.Cancel(frame.cancel().invocation_id());
      break;
    case v1::SchedulerFrame::kBodyCredit:
      runtime_.GrantCredit(frame.body_credit().invocation_id(), frame.body_credit().bytes());
      break;
    case v1::SchedulerFrame::kDrain:
      StartDrain(frame.drain());
      break;
    case v1::SchedulerFrame::kRequestBody:
    case v1::SchedulerFrame::kRegisterAck:
    case v1::SchedulerFrame::kBatch:
    case v1::SchedulerFrame::KIND_NOT_SET:
      break;
  }
}

void WorkerClient::StartDrain(const v1::Drain& drain) {
  {
    absl::MutexLock lock(&mu_);
    if (draining_) return;
    draining_ = true;
  }
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(drain.deadline_ms() > 0 ? drain.deadline_ms() : 30000);
  drainer_ = std::thread([this, deadline] { DrainMain(deadline); });
}

void WorkerClient::DrainMain(absl::Time deadline) {
  // The reader goes on serving frames meanwhile: a streamed body needs its
  // BodyCredit to finish, and a client that leaves still cancels.
  while ((runtime_.in_flight() > 0 || open_bodies_.load() > 0) && absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // the stream ended first
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  // Let the writer flush results, bodies and logs, then end this side.
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  writer_.join();
  stream_->WritesDone();
}

}  // namespace kiln::worker::server
