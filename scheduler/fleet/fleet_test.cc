// Fleet over in-memory streams: registration and fingerprints, one load per
// (worker, version) shared by concurrent first invocations, multiplexed
// results, what a dead or silent worker's invocations get, caps, a stalled
// worker not stalling others, builds, drain, log filtering.
#include "scheduler/fleet/fleet.h"

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/turn_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/fleet/worker_stream.h"

namespace kiln::scheduler {
namespace {

using ::testing::HasSubstr;

constexpr char kFingerprint[] = "kiln1-v8-10.2-test";

// Both ends of one stream: the Fleet reads and writes one side, the test
// plays the worker on the other. Like gRPC, a write completes on another
// thread (here once the stream is not stalled).
class FakeStream final : public WorkerStream {
 public:
  FakeStream() : writer_([this] { WriterMain(); }) {}
  ~FakeStream() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    writer_.join();
  }

  // ---- the Fleet's side ----
  void StartWrite(const v1::SchedulerFrame& frame) override {
    Fleet* fleet;
    Fleet::Connection* conn;
    {
      absl::MutexLock lock(&mu_);
      EXPECT_FALSE(writing_.has_value()) << "two writes outstanding";
      EXPECT_FALSE(released_.has_value()) << "a write after Release";
      if (!inline_writes_ || stalled_ || fleet_ == nullptr) {
        writing_ = frame;  // the writer thread completes it
        return;
      }
      Deliver(frame);
      fleet = fleet_;
      conn = conn_;
    }
    fleet->OnWriteDone(conn, true);  // completed inside StartWrite, as gRPC may
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    EXPECT_FALSE(released_.has_value()) << "Cancel after Release";
    cancelled_ = true;
  }
  void Release(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    EXPECT_FALSE(released_.has_value()) << "released twice";
    EXPECT_FALSE(writing_.has_value()) << "released with a write outstanding";
    released_ = std::move(status);
  }
  std::string peer() const override { return "fake"; }

  // Plays the transport's reads until the stream is released: Opens the
  // stream on `fleet`, hands it each frame Send() queues, and reports the
  // end of reads once Close() or Cancel() ended them. Returns the status the
  // Fleet released the stream with.
  absl::Status Serve(Fleet& fleet) {
    Fleet::Connection* conn = fleet.Open(this);
    {
      absl::MutexLock lock(&mu_);
      fleet_ = &fleet;
      conn_ = conn;
    }
    while (true) {
      v1::WorkerFrame frame;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](FakeStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return !s->inbound_.empty() || s->cancelled_ || s->closed_;
            },
            this));
        if (cancelled_ || inbound_.empty()) break;
        frame = std::move(inbound_.front());
        inbound_.pop_front();
      }
      if (!fleet.OnFrame(conn, frame)) break;  // refused: released already
    }
    bool released;
    {
      absl::MutexLock lock(&mu_);
      released = released_.has_value();
    }
    if (!released) fleet.OnReadsEnded(conn);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](FakeStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->released_.has_value(); },
        this));
    return *released_;
  }

  // ---- the worker's side ----
  void Send(v1::WorkerFrame frame) {
    absl::MutexLock lock(&mu_);
    inbound_.push_back(std::move(frame));
  }
  // The next frame the Fleet wrote, or nullopt after `timeout`.
  std::optional<v1::SchedulerFrame> Next(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](FakeStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
                               return !s->outbound_.empty();
                             },
                             this),
                         timeout);
    if (outbound_.empty()) return std::nullopt;
    v1::SchedulerFrame frame = std::move(outbound_.front());
    outbound_.pop_front();
    return frame;
  }
  // The connection breaks: reads end and an outstanding write fails.
  void Break() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  // The worker hangs up (its process died).
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Stall(bool stalled) {
    absl::MutexLock lock(&mu_);
    stalled_ = stalled;
  }
  // Writes complete inside StartWrite (when not stalled).
  void CompleteWritesInline() {
    absl::MutexLock lock(&mu_);
    inline_writes_ = true;
  }
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  int batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  void Deliver(const v1::SchedulerFrame& frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (frame.has_batch()) {  // frames queued together arrive as one batch
      EXPECT_GE(frame.batch().frames_size(), 2);
      for (const v1::SchedulerFrame& inner : frame.batch().frames()) {
        EXPECT_FALSE(inner.has_batch());
        outbound_.push_back(inner);
      }
      ++batches_;
    } else {
      outbound_.push_back(frame);
    }
  }

  // Completes writes: delivers each to the worker's side unless the stream
  // is stalled; a broken stream fails it.
  void WriterMain() {
    while (true) {
      bool ok;
      Fleet* fleet;
      Fleet::Connection* conn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](FakeStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->stopping_ || (s->writing_.has_value() && s->fleet_ != nullptr &&
                                      (!s->stalled_ || s->cancelled_ || s->closed_));
            },
            this));
        if (stopping_) return;
        ok = !cancelled_ && !closed_;
        if (ok) Deliver(*writing_);
        writing_.reset();
        fleet = fleet_;
        conn = conn_;
      }
      fleet->OnWriteDone(conn, ok);
    }
  }

  absl::Mutex mu_;
  Fleet* fleet_ ABSL_GUARDED_BY(mu_) = nullptr;
  Fleet::Connection* conn_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<v1::WorkerFrame> inbound_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::SchedulerFrame> outbound_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::SchedulerFrame> writing_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> released_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stalled_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool inline_writes_ ABSL_GUARDED_BY(mu_) = false;
  int batches_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread writer_;
};

