// Streamed response bodies and cancellation in WorkerRuntime: chunks arrive
// as JavaScript produces them, credit holds the producer back, errors and
// limits end the body with a reason, and Cancel stops an invocation at any
// stage and discards its isolate.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "worker/api/natives.h"
#include "worker/runtime/runtime.h"
#include "worker/runtime/testing/test_builder.h"

namespace kiln::worker {
namespace {

using ::testing::HasSubstr;
using Status = InvocationOutcome::Status;

// Collects a streamed body; thread-safe.
class Collector {
 public:
  class Writer final : public ResponseBodyWriter {
   public:
    explicit Writer(Collector* owner) : owner_(owner) {}
    void Write(std::string chunk) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->chunks_++;
      owner_->largest_chunk_ = std::max(owner_->largest_chunk_, chunk.size());
      owner_->body_ += chunk;
    }
    void End(std::string error) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->ended_ = true;
      owner_->error_ = std::move(error);
    }

   private:
    Collector* owner_;
  };

  std::unique_ptr<ResponseBodyWriter> NewWriter() { return std::make_unique<Writer>(this); }

  // Waits for End; false on timeout.
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
  }
  // Waits until at least `bytes` arrived.
  bool WaitForBytes(size_t bytes, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return body_.size() >= bytes || ended_; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout) && body_.size() >= bytes;
  }
  std::string body() {
    absl::MutexLock lock(&mu_);
    return body_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return body_.size();
  }
  bool ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  std::string error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }
  int chunks() {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }
  size_t largest_chunk() {
    absl::MutexLock lock(&mu_);
    return largest_chunk_;
  }

 private:
  absl::Mutex mu_;
  std::string body_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::string error_ ABSL_GUARDED_BY(mu_);
  int chunks_ ABSL_GUARDED_BY(mu_) = 0;
  size_t largest_chunk_ ABSL_GUARDED_BY(mu_) = 0;
};

// The head (or failure) of one invocation, delivered once.
struct Head {
  absl::Notification done;
  InvocationOutcome outcome;
  auto Callback() {
    return [this](InvocationOutcome result) {
      outcome = std::move(result);
      done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(10)) { return done.WaitForNotificationWithTimeout(timeout); }
};

class StreamingTest : public ::testing::Test {
 protected:
  StreamingTest()
      : runtime_(api::KilnRuntime(), {.executors = 2, .builder = &testing::TestBuilder()}) {}

  FunctionKey Deploy(const std::string& name, const std::string& source, Limits limits = {}) {
    Bundle bundle;
    bundle.main_module = "index.js";
    bundle.files["index.js"] = source;
    absl::StatusOr<js::BuildResult> built = runtime_.Build(bundle);
    EXPECT_TRUE(built.ok()) << built.status();
    FunctionKey key{"acme", name, ++version_};
    EXPECT_TRUE(runtime_.Load(key, built->blob, {.limits = limits}).ok());
    return key;
  }

  // Starts a streamed invocation of `path`.
  void Start(const FunctionKey& key, const std::string& path, Head& head, Collector& collector,
             uint64_t id, size_t credit = 1 << 20) {
    HttpRequest request;
    request.url = "http://" + key.function + ".acme.localhost" + path;
    runtime_.Invoke(key, request, "req", head.Callback(),
                    {.id = id, .body = collector.NewWriter(), .initial_credit = credit});
  }

  InvocationOutcome Get(const FunctionKey& key, const std::string& path) {
    Head head;
    HttpRequest request;
    request.url = "http://" + key.function + ".acme.localhost" + path;
    runtime_.Invoke(key, request, "req", head.Callback());
    EXPECT_TRUE(head.Wait());
    return head.outcome;
  }

