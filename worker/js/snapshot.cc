// Snapshot building (SnapshotCreator) and the blob header.
#include "worker/js/snapshot.h"

#include <v8.h>

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "worker/js/internal.h"
#include "worker/js/module_graph.h"
#include "worker/js/v8_process.h"

namespace kiln::worker::js {
namespace {

// Header: magic, u32 fingerprint length, fingerprint bytes, u32 CRC-32 of
// V8's blob, then V8's blob. The CRC is checked once, when a blob is parsed;
// V8's own per-boot checksum is turned off (it was ~10% of every boot).
constexpr absl::string_view kMagic = "KILNSNAP";

uint32_t Crc32(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

void AppendU32(std::string* out, uint32_t value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// The host seen by code at global scope during a build: console output is kept
// for the deploy's answer; timers are refused, as on Cloudflare Workers.
class BuildHost final : public JsHost {
 public:
  void Log(LogLevel level, absl::string_view message) override {
    logs.push_back(absl::StrCat(LogLevelName(level), ": ", message));
  }
  absl::Status SetTimer(uint32_t, double, bool) override {
    return absl::FailedPreconditionError(
        "timers cannot be set at global scope; set them inside a handler");
  }
  void ClearTimer(uint32_t) override {}
  std::vector<std::string> logs;
};

// Stops the build isolate when the top level runs past its time budget.
class BuildDeadline {
 public:
  BuildDeadline(v8::Isolate* isolate, absl::Duration limit)
      : thread_([this, isolate, limit] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(limit), [this] { return done_; })) {
            expired_ = true;
            isolate->TerminateExecution();
          }
        }) {}
  ~BuildDeadline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool expired() const { return expired_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> expired_{false};
  std::thread thread_;
};

// V8 10.2 installs some shipped ES2022 built-ins only when a context is
// deserialized, never in a SnapshotCreator's context: Object.hasOwn, .at(),
// findLast/findLastIndex, Atomics, WebAssembly. So that code at global scope
// (the runtime's bundled libraries included) sees the same language as
// handlers, a build installs stand-ins for the missing functions and removes
// them before serializing; a booted context then gets V8's own. (Atomics and
// WebAssembly stay unavailable at global scope.)
constexpr char kInstallStandIns[] = R"JS((() => {
  const installed = [];
  const define = (target, name, fn) => {
    if (Object.getOwnPropertyDescriptor(target, name) !== undefined) return;
    Object.defineProperty(target, name, { value: fn, writable: true, configurable: true, enumerable: false });
    installed.push([target, name]);
  };
  const toIndex = (length, index) => {
    index = Math.trunc(Number(index)) || 0;
    return index < 0 ? length + index : index;
  };
  define(Object, 'hasOwn', function hasOwn(object, key) {
    if (object === null || object === undefined) throw new TypeError('Cannot convert undefined or null to object');
    return Object.prototype.hasOwnProperty.call(object, key);
  });
  const typedArray = Object.getPrototypeOf(Uint8Array.prototype);
  for (const target of [Array.prototype, typedArray, String.prototype]) {
    define(target, 'at', function at(index) {
      const self = target === String.prototype ? String(this) : this;
      const i = toIndex(self.length >>> 0, index);
      return i < 0 || i >= self.length ? undefined : self[i];
    });
  }
  for (const target of [Array.prototype, typedArray]) {
    define(target, 'findLast', function findLast(predicate, thisArg) {
      for (let i = (this.length >>> 0) - 1; i >= 0; i--) if (predicate.call(thisArg, this[i], i, this)) return this[i];
      return undefined;
    });
    define(target, 'findLastIndex', function findLastIndex(predicate, thisArg) {
      for (let i = (this.length >>> 0) - 1; i >= 0; i--) if (predicate.call(thisArg, this[i], i, this)) return i;
      return -1;
    });
  }
  return () => { for (const [target, name] of installed) delete target[name]; };
})())JS";

struct HeapGuard {
  size_t limit;
  std::atomic<bool> exceeded{false};
};

void CheckHeapAfterGc(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* guard = static_cast<HeapGuard*>(data);
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (stats.used_heap_size() > guard->limit && !guard->exceeded.exchange(true)) {
    isolate->TerminateExecution();
  }
}