// A worker the test plays: its stream, served by the Fleet on a thread.
class FakeWorker {
 public:
  FakeWorker(Fleet& fleet, std::string id, uint32_t max_concurrency = 8,
             std::string fingerprint = kFingerprint)
      : id_(std::move(id)) {
    v1::WorkerFrame hello;
    hello.mutable_register_()->set_worker_id(id_);
    hello.mutable_register_()->set_runtime_fingerprint(fingerprint);
    hello.mutable_register_()->set_max_concurrency(max_concurrency);
    hello.mutable_register_()->set_pid(4242);
    stream_.Send(hello);
    thread_ = std::thread([this, &fleet] {
      absl::Status status = stream_.Serve(fleet);
      absl::MutexLock lock(&mu_);
      served_ = status;
    });
  }
  ~FakeWorker() {
    stream_.Close();
    thread_.join();
  }

  FakeStream& stream() { return stream_; }
  const std::string& id() const { return id_; }

  // The RegisterAck, or a failure.
  v1::RegisterAck Ack() {
    std::optional<v1::SchedulerFrame> frame = stream_.Next();
    EXPECT_TRUE(frame.has_value() && frame->has_register_ack()) << id_;
    return frame ? frame->register_ack() : v1::RegisterAck();
  }
  // The status the Fleet released the stream with, once it did.
  std::optional<absl::Status> Served(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](FakeWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
                               return w->served_.has_value();
                             },
                             this),
                         timeout);
    return served_;
  }
  void Answer(uint64_t invocation, const std::string& body) {
    v1::WorkerFrame frame;
    frame.mutable_result()->set_invocation_id(invocation);
    frame.mutable_result()->mutable_result()->mutable_http()->set_status(200);
    frame.mutable_result()->mutable_result()->mutable_http()->set_body(body);
    stream_.Send(frame);
  }
  void LoadOk(const v1::FunctionVersionRef& ref, const std::string& error = "") {
    v1::WorkerFrame frame;
    *frame.mutable_load_result()->mutable_function() = ref;
    frame.mutable_load_result()->set_error(error);
    stream_.Send(frame);
  }
  void Heartbeat() {
    v1::WorkerFrame frame;
    frame.mutable_heartbeat()->set_sent_ms(absl::ToUnixMillis(absl::Now()));
    stream_.Send(frame);
  }

 private:
  const std::string id_;
  FakeStream stream_;
  std::thread thread_;
  absl::Mutex mu_;
  std::optional<absl::Status> served_ ABSL_GUARDED_BY(mu_);
};

// Serves LoadFunction payloads; can hold them back to let invocations pile up.
class FakeSource final : public VersionSource {
 public:
  absl::StatusOr<v1::LoadFunction> LoadFor(const v1::FunctionVersionRef& function,
                                           absl::string_view fingerprint) override {
    calls_++;
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&open_));
    if (!error_.ok()) return error_;
    v1::LoadFunction load;
    load.set_snapshot(absl::StrCat("snapshot of ", function.function(), " for ", fingerprint));
    (*load.mutable_secrets())["TOKEN"] = "s3cret";
    return load;
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(status);
  }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

class Collector final : public LogConsumer {
 public:
  void OnLogs(std::vector<v1::LogEntry> entries) override {
    absl::MutexLock lock(&mu_);
    for (auto& e : entries) entries_.push_back(std::move(e));
  }
  std::vector<v1::LogEntry> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::LogEntry> entries_;
};

// One invocation's outcome, awaited by the test.
class Outcome {
 public:
  InvocationCallback Callback() {
    return [this](absl::StatusOr<InvocationReply> reply) {
      absl::MutexLock lock(&mu_);
      EXPECT_FALSE(reply_.has_value()) << "callback called twice";
      reply_ = std::move(reply);
      at_ = absl::Now();
    };
  }
  std::optional<absl::StatusOr<InvocationReply>> Wait(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Outcome* o) ABSL_EXCLUSIVE_LOCKS_REQUIRED(o->mu_) { return o->reply_.has_value(); },
            this),
        timeout);
    return reply_;
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return reply_.has_value();
  }

 private:
  absl::Mutex mu_;
  std::optional<absl::StatusOr<InvocationReply>> reply_ ABSL_GUARDED_BY(mu_);
  absl::Time at_ ABSL_GUARDED_BY(mu_);
};

v1::FunctionVersionRef Ref(const std::string& function, uint64_t version = 1) {
  v1::FunctionVersionRef ref;
  ref.set_tenant("acme");
  ref.set_function(function);
  ref.set_version(version);
  return ref;
}

InvocationRequest Request(const std::string& function, uint64_t version = 1) {
  InvocationRequest request;
  request.function = Ref(function, version);
  request.event.mutable_http()->set_method("GET");
  request.event.mutable_http()->set_url("http://" + function + ".acme.localhost/");
  request.request_id = "req-" + function;
  return request;
}

// Expects the next frame of kind `kind` on `worker`'s stream, skipping none.
v1::SchedulerFrame Expect(FakeWorker& worker, v1::SchedulerFrame::KindCase kind) {
  std::optional<v1::SchedulerFrame> frame = worker.stream().Next();
  EXPECT_TRUE(frame.has_value()) << worker.id() << ": no frame, wanted kind " << kind;
  if (!frame) return v1::SchedulerFrame();
  EXPECT_EQ(frame->kind_case(), kind) << worker.id() << ": " << frame->DebugString();
  return *frame;
}

