// Tests of WorkerRuntime end to end in one process: snapshot build, load,
// fetch/queue/scheduled invocations on executors, ctx.waitUntil, logs, and
// every limit against hostile handlers while other functions keep serving.
#include "worker/runtime/runtime.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/turn_batch.h"
#include "worker/api/natives.h"
#include "worker/runtime/testing/test_builder.h"

namespace kiln::worker {
namespace {

using ::testing::HasSubstr;
using Status = InvocationOutcome::Status;

class CollectingLogs final : public LogSink {
 public:
  void OnLog(LogLine line) override {
    absl::MutexLock lock(&mu_);
    lines_.push_back(std::move(line));
  }
  std::vector<LogLine> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  absl::Mutex mu_;
  std::vector<LogLine> lines_;
};

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest()
      : runtime_(api::KilnRuntime(),
                 {.executors = 2, .logs = &logs_, .builder = &testing::TestBuilder()}) {}

  FunctionKey Deploy(const std::string& name, const std::string& source, Limits limits = {},
                     const std::string& env_json = "{}") {
    Bundle bundle;
    bundle.main_module = "index.js";
    bundle.files["index.js"] = source;
    absl::StatusOr<js::BuildResult> built = runtime_.Build(bundle);
    EXPECT_TRUE(built.ok()) << built.status();
    FunctionKey key{"acme", name, ++version_};
    absl::Status loaded = runtime_.Load(key, built->blob, {.limits = limits, .env_json = env_json});
    EXPECT_TRUE(loaded.ok()) << loaded;
    return key;
  }

