// JsIsolate: booting from a snapshot, invocation turns, limits.
#include "worker/js/js_isolate.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "worker/js/internal.h"
#include "worker/js/v8_process.h"

namespace kiln::worker::js {

using internal::Str;
using internal::ToUtf8;

// Counts ArrayBuffer memory against the isolate's heap budget (together with
// the V8 heap in use at the last GC). Refusing an allocation also terminates
// the invocation, so a memory bomb made of ArrayBuffers ends with "memory
// limit exceeded" rather than a RangeError the code could catch and retry.
class JsIsolate::Allocator final : public v8::ArrayBuffer::Allocator {
 public:
  Allocator(JsIsolate* owner, size_t limit) : owner_(owner), limit_(limit) {}

  void* Allocate(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* data = std::calloc(length == 0 ? 1 : length, 1);
    if (data == nullptr) used_ -= length;
    return data;
  }
  void* AllocateUninitialized(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* data = std::malloc(length == 0 ? 1 : length);
    if (data == nullptr) used_ -= length;
    return data;
  }
  void Free(void* data, size_t length) override {
    used_ -= length;
    std::free(data);
  }

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  // Called after every collection of the isolate's heap.
  void AfterGc(size_t heap_used) {
    heap_used_.store(heap_used, std::memory_order_relaxed);
    gc_count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t gc_count() const { return gc_count_.load(std::memory_order_relaxed); }
  // Called when the isolate goes away; V8 may free buffers after that.
  void Detach() { owner_.store(nullptr); }

 private:
  bool Reserve(size_t length) {
    size_t total = used_.fetch_add(length) + length;
    if (total + heap_used_.load(std::memory_order_relaxed) > limit_) {
      used_ -= length;
      if (JsIsolate* owner = owner_.load()) owner->Terminate(Breach::kMemory);
      return false;
    }
    return true;
  }

  std::atomic<JsIsolate*> owner_;
  const size_t limit_;
  std::atomic<size_t> used_{0};
  std::atomic<size_t> heap_used_{0};
  std::atomic<uint64_t> gc_count_{0};
};

class JsIsolate::Impl {
 public:
  enum class Stage { kNone, kFetch, kBody, kQueue, kScheduled, kWaitUntil };

  explicit Impl(JsIsolate& owner) : self(owner) {}

  // Runs one turn: enters the isolate, calls `body` (which returns the stage's
  // promise, or nothing for a turn that continues the current stage), drains
  // microtasks and platform tasks, then reports the stage's state.
  template <typename Body>
  TurnResult Turn(JsHost* host, Body body);
  // Where the stage stands after a turn that ran to its end.
  TurnResult Outcome(v8::Local<v8::Context> context, const v8::TryCatch& try_catch, bool ran);
  TurnResult Settle(v8::Local<v8::Context> context, v8::Local<v8::Value> value);
  // Whether, after `result`, the invocation has no JavaScript left to run:
  // its handler stage settled (not into a streamed body) and nothing was
  // passed to ctx.waitUntil(). The runner finishes such an invocation next.
  bool EndsInvocation(const TurnResult& result) const;
  // Calls the runtime's endInvocation() now rather than in Finish().
  void EndInvocation(v8::Local<v8::Context> context);
  TurnResult Breached() const {
    TurnResult result;
    result.state = TurnResult::State::kBreached;
    result.breach = self.breach();
    return result;
  }