class FleetTest : public ::testing::Test {
 protected:
  void Start(FleetOptions options = {}) {
    fleet_ = std::make_unique<Fleet>(source_, &logs_, std::move(options));
  }
  void TearDown() override {
    workers_.clear();
    fleet_.reset();
  }
  FakeWorker& AddWorker(const std::string& id, uint32_t max_concurrency = 8) {
    workers_.push_back(std::make_unique<FakeWorker>(*fleet_, id, max_concurrency));
    FakeWorker& worker = *workers_.back();
    worker.Ack();
    return worker;
  }

  FakeSource source_;
  Collector logs_;
  std::unique_ptr<Fleet> fleet_;
  std::vector<std::unique_ptr<FakeWorker>> workers_;
};

TEST_F(FleetTest, RegisterIsAnsweredWithTheHeartbeatInterval) {
  Start({.heartbeat_interval = absl::Milliseconds(250)});
  workers_.push_back(std::make_unique<FakeWorker>(*fleet_, "w1"));
  v1::RegisterAck ack = workers_.back()->Ack();
  EXPECT_EQ(ack.worker_id(), "w1");
  EXPECT_EQ(ack.heartbeat_interval_ms(), 250u);
  EXPECT_EQ(fleet_->fingerprint(), kFingerprint);
  ASSERT_EQ(fleet_->Workers().size(), 1u);
  EXPECT_EQ(fleet_->Workers()[0].pid, 4242u);
}

TEST_F(FleetTest, AWorkerOfAnotherRuntimeIsRefused) {
  Start();
  AddWorker("w1");
  FakeWorker alien(*fleet_, "alien", 8, "kiln1-v8-10.2-other-seed");
  std::optional<absl::Status> served = alien.Served();
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(served->message(), HasSubstr("KILN_HASH_SEED"));
  EXPECT_FALSE(alien.stream().cancelled());  // it reads the status as the reason
  EXPECT_EQ(fleet_->Workers().size(), 1u);
}

TEST_F(FleetTest, TheFirstFrameMustBeRegister) {
  Start();
  FakeStream stream;
  v1::WorkerFrame heartbeat;
  heartbeat.mutable_heartbeat();
  stream.Send(heartbeat);
  EXPECT_EQ(stream.Serve(*fleet_).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FleetTest, NoWorkerIsUnavailable) {
  Start();
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FleetTest, ConcurrentFirstInvocationsShareOneLoad) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  source_.Hold();
  Outcome a, b, c;
  fleet_->Invoke(Request("hello"), a.Callback());
  fleet_->Invoke(Request("hello"), b.Callback());
  fleet_->Invoke(Request("hello"), c.Callback());
  source_.Release();

  v1::SchedulerFrame load = Expect(worker, v1::SchedulerFrame::kLoad);
  EXPECT_EQ(load.load().function().function(), "hello");
  EXPECT_EQ(load.load().snapshot(), absl::StrCat("snapshot of hello for ", kFingerprint));
  EXPECT_EQ(load.load().secrets().at("TOKEN"), "s3cret");
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id());
  worker.LoadOk(Ref("hello"));
  EXPECT_EQ(source_.calls(), 1);

  // A later invocation goes straight to the loaded worker.
  Outcome d;
  fleet_->Invoke(Request("hello"), d.Callback());
  ids.push_back(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id());
  EXPECT_EQ(source_.calls(), 1);

  // Answers in any order reach their own callers.
  worker.Answer(ids[2], "c");
  worker.Answer(ids[0], "a");
  worker.Answer(ids[3], "d");
  worker.Answer(ids[1], "b");
  EXPECT_EQ((*a.Wait())->result.http().body(), "a");
  EXPECT_EQ((*b.Wait())->result.http().body(), "b");
  EXPECT_EQ((*c.Wait())->result.http().body(), "c");
  EXPECT_EQ((*d.Wait())->result.http().body(), "d");
  EXPECT_EQ((*d.Wait())->worker_id, "w1");
}

TEST_F(FleetTest, FramesQueuedTogetherTravelAsOneBatchBothWays) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome first;
  fleet_->Invoke(Request("hello"), first.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  uint64_t first_id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();

  // While the stream is stalled, invocations queue; they leave as one batch.
  worker.stream().Stall(true);
  std::vector<Outcome> outcomes(4);
  for (Outcome& outcome : outcomes) fleet_->Invoke(Request("hello"), outcome.Callback());
  absl::SleepFor(absl::Milliseconds(50));
  const int batches_before = worker.stream().batches();
  worker.stream().Stall(false);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id());
  }
  EXPECT_GT(worker.stream().batches(), batches_before);

  // The worker answers all five in one batch frame; each reaches its caller.
  v1::WorkerFrame batch;
  for (size_t i = 0; i <= ids.size(); ++i) {
    v1::WorkerFrame* answer = batch.mutable_batch()->add_frames();
    answer->mutable_result()->set_invocation_id(i == 0 ? first_id : ids[i - 1]);
    answer->mutable_result()->mutable_result()->mutable_http()->set_status(200);
    answer->mutable_result()->mutable_result()->mutable_http()->set_body(absl::StrCat("r", i));
  }
  // A nested batch is ignored, not followed.
  v1::WorkerFrame* nested = batch.mutable_batch()->add_frames();
  nested->mutable_batch()->add_frames()->mutable_result()->set_invocation_id(999);
  worker.stream().Send(batch);
  EXPECT_EQ((*first.Wait())->result.http().body(), "r0");
  for (size_t i = 0; i < outcomes.size(); ++i) {
    EXPECT_EQ((*outcomes[i].Wait())->result.http().body(), absl::StrCat("r", i + 1));
  }
}

