// The seam between JavaScript and C++ natives: API code implements
// `NativeFunction`s against `NativeCall`, which wraps V8's callback info, so
// nothing outside worker/js includes <v8.h>. Natives reach the invocation in
// progress through `JsHost`, which the runtime implements.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "worker/js/types.h"

namespace v8 {
class Value;
template <typename T>
class FunctionCallbackInfo;
}  // namespace v8

namespace kiln::worker::js {

// What natives may ask of the invocation that is running. Implemented by the
// runtime (one per invocation) and by the snapshot builder (at global scope,
// where timers are refused as on Cloudflare Workers). Called on the isolate's
// thread only.
class JsHost {
 public:
  virtual ~JsHost() = default;
  virtual void Log(LogLevel level, absl::string_view message) = 0;
  // Schedules `internals.runTimer(id)` after `delay_ms`; every `delay_ms` when
  // `repeat`. FailedPrecondition where timers are not allowed (global scope).
  virtual absl::Status SetTimer(uint32_t id, double delay_ms, bool repeat) = 0;
  virtual void ClearTimer(uint32_t id) = 0;
  // A chunk of a streamed response body (see JsIsolate::StartBody); returns
  // the bytes the host can still take now. FailedPrecondition where no body
  // streams.
  virtual absl::StatusOr<double> WriteBody(absl::Span<const uint8_t> chunk) {
    return absl::FailedPreconditionError("no response body is being streamed");
  }
};

// One call from JavaScript into a native. Valid only during that call.
class NativeCall {
 public:
  explicit NativeCall(const v8::FunctionCallbackInfo<v8::Value>& info) : info_(info) {}

  int Length() const;
  bool IsString(int i) const;
  bool IsBytes(int i) const;  // ArrayBuffer or ArrayBufferView
  // The argument converted to a string (UTF-8); "" when absent.
  std::string String(int i) const;
  double Number(int i) const;
  bool Bool(int i) const;
  // The bytes of an ArrayBuffer or ArrayBufferView argument (writable, in
  // place); empty for anything else.
  absl::Span<uint8_t> Bytes(int i) const;

  // The host of the invocation in progress; nullptr when there is none.
  JsHost* host() const;

  void ReturnNull();
  void ReturnNumber(double value);
  void ReturnBool(bool value);
  void ReturnString(absl::string_view utf8);
  // Returns a new Uint8Array holding a copy of `bytes`.
  void ReturnBytes(absl::string_view bytes);
  // Returns the array [utf8, numbers...].
  void ReturnStringAndNumbers(absl::string_view utf8, absl::Span<const double> numbers);
  void ThrowError(absl::string_view message);
  void ThrowTypeError(absl::string_view message);
  void ThrowRangeError(absl::string_view message);

 private:
  const v8::FunctionCallbackInfo<v8::Value>& info_;
};

using NativeFunction = void (*)(NativeCall& call);

struct NativeBinding {
  const char* name;
  NativeFunction function;
};

// A part of the runtime compiled on first use in each isolate (through
// `natives.loadModule(name)`), so code few functions need does not weigh on
// every boot. `source` is a classic script evaluating to
// `function (natives, shared) { ...; return exports; }`.
struct LazyModule {
  const char* name;
  const char* source;
};

// What a function's isolates are built on: the runtime script, its natives
// and its lazily loaded modules. `source` is a classic script evaluating to
// `function (natives) { ...; return internals; }`; `natives` become the
// properties of its argument. The snapshot fingerprint covers all of it, so a
// change refuses old snapshots.
struct RuntimeSpec {
  std::string source;
  std::vector<NativeBinding> natives;
  std::vector<LazyModule> lazy_modules;
};

}  // namespace kiln::worker::js