  JsIsolate& self;
  v8::Isolate* isolate = nullptr;
  v8::StartupData startup{nullptr, 0};
  internal::IsolateState state;
  std::shared_ptr<Allocator> allocator;
  IsolateOptions options;
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> internals;
  v8::Global<v8::Function> dispatch_fetch, dispatch_queue, dispatch_scheduled, run_timer,
      wait_until, end_invocation, pump_body, add_body_credit;
  v8::Global<v8::Promise> pending;
  Stage stage = Stage::kNone;
  bool ended = false;  // endInvocation() ran at the end of the last turn
  std::optional<v8::Locker> held;  // JsIsolate::Lock()
};

namespace {

size_t OnNearHeapLimit(void* data, size_t current_limit, size_t) {
  static_cast<JsIsolate*>(data)->Terminate(Breach::kMemory);
  // Room to unwind; the isolate is condemned and disposed right after.
  return current_limit + (64u << 20);
}

bool GetFunction(v8::Isolate* isolate, v8::Local<v8::Context> context, v8::Local<v8::Object> from,
                 const char* name, v8::Global<v8::Function>* out) {
  v8::Local<v8::Value> value;
  if (!from->Get(context, Str(isolate, name)).ToLocal(&value) || !value->IsFunction()) return false;
  out->Reset(isolate, value.As<v8::Function>());
  return true;
}

v8::Local<v8::Value> BytesValue(v8::Isolate* isolate, const std::string& bytes) {
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes.size());
  if (!bytes.empty()) std::memcpy(buffer->Data(), bytes.data(), bytes.size());
  return buffer;
}

// Appends the bytes of a string, ArrayBuffer or view to `out`.
void AppendBody(v8::Isolate* isolate, v8::Local<v8::Value> body, std::string* out) {
  if (body->IsString()) {
    v8::Local<v8::String> text = body.As<v8::String>();
    size_t offset = out->size();
    out->resize(offset + text->Utf8Length(isolate));
    text->WriteUtf8(isolate, out->data() + offset, -1, nullptr, v8::String::NO_NULL_TERMINATION);
  } else if (body->IsArrayBufferView()) {
    v8::Local<v8::ArrayBufferView> view = body.As<v8::ArrayBufferView>();
    const char* base = static_cast<const char*>(view->Buffer()->Data());
    out->append(base + view->ByteOffset(), view->ByteLength());
  } else if (body->IsArrayBuffer()) {
    v8::Local<v8::ArrayBuffer> buffer = body.As<v8::ArrayBuffer>();
    out->append(static_cast<const char*>(buffer->Data()), buffer->ByteLength());
  }
}

size_t BodySize(v8::Isolate* isolate, v8::Local<v8::Value> body) {
  if (body->IsString()) return body.As<v8::String>()->Utf8Length(isolate);
  if (body->IsArrayBufferView()) return body.As<v8::ArrayBufferView>()->ByteLength();
  if (body->IsArrayBuffer()) return body.As<v8::ArrayBuffer>()->ByteLength();
  return 0;
}

}  // namespace

template <typename Body>
TurnResult JsIsolate::Impl::Turn(JsHost* host, Body body) {
  v8::Locker locker(isolate);
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handle_scope(isolate);
  v8::Local<v8::Context> ctx = context.Get(isolate);
  v8::Context::Scope context_scope(ctx);
  if (self.condemned()) return Breached();
  if (host != nullptr) state.host = host;
  FrozenClockScope frozen_clock;
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> started;
  bool ran = body(ctx).ToLocal(&started);
  if (ran && started->IsPromise()) pending.Reset(isolate, started.As<v8::Promise>());
  if (!try_catch.HasTerminated()) isolate->PerformMicrotaskCheckpoint();
  // Tasks V8 posted (GC steps, a finished WebAssembly compile), each followed
  // by the microtasks it queued.
  while (!self.condemned() && !try_catch.HasTerminated() &&
         v8::platform::PumpMessageLoop(V8Platform(), isolate)) {
    isolate->PerformMicrotaskCheckpoint();
  }
  if (try_catch.HasTerminated() || self.condemned()) {
    // Termination without a recorded breach comes from V8 itself (e.g. the
    // heap-limit path racing the callback); report it as memory.
    if (!self.condemned()) self.Terminate(Breach::kMemory);
    return Breached();
  }
  TurnResult result = Outcome(ctx, try_catch, ran);
  if (EndsInvocation(result)) EndInvocation(ctx);
  return result;
}

TurnResult JsIsolate::Impl::Outcome(v8::Local<v8::Context> ctx, const v8::TryCatch& try_catch, bool ran) {
  TurnResult result;
  if (!ran && try_catch.HasCaught()) {
    result.state = TurnResult::State::kThrew;
    result.error = internal::ExceptionStack(isolate, ctx, try_catch.Exception());
    return result;
  }
  if (pending.IsEmpty()) {
    result.state = TurnResult::State::kDone;
    return result;
  }
  v8::Local<v8::Promise> promise = pending.Get(isolate);
  switch (promise->State()) {
    case v8::Promise::kPending:
      result.state = TurnResult::State::kWaiting;
      result.background_pending = isolate->HasPendingBackgroundTasks();
      return result;
    case v8::Promise::kRejected:
      pending.Reset();
      result.state = TurnResult::State::kThrew;
      result.error = internal::ExceptionStack(isolate, ctx, promise->Result());
      return result;
    case v8::Promise::kFulfilled:
      pending.Reset();
      return Settle(ctx, promise->Result());
  }
  return result;
}

bool JsIsolate::Impl::EndsInvocation(const TurnResult& result) const {
  if (state.wait_until_added) return false;  // StartWaitUntil() runs JavaScript next
  switch (result.state) {
    case TurnResult::State::kThrew:
      return stage == Stage::kFetch || stage == Stage::kQueue || stage == Stage::kScheduled;
    case TurnResult::State::kDone:
      return (stage == Stage::kFetch && !self.http_response_.body_streamed) || stage == Stage::kQueue ||
             stage == Stage::kScheduled;
    case TurnResult::State::kWaiting:
    case TurnResult::State::kBreached:
      return false;
  }
  return false;
}

void JsIsolate::Impl::EndInvocation(v8::Local<v8::Context> ctx) {
  pending.Reset();
  ended = true;
  v8::TryCatch try_catch(isolate);
  if (end_invocation.Get(isolate)->Call(ctx, v8::Undefined(isolate), 0, nullptr).IsEmpty()) {
    self.Terminate(Breach::kMemory);  // only termination makes this fail; never reuse
    return;
  }
  isolate->PerformMicrotaskCheckpoint();
}

// The runtime's dispatch promises resolve to [ok, payload]: on failure the
// payload is the error's stack; on success it is the stage's result.
TurnResult JsIsolate::Impl::Settle(v8::Local<v8::Context> ctx, v8::Local<v8::Value> value) {
  TurnResult result;
  result.state = TurnResult::State::kDone;
  if (!value->IsArray()) {
    result.state = TurnResult::State::kThrew;
    result.error = "internal error: the runtime returned no result";
    return result;
  }
  v8::Local<v8::Array> pair = value.As<v8::Array>();
  v8::Local<v8::Value> ok = pair->Get(ctx, 0).ToLocalChecked();
  v8::Local<v8::Value> payload = pair->Get(ctx, 1).ToLocalChecked();
  if (!ok->BooleanValue(isolate)) {
    result.state = TurnResult::State::kThrew;
    result.error = ToUtf8(isolate, payload);
    return result;
  }
  switch (stage) {
    case Stage::kFetch: {
      // [status, [name, value, ...], body]
      v8::Local<v8::Array> response = payload.As<v8::Array>();
      HttpResponse& out = self.http_response_;
      out = HttpResponse();
      out.status = response->Get(ctx, 0).ToLocalChecked()->Int32Value(ctx).FromMaybe(500);
      v8::Local<v8::Array> headers = response->Get(ctx, 1).ToLocalChecked().As<v8::Array>();
      for (uint32_t i = 0; i + 1 < headers->Length(); i += 2) {
        out.headers.emplace_back(ToUtf8(isolate, headers->Get(ctx, i).ToLocalChecked()),
                                 ToUtf8(isolate, headers->Get(ctx, i + 1).ToLocalChecked()));
      }
      v8::Local<v8::Value> body = response->Get(ctx, 2).ToLocalChecked();
      out.body_streamed = response->Get(ctx, 3).ToLocalChecked()->IsTrue();
      if (BodySize(isolate, body) > options.response_limit_bytes) {
        self.Terminate(Breach::kResponseSize);
        return Breached();
      }
      AppendBody(isolate, body, &out.body);
      break;
    }
    case Stage::kQueue: {
      // [id, acked, delaySeconds, ...]
      v8::Local<v8::Array> flat = payload.As<v8::Array>();
      self.queue_outcomes_.clear();
      for (uint32_t i = 0; i + 2 < flat->Length(); i += 3) {
        QueueOutcome outcome;
        outcome.id = ToUtf8(isolate, flat->Get(ctx, i).ToLocalChecked());
        outcome.ack = flat->Get(ctx, i + 1).ToLocalChecked()->BooleanValue(isolate);
        outcome.delay_seconds = flat->Get(ctx, i + 2).ToLocalChecked()->Uint32Value(ctx).FromMaybe(0);
        self.queue_outcomes_.push_back(std::move(outcome));
      }
      break;
    }
    case Stage::kBody:
    case Stage::kScheduled:
    case Stage::kWaitUntil:
    case Stage::kNone:
      break;
  }
  return result;
}

absl::StatusOr<std::unique_ptr<JsIsolate>> JsIsolate::Boot(std::shared_ptr<const Snapshot> snapshot,
                                                          const RuntimeSpec& spec,
                                                          const IsolateOptions& options) {
  InitializeV8();
  std::unique_ptr<JsIsolate> self(new JsIsolate());
  self->snapshot_ = std::move(snapshot);
  self->impl_ = std::make_unique<Impl>(*self);
  Impl& impl = *self->impl_;
  impl.options = options;
  impl.state.spec = &spec;
  impl.state.allow_wasm_codegen = options.allow_wasm_codegen;
  impl.startup = v8::StartupData{self->snapshot_->v8_data(), self->snapshot_->v8_size()};
  impl.allocator = std::make_shared<Allocator>(self.get(), options.heap_limit_bytes);

  v8::Isolate::CreateParams params;
  params.snapshot_blob = &impl.startup;
  params.external_references = internal::ExternalReferences();
  params.array_buffer_allocator_shared = impl.allocator;
  params.constraints.ConfigureDefaultsFromHeapSize(0, options.heap_limit_bytes);
  impl.isolate = v8::Isolate::New(params);
  internal::LiveIsolates()++;
  v8::Isolate* isolate = impl.isolate;

  v8::Locker locker(isolate);
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HandleScope handle_scope(isolate);
  isolate->SetData(0, &impl.state);
  isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate->AddNearHeapLimitCallback(OnNearHeapLimit, self.get());
  isolate->AddGCEpilogueCallback(
      [](v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
        v8::HeapStatistics stats;
        isolate->GetHeapStatistics(&stats);
        static_cast<Allocator*>(data)->AfterGc(stats.used_heap_size());
      },
      impl.allocator.get());

  v8::Local<v8::Context> context = v8::Context::New(isolate);
  v8::Context::Scope context_scope(context);
  internal::ApplyCodeGenerationPolicy(isolate, context, options.allow_eval);
  impl.context.Reset(isolate, context);
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Object> internals;
  if (!context->GetDataFromSnapshotOnce<v8::Object>(0).ToLocal(&internals)) {
    return absl::InternalError("snapshot holds no Kiln runtime");
  }
  impl.internals.Reset(isolate, internals);
  v8::Global<v8::Function> boot;
  if (!GetFunction(isolate, context, internals, "boot", &boot) ||
      !GetFunction(isolate, context, internals, "dispatchFetch", &impl.dispatch_fetch) ||
      !GetFunction(isolate, context, internals, "dispatchQueue", &impl.dispatch_queue) ||
      !GetFunction(isolate, context, internals, "dispatchScheduled", &impl.dispatch_scheduled) ||
      !GetFunction(isolate, context, internals, "runTimer", &impl.run_timer) ||
      !GetFunction(isolate, context, internals, "waitUntilSettled", &impl.wait_until) ||
      !GetFunction(isolate, context, internals, "endInvocation", &impl.end_invocation) ||
      !GetFunction(isolate, context, internals, "pumpBody", &impl.pump_body) ||
      !GetFunction(isolate, context, internals, "addBodyCredit", &impl.add_body_credit)) {
    return absl::InternalError("the Kiln runtime in this snapshot lacks its entry points");
  }
  v8::Local<v8::Value> args[] = {Str(isolate, options.env_json)};
  if (boot.Get(isolate)->Call(context, internals, 1, args).IsEmpty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("booting the function failed: ", ToUtf8(isolate, try_catch.Exception())));
  }
  return self;
}