TEST_F(FleetTest, InvocationsQueuedInOneLoopTurnLeaveInOneMessage) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome first;
  fleet_->Invoke(Request("hello"), first.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  Expect(worker, v1::SchedulerFrame::kInvoke);
  absl::SleepFor(absl::Milliseconds(20));  // the stream is idle: no write outstanding

  // As the gateway's loop does around a turn's callbacks.
  const int batches_before = worker.stream().batches();
  std::vector<Outcome> outcomes(3);
  TurnBatch::Begin();
  for (Outcome& outcome : outcomes) fleet_->Invoke(Request("hello"), outcome.Callback());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(worker.stream().Next(absl::ZeroDuration()).has_value());  // held for the turn
  TurnBatch::End();
  for (int i = 0; i < 3; ++i) Expect(worker, v1::SchedulerFrame::kInvoke);
  EXPECT_EQ(worker.stream().batches(), batches_before + 1);

  // Outside a turn, a frame leaves at once.
  Outcome alone;
  fleet_->Invoke(Request("hello"), alone.Callback());
  Expect(worker, v1::SchedulerFrame::kInvoke);
  EXPECT_EQ(worker.stream().batches(), batches_before + 1);

  worker.stream().Close();  // every invocation ends (worker lost) before the outcomes go
  first.Wait();
  alone.Wait();
  for (Outcome& outcome : outcomes) outcome.Wait();
}

TEST_F(FleetTest, WritesThatCompleteInsideStartWriteKeepOrderAndBatches) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  worker.stream().CompleteWritesInline();
  Outcome first;
  fleet_->Invoke(Request("hello"), first.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  const uint64_t first_id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  std::vector<Outcome> outcomes(3);
  TurnBatch::Begin();
  for (Outcome& outcome : outcomes) fleet_->Invoke(Request("hello"), outcome.Callback());
  TurnBatch::End();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id());
  EXPECT_TRUE(ids[0] < ids[1] && ids[1] < ids[2]);
  worker.Answer(first_id, "a");
  for (uint64_t id : ids) worker.Answer(id, "b");
  EXPECT_EQ((*first.Wait())->result.http().body(), "a");
  for (Outcome& outcome : outcomes) EXPECT_EQ((*outcome.Wait())->result.http().body(), "b");
}

TEST_F(FleetTest, AStreamThatEndsWhileItsWriteWaitsForTheTurnsEndIsReleased) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome first;
  fleet_->Invoke(Request("hello"), first.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  Expect(worker, v1::SchedulerFrame::kInvoke);
  absl::SleepFor(absl::Milliseconds(20));  // no write outstanding

  Outcome deferred;
  TurnBatch::Begin();
  fleet_->Invoke(Request("hello"), deferred.Callback());  // its write waits for End
  worker.stream().Close();                                  // the worker dies meanwhile
  absl::SleepFor(absl::Milliseconds(50));                   // its reads end; Kill retries
  EXPECT_FALSE(worker.Served(absl::ZeroDuration()).has_value());  // held by the deferred write
  TurnBatch::End();
  std::optional<absl::Status> served = worker.Served();
  ASSERT_TRUE(served.has_value());
  EXPECT_TRUE(served->ok()) << *served;
  std::optional<absl::StatusOr<InvocationReply>> lost = first.Wait();
  ASSERT_TRUE(lost.has_value() && lost->ok());
  EXPECT_EQ((*lost)->result.error().kind(), v1::InvocationError::WORKER_LOST);
  std::optional<absl::StatusOr<InvocationReply>> retried = deferred.Wait();
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->status().code(), absl::StatusCode::kUnavailable);  // never dispatched; no worker left
}

TEST_F(FleetTest, AWorkerConnectingDuringShutdownIsToldWhyNotCancelled) {
  Start();
  fleet_->Stop();
  workers_.push_back(std::make_unique<FakeWorker>(*fleet_, "late"));
  std::optional<absl::Status> served = workers_.back()->Served();
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(served->message(), HasSubstr("shutting down"));
  EXPECT_FALSE(workers_.back()->stream().cancelled());
}

// Collects a streamed body the Fleet relays.
class BodyCollector final : public ResponseBodySink {
 public:
  void OnData(std::string data) override {
    absl::MutexLock lock(&mu_);
    body_ += data;
  }
  void OnEnd(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    end_ = std::move(status);
  }
  std::optional<absl::Status> WaitForEnd() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](BodyCollector* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
                               return c->end_.has_value();
                             },
                             this),
                         absl::Seconds(5));
    return end_;
  }
  std::string body() {
    absl::MutexLock lock(&mu_);
    return body_;
  }

 private:
  absl::Mutex mu_;
  std::string body_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
};

v1::WorkerFrame Chunk(uint64_t id, const std::string& data, bool last = false, const std::string& error = "") {
  v1::WorkerFrame frame;
  frame.mutable_response_body()->set_invocation_id(id);
  frame.mutable_response_body()->set_data(data);
  frame.mutable_response_body()->set_last(last);
  frame.mutable_response_body()->set_error(error);
  return frame;
}

v1::WorkerFrame StreamedHead(uint64_t id) {
  v1::WorkerFrame frame;
  frame.mutable_result()->set_invocation_id(id);
  frame.mutable_result()->mutable_result()->mutable_http()->set_status(200);
  frame.mutable_result()->mutable_result()->mutable_http()->set_body_streamed(true);
  return frame;
}

