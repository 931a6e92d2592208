// V8 under the worker policy: a forked child initialises V8 the way kiln-worker
// does (platform threads, an isolate), confines itself with ConfineWorker, and
// then exercises what tenant code relies on -- TurboFan-optimised code (both
// forced and from a hot loop on the concurrent compiler thread), regexps
// compiled to native code, GC under memory pressure, WebAssembly (sync and
// async compile, memory growth), Date/Intl, new isolates and a snapshot made
// and booted after confinement. The child exits 0 only if everything ran; a
// missing rule shows up as SIGSYS.
//
// It also checks what the worker must do before confinement: with an entropy
// source set and the time zone touched once, V8 never tries /dev/urandom or
// /etc/localtime afterwards (a test-only filter stacked under the worker
// policy records every path the child tries to open).
//
// To find a missing rule, run the child in log mode and read the kernel log:
//   bazel test --test_env=KILN_SANDBOX_MODE=log //test/sandbox_v8/...
//   dmesg | grep type=1326
#include <gtest/gtest.h>
#include <libplatform/libplatform.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/confine.h"

namespace {

using kiln::sandbox::Mode;

// --- Path recorder: a filter stacked before the worker policy turns
// open/openat/readlink into SIGSYS (TRAP outranks the policy's ERRNO), and the
// handler notes the path and returns -EACCES, as the policy would. ---
constexpr int kMaxPaths = 64;
char g_paths[kMaxPaths][160];
std::atomic<int> g_path_count{0};

void RecordPath(int, siginfo_t* info, void* context) {
  greg_t* regs = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  const char* path = reinterpret_cast<const char*>(info->si_syscall == __NR_openat ? regs[REG_RSI]
                                                                                   : regs[REG_RDI]);
  int i = g_path_count.fetch_add(1);
  if (i < kMaxPaths && path != nullptr) {
    size_t n = 0;
    for (; n + 1 < sizeof g_paths[i] && path[n] != '\0'; ++n) g_paths[i][n] = path[n];
    g_paths[i][n] = '\0';
  }
  regs[REG_RAX] = -EACCES;
}

bool InstallPathRecorder() {
  struct sigaction action = {};
  action.sa_sigaction = RecordPath;
  action.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &action, nullptr) != 0) return false;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  bool ok = ctx != nullptr && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) == 0 &&
            seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(openat), 0) == 0 &&
            seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(open), 0) == 0 &&
            seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(readlink), 0) == 0 &&
            seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// What kiln-worker gives V8 instead of /dev/urandom.
bool GetRandomEntropy(unsigned char* buffer, size_t length) {
  while (length > 0) {
    ssize_t n = getrandom(buffer, length, 0);
    if (n <= 0) return false;
    buffer += n;
    length -= n;
  }
  return true;
}

// %GetOptimizationStatus bits in V8 10.2 (src/runtime/runtime.h).
constexpr int kOptimized = 1 << 4;
constexpr int kTurboFanned = 1 << 6;

class Child {
 public:
  explicit Child(v8::Platform* platform) : platform_(platform) {}

  // Runs `code` in a fresh context of `isolate`; returns the result as a
  // string, or "EXCEPTION: ..." if it threw.
  std::string Run(v8::Isolate* isolate, const char* code) {
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    return RunIn(isolate, context, code);
  }

