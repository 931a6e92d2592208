// Internals shared by the files of worker/js: per-isolate state, the external
// reference table every snapshot is built and booted with, string helpers.
#pragma once

#include <v8.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/synchronization/mutex.h"
#include "worker/js/native.h"

namespace kiln::worker::js::internal {

// Lives in isolate data slot 0 of every Kiln isolate (built or booted).
struct IsolateState {
  const RuntimeSpec* spec = nullptr;
  JsHost* host = nullptr;  // the invocation in progress, if any
  bool allow_wasm_codegen = false;
  // Set by natives.waitUntilAdded() (ctx.waitUntil()) during the current
  // invocation; cleared when one starts. Without it there is nothing for
  // JsIsolate::StartWaitUntil to wait for.
  bool wait_until_added = false;
  // Called (from any thread) when V8 posts a foreground task for this
  // isolate, with its delay in seconds; see JsIsolate::SetTaskWaker.
  absl::Mutex waker_mu;
  std::function<void(double)> waker ABSL_GUARDED_BY(waker_mu);
};

// Tells the isolate's waker (if any) that V8 posted a foreground task.
void NotifyForegroundTask(v8::Isolate* isolate, double delay_seconds);

// Applies a function's code-generation policy to an isolate and its context:
// eval / new Function refused unless `allow_eval`; WebAssembly compiled from
// bytes refused unless state->allow_wasm_codegen; Atomics.wait always refused.
void ApplyCodeGenerationPolicy(v8::Isolate* isolate, v8::Local<v8::Context> context,
                               bool allow_eval);

inline IsolateState* StateOf(v8::Isolate* isolate) {
  return static_cast<IsolateState*>(isolate->GetData(0));
}

// JsIsolates alive in this process (BuildSnapshot refuses to run beside any).
std::atomic<int>& LiveIsolates();

// Addresses of every C++ function a snapshot may point at, null-terminated.
// Identical for building and booting; the order is part of the blob format.
const intptr_t* ExternalReferences();

// Creates the `natives` object handed to the runtime script: one function per
// binding, all dispatching through one trampoline (so the table above stays
// fixed while API code adds natives).
v8::Local<v8::Object> MakeNatives(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  const RuntimeSpec& spec);

// Natives implemented directly on V8 (worker/js/core_natives.cc), added to
// every runtime's `natives` object. Their callbacks are in the external
// reference table.
struct CoreNative {
  const char* name;
  v8::FunctionCallback callback;
};
const std::vector<CoreNative>& CoreNatives();

// Evaluation steps of JSON, text and data modules (defined in module_graph.cc).
v8::MaybeLocal<v8::Value> SyntheticModuleSteps(v8::Local<v8::Context> context,
                                               v8::Local<v8::Module> module);

inline v8::Local<v8::String> Str(v8::Isolate* isolate, absl::string_view text) {
  return v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()))
      .ToLocalChecked();
}

std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value);

// "file:line:column: Message" for a caught exception, from its message.
std::string DescribeException(v8::Isolate* isolate, v8::Local<v8::Context> context,
                              const v8::TryCatch& try_catch);

// The exception's `stack` when it is an Error, else its string form.
std::string ExceptionStack(v8::Isolate* isolate, v8::Local<v8::Context> context,
                           v8::Local<v8::Value> exception);

}  // namespace kiln::worker::js::internal
