// Worker runtime figures (issue "Worker runtime"), each beside raw V8 doing
// the same job in the same run:
//   1. boot: an isolate booted from a hello-world function's snapshot, to its
//      first response (Kiln) vs a raw V8 isolate booted from a snapshot of the
//      same handler with no Kiln runtime, to its first call;
//   2. warm: one no-op fetch on a warm isolate, Request built and Response read
//      back -- in-isolate (JsIsolate turn) and through WorkerRuntime::Invoke
//      (executor hand-off, watchdog, pool), vs a raw V8 call of a function;
//   3. memory: RSS of 1,000 idle warm isolates of that function, per isolate.
//
//   bazel run -c opt //ops/bench:runtime_bench
#include <libplatform/libplatform.h>
#include <sys/wait.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "worker/api/natives.h"
#include "worker/js/js_isolate.h"
#include "worker/js/snapshot.h"
#include "worker/js/v8_process.h"
#include "worker/runtime/runtime.h"

namespace {

using namespace kiln::worker;

constexpr char kHello[] =
    "export default { fetch(request) { return new Response('hello'); } };";

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * (values.size() - 1))];
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// ---- raw V8: the same handler, no Kiln runtime -----------------------------

struct RawSnapshot {
  v8::StartupData blob;
};

RawSnapshot BuildRaw() {
  v8::SnapshotCreator creator;
  v8::Isolate* isolate = creator.GetIsolate();
  {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    v8::Local<v8::String> source =
        v8::String::NewFromUtf8Literal(isolate, "globalThis.handler = { fetch(r) { return 'hello'; } };");
    v8::Script::Compile(context, source).ToLocalChecked()->Run(context).ToLocalChecked();
    creator.SetDefaultContext(context);
  }
  return {creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep)};
}

struct RawIsolate {
  v8::Isolate* isolate;
  v8::Global<v8::Context> context;
  v8::Global<v8::Function> fetch;
  v8::Global<v8::Object> handler;
};

std::unique_ptr<v8::ArrayBuffer::Allocator> raw_allocator(v8::ArrayBuffer::Allocator::NewDefaultAllocator());

std::string RawCall(RawIsolate& raw) {
  v8::Locker locker(raw.isolate);
  v8::Isolate::Scope isolate_scope(raw.isolate);
  v8::HandleScope scope(raw.isolate);
  v8::Local<v8::Context> context = raw.context.Get(raw.isolate);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> args[] = {v8::String::NewFromUtf8Literal(raw.isolate, "http://x/")};
  v8::Local<v8::Value> result =
      raw.fetch.Get(raw.isolate)->Call(context, raw.handler.Get(raw.isolate), 1, args).ToLocalChecked();
  v8::String::Utf8Value text(raw.isolate, result);
  return *text;
}

RawIsolate BootRaw(RawSnapshot& snapshot) {
  RawIsolate raw;
  v8::Isolate::CreateParams params;
  params.snapshot_blob = &snapshot.blob;
  params.array_buffer_allocator = raw_allocator.get();
  raw.isolate = v8::Isolate::New(params);
  v8::Locker locker(raw.isolate);
  v8::Isolate::Scope isolate_scope(raw.isolate);
  v8::HandleScope scope(raw.isolate);
  v8::Local<v8::Context> context = v8::Context::New(raw.isolate);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Object> handler = context->Global()
                                      ->Get(context, v8::String::NewFromUtf8Literal(raw.isolate, "handler"))
                                      .ToLocalChecked()
                                      .As<v8::Object>();
  raw.handler.Reset(raw.isolate, handler);
  raw.fetch.Reset(raw.isolate, handler->Get(context, v8::String::NewFromUtf8Literal(raw.isolate, "fetch"))
                                   .ToLocalChecked()
                                   .As<v8::Function>());
  raw.context.Reset(raw.isolate, context);
  return raw;
}

void DisposeRaw(RawIsolate& raw) {
  {
    v8::Locker locker(raw.isolate);
    raw.context.Reset();
    raw.fetch.Reset();
    raw.handler.Reset();
  }
  raw.isolate->Dispose();
}

// ---- Kiln ------------------------------------------------------------------

std::string KilnFetch(js::JsIsolate& isolate) {
  HttpRequest request;
  request.url = "http://hello.default.localhost/";
  js::TurnResult turn = isolate.StartFetch(request, nullptr);
  std::string body = turn.state == js::TurnResult::State::kDone ? isolate.TakeHttpResponse().body : "?";
  isolate.Finish();
  return body;
}

}  // namespace

// Raw V8's figures, measured in a child process of its own: Debian's V8 10.2
// does not take isolates from two unrelated snapshot families in one process
// (booting the raw blob after a Kiln one crashed in the string-table
// deserializer), so the peer runs apart, with the same flags and seed.
struct RawFigures {
  double boot_p50, boot_p99, warm_p50, warm_p99, rss_per_isolate, snapshot_bytes;
};

