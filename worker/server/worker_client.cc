// WorkerClient: the Connect stream's reactor, its write token and holds, the
// builder thread and the ticker (heartbeats, log flushes).
#include "worker/server/worker_client.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/turn_batch.h"
#include "worker/server/convert.h"

namespace kiln::worker::server {

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

// The Connect call's reactor: hands each frame read to the client and
// reports write ends and the call's end. It holds the call open (AddHold)
// until the client will start no more writes: executors write from outside
// any reaction.
class WorkerClient::Reactor final
    : public grpc::ClientBidiReactor<v1::WorkerFrame, v1::SchedulerFrame> {
 public:
  explicit Reactor(WorkerClient* client) : client_(client) {}

  grpc::ClientContext context;
  v1::SchedulerFrame frame;  // the read in progress

  // Read one more frame (Connect reads the ack, Serve the rest).
  void ReadNext() { StartRead(&frame); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      client_->OnReadsEnded();
      return;
    }
    client_->OnFrame(frame);
  }
  void OnWriteDone(bool ok) override { client_->OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override { client_->OnDone(status); }

 private:
  WorkerClient* const client_;
};

WorkerClient::WorkerClient(WorkerRuntime& runtime, StreamLogSink& logs, WorkerClientOptions options)
    : runtime_(runtime), logs_(logs), options_(std::move(options)) {}

WorkerClient::~WorkerClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    broken_ = true;  // nothing more is written
  }
  if (reactor_ != nullptr) {
    // Served or not, the call must end before its reactor goes.
    reactor_->context.TryCancel();
    ReleaseHold();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkerClient* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->done_.has_value(); },
        this));
  }
  if (drainer_.joinable()) drainer_.join();
  if (ticker_.joinable()) ticker_.join();
  if (builder_.joinable()) builder_.join();
}

absl::Status WorkerClient::Connect(std::shared_ptr<grpc::Channel> channel) {
  channel_ = std::move(channel);
  stub_ = v1::Worker::NewStub(channel_);
  reactor_ = std::make_unique<Reactor>(this);
  stub_->async()->Connect(&reactor_->context, reactor_.get());
  reactor_->AddHold();
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
  Send(std::move(hello));
  reactor_->ReadNext();  // the RegisterAck
  reactor_->StartCall();
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkerClient* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
          return c->acked_ || c->reads_ended_;
        },
        this));
    if (acked_) {
      ticker_ = std::thread([this] { TickerMain(); });
      builder_ = std::thread([this] { BuilderMain(); });
      return absl::OkStatus();
    }
  }
  {
    // Refused (or the stream broke): the call's status says why.
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkerClient* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->done_.has_value(); },
        this));
    if (unexpected_first_frame_) {
      return absl::UnavailableError(
          absl::StrCat(options_.scheduler, " answered Register with something other than "
                                           "RegisterAck: is it a kiln-scheduler?"));
    }
    return absl::UnavailableError(
        absl::StrCat("the scheduler refused this worker: ", done_->error_message()));
  }
}

void WorkerClient::Send(v1::WorkerFrame frame) {
  {
    absl::MutexLock lock(&mu_);
    if (broken_ || writes_done_) return;  // the stream is over: nobody to tell
    outbox_.push_back(std::move(frame));
    if (writing_) return;  // that write's end takes it
  }
  // An executor gathers the answers of the tasks it runs in one turn: they
  // leave together when the turn ends (one deferred start per thread and
  // turn; another thread's Send may write them sooner).
  thread_local WorkerClient* deferred_on_this_thread = nullptr;
  if (deferred_on_this_thread == this) return;
  absl::AnyInvocable<void()> start = [this] {
    deferred_on_this_thread = nullptr;
    MaybeWrite();
  };
  if (TurnBatch::Defer(start)) {
    deferred_on_this_thread = this;
  } else {
    MaybeWrite();
  }
}

