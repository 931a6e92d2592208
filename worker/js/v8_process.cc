// Process-wide V8 initialisation and the runtime fingerprint.
#include "worker/js/v8_process.h"

#include <libplatform/libplatform.h>
#include <openssl/evp.h>
#include <sys/random.h>
#include <v8.h>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "worker/js/internal.h"

namespace kiln::worker::js {
namespace {

// Bumped whenever the snapshot layout or the native calling convention changes.
constexpr int kBlobFormatVersion = 2;

v8::Platform* platform = nullptr;  // V8's default platform, wrapped below
uint64_t active_hash_seed = 0;
thread_local double frozen_clock_ms = 0;  // 0: not frozen

double RealClockMillis() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Forwards to V8's runner for an isolate, and tells the isolate's waker that
// a task is waiting, so an invocation blocked on V8 work (an asynchronous
// WebAssembly compile, say) runs it even when no timer is pending.
class NotifyingTaskRunner final : public v8::TaskRunner {
 public:
  NotifyingTaskRunner(v8::Isolate* isolate, std::shared_ptr<v8::TaskRunner> inner)
      : isolate_(isolate), inner_(std::move(inner)) {}
  void PostTask(std::unique_ptr<v8::Task> task) override {
    inner_->PostTask(std::move(task));
    internal::NotifyForegroundTask(isolate_, 0);
  }
  void PostNonNestableTask(std::unique_ptr<v8::Task> task) override {
    inner_->PostNonNestableTask(std::move(task));
    internal::NotifyForegroundTask(isolate_, 0);
  }
  void PostDelayedTask(std::unique_ptr<v8::Task> task, double delay) override {
    inner_->PostDelayedTask(std::move(task), delay);
    internal::NotifyForegroundTask(isolate_, delay);
  }
  void PostNonNestableDelayedTask(std::unique_ptr<v8::Task> task, double delay) override {
    inner_->PostNonNestableDelayedTask(std::move(task), delay);
    internal::NotifyForegroundTask(isolate_, delay);
  }
  void PostIdleTask(std::unique_ptr<v8::IdleTask> task) override { inner_->PostIdleTask(std::move(task)); }
  bool IdleTasksEnabled() override { return inner_->IdleTasksEnabled(); }
  bool NonNestableTasksEnabled() const override { return inner_->NonNestableTasksEnabled(); }
  bool NonNestableDelayedTasksEnabled() const override { return inner_->NonNestableDelayedTasksEnabled(); }

 private:
  v8::Isolate* isolate_;
  std::shared_ptr<v8::TaskRunner> inner_;
};

// V8's default platform with two changes: the wall clock V8 reads for
// Date.now() and new Date() is frozen while a turn runs (FrozenClockScope),
// and posting a foreground task wakes the isolate's invocation.
class KilnPlatform final : public v8::Platform {
 public:
  explicit KilnPlatform(v8::Platform* inner) : inner_(inner) {}

  v8::PageAllocator* GetPageAllocator() override { return inner_->GetPageAllocator(); }
  void OnCriticalMemoryPressure() override { inner_->OnCriticalMemoryPressure(); }
  bool OnCriticalMemoryPressure(size_t length) override { return inner_->OnCriticalMemoryPressure(length); }
  int NumberOfWorkerThreads() override { return inner_->NumberOfWorkerThreads(); }
  std::shared_ptr<v8::TaskRunner> GetForegroundTaskRunner(v8::Isolate* isolate) override {
    return std::make_shared<NotifyingTaskRunner>(isolate, inner_->GetForegroundTaskRunner(isolate));
  }
  void CallOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    inner_->CallOnWorkerThread(std::move(task));
  }
  void CallBlockingTaskOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    inner_->CallBlockingTaskOnWorkerThread(std::move(task));
  }
  void CallLowPriorityTaskOnWorkerThread(std::unique_ptr<v8::Task> task) override {
    inner_->CallLowPriorityTaskOnWorkerThread(std::move(task));
  }
  void CallDelayedOnWorkerThread(std::unique_ptr<v8::Task> task, double delay_in_seconds) override {
    inner_->CallDelayedOnWorkerThread(std::move(task), delay_in_seconds);
  }
  bool IdleTasksEnabled(v8::Isolate* isolate) override { return inner_->IdleTasksEnabled(isolate); }
  std::unique_ptr<v8::JobHandle> PostJob(v8::TaskPriority priority,
                                         std::unique_ptr<v8::JobTask> job_task) override {
    return inner_->PostJob(priority, std::move(job_task));
  }
  double MonotonicallyIncreasingTime() override { return inner_->MonotonicallyIncreasingTime(); }
  double CurrentClockTimeMillis() override { return ClockMillis(); }
  StackTracePrinter GetStackTracePrinter() override { return inner_->GetStackTracePrinter(); }
  v8::TracingController* GetTracingController() override { return inner_->GetTracingController(); }

 private:
  v8::Platform* inner_;
};

bool FillRandom(unsigned char* buffer, size_t length) {
  size_t filled = 0;
  while (filled < length) {
    ssize_t n = getrandom(buffer + filled, length - filled, 0);
    if (n < 0) return false;
    filled += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

const char* KilnV8Flags() {
  // Snapshot blobs are checked once when parsed (Snapshot::Parse), not by V8
  // on every isolate boot.
  return "--no-harmony-sharedarraybuffer --no-verify-snapshot-checksum";
}

void InitializeV8(uint64_t hash_seed) {
  static std::once_flag once;
  std::call_once(once, [hash_seed] {
    v8::V8::SetEntropySource(FillRandom);
    active_hash_seed = hash_seed;
    while (active_hash_seed == 0) {
      FillRandom(reinterpret_cast<unsigned char*>(&active_hash_seed), sizeof(active_hash_seed));
    }
    v8::V8::SetFlagsFromString(KilnV8Flags());
    // V8 takes an int; 63 bits keep it positive.
    v8::V8::SetFlagsFromString(
        absl::StrCat("--hash-seed=", static_cast<int64_t>(active_hash_seed >> 1)).c_str());
    platform = v8::platform::NewDefaultPlatform(/*thread_pool_size=*/2).release();
    v8::V8::InitializePlatform(new KilnPlatform(platform));
    v8::V8::Initialize();
  });
}

v8::Platform* V8Platform() { return platform; }

double ClockMillis() { return frozen_clock_ms > 0 ? frozen_clock_ms : RealClockMillis(); }

FrozenClockScope::FrozenClockScope() { frozen_clock_ms = std::floor(RealClockMillis()); }

FrozenClockScope::~FrozenClockScope() { frozen_clock_ms = 0; }

std::string V8Version() { return v8::V8::GetVersion(); }

std::string RuntimeFingerprint(const RuntimeSpec& spec) {
  InitializeV8();
  std::string material = absl::StrCat("format=", kBlobFormatVersion, "\nv8=", V8Version(),
                                      "\nflags=", KilnV8Flags(), "\nseed=", active_hash_seed,
                                      "\nruntime=", spec.source);
  for (const NativeBinding& native : spec.natives) absl::StrAppend(&material, "\nnative=", native.name);
  for (const internal::CoreNative& native : internal::CoreNatives()) {
    absl::StrAppend(&material, "\ncore=", native.name);
  }
  for (const LazyModule& module : spec.lazy_modules) {
    absl::StrAppend(&material, "\nmodule=", module.name, "\n", module.source);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(material.data(), material.size(), digest, &digest_length, EVP_sha256(), nullptr);
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  return absl::StrCat("kiln", kBlobFormatVersion, "-v8-", V8Version(), "-", hex.substr(0, 16));
}

}  // namespace kiln::worker::js
