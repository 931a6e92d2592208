// End-to-end tests of streamed HTTP bodies through a real kiln-scheduler and kiln-worker.
// The gateway, the fleet and a sandboxed worker, driven over HTTP and
// Control: a 100 MiB download in bounded scheduler memory (HTTP/1.1 and
// HTTP/2), chunks that arrive as produced, a graceful shutdown that lets a
// body finish, cancellation when
// the client leaves (while the handler awaits, mid-body, while the body is
// quiet), a stream that throws or hits the CPU limit (truncated, logged), and
// request bodies (read as a stream; 413 over the function's limit).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/scheduler/scheduler_harness.h"
#include "test/util/http_client.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;

constexpr size_t kMiB = 1 << 20;

// GET /?mib=N: N MiB in 64 KiB chunks; chunk i is a fixed pattern with i in
// its first four bytes (little-endian), so loss, reordering or repetition of
// chunks shows. GET /slow: one chunk, then another two seconds later.
constexpr char kDownload[] = R"JS(
const CHUNK = 65536;
const pattern = new Uint8Array(CHUNK);
for (let j = 0; j < CHUNK; j++) pattern[j] = (j * 31 + 7) & 0xff;
const encoder = new TextEncoder();
export default {
  fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/slow') {
      return new Response(new ReadableStream({
        start(controller) { controller.enqueue(encoder.encode('first\n')); },
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 2000));
          controller.enqueue(encoder.encode('second\n'));
          controller.close();
        },
      }));
    }
    const chunks = Number(url.searchParams.get('mib')) * 16;
    let i = 0;
    return new Response(new ReadableStream({
      pull(controller) {
        if (i === chunks) return controller.close();
        const chunk = pattern.slice();
        new DataView(chunk.buffer).setUint32(0, i++, true);
        controller.enqueue(chunk);
      },
    }), { headers: { 'content-type': 'application/octet-stream' } });
  },
};
)JS";

// The byte at `offset` of kDownload's body.
uint8_t DownloadByte(uint64_t offset) {
  const uint64_t chunk = offset >> 16, j = offset & 0xffff;
  if (j < 4) return static_cast<uint8_t>(chunk >> (8 * j));
  return static_cast<uint8_t>((j * 31 + 7) & 0xff);
}