TEST_F(FleetTest, AStreamedBodyIsRelayedWithCreditAndCancel) {
  Start();
  FakeWorker& worker = AddWorker("w1", /*max_concurrency=*/1);
  auto body = std::make_shared<BodyCollector>();
  InvocationRequest request = Request("hello");
  request.body = body;
  request.stream_window_bytes = 4096;
  request.cancellable = true;
  Outcome head;
  fleet_->Invoke(std::move(request), head.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  v1::SchedulerFrame invoke = Expect(worker, v1::SchedulerFrame::kInvoke);
  EXPECT_EQ(invoke.invoke().stream_window_bytes(), 4096u);
  const uint64_t id = invoke.invoke().invocation_id();
  worker.stream().Send(StreamedHead(id));
  auto reply = head.Wait();
  ASSERT_TRUE(reply.has_value() && reply->ok());
  EXPECT_TRUE((*reply)->result.http().body_streamed());

  worker.stream().Send(Chunk(id, "abc"));
  worker.stream().Send(Chunk(id, "def"));
  // Credit and Cancel reach the worker running it, by request id.
  fleet_->Credit("req-hello", 6);
  v1::SchedulerFrame credit = Expect(worker, v1::SchedulerFrame::kBodyCredit);
  EXPECT_EQ(credit.body_credit().invocation_id(), id);
  EXPECT_EQ(credit.body_credit().bytes(), 6u);
  fleet_->Cancel("req-hello");
  EXPECT_EQ(Expect(worker, v1::SchedulerFrame::kCancel).cancel().invocation_id(), id);

  // While the body streams, the invocation holds its worker's slot.
  Outcome other;
  fleet_->Invoke(Request("hello"), other.Callback());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(other.done());  // refused: the only worker is at its cap
  worker.stream().Send(Chunk(id, "", /*last=*/true, "cancelled: the client went away"));
  std::optional<absl::Status> end = body->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->code(), absl::StatusCode::kAborted);
  EXPECT_EQ(body->body(), "abcdef");
  // Done: no more credit or cancel frames for it.
  fleet_->Credit("req-hello", 1);
  fleet_->Cancel("req-hello");
  Outcome after;
  fleet_->Invoke(Request("hello"), after.Callback());
  const uint64_t next = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  worker.Answer(next, "ok");
  EXPECT_EQ((*after.Wait())->result.http().body(), "ok");
}

TEST_F(FleetTest, AWorkerLostMidBodyEndsItUnavailable) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  auto body = std::make_shared<BodyCollector>();
  InvocationRequest request = Request("hello");
  request.body = body;
  Outcome head;
  fleet_->Invoke(std::move(request), head.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  const uint64_t id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  worker.stream().Send(StreamedHead(id));
  worker.stream().Send(Chunk(id, "partial"));
  ASSERT_TRUE(head.Wait().has_value());
  worker.stream().Close();
  std::optional<absl::Status> end = body->WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(body->body(), "partial");
}

TEST_F(FleetTest, ACancelledInvocationIsNotDispatchedAgain) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  InvocationRequest request = Request("hello");
  request.cancellable = true;
  Outcome outcome;
  fleet_->Invoke(std::move(request), outcome.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.LoadOk(Ref("hello"));
  const uint64_t id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  fleet_->Cancel("req-hello");
  Expect(worker, v1::SchedulerFrame::kCancel);
  // The worker had dropped the version: normally a reason to dispatch again.
  v1::WorkerFrame not_found;
  not_found.mutable_result()->set_invocation_id(id);
  not_found.mutable_result()->mutable_result()->mutable_error()->set_kind(v1::InvocationError::NOT_FOUND);
  worker.stream().Send(not_found);
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(worker.stream().Next(absl::Milliseconds(200)).has_value());  // no second Invoke
}

TEST_F(FleetTest, AStreamedHeadNobodyWaitsForIsCancelled) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  worker.stream().Send(StreamedHead(4242));  // an invocation the fleet does not know
  v1::SchedulerFrame cancel = Expect(worker, v1::SchedulerFrame::kCancel);
  EXPECT_EQ(cancel.cancel().invocation_id(), 4242u);
}

TEST_F(FleetTest, CancelBeforeTheLoadFailsTheInvocationAtOnce) {
  Start();
  AddWorker("w1");
  source_.Hold();
  InvocationRequest request = Request("hello");
  request.cancellable = true;
  Outcome outcome;
  fleet_->Invoke(std::move(request), outcome.Callback());
  absl::SleepFor(absl::Milliseconds(20));
  fleet_->Cancel("req-hello");
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kCancelled);
  source_.Release();
}