void WorkerClient::MaybeWrite() {
  bool end_writes = false;
  {
    absl::MutexLock lock(&mu_);
    if (writing_ || broken_ || writes_done_) return;
    // Logs first, so an invocation's output precedes its result.
    std::vector<LogLine> lines = logs_.Take();
    if (!lines.empty()) {
      v1::WorkerFrame frame;
      for (const LogLine& line : lines) ToProto(line, frame.mutable_logs()->add_entries());
      outbox_.push_front(std::move(frame));
    }
    if (outbox_.empty()) {
      if (!closing_) return;
      // Drained and everything sent: end this side. Under the lock, so the
      // hold cannot be released (and the call end) before it is issued; it
      // never calls back inline.
      writes_done_ = true;
      reactor_->StartWritesDone();
      end_writes = true;
    } else {
      // Frames queued together leave in one batch message; a large one (a
      // snapshot) alone.
      constexpr size_t kBatchBytes = 256 << 10;
      writing_frame_.Clear();
      size_t bytes = 0;
      int taken = 0;
      v1::WorkerFrame first;
      while (!outbox_.empty()) {
        const size_t size = outbox_.front().ByteSizeLong();
        if (taken > 0 && bytes + size > kBatchBytes) break;
        bytes += size;
        if (taken == 0) {
          first = std::move(outbox_.front());
        } else {
          if (taken == 1) *writing_frame_.mutable_batch()->add_frames() = std::move(first);
          *writing_frame_.mutable_batch()->add_frames() = std::move(outbox_.front());
        }
        ++taken;
        outbox_.pop_front();
      }
      if (taken == 1) writing_frame_ = std::move(first);
      writing_ = true;
    }
  }
  if (end_writes) {
    ReleaseHold();
    return;
  }
  reactor_->StartWrite(&writing_frame_);  // outside the lock: it may complete inline
}

void WorkerClient::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      broken_ = true;  // the call is ending; its reads end too
      outbox_.clear();
    }
  }
  ReleaseHold();  // if the stream is over
  MaybeWrite();
}

void WorkerClient::OnReadsEnded() {
  {
    absl::MutexLock lock(&mu_);
    reads_ended_ = true;
    stopping_ = true;  // also ends a drain still waiting
    broken_ = true;    // the call is over: whatever is queued has nowhere to go
    outbox_.clear();
  }
  ReleaseHold();  // else the outstanding write's end does
}

void WorkerClient::ReleaseHold() {
  {
    absl::MutexLock lock(&mu_);
    // Only once no write is outstanding and none can start.
    if (hold_released_ || writing_ || !(broken_ || writes_done_)) return;
    hold_released_ = true;
  }
  reactor_->RemoveHold();
}

void WorkerClient::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  done_ = status;
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

void WorkerClient::TickerMain() {
  absl::Time next_heartbeat = absl::Now() + heartbeat_interval_;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.log_flush)) return;
    }
    if (absl::Now() >= next_heartbeat) {
      v1::WorkerFrame frame;
      FillHeartbeat(frame.mutable_heartbeat());
      Send(std::move(frame));
      next_heartbeat = absl::Now() + heartbeat_interval_;
    } else {
      MaybeWrite();  // log lines printed since the last write
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
  {
    // From outside a reaction: only while the hold keeps the call alive (the
    // stream may have ended since Connect; then OnDone has run or will).
    // StartRead never calls back inline.
    absl::MutexLock lock(&mu_);
    if (!hold_released_) reactor_->ReadNext();
  }
  grpc::Status status;
  bool drained;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](WorkerClient* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->done_.has_value(); },
        this));
    status = *done_;
    // The scheduler ended the stream: after a drain, once the drainer closed
    // this side (or the scheduler gave up waiting); otherwise it broke.
    drained = draining_;
  }
  if (drainer_.joinable()) drainer_.join();
  if (ticker_.joinable()) ticker_.join();
  if (builder_.joinable()) builder_.join();
  if (drained) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the stream to the scheduler ended: ", status.error_message()));
}

void WorkerClient::OnFrame(v1::SchedulerFrame& frame) {
  bool acked;
  {
    absl::MutexLock lock(&mu_);
    acked = acked_;
  }
  if (!acked) {
    // The first frame: RegisterAck. Serve reads on.
    if (!frame.has_register_ack()) {
      // Not our scheduler: cancel, and read on so the failed read ends the
      // reads (OnReadsEnded) and Connect sees it.
      {
        absl::MutexLock lock(&mu_);
        unexpected_first_frame_ = true;
      }
      reactor_->context.TryCancel();
      reactor_->ReadNext();
      return;
    }
    absl::MutexLock lock(&mu_);
    if (frame.register_ack().heartbeat_interval_ms() > 0) {
      heartbeat_interval_ = absl::Milliseconds(frame.register_ack().heartbeat_interval_ms());
    }
    acked_ = true;
    return;
  }
  if (frame.has_batch()) {
    for (v1::SchedulerFrame& inner : *frame.mutable_batch()->mutable_frames()) {
      if (!inner.has_batch()) Dispatch(inner);  // never nested
    }
  } else {
    Dispatch(frame);
  }
  frame.Clear();
  reactor_->ReadNext();
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
  // Frames are still served meanwhile: a streamed body needs its BodyCredit
  // to finish, and a client that leaves still cancels.
  while ((runtime_.in_flight() > 0 || open_bodies_.load() > 0) && absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // the stream ended first
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  // Let results, bodies and logs go out, then end this side.
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    closing_ = true;
  }
  MaybeWrite();
}

}  // namespace kiln::worker::server