  WorkerRuntime runtime_;
  uint64_t version_ = 0;
};

constexpr char kStreams[] = R"JS(
  let served = 0;
  const enc = new TextEncoder();
  export default {
    async fetch(request) {
      served++;
      const url = new URL(request.url);
      const n = Number(url.searchParams.get('n') ?? 5);
      const size = Number(url.searchParams.get('size') ?? 4);
      if (url.pathname === '/served') return new Response(String(served));
      if (url.pathname === '/ticks') {
        // Chunks produced over time (timers between them).
        let i = 0;
        return new Response(new ReadableStream({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 1));
            if (i === n) return controller.close();
            controller.enqueue(enc.encode(`tick ${i++};`));
          },
        }), { headers: { 'content-type': 'text/plain' } });
      }
      if (url.pathname === '/bulk') {
        // `n` chunks of `size` bytes as fast as the consumer takes them.
        let i = 0;
        const chunk = new Uint8Array(size).fill(120);
        return new Response(new ReadableStream({
          pull(controller) {
            if (i++ === n) return controller.close();
            controller.enqueue(chunk.slice());
          },
        }));
      }
      if (url.pathname === '/one-big-chunk') {
        // 4 MiB enqueued at once: it must still go out in window-sized pieces.
        return new Response(new ReadableStream({
          start(controller) { controller.enqueue(new Uint8Array(4 << 20).fill(98)); controller.close(); },
        }));
      }
      if (url.pathname === '/fails') {
        let i = 0;
        return new Response(new ReadableStream({
          pull(controller) {
            if (i++ < 2) return controller.enqueue(enc.encode('ok;'));
            controller.error(new Error('the source broke'));
          },
        }));
      }
      if (url.pathname === '/strings') {
        return new Response(new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close(); } }));
      }
      if (url.pathname === '/spin') {
        let sent = false;
        return new Response(new ReadableStream({
          async pull(controller) {
            if (!sent) { sent = true; return controller.enqueue(enc.encode('first;')); }
            await new Promise((resolve) => setTimeout(resolve, 5));
            for (;;) {}
          },
        }));
      }
      if (url.pathname === '/stalls') {
        return new Response(new ReadableStream({ start(c) { c.enqueue(enc.encode('a')); } }));
      }
      if (url.pathname === '/slow') {
        await new Promise((resolve) => setTimeout(resolve, 60000));
        return new Response('late');
      }
      if (url.pathname === '/text') return new Response(new ReadableStream({
        start(c) { c.enqueue(enc.encode('whole')); c.close(); } }));
      return new Response('plain');
    },
  };
)JS";

TEST_F(StreamingTest, ChunksArriveAsProducedAfterTheHead) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/ticks?n=5", head, body, 1);
  ASSERT_TRUE(head.Wait());
  ASSERT_EQ(head.outcome.status, Status::kOk) << head.outcome.error;
  EXPECT_TRUE(head.outcome.http.body_streamed);
  EXPECT_TRUE(head.outcome.http.body.empty());
  EXPECT_EQ(head.outcome.http.status, 200);
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.error(), "");
  EXPECT_EQ(body.body(), "tick 0;tick 1;tick 2;tick 3;tick 4;");
  EXPECT_GE(body.chunks(), 2);  // not collected into one: each turn flushes
}

TEST_F(StreamingTest, WithoutAWriterAStreamBodyIsReadWhole) {
  FunctionKey key = Deploy("streams", kStreams);
  InvocationOutcome outcome = Get(key, "/ticks?n=3");
  ASSERT_EQ(outcome.status, Status::kOk) << outcome.error;
  EXPECT_FALSE(outcome.http.body_streamed);
  EXPECT_EQ(outcome.http.body, "tick 0;tick 1;tick 2;");
}

TEST_F(StreamingTest, ANonStreamBodyIsNotStreamed) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/plain", head, body, 1);
  ASSERT_TRUE(head.Wait());
  EXPECT_FALSE(head.outcome.http.body_streamed);
  EXPECT_EQ(head.outcome.http.body, "plain");
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(body.ended());  // never used
}

TEST_F(StreamingTest, CreditHoldsTheProducerBack) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  // 1,000 chunks of 1 KiB, 8 KiB of credit: the pump stops after about 8 KiB
  // and waits (not "hung") until more credit comes.
  Start(key, "/bulk?n=1000&size=1024", head, body, 7, /*credit=*/8 << 10);
  ASSERT_TRUE(head.Wait());
  ASSERT_TRUE(body.WaitForBytes(8 << 10));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LE(body.size(), (8u << 10) + 1024);
  EXPECT_FALSE(body.ended());
  size_t granted = 8 << 10;
  while (!body.ended() && granted < (2u << 20)) {
    runtime_.GrantCredit(7, 64 << 10);
    granted += 64 << 10;
    ASSERT_TRUE(body.WaitForBytes(std::min<size_t>(granted, 1000 * 1024)));
    EXPECT_LE(body.size(), granted + 1024);
  }
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.error(), "");
  EXPECT_EQ(body.size(), 1000u * 1024);
  EXPECT_LE(body.largest_chunk(), 64u << 10);
}

TEST_F(StreamingTest, OneLargeChunkGoesOutInPiecesWithinTheCredit) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/one-big-chunk", head, body, 11, /*credit=*/64 << 10);
  ASSERT_TRUE(head.Wait());
  ASSERT_TRUE(body.WaitForBytes(64 << 10));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LE(body.size(), 64u << 10);  // not the whole 4 MiB past the credit
  for (size_t granted = 64 << 10; !body.ended() && granted < (8u << 20); granted += 64 << 10) {
    runtime_.GrantCredit(11, 64 << 10);
    ASSERT_TRUE(body.WaitForBytes(std::min<size_t>(granted + (64 << 10), 4u << 20)));
    EXPECT_LE(body.size(), granted + (64u << 10));
  }
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.error(), "");
  EXPECT_EQ(body.size(), 4u << 20);
  EXPECT_LE(body.largest_chunk(), 64u << 10);
}