size_t NearHeapLimitDuringBuild(void* data, size_t current_limit, size_t) {
  auto* pair = static_cast<std::pair<v8::Isolate*, HeapGuard*>*>(data);
  pair->second->exceeded = true;
  pair->first->TerminateExecution();
  return current_limit + (64u << 20);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> Snapshot::Parse(std::string blob,
                                                               absl::string_view fingerprint) {
  if (blob.size() < kMagic.size() + 4 || !absl::StartsWith(blob, kMagic)) {
    return absl::InvalidArgumentError("not a Kiln snapshot");
  }
  uint32_t length;
  std::memcpy(&length, blob.data() + kMagic.size(), 4);
  size_t offset = kMagic.size() + 4;
  if (blob.size() < offset + length + 4 + 1) return absl::InvalidArgumentError("truncated Kiln snapshot");
  std::string found = blob.substr(offset, length);
  if (found != fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot was built for runtime ", found, ", this worker runs ", fingerprint,
        "; rebuild it"));
  }
  offset += length;
  uint32_t expected_crc;
  std::memcpy(&expected_crc, blob.data() + offset, 4);
  offset += 4;
  if (blob.size() <= offset) return absl::InvalidArgumentError("truncated Kiln snapshot");
  if (Crc32(blob.data() + offset, blob.size() - offset) != expected_crc) {
    return absl::DataLossError("corrupt Kiln snapshot (checksum mismatch)");
  }
  std::shared_ptr<Snapshot> snapshot(new Snapshot());
  snapshot->fingerprint_ = std::move(found);
  snapshot->v8_offset_ = offset;
  snapshot->blob_ = std::move(blob);
  v8::StartupData data{snapshot->v8_data(), snapshot->v8_size()};
  if (!data.IsValid()) return absl::InvalidArgumentError("corrupt V8 snapshot");
  snapshot->rehashable_ = data.CanBeRehashed();
  return snapshot;
}