// A module-scope counter shows whether an isolate is fresh. /hang awaits a
// 20 s timer.
constexpr char kHang[] = R"JS(
let count = 0;
export default {
  async fetch(request) {
    count++;
    if (new URL(request.url).pathname === '/hang') {
      console.log(`hanging at count ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20000));
      console.log('the timer fired');
      return new Response('late');
    }
    return new Response(`count ${count}`);
  },
};
)JS";

// An endless body (held back only by the client's pace); /quiet sends one
// chunk, then nothing for 20 s; /ping answers.
constexpr char kEndless[] = R"JS(
const chunk = new Uint8Array(65536).fill(120);
export default {
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === '/ping') return new Response('pong');
    if (path === '/quiet') {
      return new Response(new ReadableStream({
        start(controller) { controller.enqueue(chunk); },
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 20000));
          controller.close();
        },
      }));
    }
    return new Response(new ReadableStream({ pull(controller) { controller.enqueue(chunk); } }));
  },
};
)JS";

// A body that breaks after its first chunk: /throw by a throw in pull,
// /spin by spinning (under a small CPU limit).
constexpr char kBreaks[] = R"JS(
const encoder = new TextEncoder();
export default {
  fetch(request) {
    const path = new URL(request.url).pathname;
    return new Response(new ReadableStream({
      start(controller) { controller.enqueue(encoder.encode('before the break\n')); },
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 50));  // the first chunk goes out first
        if (path === '/spin') for (;;) {}
        throw new Error('the disk is on fire');
      },
    }));
  },
};
)JS";

// Reads the request body as a stream: its byte count and a position-sensitive
// hash (h = h * 31 + byte, mod 2^32).
constexpr char kUpload[] = R"JS(
export default {
  async fetch(request) {
    const reader = request.body.getReader();
    let bytes = 0, hash = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      for (let k = 0; k < value.length; k++) hash = (Math.imul(hash, 31) + value[k]) | 0;
    }
    return new Response(`${bytes} ${hash >>> 0}`);
  },
};
)JS";

// Peak resident set size (VmHWM) of `pid`, bytes; 0 if unreadable.
size_t PeakRss(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view text = line;
    if (!absl::ConsumePrefix(&text, "VmHWM:")) continue;
    size_t kib = 0;
    if (absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(text), " kB"), &kib))
      return kib << 10;
  }
  return 0;
}

// A function's log entries as they arrive (Control.TailLogs with follow), read
// on a thread of its own.
class LogFollower {
 public:
  LogFollower(ControlClient& client, const std::string& function)
      : context_(client.Context(absl::Minutes(5))) {
    kiln::v1::TailLogsRequest request;
    request.set_name(function);
    request.set_follow(true);
    request.set_backlog(100);
    reader_ = client.stub().TailLogs(context_.get(), request);
    thread_ = std::thread([this] {
      kiln::v1::LogEntry entry;
      while (reader_->Read(&entry)) {
        absl::MutexLock lock(&mu_);
        entries_.push_back(entry);
      }
    });
  }
  ~LogFollower() {
    context_->TryCancel();
    thread_.join();
    reader_->Finish();
  }

  // The first entry whose message holds `text` (and whose request id is
  // `request_id`, unless empty), waiting up to `timeout` for it.
  std::optional<kiln::v1::LogEntry> WaitFor(const std::string& text,
                                            const std::string& request_id = "",
                                            absl::Duration timeout = absl::Seconds(10)) {
    std::optional<kiln::v1::LogEntry> found;
    auto match = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const kiln::v1::LogEntry& entry : entries_) {
        if (absl::StrContains(entry.message(), text) &&
            (request_id.empty() || entry.request_id() == request_id)) {
          found = entry;
          return true;
        }
      }
      return false;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&match), timeout);
    return found;
  }

  std::string All() {
    absl::MutexLock lock(&mu_);
    std::string all;
    for (const kiln::v1::LogEntry& entry : entries_)
      absl::StrAppend(&all, "  [", entry.request_id(), "] ", entry.message(), "\n");
    return all;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<kiln::v1::LogEntry>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<kiln::v1::LogEntry> entries_ ABSL_GUARDED_BY(mu_);
};

// Each test has its own scheduler with one worker (of one executor), so an
// isolate seen twice is the same one, and the scheduler's memory is its own.
class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = absl::StrCat(
        ::testing::TempDir(), "/", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    scheduler_ = SchedulerProcess::Start(dir + "/data", {.workers = 1});
    ASSERT_NE(scheduler_, nullptr);
    client_ = std::make_unique<ControlClient>(scheduler_->address(), scheduler_->DefaultToken());
    http_ = scheduler_->http_address();
  }

  void Deploy(const std::string& name, const std::string& source, kiln::v1::Limits limits = {}) {
    kiln::v1::FunctionConfig config;
    *config.mutable_limits() = limits;
    kiln::v1::DeployResponse deployed;
    grpc::Status status = client_->Deploy(name, source, &deployed, config);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  HttpRequest Request(const std::string& function, const std::string& path,
                      const std::string& method = "GET", std::string body = "") const {
    HttpRequest request;
    request.method = method;
    request.host = absl::StrCat(function, ".default.localhost", http_.substr(http_.rfind(':')));
    request.path = path;
    request.body = std::move(body);
    return request;
  }

  // Sends a request and reads the response's head.
  std::unique_ptr<HttpStream> Open(const std::string& function, const std::string& path) {
    absl::StatusOr<std::unique_ptr<HttpStream>> stream =
        HttpStream::Send(http_, Request(function, path));
    if (!stream.ok()) {
      ADD_FAILURE() << stream.status();
      return nullptr;
    }
    if (absl::Status head = (*stream)->ReadHead(); !head.ok()) {
      ADD_FAILURE() << head;
      return nullptr;
    }
    return *std::move(stream);
  }

  HttpResponse Fetch(const HttpRequest& request) const {
    absl::StatusOr<HttpResponse> response = HttpFetch(http_, request);
    if (!response.ok()) {
      ADD_FAILURE() << request.method << " " << request.host << request.path << ": "
                    << response.status();
      return {};
    }
    return *std::move(response);
  }

  std::unique_ptr<SchedulerProcess> scheduler_;
  std::unique_ptr<ControlClient> client_;
  std::string http_;
};

kiln::v1::Limits CpuMs(uint32_t cpu_ms) {
  kiln::v1::Limits limits;
  limits.set_cpu_ms(cpu_ms);
  return limits;
}

TEST_F(StreamingTest, HundredMebibyteDownloadStreamsInBoundedSchedulerMemory) {
  Deploy("download", kDownload, CpuMs(30000));
  ASSERT_EQ(Fetch(Request("download", "/?mib=1")).body.size(), kMiB);  // warm

  const size_t peak_before = PeakRss(scheduler_->pid());
  ASSERT_GT(peak_before, 0u);
  const absl::Time start = absl::Now();
  std::unique_ptr<HttpStream> stream = Open("download", "/?mib=100");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->head().status, 200);
  EXPECT_TRUE(stream->chunked());
  EXPECT_EQ(stream->head().Header("content-length"), "");
  EXPECT_EQ(stream->head().Header("content-type"), "application/octet-stream");

  uint64_t received = 0;
  uint64_t first_mismatch = UINT64_MAX;
  bool paused = false;
  absl::Duration paused_for;
  std::string piece;
  while (true) {
    piece.clear();
    absl::StatusOr<bool> more = stream->Read(&piece);
    ASSERT_TRUE(more.ok()) << more.status() << " after " << received << " bytes";
    if (!*more) break;
    for (size_t k = 0; k < piece.size() && first_mismatch == UINT64_MAX; ++k) {
      if (static_cast<uint8_t>(piece[k]) != DownloadByte(received + k)) first_mismatch = received + k;
    }
    received += piece.size();
    if (!paused && received >= kMiB) {
      // A client that stops reading for a while: the function (which makes
      // ~1 GiB/s) must be held back, not buffered for in the scheduler.
      paused = true;
      const absl::Time pause = absl::Now();
      absl::SleepFor(absl::Seconds(1));
      paused_for = absl::Now() - pause;
    }
  }
  const absl::Duration took = absl::Now() - start;
  const size_t growth = PeakRss(scheduler_->pid()) - peak_before;
  EXPECT_EQ(received, 100 * kMiB);
  EXPECT_EQ(first_mismatch, UINT64_MAX) << "the body differs from byte " << first_mismatch;
  // The scheduler holds at most the gateway's stream window (1 MiB) of a body
  // ahead of the client, plus what sits in socket, gRPC and h2o buffers and
  // malloc arenas on the way: a few MiB. 48 MiB leaves room for allocator
  // noise on a busy machine while failing any scheduler that buffers the
  // body (100 MiB) or even half of it.
  EXPECT_LT(growth, 48 * kMiB) << "kiln-scheduler's peak RSS grew by " << (growth >> 20) << " MiB";
  std::printf("100 MiB streamed in %.3f s (not counting the client's 1 s pause); kiln-scheduler "
              "peak RSS %.1f MiB, +%.1f MiB\n",
              absl::ToDoubleSeconds(took - paused_for), peak_before / double(kMiB),
              growth / double(kMiB));
}

// HTTP/2 (cleartext, prior knowledge), by curl (installed by ops/setup): the
// same body, paced by the client's HTTP/2 flow control instead of TCP's.
TEST_F(StreamingTest, HundredMebibyteDownloadOverHttp2StreamsInBoundedSchedulerMemory) {
  Deploy("download", kDownload, CpuMs(30000));
  ASSERT_EQ(Fetch(Request("download", "/?mib=1")).body.size(), kMiB);  // warm

  const size_t peak_before = PeakRss(scheduler_->pid());
  ASSERT_GT(peak_before, 0u);
  const std::string out = absl::StrCat(::testing::TempDir(), "/h2-download.bin");
  const std::string command = absl::StrCat(
      "curl -sS --http2-prior-knowledge --max-time 60 -o '", out,
      "' -w '%{http_version} %{http_code} %{size_download}' -H 'Host: download.default.localhost' "
      "'http://", http_, "/?mib=100'");
  std::string written;
  FILE* curl = popen(command.c_str(), "r");
  ASSERT_NE(curl, nullptr);
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), curl) != nullptr) written += buffer;
  ASSERT_EQ(pclose(curl), 0) << command << ": " << written;
  EXPECT_EQ(written, absl::StrCat("2 200 ", 100 * kMiB));
  const size_t growth = PeakRss(scheduler_->pid()) - peak_before;

  std::ifstream file(out, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_EQ(body.size(), 100 * kMiB);
  uint64_t first_mismatch = UINT64_MAX;
  for (uint64_t k = 0; k < body.size(); ++k) {
    if (static_cast<uint8_t>(body[k]) != DownloadByte(k)) {
      first_mismatch = k;
      break;
    }
  }
  EXPECT_EQ(first_mismatch, UINT64_MAX) << "the body differs from byte " << first_mismatch;
  std::filesystem::remove(out);
  // As over HTTP/1.1: a few MiB of buffers, never the body.
  EXPECT_LT(growth, 48 * kMiB) << "kiln-scheduler's peak RSS grew by " << (growth >> 20) << " MiB";
}

TEST_F(StreamingTest, ChunksArriveAsTheFunctionProducesThem) {
  Deploy("download", kDownload);
  ASSERT_EQ(Fetch(Request("download", "/?mib=0")).status, 200);  // warm

  std::unique_ptr<HttpStream> stream = Open("download", "/slow");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->head().status, 200);
  EXPECT_TRUE(stream->chunked());
  std::string body;
  absl::StatusOr<bool> more = stream->Read(&body);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  const absl::Time first = absl::Now();
  EXPECT_EQ(body, "first\n");
  while ((more = stream->Read(&body)).ok() && *more) {
  }
  ASSERT_TRUE(more.ok()) << more.status();
  // The function waits 2 s between its chunks: a gateway that buffered the
  // body would deliver both at once.
  EXPECT_GT(absl::Now() - first, absl::Seconds(1));
  EXPECT_EQ(body, "first\nsecond\n");
}

TEST_F(StreamingTest, AGracefulShutdownLetsAStreamingBodyFinish) {
  Deploy("download", kDownload, CpuMs(30000));
  std::unique_ptr<HttpStream> stream = Open("download", "/?mib=16");
  ASSERT_NE(stream, nullptr);
  std::string first;
  absl::StatusOr<bool> more = stream->Read(&first);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  uint64_t received = first.size();

  // The drain waits for in-flight work, and a body is part of its answer:
  // this one (16 MiB: more than socket buffers and the 1 MiB window hold)
  // needs the client's credit to finish, and the client does not read for a
  // while after the signal.
  scheduler_->process().Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(300));
  std::string piece;
  while ((more = stream->Read(&piece)).ok() && *more) {
    received += piece.size();
    piece.clear();
  }
  EXPECT_TRUE(more.ok()) << more.status() << " after " << received << " bytes";
  EXPECT_EQ(received, 16 * kMiB);
  std::optional<int> exit = scheduler_->process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
}

TEST_F(StreamingTest, AClientLeavingWhileTheHandlerAwaitsCancelsItAndItsIsolate) {
  Deploy("hang", kHang);
  LogFollower logs(*client_, "hang");
  EXPECT_EQ(Fetch(Request("hang", "/count")).body, "count 1");

  absl::StatusOr<std::unique_ptr<HttpStream>> stream = HttpStream::Send(http_, Request("hang", "/hang"));
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::optional<kiln::v1::LogEntry> hanging = logs.WaitFor("hanging at count 2");
  ASSERT_TRUE(hanging.has_value()) << logs.All();
  (*stream)->Close();
  const absl::Time closed = absl::Now();

  std::optional<kiln::v1::LogEntry> cancelled =
      logs.WaitFor("invocation cancelled: the client went away", hanging->request_id());
  ASSERT_TRUE(cancelled.has_value()) << logs.All();
  const absl::Duration took = absl::Now() - closed;
  // The gateway looks for departed clients every 200 ms; the cancel then
  // crosses the fleet to the worker and its log line comes back.
  EXPECT_LT(took, absl::Seconds(1));
  std::printf("cancel logged %.0f ms after the client closed\n", absl::ToDoubleMilliseconds(took));

  // The cancelled isolate (count 2) is discarded: the next request starts over.
  EXPECT_EQ(Fetch(Request("hang", "/count")).body, "count 1");
  EXPECT_FALSE(logs.WaitFor("the timer fired", "", absl::ZeroDuration()).has_value());
}

TEST_F(StreamingTest, AClientLeavingMidBodyEndsTheInvocation) {
  Deploy("endless", kEndless, CpuMs(30000));
  LogFollower logs(*client_, "endless");

  std::unique_ptr<HttpStream> stream = Open("endless", "/");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->head().status, 200);
  const std::string request_id = stream->head().Header("kiln-request-id");
  ASSERT_FALSE(request_id.empty());
  std::string body;
  while (body.size() < 256 << 10) {
    absl::StatusOr<bool> more = stream->Read(&body);
    ASSERT_TRUE(more.ok() && *more) << more.status();
  }
  EXPECT_EQ(body, std::string(body.size(), 'x'));
  stream->Close();
  const absl::Time closed = absl::Now();

  std::optional<kiln::v1::LogEntry> cancelled =
      logs.WaitFor("invocation cancelled: the client went away", request_id);
  ASSERT_TRUE(cancelled.has_value()) << logs.All();
  std::printf("mid-body cancel logged %.0f ms after the client closed\n",
              absl::ToDoubleMilliseconds(absl::Now() - closed));
  HttpRequest ping = Request("endless", "/ping");
  ping.timeout = absl::Seconds(5);
  EXPECT_EQ(Fetch(ping).body, "pong");
}

TEST_F(StreamingTest, AClientLeavingWhileTheBodyIsQuietEndsTheInvocation) {
  Deploy("endless", kEndless);
  LogFollower logs(*client_, "endless");
  std::unique_ptr<HttpStream> stream = Open("endless", "/quiet");
  ASSERT_NE(stream, nullptr);
  const std::string request_id = stream->head().Header("kiln-request-id");
  std::string body;
  while (body.size() < 65536) {
    absl::StatusOr<bool> more = stream->Read(&body);
    ASSERT_TRUE(more.ok() && *more) << more.status();
  }
  // Nothing is being written when the client leaves: the gateway must notice
  // the closed connection itself.
  stream->Close();
  const absl::Time closed = absl::Now();
  std::optional<kiln::v1::LogEntry> cancelled =
      logs.WaitFor("invocation cancelled: the client went away", request_id, absl::Seconds(5));
  ASSERT_TRUE(cancelled.has_value()) << logs.All();
  const absl::Duration took = absl::Now() - closed;
  EXPECT_LT(took, absl::Seconds(1));
  std::printf("quiet-body cancel logged %.0f ms after the client closed\n",
              absl::ToDoubleMilliseconds(took));
}

TEST_F(StreamingTest, AStreamThatThrowsTruncatesTheResponse) {
  Deploy("breaks", kBreaks);
  LogFollower logs(*client_, "breaks");
  std::unique_ptr<HttpStream> stream = Open("breaks", "/throw");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->head().status, 200);
  EXPECT_TRUE(stream->chunked());
  const std::string request_id = stream->head().Header("kiln-request-id");

  std::string body;
  absl::StatusOr<bool> more;
  while ((more = stream->Read(&body)).ok() && *more) {
  }
  // Never a clean end (a terminating chunk): the connection is cut.
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss) << more.status();
  EXPECT_EQ(body, "before the break\n");
  std::optional<kiln::v1::LogEntry> error = logs.WaitFor("the disk is on fire", request_id);
  ASSERT_TRUE(error.has_value()) << logs.All();
  EXPECT_THAT(error->message(), HasSubstr("Uncaught (in response body) Error: the disk is on fire"));
  EXPECT_EQ(error->level(), kiln::v1::LogEntry::ERROR);
}

TEST_F(StreamingTest, AStreamOverTheCpuLimitIsStoppedAndTruncated) {
  Deploy("breaks", kBreaks, CpuMs(100));
  LogFollower logs(*client_, "breaks");
  std::unique_ptr<HttpStream> stream = Open("breaks", "/spin");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->head().status, 200);
  const std::string request_id = stream->head().Header("kiln-request-id");

  std::string body;
  absl::StatusOr<bool> more;
  while ((more = stream->Read(&body)).ok() && *more) {
  }
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss) << more.status();
  EXPECT_EQ(body, "before the break\n");
  std::optional<kiln::v1::LogEntry> stopped = logs.WaitFor("cpu limit exceeded", request_id);
  ASSERT_TRUE(stopped.has_value()) << logs.All();
  EXPECT_EQ(stopped->level(), kiln::v1::LogEntry::ERROR);
}

TEST_F(StreamingTest, ARequestBodyIsReadAsAStream) {
  kiln::v1::Limits limits = CpuMs(10000);
  limits.set_request_body_bytes(32 * kMiB);
  Deploy("upload", kUpload, limits);
  std::string body(20 * kMiB, '\0');
  uint32_t state = 12345, hash = 0;
  for (char& c : body) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 24);
    hash = hash * 31u + static_cast<uint8_t>(c);
  }
  HttpResponse response = Fetch(Request("upload", "/", "POST", body));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, absl::StrCat(20 * kMiB, " ", hash));
}

TEST_F(StreamingTest, ARequestBodyOverTheFunctionsLimitIs413WithAnErrorId) {
  kiln::v1::Limits limits;
  limits.set_request_body_bytes(kMiB);
  Deploy("upload", kUpload, limits);
  EXPECT_EQ(Fetch(Request("upload", "/", "POST", std::string(kMiB, 'a'))).body,
            absl::StrCat(kMiB, " ", [] {
              uint32_t hash = 0;
              for (size_t i = 0; i < kMiB; ++i) hash = hash * 31u + 'a';
              return hash;
            }()));

  HttpResponse response = Fetch(Request("upload", "/", "POST", std::string(kMiB + 1, 'a')));
  EXPECT_EQ(response.status, 413);
  const std::string request_id = response.Header("kiln-request-id");
  ASSERT_FALSE(request_id.empty());
  EXPECT_THAT(response.body, HasSubstr("request body larger than"));
  EXPECT_THAT(response.body, HasSubstr(absl::StrCat("error id: ", request_id)));
}

}  // namespace
}  // namespace kiln::test
