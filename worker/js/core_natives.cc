// Natives that need V8's own types, so they live in worker/js rather than
// worker/api: structuredClone on V8's ValueSerializer, loading the runtime's
// lazy modules, and noting ctx.waitUntil() for the turn loop. Added to every
// runtime's `natives` object next to the RuntimeSpec's.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "worker/js/internal.h"

namespace kiln::worker::js::internal {
namespace {

// Host objects (anything V8 cannot serialize) fail with a message the runtime
// turns into a DOMException named DataCloneError.
class CloneDelegate final : public v8::ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(v8::Isolate* isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    isolate_->ThrowException(v8::Exception::TypeError(
        Str(isolate_, "DataCloneError: " + ToUtf8(isolate_, message))));
  }
  // No SharedArrayBuffers or WebAssembly modules cross a clone.
  v8::Maybe<uint32_t> GetSharedArrayBufferId(v8::Isolate*, v8::Local<v8::SharedArrayBuffer>) override {
    ThrowDataCloneError(Str(isolate_, "SharedArrayBuffer cannot be cloned"));
    return v8::Nothing<uint32_t>();
  }

 private:
  v8::Isolate* isolate_;
};

// natives.structuredClone(value, transferList) -> a deep copy of `value`; the
// ArrayBuffers in `transferList` move to the copy and are detached here.
void StructuredClone(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  std::vector<v8::Local<v8::ArrayBuffer>> transfers;
  if (info.Length() > 1 && info[1]->IsArray()) {
    v8::Local<v8::Array> list = info[1].As<v8::Array>();
    for (uint32_t i = 0; i < list->Length(); ++i) {
      v8::Local<v8::Value> item;
      if (!list->Get(context, i).ToLocal(&item)) return;
      if (!item->IsArrayBuffer() || !item.As<v8::ArrayBuffer>()->IsDetachable() ||
          item.As<v8::ArrayBuffer>()->WasDetached()) {
        isolate->ThrowException(v8::Exception::TypeError(
            Str(isolate, "DataCloneError: only attached ArrayBuffers can be transferred")));
        return;
      }
      transfers.push_back(item.As<v8::ArrayBuffer>());
    }
  }
  CloneDelegate delegate(isolate);
  v8::ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  for (size_t i = 0; i < transfers.size(); ++i) {
    serializer.TransferArrayBuffer(static_cast<uint32_t>(i), transfers[i]);
  }
  if (serializer.WriteValue(context, info.Length() > 0 ? info[0] : v8::Undefined(isolate).As<v8::Value>())
          .IsNothing()) {
    return;  // the exception is pending
  }
  std::pair<uint8_t*, size_t> data = serializer.Release();
  v8::ValueDeserializer deserializer(isolate, data.first, data.second);
  for (size_t i = 0; i < transfers.size(); ++i) {
    v8::Local<v8::ArrayBuffer> moved =
        v8::ArrayBuffer::New(isolate, transfers[i]->GetBackingStore());
    transfers[i]->Detach();
    deserializer.TransferArrayBuffer(static_cast<uint32_t>(i), moved);
  }
  v8::Local<v8::Value> copy;
  if (deserializer.ReadHeader(context).FromMaybe(false) && deserializer.ReadValue(context).ToLocal(&copy)) {
    info.GetReturnValue().Set(copy);
  }
  std::free(data.first);
}

// V8 code caches of the lazy modules, made by the first isolate of this
// process that loads each one, so later isolates skip parsing and compiling.
absl::Mutex code_cache_mu;
std::map<std::string, std::string>& CodeCaches() {
  static auto* caches = new std::map<std::string, std::string>();
  return *caches;
}

// natives.loadModule(name) -> the module's factory function (see
// RuntimeSpec::lazy_modules); throws for an unknown name.
void LoadModule(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  const std::string name = ToUtf8(isolate, info[0]);
  const LazyModule* module = nullptr;
  for (const LazyModule& candidate : StateOf(isolate)->spec->lazy_modules) {
    if (name == candidate.name) module = &candidate;
  }
  if (module == nullptr) {
    isolate->ThrowException(v8::Exception::Error(Str(isolate, "no runtime module " + name)));
    return;
  }
  v8::ScriptOrigin origin(isolate, Str(isolate, "kiln:" + name));
  v8::ScriptCompiler::CachedData* cached = nullptr;
  {
    absl::MutexLock lock(&code_cache_mu);
    auto found = CodeCaches().find(name);
    if (found != CodeCaches().end()) {
      cached = new v8::ScriptCompiler::CachedData(reinterpret_cast<const uint8_t*>(found->second.data()),
                                                  static_cast<int>(found->second.size()));
    }
  }
  v8::ScriptCompiler::Source source(Str(isolate, module->source), origin, cached);  // owns `cached`
  v8::Local<v8::Script> script;
  if (!v8::ScriptCompiler::Compile(context, &source,
                                   cached != nullptr ? v8::ScriptCompiler::kConsumeCodeCache
                                                     : v8::ScriptCompiler::kNoCompileOptions)
           .ToLocal(&script)) {
    return;
  }
  v8::Local<v8::Value> factory;
  if (!script->Run(context).ToLocal(&factory)) return;
  if (cached == nullptr) {
    std::unique_ptr<v8::ScriptCompiler::CachedData> created(
        v8::ScriptCompiler::CreateCodeCache(script->GetUnboundScript()));
    if (created != nullptr) {
      absl::MutexLock lock(&code_cache_mu);
      CodeCaches().emplace(name, std::string(reinterpret_cast<const char*>(created->data), created->length));
    }
  }
  info.GetReturnValue().Set(factory);
}

// natives.waitUntilAdded(): ctx.waitUntil() queued a promise, so the
// invocation has work for JsIsolate::StartWaitUntil to wait for.
void WaitUntilAdded(const v8::FunctionCallbackInfo<v8::Value>& info) {
  StateOf(info.GetIsolate())->wait_until_added = true;
}

}  // namespace

const std::vector<CoreNative>& CoreNatives() {
  static const std::vector<CoreNative>* natives = new std::vector<CoreNative>{
      {"structuredClone", StructuredClone},
      {"loadModule", LoadModule},
      {"waitUntilAdded", WaitUntilAdded},
  };
  return *natives;
}

}  // namespace kiln::worker::js::internal
