// Tests of the isolate pool: isolates stay with their version, spares are
// pre-booted, idle isolates are evicted least-recently-used first under the
// memory budget, condemned and unloaded isolates are never reused.
#include "worker/runtime/isolate_pool.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "worker/api/natives.h"
#include "worker/js/v8_process.h"
#include "worker/runtime/testing/test_builder.h"

namespace kiln::worker {
namespace {

std::shared_ptr<const LoadedFunction> MakeFunction(
    const std::string& name, uint64_t version,
    const std::string& source =
        "let n = 0; export default { fetch() { return new Response(String(++n)); } };") {
  const js::RuntimeSpec& spec = api::KilnRuntime();
  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = source;
  auto built = testing::TestBuilder().Build(bundle, {});
  EXPECT_TRUE(built.ok()) << built.status();
  auto function = std::make_shared<LoadedFunction>();
  function->key = FunctionKey{"acme", name, version};
  function->snapshot = *js::Snapshot::Parse(built->blob, js::RuntimeFingerprint(spec));
  return function;
}

// Waits until the background thread has booted the spare of `key`.
void WaitForIdle(IsolatePool& pool, const FunctionKey& key, int idle) {
  for (int i = 0; i < 400; ++i) {
    for (const PoolStats::Version& version : pool.Stats().versions) {
      if (version.key == key && version.idle >= idle) return;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ADD_FAILURE() << "no idle isolate for " << key.ToString();
}

TEST(IsolatePoolTest, SpareIsBootedAtLoadSoTheFirstInvocationIsWarm) {
  IsolatePool pool(api::KilnRuntime(), 1u << 30);
  auto function = MakeFunction("spare", 1);
  pool.Load(function);
  WaitForIdle(pool, function->key, 1);
  auto lease = pool.Acquire(function->key);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->cold);
  // Taking the last idle isolate schedules the next spare.
  pool.Release(std::move(*lease));
  auto first = pool.Acquire(function->key);
  WaitForIdle(pool, function->key, 1);
  auto second = pool.Acquire(function->key);
  EXPECT_FALSE(second->cold);
  EXPECT_NE(first->isolate.get(), second->isolate.get());
  pool.Release(std::move(*first));
  pool.Release(std::move(*second));
}

TEST(IsolatePoolTest, IsolatesNeverCrossVersions) {
  IsolatePool pool(api::KilnRuntime(), 1u << 30);
  auto v1 = MakeFunction("fn", 1);
  auto v2 = MakeFunction("fn", 2);
  pool.Load(v1);
  pool.Load(v2);
  WaitForIdle(pool, v1->key, 1);
  WaitForIdle(pool, v2->key, 1);
  auto a = pool.Acquire(v1->key);
  js::JsIsolate* used = a->isolate.get();
  pool.Release(std::move(*a));
  auto b = pool.Acquire(v2->key);
  EXPECT_NE(b->isolate.get(), used);
  EXPECT_EQ(b->function, v2);
  pool.Release(std::move(*b));
  auto c = pool.Acquire(v1->key);
  EXPECT_EQ(c->isolate.get(), used);  // the most recently used one of its own version
  pool.Release(std::move(*c));
}

TEST(IsolatePoolTest, CondemnedIsolateIsDisposed) {
  IsolatePool pool(api::KilnRuntime(), 1u << 30);
  auto function = MakeFunction("bad", 1);
  pool.Load(function);
  auto lease = pool.Acquire(function->key);
  js::JsIsolate* condemned = lease->isolate.get();
  lease->isolate->Terminate(Breach::kCpu);
  pool.Release(std::move(*lease));
  for (int i = 0; i < 3; ++i) {
    auto next = pool.Acquire(function->key);
    EXPECT_NE(next->isolate.get(), condemned);
    EXPECT_FALSE(next->isolate->condemned());
    pool.Release(std::move(*next));
  }
}

TEST(IsolatePoolTest, UnloadedVersionIsNotFoundAndItsBusyIsolateIsDropped) {
  IsolatePool pool(api::KilnRuntime(), 1u << 30);
  auto function = MakeFunction("gone", 1);
  pool.Load(function);
  auto lease = pool.Acquire(function->key);
  pool.Unload(function->key);
  EXPECT_EQ(pool.Acquire(function->key).status().code(), absl::StatusCode::kNotFound);
  pool.Release(std::move(*lease));
  EXPECT_EQ(pool.Stats().isolates, 0);
}

TEST(IsolatePoolTest, IdleIsolatesAreEvictedLeastRecentlyUsedUnderTheBudget) {
  // Room for about three idle isolates (each ~1 MiB measured).
  IsolatePool pool(api::KilnRuntime(), 3u << 20);
  std::vector<std::shared_ptr<const LoadedFunction>> functions;
  for (int i = 0; i < 6; ++i) {
    functions.push_back(MakeFunction("f" + std::to_string(i), 1));
    pool.Load(functions.back());
    auto lease = pool.Acquire(functions.back()->key);
    ASSERT_TRUE(lease.ok());
    pool.Release(std::move(*lease));
  }
  absl::SleepFor(absl::Milliseconds(300));  // spares settle
  PoolStats stats = pool.Stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LE(stats.memory_bytes, 3u << 20);
  // The most recently used function kept an isolate; the oldest lost its own.
  int newest_idle = 0, oldest_idle = 0;
  for (const PoolStats::Version& version : stats.versions) {
    if (version.key.function == "f5") newest_idle = version.idle;
    if (version.key.function == "f0") oldest_idle = version.idle;
  }
  EXPECT_GE(newest_idle, 1);
  EXPECT_EQ(oldest_idle, 0);
}

// An idle isolate is counted with what its module state holds: releases reuse
// a measurement only until the heap is collected or kMemoryReuses went by.
TEST(IsolatePoolTest, IdleMemoryCountsWhatInvocationsLeftInModuleState) {
  IsolatePool pool(api::KilnRuntime(), 1u << 30);
  auto function = MakeFunction("hoarder", 1, R"JS(
    const kept = [];
    export default {
      fetch(request) {
        if (request.url.endsWith('/keep')) kept.push(new Array(1 << 20).fill(1.5));  // 8 MiB
        return new Response(String(kept.length));
      },
    };
  )JS");
  pool.Load(function);
  WaitForIdle(pool, function->key, 1);
  auto run = [&](const std::string& path) {
    auto lease = pool.Acquire(function->key);
    ASSERT_TRUE(lease.ok()) << lease.status();
    HttpRequest request;
    request.url = "http://hoarder.acme.localhost" + path;
    EXPECT_EQ(lease->isolate->StartFetch(request, nullptr).state, js::TurnResult::State::kDone);
    lease->isolate->Finish();
    pool.Release(std::move(*lease));
  };
  run("/");
  const size_t before = pool.Stats().memory_bytes;
  for (int i = 0; i < 4; ++i) run("/keep");  // 32 MiB kept
  for (int i = 0; i <= js::JsIsolate::kMemoryReuses; ++i) run("/");
  EXPECT_GE(pool.Stats().memory_bytes, before + (30u << 20));
}

}  // namespace
}  // namespace kiln::worker