JsIsolate::~JsIsolate() {
  if (impl_ == nullptr || impl_->isolate == nullptr) return;
  v8::Isolate* isolate = impl_->isolate;
  impl_->held.reset();
  {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolate_scope(isolate);
    impl_->pending.Reset();
    impl_->dispatch_fetch.Reset();
    impl_->dispatch_queue.Reset();
    impl_->dispatch_scheduled.Reset();
    impl_->run_timer.Reset();
    impl_->wait_until.Reset();
    impl_->end_invocation.Reset();
    impl_->pump_body.Reset();
    impl_->add_body_credit.Reset();
    impl_->internals.Reset();
    impl_->context.Reset();
  }
  impl_->allocator->Detach();
  isolate->Dispose();
  internal::LiveIsolates()--;
}

void JsIsolate::Terminate(Breach why) {
  Breach none = Breach::kNone;
  breach_.compare_exchange_strong(none, why);
  if (impl_ != nullptr && impl_->isolate != nullptr) impl_->isolate->TerminateExecution();
}

TurnResult JsIsolate::StartFetch(const HttpRequest& request, JsHost* host) {
  Impl& impl = *impl_;
  impl.stage = Impl::Stage::kFetch;
  impl.state.wait_until_added = false;
  impl.ended = false;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(host, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Array> headers =
        v8::Array::New(isolate, static_cast<int>(request.headers.size() * 2));
    uint32_t i = 0;
    for (const auto& [name, value] : request.headers) {
      headers->Set(context, i++, Str(isolate, name)).Check();
      headers->Set(context, i++, Str(isolate, value)).Check();
    }
    v8::Local<v8::Value> body = v8::Null(isolate);
    if (!request.body.empty()) body = BytesValue(isolate, request.body);
    v8::Local<v8::Value> args[] = {Str(isolate, request.method), Str(isolate, request.url), headers,
                                   body, v8::Boolean::New(isolate, request.stream_response)};
    return impl.dispatch_fetch.Get(isolate)->Call(context, v8::Undefined(isolate), 5, args);
  });
}