TEST_F(FleetTest, WarmAffinityAndSpill) {
  Start({.placement = {.spill_utilization = 0.5}});
  FakeWorker& w1 = AddWorker("w1", 4);
  FakeWorker& w2 = AddWorker("w2", 4);
  Outcome first;
  fleet_->Invoke(Request("hello"), first.Callback());
  Expect(w1, v1::SchedulerFrame::kLoad);  // cold tie: the longest-connected worker
  uint64_t id1 = Expect(w1, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  // Warm (1 of 4 busy): stays on w1.
  Outcome second;
  fleet_->Invoke(Request("hello"), second.Callback());
  uint64_t id2 = Expect(w1, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  // w1 now at 2 of 4: spills to the idle w2, which loads it.
  Outcome third;
  fleet_->Invoke(Request("hello"), third.Callback());
  Expect(w2, v1::SchedulerFrame::kLoad);
  uint64_t id3 = Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  w1.Answer(id1, "1");
  w1.Answer(id2, "2");
  w2.Answer(id3, "3");
  EXPECT_EQ((*third.Wait())->worker_id, "w2");
  EXPECT_EQ((*first.Wait())->worker_id, "w1");
  EXPECT_TRUE(second.Wait().has_value());
}

TEST_F(FleetTest, TheConcurrencyCapIsRespected) {
  Start();
  FakeWorker& worker = AddWorker("w1", /*max_concurrency=*/1);
  Outcome a, b;
  fleet_->Invoke(Request("hello"), a.Callback());
  fleet_->Invoke(Request("hello"), b.Callback());
  auto refused = b.Wait();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused->status().message(), HasSubstr("concurrency cap"));
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.Answer(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "a");
  EXPECT_TRUE((*a.Wait()).ok());
  // The slot is free again.
  Outcome c;
  fleet_->Invoke(Request("hello"), c.Callback());
  worker.Answer(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "c");
  EXPECT_TRUE((*c.Wait()).ok());
}

TEST_F(FleetTest, ADeadWorkersDispatchedInvocationsFailFastAndAreNotRerun) {
  Start();
  FakeWorker& w1 = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(w1, v1::SchedulerFrame::kLoad);
  Expect(w1, v1::SchedulerFrame::kInvoke);
  FakeWorker& w2 = AddWorker("w2");
  const absl::Time killed = absl::Now();
  w1.stream().Close();
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_LT(absl::Now() - killed, absl::Seconds(1));
  ASSERT_TRUE(reply->ok());
  EXPECT_EQ((*reply)->result.error().kind(), v1::InvocationError::WORKER_LOST);
  EXPECT_THAT((*reply)->result.error().message(), HasSubstr("w1 was lost"));
  // Not re-run elsewhere; the next invocation runs on w2.
  EXPECT_FALSE(w2.stream().Next(absl::Milliseconds(100)).has_value());
  Outcome next;
  fleet_->Invoke(Request("hello"), next.Callback());
  Expect(w2, v1::SchedulerFrame::kLoad);
  w2.Answer(Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "again");
  EXPECT_EQ((*next.Wait())->result.http().body(), "again");
}

TEST_F(FleetTest, InvocationsThatNeverLeftTheSchedulerAreRetriedElsewhere) {
  Start();
  FakeWorker& w1 = AddWorker("w1");
  // w1 stops reading: its writer blocks on the first frame (the load); the
  // invocations behind it stay queued in the scheduler.
  w1.stream().Stall(true);
  Outcome a, b;
  fleet_->Invoke(Request("hello"), a.Callback());
  fleet_->Invoke(Request("hello"), b.Callback());
  absl::SleepFor(absl::Milliseconds(50));
  FakeWorker& w2 = AddWorker("w2");
  w1.stream().Close();
  w1.stream().Break();  // fails the stalled write, as a broken connection does
  Expect(w2, v1::SchedulerFrame::kLoad);
  uint64_t x = Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  uint64_t y = Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  w2.Answer(x, "x");
  w2.Answer(y, "y");
  ASSERT_TRUE(a.Wait().has_value());
  ASSERT_TRUE(b.Wait().has_value());
  EXPECT_EQ((*a.Wait())->worker_id, "w2");
  EXPECT_EQ((*b.Wait())->worker_id, "w2");
}

TEST_F(FleetTest, AStalledWorkerDoesNotStallTheOthers) {
  Start();
  FakeWorker& slow = AddWorker("slow", /*max_concurrency=*/1);
  FakeWorker& fast = AddWorker("fast");
  slow.stream().Stall(true);
  Outcome stuck;
  fleet_->Invoke(Request("hello"), stuck.Callback());  // goes to `slow` (first connected)
  absl::SleepFor(absl::Milliseconds(20));
  for (int i = 0; i < 5; ++i) {
    Outcome outcome;
    fleet_->Invoke(Request("other"), outcome.Callback());
    if (i == 0) Expect(fast, v1::SchedulerFrame::kLoad);
    fast.Answer(Expect(fast, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "ok");
    auto reply = outcome.Wait(absl::Seconds(1));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ((*reply)->worker_id, "fast");
  }
  EXPECT_FALSE(stuck.done());
  slow.stream().Stall(false);
}

TEST_F(FleetTest, ASilentWorkerIsDeadAfterThreeHeartbeats) {
  Start({.heartbeat_interval = absl::Milliseconds(50), .missed_heartbeats = 3});
  FakeWorker& worker = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  Expect(worker, v1::SchedulerFrame::kInvoke);
  // Heartbeats keep it alive...
  for (int i = 0; i < 6; ++i) {
    worker.Heartbeat();
    absl::SleepFor(absl::Milliseconds(40));
  }
  EXPECT_FALSE(outcome.done());
  EXPECT_EQ(fleet_->Workers().size(), 1u);
  // ...silence kills it.
  const absl::Time silent = absl::Now();
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  const absl::Duration took = absl::Now() - silent;
  EXPECT_GE(took, absl::Milliseconds(100));
  EXPECT_LT(took, absl::Milliseconds(400));
  EXPECT_EQ((*reply)->result.error().kind(), v1::InvocationError::WORKER_LOST);
  EXPECT_THAT((*reply)->result.error().message(), HasSubstr("silent for 3 heartbeats"));
  EXPECT_TRUE(worker.stream().cancelled());
  EXPECT_TRUE(fleet_->Workers().empty());
}

TEST_F(FleetTest, ADrainingWorkersRefusalIsRetriedElsewhere) {
  Start();
  FakeWorker& w1 = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(w1, v1::SchedulerFrame::kLoad);
  uint64_t id = Expect(w1, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  FakeWorker& w2 = AddWorker("w2");
  v1::WorkerFrame refusal;
  refusal.mutable_result()->set_invocation_id(id);
  refusal.mutable_result()->mutable_result()->mutable_error()->set_kind(
      v1::InvocationError::UNAVAILABLE);
  refusal.mutable_result()->mutable_result()->mutable_error()->set_message(
      "the worker is draining");
  w1.stream().Send(refusal);
  // It never ran on w1, so it runs on w2; w1 takes nothing more.
  Expect(w2, v1::SchedulerFrame::kLoad);
  w2.Answer(Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "ran");
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)->result.http().body(), "ran");
  EXPECT_TRUE(fleet_->Workers()[0].draining);
}

TEST_F(FleetTest, AFailedLoadIsReportedWithTheWorkersReason) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  uint64_t id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  worker.LoadOk(Ref("hello"), "snapshot was built for runtime other");
  v1::WorkerFrame not_found;
  not_found.mutable_result()->set_invocation_id(id);
  not_found.mutable_result()->mutable_result()->mutable_error()->set_kind(
      v1::InvocationError::NOT_FOUND);
  worker.stream().Send(not_found);
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(reply->status().message(), HasSubstr("snapshot was built for runtime other"));
}