RawFigures MeasureRawInChild(int boots, int warm_calls, int idle_isolates) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    js::InitializeV8();
    RawSnapshot raw_snapshot = BuildRaw();
    std::vector<double> boot, warm;
    for (int i = 0; i < boots; ++i) {
      absl::Time t0 = absl::Now();
      RawIsolate raw = BootRaw(raw_snapshot);
      RawCall(raw);
      boot.push_back(Seconds(absl::Now() - t0));
      DisposeRaw(raw);
    }
    RawIsolate warm_isolate = BootRaw(raw_snapshot);
    for (int i = 0; i < 1000; ++i) RawCall(warm_isolate);
    for (int i = 0; i < warm_calls; ++i) {
      absl::Time t0 = absl::Now();
      RawCall(warm_isolate);
      warm.push_back(Seconds(absl::Now() - t0));
    }
    DisposeRaw(warm_isolate);
    std::vector<RawIsolate> idle;
    size_t before = RssBytes();
    for (int i = 0; i < idle_isolates; ++i) {
      idle.push_back(BootRaw(raw_snapshot));
      RawCall(idle.back());
    }
    RawFigures figures{Percentile(boot, .5), Percentile(boot, .99), Percentile(warm, .5),
                       Percentile(warm, .99), static_cast<double>(RssBytes() - before) / idle_isolates,
                       static_cast<double>(raw_snapshot.blob.raw_size)};
    if (write(fds[1], &figures, sizeof(figures)) != sizeof(figures)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  RawFigures figures{};
  if (read(fds[0], &figures, sizeof(figures)) != sizeof(figures)) {
    std::fprintf(stderr, "the raw V8 child failed\n");
    std::exit(1);
  }
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return figures;
}

int main(int argc, char** argv) {
  const int boots = 300;
  const int warm_calls = 20000;
  const int idle_isolates = argc > 1 ? std::atoi(argv[1]) : 1000;
  const RawFigures raw = MeasureRawInChild(boots, warm_calls, idle_isolates);
  js::InitializeV8();
  const js::RuntimeSpec& spec = api::KilnRuntime();

  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = kHello;
  absl::StatusOr<js::BuildResult> built = js::BuildSnapshot(bundle, spec);
  if (!built.ok()) {
    std::fprintf(stderr, "build failed: %s\n", std::string(built.status().message()).c_str());
    return 1;
  }
  std::shared_ptr<const js::Snapshot> snapshot =
      *js::Snapshot::Parse(built->blob, js::RuntimeFingerprint(spec));
  std::printf("snapshot size: kiln %zu KiB, raw V8 %.0f KiB\n\n", snapshot->blob().size() >> 10,
              raw.snapshot_bytes / 1024);

  // 1. Boot to first response.
  std::vector<double> kiln_boot;
  for (int i = 0; i < boots; ++i) {
    absl::Time t0 = absl::Now();
    auto isolate = js::JsIsolate::Boot(snapshot, spec, {});
    std::string body = KilnFetch(**isolate);
    kiln_boot.push_back(Seconds(absl::Now() - t0));
    if (body != "hello") return 1;
  }
  std::printf("boot to first response (%d boots)   p50        p99\n", boots);
  std::printf("  kiln (runtime + handler)          %7.3f ms %7.3f ms\n", Percentile(kiln_boot, .5) * 1e3,
              Percentile(kiln_boot, .99) * 1e3);
  std::printf("  raw V8 (handler only)             %7.3f ms %7.3f ms\n", raw.boot_p50 * 1e3, raw.boot_p99 * 1e3);
  std::printf("  ratio kiln / raw V8 (p50)         %7.2fx\n\n", Percentile(kiln_boot, .5) / raw.boot_p50);

  // 2. Warm invocation.
  std::vector<double> kiln_warm, runtime_warm;
  {
    auto isolate = std::move(*js::JsIsolate::Boot(snapshot, spec, {}));
    for (int i = 0; i < 1000; ++i) KilnFetch(*isolate);  // tier up
    for (int i = 0; i < warm_calls; ++i) {
      absl::Time t0 = absl::Now();
      KilnFetch(*isolate);
      kiln_warm.push_back(Seconds(absl::Now() - t0));
    }
  }
  {
    WorkerRuntime runtime(spec, {.executors = 1});
    FunctionKey key{"bench", "hello", 1};
    if (!runtime.Load(key, built->blob).ok()) return 1;
    HttpRequest request;
    request.url = "http://hello.bench.localhost/";
    for (int i = 0; i < warm_calls / 2 + 1000; ++i) {
      absl::Notification done;
      absl::Time t0 = absl::Now();
      runtime.Invoke(key, request, "r", [&](InvocationOutcome) { done.Notify(); });
      done.WaitForNotification();
      if (i >= 1000) runtime_warm.push_back(Seconds(absl::Now() - t0));
    }
  }
  std::printf("warm no-op fetch (%d calls)          p50        p99\n", warm_calls);
  std::printf("  kiln, in the isolate's thread     %7.2f us %7.2f us\n", Percentile(kiln_warm, .5) * 1e6,
              Percentile(kiln_warm, .99) * 1e6);
  std::printf("  kiln, via WorkerRuntime::Invoke   %7.2f us %7.2f us   (includes a thread hand-off each way)\n",
              Percentile(runtime_warm, .5) * 1e6, Percentile(runtime_warm, .99) * 1e6);
  std::printf("  raw V8 function call              %7.2f us %7.2f us\n", raw.warm_p50 * 1e6, raw.warm_p99 * 1e6);
  std::printf("  ratio kiln in-isolate / raw V8    %7.2fx\n\n", Percentile(kiln_warm, .5) / raw.warm_p50);

  // 3. Idle warm isolates.
  {
    std::vector<std::unique_ptr<js::JsIsolate>> kiln;
    size_t before = RssBytes();
    for (int i = 0; i < idle_isolates; ++i) {
      auto isolate = std::move(*js::JsIsolate::Boot(snapshot, spec, {}));
      KilnFetch(*isolate);
      kiln.push_back(std::move(isolate));
    }
    double kiln_rss = static_cast<double>(RssBytes() - before) / idle_isolates;
    std::printf("idle warm isolates (%d, RSS growth)  per isolate\n", idle_isolates);
    std::printf("  kiln                              %7.2f MiB\n", kiln_rss / 1048576.0);
    std::printf("  raw V8                            %7.2f MiB\n", raw.rss_per_isolate / 1048576.0);
    std::printf("  ratio kiln / raw V8               %7.2fx\n", kiln_rss / raw.rss_per_isolate);
  }
  return 0;
}