TurnResult JsIsolate::StartQueue(const QueueBatch& batch, JsHost* host) {
  Impl& impl = *impl_;
  impl.stage = Impl::Stage::kQueue;
  impl.state.wait_until_added = false;
  impl.ended = false;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(host, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    // [id, body, contentType, timestampMs, attempts, ...]
    v8::Local<v8::Array> flat = v8::Array::New(isolate, static_cast<int>(batch.messages.size() * 5));
    uint32_t i = 0;
    for (const QueueMessage& message : batch.messages) {
      flat->Set(context, i++, Str(isolate, message.id)).Check();
      flat->Set(context, i++, message.content_type == "bytes" ? BytesValue(isolate, message.body)
                                                              : v8::Local<v8::Value>(Str(isolate, message.body)))
          .Check();
      flat->Set(context, i++, Str(isolate, message.content_type)).Check();
      flat->Set(context, i++, v8::Number::New(isolate, static_cast<double>(message.timestamp_ms))).Check();
      flat->Set(context, i++, v8::Integer::NewFromUnsigned(isolate, message.attempts)).Check();
    }
    v8::Local<v8::Value> args[] = {Str(isolate, batch.queue), flat};
    return impl.dispatch_queue.Get(isolate)->Call(context, v8::Undefined(isolate), 2, args);
  });
}