absl::StatusOr<BuildResult> BuildSnapshot(const Bundle& bundle, const RuntimeSpec& spec,
                                          const BuildOptions& options) {
  InitializeV8();
  BuildHost host;
  internal::IsolateState state;
  state.spec = &spec;
  state.host = &host;
  state.allow_wasm_codegen = options.allow_wasm_codegen;
  HeapGuard heap_guard{options.heap_limit_bytes};

  if (internal::LiveIsolates().load() != 0) {
    return absl::FailedPreconditionError(
        "a snapshot build must run in a process with no other isolate (use a builder process)");
  }
  auto owned_creator = std::make_unique<v8::SnapshotCreator>(internal::ExternalReferences());
  v8::SnapshotCreator& creator = *owned_creator;
  v8::Isolate* isolate = creator.GetIsolate();
  isolate->SetData(0, &state);
  isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  // Errors thrown at top level carry their location into the deploy's answer.
  isolate->SetCaptureStackTraceForUncaughtExceptions(true, 1);
  isolate->AddGCEpilogueCallback(CheckHeapAfterGc, &heap_guard);
  std::pair<v8::Isolate*, HeapGuard*> near_limit_data(isolate, &heap_guard);
  isolate->AddNearHeapLimitCallback(NearHeapLimitDuringBuild, &near_limit_data);

  absl::Status failure;
  {
    BuildDeadline deadline(isolate, options.time_limit);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    internal::ApplyCodeGenerationPolicy(isolate, context, options.allow_eval);
    v8::TryCatch try_catch(isolate);

    auto fail = [&](absl::Status status) {
      if (deadline.expired()) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the top level ran longer than ", absl::FormatDuration(options.time_limit),
            " (an endless loop at global scope?)"));
      }
      if (heap_guard.exceeded) {
        return absl::ResourceExhaustedError(
            absl::StrCat("the top level used more than ", options.heap_limit_bytes >> 20,
                         " MiB of heap"));
      }
      return status;
    };

    // 0. Stand-ins for built-ins V8 adds only to deserialized contexts.
    v8::Local<v8::Function> remove_stand_ins;
    {
      v8::Local<v8::Script> script;
      v8::Local<v8::Value> remover;
      if (!v8::Script::Compile(context, internal::Str(isolate, kInstallStandIns)).ToLocal(&script) ||
          !script->Run(context).ToLocal(&remover) || !remover->IsFunction()) {
        return absl::InternalError("installing build-time stand-ins failed");
      }
      remove_stand_ins = remover.As<v8::Function>();
    }

    // 1. The runtime: evaluate its script and hand it the natives.
    v8::Local<v8::Object> internals;
    {
      v8::ScriptOrigin origin(isolate, internal::Str(isolate, "kiln:runtime"));
      v8::Local<v8::Script> script;
      v8::Local<v8::Value> factory, result;
      v8::Local<v8::Value> args[] = {internal::MakeNatives(isolate, context, spec)};
      if (!v8::Script::Compile(context, internal::Str(isolate, spec.source), &origin)
               .ToLocal(&script) ||
          !script->Run(context).ToLocal(&factory) || !factory->IsFunction() ||
          !factory.As<v8::Function>()->Call(context, v8::Undefined(isolate), 1, args)
               .ToLocal(&result) ||
          !result->IsObject()) {
        return absl::InternalError(absl::StrCat(
            "the Kiln runtime failed to load: ", internal::DescribeException(isolate, context, try_catch)));
      }
      internals = result.As<v8::Object>();
    }

    // 2. The bundle: compile, link, evaluate (top-level await included).
    {
      internal::ModuleGraph graph(isolate, bundle);
      absl::StatusOr<v8::Local<v8::Module>> root = graph.LoadAndLink(context);
      if (!root.ok()) return fail(root.status());
      v8::Local<v8::Value> evaluation;
      if (!(*root)->Evaluate(context).ToLocal(&evaluation)) {
        return fail(absl::InvalidArgumentError(internal::DescribeException(isolate, context, try_catch)));
      }
      isolate->PerformMicrotaskCheckpoint();
      if (try_catch.HasTerminated()) return fail(absl::InternalError("build terminated"));
      if (evaluation->IsPromise()) {
        v8::Local<v8::Promise> promise = evaluation.As<v8::Promise>();
        if (promise->State() == v8::Promise::kPending) {
          return fail(absl::InvalidArgumentError(
              absl::StrCat(bundle.main_module, ": top-level await never settled")));
        }
        if (promise->State() == v8::Promise::kRejected) {
          v8::Local<v8::Value> reason = promise->Result();
          std::string text = internal::ToUtf8(isolate, reason);
          v8::Local<v8::StackTrace> trace = v8::Exception::GetStackTrace(reason);
          if (!trace.IsEmpty() && trace->GetFrameCount() > 0) {
            v8::Local<v8::StackFrame> top = trace->GetFrame(isolate, 0);
            text = absl::StrCat(internal::ToUtf8(isolate, top->GetScriptName()), ":",
                                top->GetLineNumber(), ":", top->GetColumn(), ": ", text);
          }
          return fail(absl::InvalidArgumentError(text));
        }
      }
      // 3. Hand the default export to the runtime, which validates it.
      v8::Local<v8::Value> handlers;
      v8::Local<v8::Value> set_handlers;
      if (!(*root)->GetModuleNamespace().As<v8::Object>()
               ->Get(context, internal::Str(isolate, "default"))
               .ToLocal(&handlers) ||
          !internals->Get(context, internal::Str(isolate, "setHandlers")).ToLocal(&set_handlers) ||
          !set_handlers->IsFunction()) {
        return fail(absl::InternalError("the Kiln runtime has no setHandlers"));
      }
      v8::Local<v8::Value> args[] = {handlers, internal::Str(isolate, bundle.main_module)};
      if (set_handlers.As<v8::Function>()->Call(context, internals, 2, args).IsEmpty()) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat(bundle.main_module, ": ",
                         internal::ToUtf8(isolate, try_catch.Exception()))));
      }
      isolate->PerformMicrotaskCheckpoint();
      // 4. Let the runtime compile its request path into the snapshot.
      v8::Local<v8::Value> warm_up;
      if (!internals->Get(context, internal::Str(isolate, "warmUp")).ToLocal(&warm_up) ||
          !warm_up->IsFunction() ||
          warm_up.As<v8::Function>()->Call(context, internals, 0, nullptr).IsEmpty()) {
        return fail(absl::InternalError(absl::StrCat(
            "the Kiln runtime failed to warm up: ", internal::ToUtf8(isolate, try_catch.Exception()))));
      }
      isolate->PerformMicrotaskCheckpoint();
    }
    if (try_catch.HasTerminated() || deadline.expired() || heap_guard.exceeded) {
      return fail(absl::InternalError("build terminated"));
    }
    if (remove_stand_ins->Call(context, v8::Undefined(isolate), 0, nullptr).IsEmpty()) {
      return fail(absl::InternalError("removing build-time stand-ins failed"));
    }
    // Slot 0 of the context's snapshot data: the runtime internals.
    if (creator.AddData(context, internals) != 0) return absl::InternalError("unexpected data index");
    creator.SetDefaultContext(context);
  }
  isolate->RemoveGCEpilogueCallback(CheckHeapAfterGc, &heap_guard);
  isolate->RemoveNearHeapLimitCallback(NearHeapLimitDuringBuild, 0);
  state.host = nullptr;

  v8::StartupData data = creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
  if (data.data == nullptr) return absl::InternalError("V8 could not serialize the snapshot");
  const std::string fingerprint = RuntimeFingerprint(spec);
  BuildResult result;
  result.blob.reserve(kMagic.size() + 4 + fingerprint.size() + 4 + data.raw_size);
  result.blob.append(kMagic.data(), kMagic.size());
  AppendU32(&result.blob, static_cast<uint32_t>(fingerprint.size()));
  result.blob.append(fingerprint);
  AppendU32(&result.blob, Crc32(data.data, static_cast<size_t>(data.raw_size)));
  result.blob.append(data.data, data.raw_size);
  delete[] data.data;
  result.logs = std::move(host.logs);
  return result;
}

}  // namespace kiln::worker::js
