// NativeCall over V8's callback info, the native trampoline, and the external
// reference table that snapshots are built and booted with.
#include "worker/js/native.h"

#include <dlfcn.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "worker/js/internal.h"

namespace kiln::worker::js {
namespace internal {
namespace {

void NativeTrampoline(const v8::FunctionCallbackInfo<v8::Value>& info) {
  IsolateState* state = StateOf(info.GetIsolate());
  int index = info.Data().As<v8::Int32>()->Value();
  NativeCall call(info);
  state->spec->natives[index].function(call);
}

// V8 10.2 leaves the accessors of module namespace objects out of its own
// external reference table, so a heap holding one (`import * as ns`) cannot be
// serialized ("Unknown external reference"). libnode exports both functions;
// listing them here lets such snapshots be written and read back.
intptr_t Lookup(const char* mangled) {
  return reinterpret_cast<intptr_t>(dlsym(RTLD_DEFAULT, mangled));
}

}  // namespace

void NotifyForegroundTask(v8::Isolate* isolate, double delay_seconds) {
  IsolateState* state = isolate == nullptr ? nullptr : StateOf(isolate);
  if (state == nullptr) return;
  absl::MutexLock lock(&state->waker_mu);
  if (state->waker) state->waker(delay_seconds);
}

std::atomic<int>& LiveIsolates() {
  static std::atomic<int> count{0};
  return count;
}

const intptr_t* ExternalReferences() {
  static const intptr_t* table = [] {
    auto* refs = new std::vector<intptr_t>{
        reinterpret_cast<intptr_t>(&NativeTrampoline),
        reinterpret_cast<intptr_t>(&SyntheticModuleSteps),
        Lookup("_ZN2v88internal9Accessors26ModuleNamespaceEntryGetterENS_5LocalINS_4NameEEERKNS_"
               "20PropertyCallbackInfoINS_5ValueEEE"),
        Lookup("_ZN2v88internal9Accessors26ModuleNamespaceEntrySetterENS_5LocalINS_4NameEEENS2_"
               "INS_5ValueEEERKNS_20PropertyCallbackInfoINS_7BooleanEEE"),
    };
    for (const CoreNative& native : CoreNatives()) {
      refs->push_back(reinterpret_cast<intptr_t>(native.callback));
    }
    refs->push_back(0);
    return refs->data();
  }();
  return table;
}

v8::Local<v8::Object> MakeNatives(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                  const RuntimeSpec& spec) {
  v8::Local<v8::Object> natives = v8::Object::New(isolate);
  for (size_t i = 0; i < spec.natives.size(); ++i) {
    v8::Local<v8::FunctionTemplate> tmpl = v8::FunctionTemplate::New(
        isolate, NativeTrampoline, v8::Int32::New(isolate, static_cast<int>(i)),
        v8::Local<v8::Signature>(), 0, v8::ConstructorBehavior::kThrow);
    v8::Local<v8::Function> fn = tmpl->GetFunction(context).ToLocalChecked();
    natives->Set(context, Str(isolate, spec.natives[i].name), fn).Check();
  }
  for (const CoreNative& core : CoreNatives()) {
    v8::Local<v8::Function> fn =
        v8::FunctionTemplate::New(isolate, core.callback, v8::Local<v8::Value>(),
                                  v8::Local<v8::Signature>(), 0, v8::ConstructorBehavior::kThrow)
            ->GetFunction(context)
            .ToLocalChecked();
    natives->Set(context, Str(isolate, core.name), fn).Check();
  }
  return natives;
}

void ApplyCodeGenerationPolicy(v8::Isolate* isolate, v8::Local<v8::Context> context,
                               bool allow_eval) {
  isolate->SetAllowAtomicsWait(false);
  context->AllowCodeGenerationFromStrings(allow_eval);
  context->SetErrorMessageForCodeGenerationFromStrings(Str(
      isolate, "eval() and new Function() are disabled for this function (allow_eval in its config)"));
  isolate->SetAllowWasmCodeGenerationCallback(
      [](v8::Local<v8::Context> context, v8::Local<v8::String>) {
        return StateOf(context->GetIsolate())->allow_wasm_codegen;
      });
}

std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  v8::String::Utf8Value utf8(isolate, value);
  return *utf8 == nullptr ? std::string() : std::string(*utf8, utf8.length());
}

std::string DescribeException(v8::Isolate* isolate, v8::Local<v8::Context> context,
                              const v8::TryCatch& try_catch) {
  v8::Local<v8::Message> message = try_catch.Message();
  std::string text = try_catch.HasCaught() ? ToUtf8(isolate, try_catch.Exception()) : "";
  if (message.IsEmpty()) return text;
  std::string where = ToUtf8(isolate, message->GetScriptResourceName());
  int line = message->GetLineNumber(context).FromMaybe(0);
  int column = message->GetStartColumn(context).FromMaybe(0) + 1;
  std::string what = ToUtf8(isolate, message->Get());
  // "Uncaught SyntaxError: ..." -> "SyntaxError: ..."
  absl::string_view what_view = what;
  absl::ConsumePrefix(&what_view, "Uncaught ");
  return absl::StrCat(where, ":", line, ":", column, ": ", what_view);
}

std::string ExceptionStack(v8::Isolate* isolate, v8::Local<v8::Context> context,
                           v8::Local<v8::Value> exception) {
  if (exception->IsObject() && exception->IsNativeError()) {
    v8::Local<v8::Value> stack;
    if (exception.As<v8::Object>()->Get(context, Str(isolate, "stack")).ToLocal(&stack) &&
        stack->IsString()) {
      return ToUtf8(isolate, stack);
    }
  }
  return ToUtf8(isolate, exception);
}

}  // namespace internal