TurnResult JsIsolate::StartScheduled(const ScheduledEvent& event, JsHost* host) {
  Impl& impl = *impl_;
  impl.stage = Impl::Stage::kScheduled;
  impl.state.wait_until_added = false;
  impl.ended = false;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(host, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> args[] = {Str(isolate, event.cron),
                                   v8::Number::New(isolate, static_cast<double>(event.scheduled_time_ms))};
    return impl.dispatch_scheduled.Get(isolate)->Call(context, v8::Undefined(isolate), 2, args);
  });
}

TurnResult JsIsolate::FireTimer(uint32_t id) {
  Impl& impl = *impl_;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(nullptr, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> args[] = {v8::Integer::NewFromUnsigned(isolate, id)};
    return impl.run_timer.Get(isolate)->Call(context, v8::Undefined(isolate), 1, args);
  });
}

TurnResult JsIsolate::RunPlatformTasks() {
  Impl& impl = *impl_;
  return impl.Turn(nullptr, [](v8::Local<v8::Context>) { return v8::MaybeLocal<v8::Value>(); });
}

void JsIsolate::SetTaskWaker(std::function<void(double)> waker) {
  absl::MutexLock lock(&impl_->state.waker_mu);
  impl_->state.waker = std::move(waker);
}

TurnResult JsIsolate::StartBody(double credit) {
  Impl& impl = *impl_;
  impl.stage = Impl::Stage::kBody;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(nullptr, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, credit)};
    return impl.pump_body.Get(isolate)->Call(context, v8::Undefined(isolate), 1, args);
  });
}