  std::string RunIn(v8::Isolate* isolate, v8::Local<v8::Context> context, const char* code) {
    v8::HandleScope scope(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::String> source = v8::String::NewFromUtf8(isolate, code).ToLocalChecked();
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> result;
    if (!v8::Script::Compile(context, source).ToLocal(&script) ||
        !script->Run(context).ToLocal(&result)) {
      v8::String::Utf8Value message(isolate, try_catch.Exception());
      return std::string("EXCEPTION: ") + (*message ? *message : "?");
    }
    // Settle promises and run posted tasks (async wasm compilation).
    for (int i = 0; i < 200; ++i) {
      while (v8::platform::PumpMessageLoop(platform_, isolate)) {
      }
      isolate->PerformMicrotaskCheckpoint();
      if (!result->IsPromise() || result.As<v8::Promise>()->State() != v8::Promise::kPending) {
        break;
      }
      usleep(5000);
    }
    if (result->IsPromise()) {
      v8::Local<v8::Promise> promise = result.As<v8::Promise>();
      if (promise->State() != v8::Promise::kFulfilled) return "PROMISE NOT FULFILLED";
      result = promise->Result();
    }
    v8::String::Utf8Value utf8(isolate, result);
    return *utf8 ? *utf8 : "";
  }

 private:
  v8::Platform* platform_;
};

#define CHECK_STAGE(stage, cond, ...)              \
  do {                                             \
    if (!(cond)) {                                 \
      fprintf(stderr, "stage %d failed: ", stage); \
      fprintf(stderr, __VA_ARGS__);                \
      fprintf(stderr, "\n");                       \
      return stage;                                \
    }                                              \
  } while (0)

v8::Isolate* NewIsolate(v8::ArrayBuffer::Allocator* allocator, v8::StartupData* blob = nullptr) {
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator;
  params.snapshot_blob = blob;
  return v8::Isolate::New(params);
}

// The forked child. Returns its exit code: 0, or the number of the failed stage.
int RunConfinedV8(Mode mode) {
  v8::V8::SetFlagsFromString("--allow-natives-syntax --expose-gc");
  v8::V8::SetEntropySource(GetRandomEntropy);
  std::unique_ptr<v8::Platform> platform = v8::platform::NewDefaultPlatform();
  v8::V8::InitializePlatform(platform.get());
  CHECK_STAGE(1, v8::V8::Initialize(), "V8::Initialize");
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(
      v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  v8::Isolate* isolate = NewIsolate(allocator.get());
  Child child(platform.get());
  {
    v8::Isolate::Scope isolate_scope(isolate);
    CHECK_STAGE(2, child.Run(isolate, "1 + 1") == "2", "warm-up");
    // Touch the time zone once: ICU detects and caches it now, while
    // /etc/localtime can still be read.
    CHECK_STAGE(2, child.Run(isolate, "typeof new Date().toString()") == "string", "time zone");
  }
  CHECK_STAGE(2, InstallPathRecorder(), "path recorder");

  // The worker's confinement: hardening + the worker policy on every thread,
  // V8's platform workers included.
  absl::Status confined = kiln::sandbox::ConfineWorker({.mode = mode});
  CHECK_STAGE(3, confined.ok(), "ConfineWorker: %s", confined.ToString().c_str());
  fprintf(stderr, "confined (%s)\n", kiln::sandbox::ModeName(mode));

  {
    v8::Isolate::Scope isolate_scope(isolate);

    // TurboFan, forced: the function is compiled to machine code on this thread.
    std::string forced = child.Run(isolate,
                                   "function add(a, b) { return a * 2 + b; }"
                                   "%PrepareFunctionForOptimization(add);"
                                   "add(1, 2); add(3, 4);"
                                   "%OptimizeFunctionOnNextCall(add);"
                                   "const r = add(5, 6);"
                                   "`${r} ${%GetOptimizationStatus(add)}`");
    int status = 0, result = 0;
    CHECK_STAGE(4, sscanf(forced.c_str(), "%d %d", &result, &status) == 2, "forced: %s",
                forced.c_str());
    fprintf(stderr, "forced optimisation: result %d, status 0x%x\n", result, status);
    CHECK_STAGE(4, result == 16 && (status & kOptimized) && (status & kTurboFanned),
                "add() not TurboFanned: %s", forced.c_str());

    // TurboFan, from a hot loop: the tiering manager marks the function and the
    // concurrent compiler (a platform worker thread) builds the code.
    std::string hot = child.Run(isolate,
                                "function hot(n) { let s = 0;"
                                "  for (let i = 0; i < n; i++) s += (i * 3) % 7; return s; }"
                                "let calls = 0, sum = 0;"
                                "while (!(%GetOptimizationStatus(hot) & 16) && calls < 2e6) {"
                                "  sum += hot(50); calls++; }"
                                "`${calls} ${%GetOptimizationStatus(hot)} ${hot(7)}`");
    int calls = 0;
    CHECK_STAGE(5, sscanf(hot.c_str(), "%d %d %d", &calls, &status, &result) == 3, "hot: %s",
                hot.c_str());
    fprintf(stderr, "hot loop: optimised after %d calls, status 0x%x\n", calls, status);
    CHECK_STAGE(5, (status & kTurboFanned) && result == 21, "hot() not TurboFanned: %s",
                hot.c_str());

    // Regexps: irregexp tiers up to native code after the first executions.
    std::string regexp =
        child.Run(isolate,
                  "const text = 'id-17 x-4 kiln-2024 '.repeat(2000);"
                  "let n = 0;"
                  "for (let i = 0; i < 50; i++) {"
                  "  for (const m of text.matchAll(/([a-z]+)-(\\d+)/g)) n += +m[2];"
                  "}"
                  "const bt = /^(a+)+$/.test('a'.repeat(20) + 'a');"
                  "`${n} ${bt}`");
    CHECK_STAGE(6, regexp == "204500000 true", "regexp: %s", regexp.c_str());

    // GC under memory pressure: about 600 MB of short-lived arrays and strings,
    // then a full GC and a low-memory notification.
    v8::HeapStatistics before, peak, after;
    isolate->GetHeapStatistics(&before);
    std::string churn =
        child.Run(isolate,
                  "globalThis.keep = [];"
                  "let total = 0;"
                  "for (let round = 0; round < 60; round++) {"
                  "  const batch = [];"
                  "  for (let i = 0; i < 100; i++) batch.push(new Array(12500).fill(round + i));"
                  "  batch.push('x'.repeat(1 << 20) + round);"
                  "  total += batch.length;"
                  "  if (round % 10 == 0) keep.push(batch);"
                  "}"
                  "total");
    CHECK_STAGE(7, churn == "6060", "churn: %s", churn.c_str());
    isolate->GetHeapStatistics(&peak);
    CHECK_STAGE(7, child.Run(isolate, "keep = null; gc(); 'ok'") == "ok", "gc()");
    isolate->LowMemoryNotification();
    isolate->GetHeapStatistics(&after);
    fprintf(stderr, "heap used: before %zu KB, with 6 batches kept %zu KB, after GC %zu KB\n",
            before.used_heap_size() >> 10, peak.used_heap_size() >> 10,
            after.used_heap_size() >> 10);
    CHECK_STAGE(7, peak.used_heap_size() > before.used_heap_size() + (40 << 20), "heap never grew");
    CHECK_STAGE(7, after.used_heap_size() < peak.used_heap_size() / 2, "GC freed too little");

    // WebAssembly: (func (export "add") (param i32 i32) (result i32)) and
    // (func (export "loop") (param i32) (result i32)) summing 0..n-1, with a
    // one-page memory that grows.
    std::string wasm = child.Run(
        isolate,
        "const bytes = new Uint8Array(["
        // magic, version
        "  0x00,0x61,0x73,0x6d, 0x01,0x00,0x00,0x00,"
        // types: 0 = (i32,i32)->i32, 1 = (i32)->i32
        "  0x01,0x0c,0x02, 0x60,0x02,0x7f,0x7f,0x01,0x7f, 0x60,0x01,0x7f,0x01,0x7f,"
        // functions: add (type 0), loop (type 1)
        "  0x03,0x03,0x02,0x00,0x01,"
        // memory: 1 page, no maximum
        "  0x05,0x03,0x01,0x00,0x01,"
        // exports: add, loop, mem
        "  0x07,0x14,0x03, 0x03,0x61,0x64,0x64,0x00,0x00, 0x04,0x6c,0x6f,0x6f,0x70,0x00,0x01,"
        "       0x03,0x6d,0x65,0x6d,0x02,0x00,"
        // code
        "  0x0a,0x2d,0x02,"
        // add: local.get 0, local.get 1, i32.add
        "  0x07,0x00, 0x20,0x00, 0x20,0x01, 0x6a, 0x0b,"
        // loop: locals i, acc; block loop: if i >= n break; acc += i; i++; br 0
        "  0x23,0x01,0x02,0x7f,"
        "    0x02,0x40, 0x03,0x40,"
        "      0x20,0x01, 0x20,0x00, 0x4e, 0x0d,0x01,"
        "      0x20,0x02, 0x20,0x01, 0x6a, 0x21,0x02,"
        "      0x20,0x01, 0x41,0x01, 0x6a, 0x21,0x01,"
        "      0x0c,0x00,"
        "    0x0b, 0x0b,"
        "    0x20,0x02,"
        "  0x0b"
        "]);"
        "const module = new WebAssembly.Module(bytes);"
        "const { exports } = new WebAssembly.Instance(module);"
        "let s = 0;"
        "for (let i = 0; i < 2000; i++) s = exports.loop(1000);"
        "const grown = exports.mem.grow(15);"
        "new Uint8Array(exports.mem.buffer)[15 * 65536] = 7;"
        "WebAssembly.instantiate(bytes).then(({ instance }) =>"
        "  `${exports.add(2, 3)} ${s} ${grown} ${exports.mem.buffer.byteLength}"
        " ${instance.exports.loop(10)}`)");
    CHECK_STAGE(8, wasm == "5 499500 1 1048576 45", "wasm: %s", wasm.c_str());

    // Date and Intl (ICU): time zone, formatting, collation, normalisation.
    std::string intl = child.Run(isolate,
                                 "[new Date(0).getTime(),"
                                 " typeof new Date().toString(),"
                                 " new Intl.DateTimeFormat('en-US', {timeZone: 'UTC'}).format(0),"
                                 " (1234.5).toLocaleString('de-DE'),"
                                 " ['b', 'a', 'ä'].sort(new Intl.Collator('de').compare).join(''),"
                                 " '\\u0041\\u030a'.normalize('NFC').length,"
                                 " Math.random() < 1].join('|')");
    CHECK_STAGE(9, intl == "0|string|1/1/1970|1.234,5|aäb|1|true", "intl: %s", intl.c_str());
  }

  // A new isolate after confinement, as the worker boots one per function.
  v8::Isolate* second = NewIsolate(allocator.get());
  {
    v8::Isolate::Scope isolate_scope(second);
    std::string r = child.Run(second, "[1, 2, 3].map(x => x * x).join(',')");
    CHECK_STAGE(10, r == "1,4,9", "second isolate: %s", r.c_str());
  }
  second->Dispose();

  // Deploy's build step: a snapshot made after confinement, then booted.
  v8::StartupData blob{nullptr, 0};
  {
    v8::SnapshotCreator creator;
    v8::Isolate* builder = creator.GetIsolate();
    {
      v8::HandleScope handle_scope(builder);
      v8::Local<v8::Context> context = v8::Context::New(builder);
      std::string r =
          child.RunIn(builder, context, "globalThis.greet = (n) => `hello ${n}`; 'defined'");
      CHECK_STAGE(11, r == "defined", "snapshot script: %s", r.c_str());
      creator.SetDefaultContext(context);
    }
    blob = creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
  }
  CHECK_STAGE(11, blob.data != nullptr && blob.raw_size > 0, "CreateBlob");
  v8::Isolate* booted = NewIsolate(allocator.get(), &blob);
  {
    v8::Isolate::Scope isolate_scope(booted);
    std::string r = child.Run(booted, "greet('kiln')");
    CHECK_STAGE(12, r == "hello kiln", "booted isolate: %s", r.c_str());
  }
  booted->Dispose();
  delete[] blob.data;
  isolate->Dispose();

  // Paths probed after confinement (each got EACCES). Expected: V8's
  // /proc/self/maps (code-range hint, per new isolate) and maybe glibc's
  // /proc/sys/vm/overcommit_memory. Never the entropy or time zone files.
  const int count = std::min(g_path_count.load(), kMaxPaths);
  for (int i = 0; i < count; ++i) {
    fprintf(stderr, "probed after confinement: %s\n", g_paths[i]);
    CHECK_STAGE(13, strcmp(g_paths[i], "/dev/urandom") != 0,
                "V8 read /dev/urandom: its entropy source is not in use");
    CHECK_STAGE(
        13, strstr(g_paths[i], "localtime") == nullptr && strstr(g_paths[i], "zoneinfo") == nullptr,
        "the time zone was looked up after confinement: %s", g_paths[i]);
  }
  return 0;
}

Mode ModeFromEnvironment() {
  const char* mode = getenv("KILN_SANDBOX_MODE");
  return mode != nullptr && strcmp(mode, "log") == 0 ? Mode::kLog : Mode::kEnforce;
}

TEST(SandboxV8Test, V8WorksUnderTheWorkerPolicy) {
  const Mode mode = ModeFromEnvironment();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(RunConfinedV8(mode));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_FALSE(WIFSIGNALED(status))
      << "the confined V8 child was killed by signal " << WTERMSIG(status) << " ("
      << sigabbrev_np(WTERMSIG(status)) << "); SIGSYS means a syscall V8 needs is not in "
      << "WorkerPolicy -- rerun with KILN_SANDBOX_MODE=log and read `dmesg | grep type=1326`";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "stage " << WEXITSTATUS(status) << " failed (see above)";
}

}  // namespace