TEST_F(StreamingTest, AStreamErrorEndsTheBodyWithIt) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/fails", head, body, 1);
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.body(), "ok;ok;");
  EXPECT_THAT(body.error(), HasSubstr("the source broke"));
  // The isolate is fine: the next request is served.
  EXPECT_EQ(Get(key, "/plain").http.body, "plain");
}

TEST_F(StreamingTest, NonByteChunksAreATypeError) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/strings", head, body, 1);
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_THAT(body.error(), HasSubstr("TypeError"));
  EXPECT_THAT(body.error(), HasSubstr("Uint8Array"));
}

TEST_F(StreamingTest, TheCpuLimitAppliesWhileStreaming) {
  FunctionKey key = Deploy("streams", kStreams, {.cpu = absl::Milliseconds(50)});
  Head head;
  Collector body;
  Start(key, "/spin", head, body, 1);
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.body(), "first;");
  EXPECT_EQ(body.error(), "cpu limit exceeded");
}

TEST_F(StreamingTest, AStreamThatCanNeverFinishEndsAtOnce) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/stalls", head, body, 1);
  ASSERT_TRUE(body.WaitForEnd(absl::Seconds(5)));
  EXPECT_EQ(body.body(), "a");
  EXPECT_THAT(body.error(), HasSubstr("can never finish"));
}

TEST_F(StreamingTest, CancelWhileTheHandlerAwaitsAnswersCancelledAndDiscardsTheIsolate) {
  FunctionKey key = Deploy("streams", kStreams);
  EXPECT_EQ(Get(key, "/served").http.body, "1");
  Head head;
  Collector body;
  Start(key, "/slow", head, body, 42);
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  runtime_.Cancel(42);
  ASSERT_TRUE(head.Wait(absl::Seconds(2)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(head.outcome.status, Status::kCancelled);
  EXPECT_EQ(head.outcome.error, "cancelled: the client went away");
  // The isolate that served /served and /slow is gone: module state starts over.
  EXPECT_EQ(Get(key, "/served").http.body, "1");
  runtime_.Cancel(42);  // finished: a no-op
  runtime_.Cancel(999);  // unknown: a no-op
}

TEST_F(StreamingTest, CancelWhileStreamingEndsTheBody) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  Collector body;
  Start(key, "/bulk?n=100000&size=1024", head, body, 5, /*credit=*/4096);
  ASSERT_TRUE(head.Wait());
  ASSERT_TRUE(body.WaitForBytes(4096));
  runtime_.Cancel(5);
  ASSERT_TRUE(body.WaitForEnd());
  EXPECT_EQ(body.error(), "cancelled: the client went away");
  EXPECT_EQ(Get(key, "/plain").http.body, "plain");
}

TEST_F(StreamingTest, HundredMebibytesStreamThroughInWindowSizedChunks) {
  FunctionKey key = Deploy("streams", kStreams);
  Head head;
  std::atomic<size_t> received{0}, largest{0};
  std::atomic<bool> ended{false};
  std::string error;
  // A writer that grants credit back as it "sends" each chunk, the way the
  // worker's stream does: outstanding bytes stay under the window.
  class Granting final : public ResponseBodyWriter {
   public:
    Granting(WorkerRuntime& runtime, std::atomic<size_t>& received, std::atomic<size_t>& largest,
             std::atomic<bool>& ended, std::string& error)
        : runtime_(runtime), received_(received), largest_(largest), ended_(ended), error_(error) {}
    void Write(std::string chunk) override {
      received_ += chunk.size();
      if (chunk.size() > largest_) largest_ = chunk.size();
      runtime_.GrantCredit(9, chunk.size());
    }
    void End(std::string error) override {
      error_ = std::move(error);
      ended_ = true;
    }

   private:
    WorkerRuntime& runtime_;
    std::atomic<size_t>& received_;
    std::atomic<size_t>& largest_;
    std::atomic<bool>& ended_;
    std::string& error_;
  };
  HttpRequest request;
  request.url = "http://streams.acme.localhost/bulk?n=1600&size=65536";
  runtime_.Invoke(key, request, "req", head.Callback(),
                  {.id = 9,
                   .body = std::make_unique<Granting>(runtime_, received, largest, ended, error),
                   .initial_credit = 1 << 20});
  ASSERT_TRUE(head.Wait());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!ended && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(ended);
  EXPECT_EQ(error, "");
  EXPECT_EQ(received.load(), 100u << 20);
  EXPECT_LE(largest.load(), 64u << 10);
}

}  // namespace
}  // namespace kiln::worker