TEST_F(FleetTest, SourceErrorsReachTheCaller) {
  Start();
  AddWorker("w1");
  source_.Fail(absl::NotFoundError("hello has no version 7"));
  Outcome outcome;
  fleet_->Invoke(Request("hello", 7), outcome.Callback());
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FleetTest, AVersionOfAnotherRuntimeIsNotPlaced) {
  Start();
  AddWorker("w1");
  InvocationRequest request = Request("hello");
  request.fingerprint = "kiln1-v8-old";
  Outcome outcome;
  fleet_->Invoke(request, outcome.Callback());
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply->status().message(), HasSubstr("deploy it again"));
}

TEST_F(FleetTest, LogsOnlyFromVersionsTheWorkerHolds) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  uint64_t id = Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id();
  v1::WorkerFrame batch;
  v1::LogEntry* mine = batch.mutable_logs()->add_entries();
  mine->set_tenant("acme");
  mine->set_function("hello");
  mine->set_version(1);
  mine->set_message("mine");
  v1::LogEntry* forged = batch.mutable_logs()->add_entries();
  forged->set_tenant("victim");
  forged->set_function("hello");
  forged->set_version(1);
  forged->set_message("forged");
  worker.stream().Send(batch);
  worker.Answer(id, "ok");
  ASSERT_TRUE(outcome.Wait().has_value());
  std::vector<v1::LogEntry> entries = logs_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].message(), "mine");
}

