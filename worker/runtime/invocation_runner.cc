// InvocationRunner: the turn loop of one invocation.
#include "worker/runtime/invocation_runner.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::worker::internal {
namespace {

struct TimerData {
  InvocationRunner* runner;
  uint32_t id;
};

void CloseTimer(uv_timer_t* timer) {
  uv_timer_stop(timer);
  delete static_cast<TimerData*>(timer->data);
  timer->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

// Runners alive on this executor thread, and those with an id by id.
// (Flat tables: no allocation per runner once they have grown.)
thread_local absl::flat_hash_set<InvocationRunner*>* live_runners = nullptr;
thread_local absl::flat_hash_map<uint64_t, InvocationRunner*>* runners_by_id = nullptr;

// Body chunks are handed over in pieces of up to this size.
constexpr size_t kBodyChunkBytes = 64 << 10;

}  // namespace

void InvocationRunner::Cancel(uint64_t id) {
  if (runners_by_id == nullptr) return;
  auto it = runners_by_id->find(id);
  if (it == runners_by_id->end()) return;
  InvocationRunner* runner = it->second;
  // Answered in full already (ctx.waitUntil() work may run): a cancel that
  // crossed the answer on its way has nothing left to stop.
  if (runner->phase_ == Phase::kFinished || runner->phase_ == Phase::kWaitUntil) return;
  // Between turns here (this is the executor's thread): no JavaScript runs.
  runner->lease_.isolate->Terminate(Breach::kCancelled);
  InvocationOutcome outcome;
  outcome.status = InvocationOutcome::Status::kCancelled;
  outcome.breach = Breach::kCancelled;
  outcome.error = BreachMessage(Breach::kCancelled);
  // A result already known (held while waitUntil work is checked) still
  // reaches its caller in Finish(); otherwise the caller hears of the cancel.
  if (runner->phase_ == Phase::kHandler) runner->Deliver(std::move(outcome));
  runner->EndBody(BreachMessage(Breach::kCancelled));
  runner->Log(LogLevel::kWarn, "invocation cancelled: the client went away");
  runner->Finish();
}

void InvocationRunner::GrantCredit(uint64_t id, size_t bytes) {
  if (runners_by_id == nullptr) return;
  auto it = runners_by_id->find(id);
  if (it == runners_by_id->end()) return;
  InvocationRunner* runner = it->second;
  const bool was_blocked = runner->credit_ <= 0;
  runner->credit_ += static_cast<double>(bytes);
  if (runner->phase_ == Phase::kBody && was_blocked && runner->credit_ > 0) {
    const double credit = runner->credit_;
    runner->RunTurn([credit](js::JsIsolate& isolate) { return isolate.AddBodyCredit(credit); });
  }
}

void InvocationRunner::AbortAll() {
  if (live_runners == nullptr) return;
  std::vector<InvocationRunner*> runners(live_runners->begin(), live_runners->end());
  for (InvocationRunner* runner : runners) {
    InvocationOutcome outcome;
    outcome.status = InvocationOutcome::Status::kUnavailable;
    outcome.error = "the worker shut down before the invocation finished";
    runner->Deliver(std::move(outcome));
    runner->EndBody("the worker shut down before the response body was complete");
    if (runner->lease_.isolate != nullptr) {
      runner->Finish();
    } else {
      delete runner;
    }
  }
}

void InvocationRunner::Start(Executor& executor, IsolatePool& pool, LogSink* logs, FunctionKey key,
                             InvocationEvent event, std::string request_id, Done done,
                             InvokeOptions options, absl::AnyInvocable<void()> finished) {
  auto* runner = new InvocationRunner(executor, pool, logs, std::move(key), std::move(event),
                                      std::move(request_id), std::move(done), std::move(options),
                                      std::move(finished));
  runner->Begin();
}

InvocationRunner::InvocationRunner(Executor& executor, IsolatePool& pool, LogSink* logs,
                                   FunctionKey key, InvocationEvent event, std::string request_id,
                                   Done done, InvokeOptions options,
                                   absl::AnyInvocable<void()> finished)
    : executor_(executor),
      pool_(pool),
      logs_(logs),
      key_(std::move(key)),
      event_(std::move(event)),
      request_id_(std::move(request_id)),
      done_(std::move(done)),
      started_(absl::Now()),
      options_(std::move(options)),
      finished_(std::move(finished)) {
  credit_ = static_cast<double>(options_.initial_credit);
  if (auto* http = std::get_if<HttpRequest>(&event_)) http->stream_response = options_.body != nullptr;
  executor_.load()++;
  if (live_runners == nullptr) live_runners = new absl::flat_hash_set<InvocationRunner*>();
  live_runners->insert(this);
  if (options_.id != 0) {
    if (runners_by_id == nullptr) runners_by_id = new absl::flat_hash_map<uint64_t, InvocationRunner*>();
    (*runners_by_id)[options_.id] = this;
  }
}

InvocationRunner::~InvocationRunner() {
  executor_.load()--;
  live_runners->erase(this);
  if (options_.id != 0) {
    // A retried invocation may reuse the id on this executor: erase ours only.
    auto it = runners_by_id->find(options_.id);
    if (it != runners_by_id->end() && it->second == this) runners_by_id->erase(it);
  }
  if (finished_) finished_();
}

absl::StatusOr<double> InvocationRunner::WriteBody(absl::Span<const uint8_t> chunk) {
  if (phase_ != Phase::kBody) return js::JsHost::WriteBody(chunk);
  body_buffer_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  credit_ -= static_cast<double>(chunk.size());
  if (body_buffer_.size() >= kBodyChunkBytes) FlushBody();
  return credit_;
}

void InvocationRunner::FlushBody() {
  if (body_buffer_.empty() || options_.body == nullptr) return;
  // Pieces of at most kBodyChunkBytes: each becomes one frame on the worker's
  // stream, which must stay far below its message limit.
  for (size_t offset = 0; offset < body_buffer_.size(); offset += kBodyChunkBytes) {
    options_.body->Write(body_buffer_.substr(offset, kBodyChunkBytes));
  }
  body_buffer_.clear();
}

void InvocationRunner::EndBody(std::string error) {
  // Only a body whose head went out streamed has an end to report.
  if (options_.body == nullptr || phase_ != Phase::kBody) return;
  if (error.empty()) FlushBody();
  body_buffer_.clear();
  std::unique_ptr<ResponseBodyWriter> body = std::move(options_.body);
  body->End(std::move(error));
}

void InvocationRunner::Begin() {
  absl::StatusOr<IsolatePool::Lease> lease = pool_.Acquire(key_);
  if (!lease.ok()) {
    InvocationOutcome outcome;
    outcome.status = lease.status().code() == absl::StatusCode::kNotFound
                         ? InvocationOutcome::Status::kNotFound
                         : InvocationOutcome::Status::kInternal;
    outcome.error = std::string(lease.status().message());
    Deliver(std::move(outcome));
    delete this;
    return;
  }
  lease_ = std::move(*lease);
  // Held until Finish(): the turns in between take V8's lock cheaply.
  lease_.isolate->Lock();
  // V8 may post tasks for the isolate from its own threads; run them here.
  Executor* executor = &executor_;
  InvocationRunner* self = this;
  lease_.isolate->SetTaskWaker([executor, self](double delay_seconds) {
    executor->Post([self, delay_seconds] {
      if (live_runners == nullptr || live_runners->count(self) == 0) return;
      if (delay_seconds <= 0) {
        self->OnPlatformTask();
        return;
      }
      auto* timer = new uv_timer_t;
      uv_timer_init(self->executor_.loop(), timer);
      timer->data = new TimerData{self, 0};
      self->platform_timers_.push_back(timer);
      uv_timer_start(
          timer,
          [](uv_timer_t* t) {
            InvocationRunner* runner = static_cast<TimerData*>(t->data)->runner;
            auto& timers = runner->platform_timers_;
            timers.erase(std::remove(timers.begin(), timers.end(), t), timers.end());
            CloseTimer(t);
            runner->OnPlatformTask();
          },
          static_cast<uint64_t>(delay_seconds * 1000) + 1, 0);
    });
  });
  StartDeadline(lease_.function->settings.limits.wall);
  RunTurn([this](js::JsIsolate& isolate) {
    if (auto* http = std::get_if<HttpRequest>(&event_)) return isolate.StartFetch(*http, this);
    if (auto* batch = std::get_if<QueueBatch>(&event_)) return isolate.StartQueue(*batch, this);
    return isolate.StartScheduled(std::get<ScheduledEvent>(event_), this);
  });
}

template <typename Turn>
void InvocationRunner::RunTurn(Turn turn) {
  const Limits& limits = lease_.function->settings.limits;
  Watchdog& watchdog = executor_.watchdog();
  // Only the first turn may be accounted approximately (see Watchdog), so an
  // invocation's CPU time is never off by more than Watchdog::kClockReuse.
  watchdog.BeginTurn(executor_.watchdog_slot(), lease_.isolate.get(), limits.cpu - cpu_used_,
                     deadline_, /*approximate=*/turns_ == 0);
  turns_++;
  js::TurnResult result = turn(*lease_.isolate);
  cpu_used_ += watchdog.EndTurn(executor_.watchdog_slot());
  if (phase_ == Phase::kBody) FlushBody();
  Handle(result);
}

void InvocationRunner::Handle(const js::TurnResult& result) {
  using State = js::TurnResult::State;
  switch (result.state) {
    case State::kWaiting:
      if (phase_ == Phase::kWaitUntil && outcome_.has_value()) Deliver(std::move(*outcome_));
      // A body pump out of credit waits for its caller, not for JavaScript.
      if (phase_ == Phase::kBody && credit_ <= 0) {
        ArmDeadline();
        return;
      }
      if (timers_.empty() && platform_timers_.empty() && !result.background_pending) {
        // Nothing can ever settle the promise: no timer is pending and the
        // runtime has no other source of events. Fail now rather than at the
        // wall limit (Cloudflare reports the same as a hung script).
        if (phase_ == Phase::kHandler) {
          InvocationOutcome outcome;
          outcome.status = InvocationOutcome::Status::kHung;
          outcome.error =
              "the handler's promise can never settle: it awaits something that nothing will "
              "resolve (no timers or I/O pending)";
          Log(LogLevel::kError, outcome.error);
          Deliver(std::move(outcome));
        } else if (phase_ == Phase::kBody) {
          const char* error =
              "the response body stream can never finish: it awaits something that nothing will "
              "resolve (no timers or I/O pending)";
          Log(LogLevel::kError, error);
          EndBody(error);
        } else {
          Log(LogLevel::kWarn, "a promise passed to ctx.waitUntil() can never settle");
        }
        Finish();
        return;
      }
      ArmDeadline();
      return;
    case State::kDone:
      if (phase_ == Phase::kHandler) {
        InvocationOutcome outcome;
        outcome.status = InvocationOutcome::Status::kOk;
        if (std::holds_alternative<HttpRequest>(event_)) outcome.http = lease_.isolate->TakeHttpResponse();
        if (std::holds_alternative<QueueBatch>(event_)) outcome.queue = lease_.isolate->TakeQueueOutcomes();
        if (outcome.http.body_streamed) {
          // The head goes out now; the body follows as it is produced.
          Deliver(std::move(outcome));
          phase_ = Phase::kBody;
          const double credit = credit_;
          RunTurn([credit](js::JsIsolate& isolate) { return isolate.StartBody(credit); });
          return;
        }
        outcome_ = std::move(outcome);
        EnterWaitUntil();
      } else if (phase_ == Phase::kBody) {
        EndBody("");
        EnterWaitUntil();
      } else {
        Finish();
      }
      return;
    case State::kThrew:
      if (phase_ == Phase::kHandler) {
        InvocationOutcome outcome;
        outcome.status = InvocationOutcome::Status::kException;
        outcome.error = result.error;
        outcome_ = std::move(outcome);
        EnterWaitUntil();
      } else if (phase_ == Phase::kBody) {
        EndBody(result.error.empty() ? "the response body stream failed" : result.error);
        EnterWaitUntil();
      } else {
        Finish();
      }
      return;
    case State::kBreached: {
      const char* what = BreachMessage(result.breach);
      if (phase_ == Phase::kHandler) {
        InvocationOutcome outcome;
        outcome.status = InvocationOutcome::Status::kBreach;
        outcome.breach = result.breach;
        outcome.error = what;
        Deliver(std::move(outcome));
      }
      EndBody(what);
      if (result.breach == Breach::kWall && phase_ != Phase::kHandler) {
        // The wall budget of a later phase ran out during a turn: the same
        // words as when it runs out between turns (OnDeadline).
        LogPhaseOutOfTime();
      } else {
        Log(LogLevel::kError, absl::StrCat("invocation stopped: ", what));
      }
      Finish();
      return;
    }
  }
}

void InvocationRunner::Deliver(InvocationOutcome outcome) {
  outcome_.reset();
  if (!done_) return;
  outcome.cpu = cpu_used_;
  outcome.wall = absl::Now() - started_;
  outcome.cold = lease_.cold;
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

void InvocationRunner::EnterWaitUntil() {
  if (phase_ == Phase::kBody && outcome_.has_value()) outcome_.reset();
  phase_ = Phase::kWaitUntil;
  if (!lease_.isolate->wait_until_added()) {
    // Nothing was passed to ctx.waitUntil(): no JavaScript to run, no budget.
    Handle(lease_.isolate->StartWaitUntil());
    return;
  }
  // Timers left over from the handler keep running only as part of
  // waitUntil work; the budget starts now.
  StartDeadline(lease_.function->settings.limits.wait_until);
  RunTurn([](js::JsIsolate& isolate) { return isolate.StartWaitUntil(); });
}

void InvocationRunner::Finish() {
  if (phase_ == Phase::kFinished) return;
  if (phase_ == Phase::kBody) EndBody("the invocation ended before its response body was complete");
  phase_ = Phase::kFinished;
  lease_.isolate->SetTaskWaker(nullptr);
  for (auto& [id, timer] : timers_) CloseTimer(timer);
  timers_.clear();
  for (uv_timer_t* timer : platform_timers_) CloseTimer(timer);
  platform_timers_.clear();
  if (deadline_timer_ != nullptr) {
    CloseTimer(deadline_timer_);
    deadline_timer_ = nullptr;
  }
  lease_.isolate->Finish();
  lease_.isolate->Unlock();
  bool cold = lease_.cold;
  pool_.Release(std::move(lease_));
  lease_.cold = cold;
  if (outcome_.has_value()) Deliver(std::move(*outcome_));
  // Finish() runs inside a turn's Handle() or a timer callback; the runner
  // is not touched again after either returns.
  delete this;
}

void InvocationRunner::StartDeadline(absl::Duration after) {
  deadline_ = absl::Now() + after;
  if (deadline_armed_) uv_timer_stop(deadline_timer_);
  deadline_armed_ = false;
}

void InvocationRunner::ArmDeadline() {
  if (deadline_armed_) return;
  if (deadline_timer_ == nullptr) {
    deadline_timer_ = new uv_timer_t;
    uv_timer_init(executor_.loop(), deadline_timer_);
    deadline_timer_->data = new TimerData{this, 0};
  }
  const absl::Duration left = std::max(deadline_ - absl::Now(), absl::ZeroDuration());
  uv_timer_start(
      deadline_timer_,
      [](uv_timer_t* timer) { static_cast<TimerData*>(timer->data)->runner->OnDeadline(); },
      static_cast<uint64_t>(absl::ToInt64Milliseconds(left)) + 1, 0);
  deadline_armed_ = true;
}

void InvocationRunner::OnDeadline() {
  // libuv measures timers from its cached loop time, which can lag the real
  // clock: a timer may fire a little before deadline_. Wait out the rest.
  if (const absl::Duration early = deadline_ - absl::Now(); early > absl::ZeroDuration()) {
    uv_timer_start(
        deadline_timer_,
        [](uv_timer_t* timer) { static_cast<TimerData*>(timer->data)->runner->OnDeadline(); },
        static_cast<uint64_t>(absl::ToInt64Milliseconds(early)) + 1, 0);
    return;
  }
  // Awaiting past the phase's wall budget (running past it is the
  // watchdog's job). The isolate still holds the pending work: condemn it.
  lease_.isolate->Terminate(Breach::kWall);
  EndBody(BreachMessage(Breach::kWall));
  if (phase_ == Phase::kHandler) {
    InvocationOutcome outcome;
    outcome.status = InvocationOutcome::Status::kBreach;
    outcome.breach = Breach::kWall;
    outcome.error = BreachMessage(Breach::kWall);
    Deliver(std::move(outcome));
    Log(LogLevel::kError, "invocation stopped: wall time limit exceeded");
  } else {
    LogPhaseOutOfTime();
  }
  Finish();
}

void InvocationRunner::LogPhaseOutOfTime() {
  if (phase_ == Phase::kBody) {
    Log(LogLevel::kError, "response body stopped: wall time limit exceeded");
  } else {
    Log(LogLevel::kWarn, "ctx.waitUntil() work cancelled: its time budget ran out");
  }
}

void InvocationRunner::OnTimer(uint32_t id) {
  auto found = timers_.find(id);
  if (found == timers_.end()) return;
  if (!uv_timer_get_repeat(found->second)) {
    CloseTimer(found->second);
    timers_.erase(found);
  }
  RunTurn([id](js::JsIsolate& isolate) { return isolate.FireTimer(id); });
}

void InvocationRunner::OnPlatformTask() {
  if (phase_ == Phase::kFinished) return;
  RunTurn([](js::JsIsolate& isolate) { return isolate.RunPlatformTasks(); });
}

void InvocationRunner::Log(LogLevel level, absl::string_view message) {
  if (logs_ == nullptr) return;
  LogLine line;
  line.timestamp_ms = absl::ToUnixMillis(absl::Now());
  line.level = level;
  line.message = std::string(message);
  line.request_id = request_id_;
  line.function = key_;
  line.cold = lease_.cold;
  logs_->OnLog(std::move(line));
}

absl::Status InvocationRunner::SetTimer(uint32_t id, double delay_ms, bool repeat) {
  if (phase_ == Phase::kFinished) return absl::FailedPreconditionError("the invocation has ended");
  auto* timer = new uv_timer_t;
  uv_timer_init(executor_.loop(), timer);
  timer->data = new TimerData{this, id};
  uint64_t delay = static_cast<uint64_t>(delay_ms);
  uv_timer_start(
      timer,
      [](uv_timer_t* t) {
        auto* data = static_cast<TimerData*>(t->data);
        data->runner->OnTimer(data->id);
      },
      delay, repeat ? (delay == 0 ? 1 : delay) : 0);
  timers_[id] = timer;
  return absl::OkStatus();
}

void InvocationRunner::ClearTimer(uint32_t id) {
  auto found = timers_.find(id);
  if (found == timers_.end()) return;
  CloseTimer(found->second);
  timers_.erase(found);
}

}  // namespace kiln::worker::internal
