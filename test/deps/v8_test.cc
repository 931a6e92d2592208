// Proves V8 (Debian's libnode108) is linked and embeddable: a snapshot blob is
// created with SnapshotCreator, then a fresh isolate boots from it and runs JS
// that the snapshot defined.
#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace {

class V8Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    platform_ = v8::platform::NewDefaultPlatform().release();
    v8::V8::InitializePlatform(platform_);
    ASSERT_TRUE(v8::V8::Initialize());
  }
  static v8::Platform* platform_;
};
v8::Platform* V8Test::platform_ = nullptr;

std::string RunJs(v8::Isolate* isolate, v8::Local<v8::Context> context, const char* code) {
  v8::Local<v8::String> source = v8::String::NewFromUtf8(isolate, code).ToLocalChecked();
  v8::Local<v8::Script> script = v8::Script::Compile(context, source).ToLocalChecked();
  v8::Local<v8::Value> result = script->Run(context).ToLocalChecked();
  v8::String::Utf8Value utf8(isolate, result);
  return *utf8;
}

TEST_F(V8Test, BootsIsolateFromSnapshotAndRunsJs) {
  v8::StartupData blob;
  {
    v8::SnapshotCreator creator;
    v8::Isolate* isolate = creator.GetIsolate();
    {
      v8::HandleScope handle_scope(isolate);
      v8::Local<v8::Context> context = v8::Context::New(isolate);
      v8::Context::Scope context_scope(context);
      RunJs(isolate, context,
          "globalThis.counter = 41;"
          "globalThis.greet = (name) => `hello ${name} #${++counter}`;");
      creator.SetDefaultContext(context);
    }
    blob = creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
  }
  ASSERT_NE(blob.data, nullptr);
  ASSERT_GT(blob.raw_size, 0);

  v8::Isolate::CreateParams params;
  params.snapshot_blob = &blob;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(
      v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  params.array_buffer_allocator = allocator.get();
  v8::Isolate* isolate = v8::Isolate::New(params);
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    EXPECT_EQ(RunJs(isolate, context, "greet('kiln')"), "hello kiln #42");
    EXPECT_EQ(RunJs(isolate, context, "greet('again')"), "hello again #43");
  }
  isolate->Dispose();
  delete[] blob.data;
}

}  // namespace