TEST_F(FleetTest, BuildsPreferBuildOnlyWorkersAndMoveOnWhenOneCannotBuild) {
  Start({.build_only = [](absl::string_view id) { return id == "builder"; }});
  FakeWorker& serving = AddWorker("serving");
  FakeWorker& builder = AddWorker("builder");
  std::thread answer([&] {
    v1::SchedulerFrame frame = Expect(builder, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame result;
    result.mutable_build_result()->set_build_id(frame.build().build_id());
    result.mutable_build_result()->set_snapshot("blob");
    result.mutable_build_result()->set_runtime_fingerprint(kFingerprint);
    builder.stream().Send(result);
  });
  v1::BuildSnapshot build;
  build.mutable_bundle()->set_main_module("index.js");
  absl::StatusOr<v1::BuildResult> built = fleet_->Build(build, absl::Seconds(5));
  answer.join();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->snapshot(), "blob");
  EXPECT_FALSE(serving.stream().Next(absl::Milliseconds(50)).has_value());

  // Build-only workers never take invocations.
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(serving, v1::SchedulerFrame::kLoad);
  serving.Answer(Expect(serving, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "ok");
  EXPECT_EQ((*outcome.Wait())->worker_id, "serving");
}

TEST_F(FleetTest, ABuildRefusedForLiveIsolatesMovesToAnotherWorker) {
  Start();
  FakeWorker& w1 = AddWorker("w1", /*max_concurrency=*/1);
  FakeWorker& w2 = AddWorker("w2", /*max_concurrency=*/1);
  // Both hold a function (w1 is at its cap when the second arrives).
  Outcome a, b;
  fleet_->Invoke(Request("hello"), a.Callback());
  fleet_->Invoke(Request("hello"), b.Callback());
  Expect(w1, v1::SchedulerFrame::kLoad);
  w1.Answer(Expect(w1, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "a");
  Expect(w2, v1::SchedulerFrame::kLoad);
  w2.Answer(Expect(w2, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "b");
  ASSERT_TRUE(a.Wait().has_value());
  ASSERT_TRUE(b.Wait().has_value());
  // w1 is asked first and answers that it cannot build; w2 is tried next.
  std::thread answer([&] {
    v1::SchedulerFrame frame = Expect(w1, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame refused;
    refused.mutable_build_result()->set_build_id(frame.build().build_id());
    refused.mutable_build_result()->set_error(
        "a snapshot build must run in a process with no other isolate (use a builder process)");
    w1.stream().Send(refused);
    frame = Expect(w2, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame result;
    result.mutable_build_result()->set_build_id(frame.build().build_id());
    result.mutable_build_result()->set_snapshot("blob");
    w2.stream().Send(result);
  });
  absl::StatusOr<v1::BuildResult> built = fleet_->Build(v1::BuildSnapshot(), absl::Seconds(5));
  answer.join();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->snapshot(), "blob");

  // Next time w1 is not asked; when w2 refuses too, the deploy hears why at once.
  std::thread refuse([&] {
    v1::SchedulerFrame frame = Expect(w2, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame refused;
    refused.mutable_build_result()->set_build_id(frame.build().build_id());
    refused.mutable_build_result()->set_error(
        "a snapshot build must run in a process with no other isolate (use a builder process)");
    w2.stream().Send(refused);
  });
  const absl::Time start = absl::Now();
  built = fleet_->Build(v1::BuildSnapshot(), absl::Seconds(30));
  refuse.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(built.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(built.status().message(), HasSubstr("run a build-only worker"));
  EXPECT_FALSE(w1.stream().Next(absl::Milliseconds(20)).has_value());
}

TEST_F(FleetTest, ABuildOnlyWorkerStillWarmingUpIsAskedAgain) {
  Start({.build_only = [](absl::string_view id) { return id == "builder"; }});
  FakeWorker& builder = AddWorker("builder");
  AddWorker("serving");
  std::thread answer([&] {
    v1::SchedulerFrame frame = Expect(builder, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame refused;
    refused.mutable_build_result()->set_build_id(frame.build().build_id());
    refused.mutable_build_result()->set_error(
        "a snapshot build must run in a process with no other isolate (use a builder process)");
    builder.stream().Send(refused);
    frame = Expect(builder, v1::SchedulerFrame::kBuild);
    v1::WorkerFrame result;
    result.mutable_build_result()->set_build_id(frame.build().build_id());
    result.mutable_build_result()->set_snapshot("blob");
    builder.stream().Send(result);
  });
  absl::StatusOr<v1::BuildResult> built = fleet_->Build(v1::BuildSnapshot(), absl::Seconds(5));
  answer.join();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->snapshot(), "blob");
}

TEST_F(FleetTest, BuildWaitsForAWorkerThenTimesOut) {
  Start();
  absl::StatusOr<v1::BuildResult> built =
      fleet_->Build(v1::BuildSnapshot(), absl::Milliseconds(100));
  EXPECT_EQ(built.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FleetTest, OversizedBundlesAreRefusedBeforeTheWorkerSeesThem) {
  Start({.max_frame_bytes = 1024});
  FakeWorker& worker = AddWorker("w1");
  v1::BuildSnapshot build;
  build.mutable_bundle()->add_files()->set_content(std::string(4096, 'x'));
  absl::StatusOr<v1::BuildResult> built = fleet_->Build(build, absl::Seconds(1));
  EXPECT_EQ(built.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(worker.stream().Next(absl::Milliseconds(50)).has_value());
}

TEST_F(FleetTest, OversizedRequestsAreRefusedBeforeTheWorkerSeesThem) {
  Start({.max_frame_bytes = 4096});
  FakeWorker& worker = AddWorker("w1");
  InvocationRequest request = Request("hello");
  request.event.mutable_http()->set_body(std::string(8192, 'x'));
  Outcome outcome;
  fleet_->Invoke(request, outcome.Callback());
  auto reply = outcome.Wait();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(worker.stream().Next(absl::Milliseconds(50)).has_value());
}

TEST_F(FleetTest, DrainSendsDrainWaitsForStreamsAndRefusesNewWork) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  std::thread closer([&] {
    v1::SchedulerFrame frame = Expect(worker, v1::SchedulerFrame::kDrain);
    EXPECT_EQ(frame.drain().deadline_ms(), 2000u);
    worker.stream().Close();
  });
  const absl::Time start = absl::Now();
  fleet_->Drain(absl::Seconds(2));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  closer.join();
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  EXPECT_EQ((*outcome.Wait()).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FleetTest, UnloadFunctionUnloadsIdleVersions) {
  Start();
  FakeWorker& worker = AddWorker("w1");
  Outcome outcome;
  fleet_->Invoke(Request("hello"), outcome.Callback());
  Expect(worker, v1::SchedulerFrame::kLoad);
  worker.Answer(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "ok");
  ASSERT_TRUE(outcome.Wait().has_value());
  fleet_->UnloadFunction("acme", "hello");
  v1::SchedulerFrame unload = Expect(worker, v1::SchedulerFrame::kUnload);
  EXPECT_EQ(unload.unload().function().function(), "hello");
  EXPECT_EQ(fleet_->Workers()[0].loaded_versions, 0u);
}

TEST_F(FleetTest, LeastRecentlyUsedVersionsAreUnloadedPastTheLimit) {
  Start({.max_loaded_versions = 2});
  FakeWorker& worker = AddWorker("w1");
  for (uint64_t v = 1; v <= 3; ++v) {
    Outcome outcome;
    fleet_->Invoke(Request("hello", v), outcome.Callback());
    if (v == 3) {
      v1::SchedulerFrame unload = Expect(worker, v1::SchedulerFrame::kUnload);
      EXPECT_EQ(unload.unload().function().version(), 1u);
    }
    Expect(worker, v1::SchedulerFrame::kLoad);
    worker.Answer(Expect(worker, v1::SchedulerFrame::kInvoke).invoke().invocation_id(), "ok");
    ASSERT_TRUE(outcome.Wait().has_value());
  }
  EXPECT_EQ(fleet_->Workers()[0].loaded_versions, 2u);
}

}  // namespace
}  // namespace kiln::scheduler