TurnResult JsIsolate::AddBodyCredit(double credit) {
  Impl& impl = *impl_;
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(nullptr, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, credit)};
    return impl.add_body_credit.Get(isolate)->Call(context, v8::Undefined(isolate), 1, args);
  });
}

TurnResult JsIsolate::StartWaitUntil() {
  Impl& impl = *impl_;
  impl.stage = Impl::Stage::kWaitUntil;
  if (!impl.state.wait_until_added && !condemned()) {
    // waitUntilSettled() would find no promise: skip the turn.
    TurnResult result;
    result.state = TurnResult::State::kDone;
    return result;
  }
  v8::Isolate* isolate = impl.isolate;
  return impl.Turn(nullptr, [&](v8::Local<v8::Context> context) -> v8::MaybeLocal<v8::Value> {
    return impl.wait_until.Get(isolate)->Call(context, v8::Undefined(isolate), 0, nullptr);
  });
}

bool JsIsolate::wait_until_added() const { return impl_->state.wait_until_added; }

void JsIsolate::Finish() {
  Impl& impl = *impl_;
  v8::Isolate* isolate = impl.isolate;
  impl.stage = Impl::Stage::kNone;
  if (!condemned() && !impl.ended) {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = impl.context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    impl.pending.Reset();
    if (impl.end_invocation.Get(isolate)->Call(context, v8::Undefined(isolate), 0, nullptr).IsEmpty()) {
      Terminate(Breach::kMemory);  // only termination makes this fail; never reuse
    }
    isolate->PerformMicrotaskCheckpoint();
  }
  impl.state.host = nullptr;
  impl.ended = false;
}

void JsIsolate::Lock() { impl_->held.emplace(impl_->isolate); }

void JsIsolate::Unlock() { impl_->held.reset(); }

size_t JsIsolate::MeasureMemory() {
  v8::Isolate* isolate = impl_->isolate;
  v8::Locker locker(isolate);
  v8::Isolate::Scope isolate_scope(isolate);
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  measured_heap_ = stats.total_physical_size();
  measured_at_gc_ = impl_->allocator->gc_count();
  measure_reuses_ = 0;
  return measured_heap_ + impl_->allocator->used();
}

size_t JsIsolate::RecentMemory() {
  if (measured_at_gc_ != impl_->allocator->gc_count() || measure_reuses_ >= kMemoryReuses ||
      measured_heap_ == 0) {
    return MeasureMemory();
  }
  measure_reuses_++;
  return measured_heap_ + impl_->allocator->used();
}

}  // namespace kiln::worker::js