int NativeCall::Length() const { return info_.Length(); }

bool NativeCall::IsString(int i) const { return i < info_.Length() && info_[i]->IsString(); }

bool NativeCall::IsBytes(int i) const {
  return i < info_.Length() && (info_[i]->IsArrayBuffer() || info_[i]->IsArrayBufferView());
}

std::string NativeCall::String(int i) const {
  if (i >= info_.Length()) return {};
  return internal::ToUtf8(info_.GetIsolate(), info_[i]);
}

double NativeCall::Number(int i) const {
  if (i >= info_.Length()) return 0;
  return info_[i]->NumberValue(info_.GetIsolate()->GetCurrentContext()).FromMaybe(0);
}

bool NativeCall::Bool(int i) const {
  return i < info_.Length() && info_[i]->BooleanValue(info_.GetIsolate());
}

absl::Span<uint8_t> NativeCall::Bytes(int i) const {
  if (i >= info_.Length()) return {};
  v8::Local<v8::Value> value = info_[i];
  if (value->IsArrayBufferView()) {
    v8::Local<v8::ArrayBufferView> view = value.As<v8::ArrayBufferView>();
    auto* base = static_cast<uint8_t*>(view->Buffer()->Data());
    return absl::Span<uint8_t>(base + view->ByteOffset(), view->ByteLength());
  }
  if (value->IsArrayBuffer()) {
    v8::Local<v8::ArrayBuffer> buffer = value.As<v8::ArrayBuffer>();
    return absl::Span<uint8_t>(static_cast<uint8_t*>(buffer->Data()), buffer->ByteLength());
  }
  return {};
}

JsHost* NativeCall::host() const { return internal::StateOf(info_.GetIsolate())->host; }

void NativeCall::ReturnNull() { info_.GetReturnValue().SetNull(); }

void NativeCall::ReturnNumber(double value) { info_.GetReturnValue().Set(value); }

void NativeCall::ReturnBool(bool value) { info_.GetReturnValue().Set(value); }

void NativeCall::ReturnString(absl::string_view utf8) {
  info_.GetReturnValue().Set(internal::Str(info_.GetIsolate(), utf8));
}

void NativeCall::ReturnBytes(absl::string_view bytes) {
  v8::Isolate* isolate = info_.GetIsolate();
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes.size());
  if (!bytes.empty()) std::memcpy(buffer->Data(), bytes.data(), bytes.size());
  info_.GetReturnValue().Set(v8::Uint8Array::New(buffer, 0, bytes.size()));
}

void NativeCall::ReturnStringAndNumbers(absl::string_view utf8, absl::Span<const double> numbers) {
  v8::Isolate* isolate = info_.GetIsolate();
  std::vector<v8::Local<v8::Value>> elements;
  elements.reserve(numbers.size() + 1);
  elements.push_back(internal::Str(isolate, utf8));
  for (double number : numbers) elements.push_back(v8::Number::New(isolate, number));
  info_.GetReturnValue().Set(v8::Array::New(isolate, elements.data(), elements.size()));
}

void NativeCall::ThrowError(absl::string_view message) {
  v8::Isolate* isolate = info_.GetIsolate();
  isolate->ThrowException(v8::Exception::Error(internal::Str(isolate, message)));
}

void NativeCall::ThrowTypeError(absl::string_view message) {
  v8::Isolate* isolate = info_.GetIsolate();
  isolate->ThrowException(v8::Exception::TypeError(internal::Str(isolate, message)));
}

void NativeCall::ThrowRangeError(absl::string_view message) {
  v8::Isolate* isolate = info_.GetIsolate();
  isolate->ThrowException(v8::Exception::RangeError(internal::Str(isolate, message)));
}

}  // namespace kiln::worker::js