  InvocationOutcome Call(const FunctionKey& key, InvocationEvent event,
                         const std::string& request_id = "req-1") {
    absl::Notification done;
    InvocationOutcome result;
    runtime_.Invoke(key, std::move(event), request_id, [&](InvocationOutcome outcome) {
      result = std::move(outcome);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  InvocationOutcome Get(const FunctionKey& key, const std::string& path = "/") {
    HttpRequest request;
    request.url = "http://" + key.function + ".acme.localhost" + path;
    return Call(key, request);
  }

  bool LogContains(const std::string& text) {
    for (const LogLine& line : logs_.lines()) {
      if (line.message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  CollectingLogs logs_;
  WorkerRuntime runtime_;
  uint64_t version_ = 0;
};

TEST_F(RuntimeTest, FetchSeesRequestAndReturnsResponse) {
  FunctionKey key = Deploy("echo", R"JS(
    export default {
      async fetch(request, env, ctx) {
        const path = request.url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*/, '');
        const body = await request.text();
        return new Response(`${request.method} ${path} ${request.headers.get('x-who')} ${body} ${env.GREETING}`, {
          status: 201,
          headers: [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']],
        });
      },
    };
  )JS", {}, R"({"GREETING":"hi"})");
  HttpRequest request;
  request.method = "POST";
  request.url = "http://echo.acme.localhost/path?q=1";
  request.headers = {{"X-Who", "kiln"}};
  request.body = "payload";
  InvocationOutcome outcome = Call(key, request);
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_EQ(outcome.http.status, 201);
  EXPECT_EQ(outcome.http.body, "POST /path kiln payload hi");
  EXPECT_THAT(outcome.http.headers,
              ::testing::ElementsAre(::testing::Pair("content-type", "text/plain"),
                                     ::testing::Pair("set-cookie", "a=1"),
                                     ::testing::Pair("set-cookie", "b=2")));
}

// A write `done` defers (TurnBatch) runs on the same executor thread, after
// `done`, when that loop iteration ends.
TEST_F(RuntimeTest, WritesDeferredInDoneRunAtTheEndOfTheExecutorsTurn) {
  struct Seen {
    absl::Mutex mu;
    bool deferred ABSL_GUARDED_BY(mu) = false;
    bool ran_after_done ABSL_GUARDED_BY(mu) = false;
    bool same_thread ABSL_GUARDED_BY(mu) = false;
  };
  auto seen = std::make_shared<Seen>();
  absl::AnyInvocable<void()> outside = [] {};
  EXPECT_FALSE(TurnBatch::Defer(outside));  // not an executor thread
  FunctionKey key = Deploy("batched", "export default { fetch() { return new Response('ok'); } };");
  runtime_.Invoke(key, HttpRequest{.url = "http://batched.acme.localhost/"}, "req-1",
                  [seen](InvocationOutcome outcome) {
                    EXPECT_EQ(outcome.status, Status::kOk);
                    const std::thread::id done_thread = std::this_thread::get_id();
                    absl::AnyInvocable<void()> write = [seen, done_thread] {
                      absl::MutexLock lock(&seen->mu);
                      seen->ran_after_done = seen->deferred;
                      seen->same_thread = std::this_thread::get_id() == done_thread;
                    };
                    const bool deferred = TurnBatch::Defer(write);
                    absl::MutexLock lock(&seen->mu);
                    seen->deferred = deferred;
                  });
  auto ran = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(seen->mu) { return seen->ran_after_done; };
  absl::MutexLock lock(&seen->mu);
  EXPECT_TRUE(seen->mu.AwaitWithTimeout(absl::Condition(&ran), absl::Seconds(5)));
  EXPECT_TRUE(seen->deferred);
  EXPECT_TRUE(seen->same_thread);
}

TEST_F(RuntimeTest, EnvIsReadOnly) {
  FunctionKey key = Deploy("env", R"JS(
    export default {
      async fetch(request, env) {
        let threw = false;
        try { env.GREETING = 'changed'; } catch (e) { threw = e instanceof TypeError; }
        return new Response(`${threw} ${env.GREETING}`);
      },
    };
  )JS", {}, R"({"GREETING":"hi"})");
  EXPECT_EQ(Get(key).http.body, "true hi");
  EXPECT_EQ(Get(key).http.body, "true hi");
}

TEST_F(RuntimeTest, ModuleStatePersistsOnWarmIsolates) {
  FunctionKey key = Deploy("counter", R"JS(
    let count = 0;
    export default { fetch() { count++; return new Response(String(count)); } };
  )JS");
  EXPECT_EQ(Get(key).http.body, "1");
  EXPECT_EQ(Get(key).http.body, "2");
  EXPECT_EQ(Get(key).http.body, "3");
  InvocationOutcome warm = Get(key);
  EXPECT_FALSE(warm.cold);
}

TEST_F(RuntimeTest, TimersAndAsyncHandlers) {
  FunctionKey key = Deploy("timers", R"JS(
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    export default {
      async fetch() {
        const order = [];
        queueMicrotask(() => order.push('micro'));
        const t = setTimeout(() => order.push('cancelled'), 5);
        clearTimeout(t);
        let ticks = 0;
        await new Promise((resolve) => {
          const i = setInterval(() => { if (++ticks === 3) { clearInterval(i); resolve(); } }, 2);
        });
        await sleep(10);
        order.push('slept');
        return new Response(order.join(',') + ' ticks=' + ticks);
      },
    };
  )JS");
  InvocationOutcome outcome = Get(key);
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_EQ(outcome.http.body, "micro,slept ticks=3");
  EXPECT_GE(outcome.wall, absl::Milliseconds(10));
}

TEST_F(RuntimeTest, WaitUntilRunsAfterTheResponse) {
  FunctionKey key = Deploy("waituntil", R"JS(
    export default {
      fetch(request, env, ctx) {
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { console.log('background done'); resolve(); }, 50)));
        return new Response('answered');
      },
    };
  )JS");
  InvocationOutcome outcome = Get(key);
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_EQ(outcome.http.body, "answered");
  EXPECT_LT(outcome.wall, absl::Milliseconds(50));  // answered before the background work ended
  EXPECT_FALSE(LogContains("background done"));
  for (int i = 0; i < 200 && !LogContains("background done"); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(LogContains("background done"));
}

// ctx.waitUntil() called after the handler's result settled (later in the
// same turn, and from a timer after the response) is still waited for.
TEST_F(RuntimeTest, WaitUntilAddedAfterTheResultSettledStillRuns) {
  FunctionKey key = Deploy("late", R"JS(
    export default {
      fetch(request, env, ctx) {
        let chain = Promise.resolve();
        for (let i = 0; i < 50; ++i) chain = chain.then(() => {});
        chain.then(() => ctx.waitUntil(new Promise((resolve) => setTimeout(() => {
          console.log('late work done');
          ctx.waitUntil(new Promise((next) => setTimeout(() => { console.log('later work done'); next(); }, 5)));
          resolve();
        }, 5))));
        return new Response('early');
      },
    };
  )JS");
  InvocationOutcome outcome = Get(key);
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_EQ(outcome.http.body, "early");
  for (int i = 0; i < 200 && !LogContains("later work done"); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(LogContains("late work done"));
  EXPECT_TRUE(LogContains("later work done"));
}

TEST_F(RuntimeTest, WaitUntilBudgetCancelsLingeringWork) {
  Limits limits;
  limits.wait_until = absl::Milliseconds(100);
  FunctionKey key = Deploy("lingering", R"JS(
    export default {
      fetch(request, env, ctx) {
        ctx.waitUntil(new Promise((resolve) => setInterval(() => {}, 10)));
        return new Response('ok');
      },
    };
  )JS", limits);
  EXPECT_EQ(Get(key).status, Status::kOk);
  for (int i = 0; i < 200 && !LogContains("waitUntil() work cancelled"); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(LogContains("waitUntil() work cancelled"));
  EXPECT_EQ(Get(key).http.body, "ok");  // the next invocation gets a fresh isolate
}

// The budget running out while waitUntil work is running JavaScript (the
// watchdog stops the turn) reads the same as while it awaits.
TEST_F(RuntimeTest, WaitUntilBudgetStopsRunningWorkWithTheSameMessage) {
  Limits limits;
  limits.wait_until = absl::Milliseconds(100);
  limits.cpu = absl::Seconds(10);  // the wall budget, not the CPU limit, ends it
  FunctionKey key = Deploy("spinning", R"JS(
    export default {
      fetch(request, env, ctx) {
        // A timer: the spin starts in a turn of its own, after the response.
        ctx.waitUntil(new Promise(() => setTimeout(() => { for (;;) {} }, 1)));
        return new Response('ok');
      },
    };
  )JS", limits);
  EXPECT_EQ(Get(key).status, Status::kOk);
  for (int i = 0; i < 400 && !LogContains("waitUntil() work cancelled"); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(LogContains("ctx.waitUntil() work cancelled: its time budget ran out"));
  EXPECT_FALSE(LogContains("invocation stopped"));
  EXPECT_EQ(Get(key).http.body, "ok");  // a fresh isolate serves the next one
}

TEST_F(RuntimeTest, LogsCarryLevelRequestIdAndStacks) {
  FunctionKey key = Deploy("logger", R"JS(
    export default {
      fetch(request) {
        console.log('hello', 42, { a: [1, 'x'] });
        console.warn('careful');
        if (request.url.endsWith('/boom')) {
          throw new Error('boom');
        }
        return new Response('ok');
      },
    };
  )JS");
  HttpRequest request;
  request.url = "http://logger.acme.localhost/";
  ASSERT_EQ(Call(key, request, "req-log").status, Status::kOk);
  request.url = "http://logger.acme.localhost/boom";
  InvocationOutcome failed = Call(key, request, "req-boom");
  EXPECT_EQ(failed.status, Status::kException);
  EXPECT_THAT(failed.error, HasSubstr("Error: boom"));
  EXPECT_THAT(failed.error, HasSubstr("index.js:7:17"));
  bool saw_log = false, saw_warn = false, saw_error = false;
  for (const LogLine& line : logs_.lines()) {
    if (line.message == "hello 42 { a: [ 1, \"x\" ] }" && line.level == LogLevel::kLog &&
        line.request_id == "req-log") {
      saw_log = true;
      EXPECT_EQ(line.function.function, "logger");
      EXPECT_GT(line.timestamp_ms, 0);
    }
    if (line.message == "careful" && line.level == LogLevel::kWarn) saw_warn = true;
    if (line.level == LogLevel::kError && line.request_id == "req-boom" &&
        line.message.find("index.js:7:17") != std::string::npos) {
      saw_error = true;
    }
  }
  EXPECT_TRUE(saw_log);
  EXPECT_TRUE(saw_warn);
  EXPECT_TRUE(saw_error);
}

TEST_F(RuntimeTest, QueueOutcomesPerMessage) {
  FunctionKey key = Deploy("consumer", R"JS(
    export default {
      async queue(batch, env, ctx) {
        for (const message of batch.messages) {
          if (message.body.kind === 'bad') message.retry({ delaySeconds: 30 });
          else if (message.body.kind === 'good') message.ack();
        }
        if (batch.messages.some((m) => m.body.kind === 'explode')) throw new Error('consumer failed');
      },
    };
  )JS");
  QueueBatch batch;
  batch.queue = "jobs";
  batch.messages = {{"m1", R"({"kind":"good"})", "json", 1, 1},
                    {"m2", R"({"kind":"bad"})", "json", 1, 1},
                    {"m3", R"({"kind":"neutral"})", "json", 1, 2}};
  InvocationOutcome ok = Call(key, batch);
  ASSERT_EQ(ok.status, Status::kOk) << ok.error;
  ASSERT_EQ(ok.queue.size(), 3u);
  EXPECT_TRUE(ok.queue[0].ack);
  EXPECT_FALSE(ok.queue[1].ack);
  EXPECT_EQ(ok.queue[1].delay_seconds, 30u);
  EXPECT_TRUE(ok.queue[2].ack);  // implicit ack on success

  batch.messages.push_back({"m4", R"({"kind":"explode"})", "json", 1, 1});
  InvocationOutcome thrown = Call(key, batch);
  ASSERT_EQ(thrown.status, Status::kOk) << thrown.error;
  ASSERT_EQ(thrown.queue.size(), 4u);
  EXPECT_TRUE(thrown.queue[0].ack);    // explicit ack survives the throw
  EXPECT_FALSE(thrown.queue[2].ack);   // the rest are retried
  EXPECT_FALSE(thrown.queue[3].ack);
  EXPECT_TRUE(LogContains("consumer failed"));
}

TEST_F(RuntimeTest, QueueAckAllAndRetryAll) {
  FunctionKey key = Deploy("bulk", R"JS(
    export default {
      queue(batch) {
        if (batch.queue === 'ack') batch.ackAll(); else batch.retryAll({ delaySeconds: 5 });
        throw new Error('after deciding');
      },
    };
  )JS");
  QueueBatch batch;
  batch.queue = "ack";
  batch.messages = {{"a", "text body", "text", 1, 1}};
  EXPECT_TRUE(Call(key, batch).queue.at(0).ack);
  batch.queue = "retry";
  InvocationOutcome retried = Call(key, batch);
  EXPECT_FALSE(retried.queue.at(0).ack);
  EXPECT_EQ(retried.queue.at(0).delay_seconds, 5u);
}

TEST_F(RuntimeTest, ScheduledHandlerGetsCronAndTime) {
  FunctionKey key = Deploy("cron", R"JS(
    export default {
      scheduled(event, env, ctx) { console.log(`cron ${event.cron} at ${event.scheduledTime}`); },
    };
  )JS");
  InvocationOutcome outcome = Call(key, ScheduledEvent{"*/5 * * * *", 1700000000000});
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_TRUE(LogContains("cron */5 * * * * at 1700000000000"));
}

TEST_F(RuntimeTest, MissingHandlerIsAnError) {
  FunctionKey key = Deploy("fetchonly", "export default { fetch() { return new Response('x'); } };");
  InvocationOutcome outcome = Call(key, ScheduledEvent{"* * * * *", 0});
  EXPECT_EQ(outcome.status, Status::kException);
  EXPECT_THAT(outcome.error, HasSubstr("exports no scheduled() handler"));
}

TEST_F(RuntimeTest, NonResponseIsAnError) {
  FunctionKey key = Deploy("bad", "export default { fetch() { return 'not a response'; } };");
  InvocationOutcome outcome = Get(key);
  EXPECT_EQ(outcome.status, Status::kException);
  EXPECT_THAT(outcome.error, HasSubstr("must return a Response"));
}

TEST_F(RuntimeTest, UnknownVersionIsNotFound) {
  InvocationOutcome outcome = Get(FunctionKey{"acme", "ghost", 99});
  EXPECT_EQ(outcome.status, Status::kNotFound);
}

TEST_F(RuntimeTest, HungPromiseFailsAtOnce) {
  FunctionKey key = Deploy("hung", "export default { async fetch() { await new Promise(() => {}); } };");
  InvocationOutcome outcome = Get(key);
  EXPECT_EQ(outcome.status, Status::kHung);
  EXPECT_THAT(outcome.error, HasSubstr("can never settle"));
}

// ---- hostile handlers: each ends with its own clear error -------------------

constexpr char kHostile[] = R"JS(
  let counter = 0;
  export default {
    async fetch(request) {
      counter++;
      const what = request.url.split('/').pop();
      switch (what) {
        case 'spin': while (true) {}
        case 'arrays': { const keep = []; while (true) keep.push(new Array(1e6).fill(counter)); }
        case 'buffers': { const keep = []; while (true) keep.push(new ArrayBuffer(1 << 20)); }
        case 'recurse': { const f = (n) => (n === 0 ? 0 : 1 + f(n - 1)); return new Response(String(f(1e6))); }
        case 'json': return new Response(String(JSON.parse('['.repeat(1e7))));
        case 'regexp': return new Response(String(/(a*)*b/.exec('a'.repeat(40))));
        case 'forever': await new Promise(() => setInterval(() => {}, 5));
        case 'slices': {  // CPU spread over many timer turns
          let x = 0;
          for (;;) {
            for (let i = 0; i < 2e5; ++i) x += Math.sqrt(i);
            await new Promise((resolve) => setTimeout(resolve, 0));
          }
        }
        case 'big': return new Response('x'.repeat(2 << 20));
      }
      return new Response(`counter=${counter}`);
    },
  };
)JS";

class HostileTest : public RuntimeTest {
 protected:
  void SetUp() override {
    Limits limits;
    limits.cpu = absl::Milliseconds(50);
    limits.wall = absl::Milliseconds(500);
    limits.heap_bytes = 64u << 20;
    limits.response_bytes = 1u << 20;
    hostile_ = Deploy("hostile", kHostile, limits);
  }
  FunctionKey hostile_;
};

TEST_F(HostileTest, InfiniteLoopHitsCpuLimit) {
  InvocationOutcome outcome = Get(hostile_, "/spin");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.breach, Breach::kCpu);
  EXPECT_EQ(outcome.error, "cpu limit exceeded");
  EXPECT_GE(outcome.cpu, absl::Milliseconds(50));
  EXPECT_LT(outcome.cpu, absl::Milliseconds(500));
}

// The CPU limit counts every turn, not only the first (see Watchdog).
TEST_F(HostileTest, CpuSpreadOverManyTurnsHitsCpuLimit) {
  InvocationOutcome outcome = Get(hostile_, "/slices");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "cpu limit exceeded");
  EXPECT_GE(outcome.cpu, absl::Milliseconds(50));
}

TEST_F(HostileTest, ArrayMemoryBombHitsMemoryLimit) {
  InvocationOutcome outcome = Get(hostile_, "/arrays");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "memory limit exceeded");
}

TEST_F(HostileTest, ArrayBufferMemoryBombHitsMemoryLimit) {
  InvocationOutcome outcome = Get(hostile_, "/buffers");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "memory limit exceeded");
}

TEST_F(HostileTest, DeepRecursionIsARangeError) {
  InvocationOutcome outcome = Get(hostile_, "/recurse");
  EXPECT_EQ(outcome.status, Status::kException);
  EXPECT_THAT(outcome.error, HasSubstr("RangeError: Maximum call stack size exceeded"));
  EXPECT_EQ(Get(hostile_).status, Status::kOk);  // the isolate survives a caught overflow
}

TEST_F(HostileTest, DeeplyNestedJsonEndsCleanly) {
  InvocationOutcome outcome = Get(hostile_, "/json");
  EXPECT_NE(outcome.status, Status::kOk);
  EXPECT_TRUE(outcome.status == Status::kException || outcome.status == Status::kBreach) << outcome.error;
}

TEST_F(HostileTest, CatastrophicRegexpHitsCpuLimit) {
  InvocationOutcome outcome = Get(hostile_, "/regexp");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "cpu limit exceeded");
}

TEST_F(HostileTest, NeverSettlingPromiseHitsWallLimit) {
  InvocationOutcome outcome = Get(hostile_, "/forever");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "wall time limit exceeded");
  EXPECT_GE(outcome.wall, absl::Milliseconds(500));
}

TEST_F(HostileTest, OversizedResponseIsRefused) {
  InvocationOutcome outcome = Get(hostile_, "/big");
  EXPECT_EQ(outcome.status, Status::kBreach);
  EXPECT_EQ(outcome.error, "response size limit exceeded");
}

TEST_F(HostileTest, BreachedIsolateIsNeverReused) {
  EXPECT_EQ(Get(hostile_).http.body, "counter=1");
  EXPECT_EQ(Get(hostile_).http.body, "counter=2");
  EXPECT_EQ(Get(hostile_, "/spin").breach, Breach::kCpu);
  // Module state of the condemned isolate is gone: a fresh isolate starts over.
  InvocationOutcome next = Get(hostile_);
  ASSERT_EQ(next.status, Status::kOk) << next.error;
  EXPECT_EQ(next.http.body, "counter=1");
}

TEST_F(HostileTest, OtherFunctionsKeepServingDuringAHostileInvocation) {
  Limits slow;
  slow.cpu = absl::Seconds(1);
  slow.wall = absl::Seconds(60);
  FunctionKey spinner = Deploy("spinner", kHostile, slow);
  FunctionKey healthy = Deploy("healthy", "export default { fetch() { return new Response('fine'); } };");
  absl::Notification spinner_done;
  std::atomic<bool> finished_first{false};
  HttpRequest spin;
  spin.url = "http://spinner.acme.localhost/spin";
  runtime_.Invoke(spinner, spin, "spin", [&](InvocationOutcome outcome) {
    EXPECT_EQ(outcome.breach, Breach::kCpu) << static_cast<int>(outcome.status) << " " << outcome.error;
    spinner_done.Notify();
  });
  absl::SleepFor(absl::Milliseconds(20));  // let the spinner start on one executor
  for (int i = 0; i < 50; ++i) {
    InvocationOutcome outcome = Get(healthy);
    ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
    EXPECT_EQ(outcome.http.body, "fine");
  }
  finished_first = !spinner_done.HasBeenNotified();
  EXPECT_TRUE(finished_first) << "healthy calls waited for the spinner";
  spinner_done.WaitForNotification();
}

}  // namespace
}  // namespace kiln::worker
