// Drives a real kiln-worker process over kiln.v1.Worker/Connect from a fake
// scheduler in the test: register, build (good and broken bundles), load,
// invoke (fetch, hostile, unknown), logs, heartbeats, drain (also of a
// streamed body that still needs credit).
#include <sys/wait.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kiln/v1/worker.grpc.pb.h"
#include "test/util/subprocess.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

// Accepts one worker's stream and lets the test write frames to it and wait
// for frames from it.
class FakeScheduler final : public v1::Worker::Service {
 public:
  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream) override {
    v1::WorkerFrame frame;
    if (!stream->Read(&frame) || !frame.has_register_()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register first");
    }
    v1::SchedulerFrame ack;
    ack.mutable_register_ack()->set_worker_id(frame.register_().worker_id());
    ack.mutable_register_ack()->set_heartbeat_interval_ms(100);
    stream->Write(ack);
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(frame);
      stream_ = stream;
      changed_ = true;
    }
    while (stream->Read(&frame)) {
      absl::MutexLock lock(&mu_);
      if (frame.has_batch()) {  // the worker batches frames queued together
        for (const v1::WorkerFrame& inner : frame.batch().frames()) received_.push_back(inner);
      } else {
        received_.push_back(frame);
      }
      changed_ = true;
    }
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    ended_ = true;
    changed_ = true;
    return grpc::Status::OK;
  }

  bool Send(const v1::SchedulerFrame& frame) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(+[](FakeScheduler* self) { return self->stream_ != nullptr || self->ended_; }, this));
    return stream_ != nullptr && stream_->Write(frame);
  }

  // Waits for the first received frame matching `match`, removes and returns it.
  template <typename Match>
  std::optional<v1::WorkerFrame> WaitFor(Match match, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    absl::Time deadline = absl::Now() + timeout;
    while (true) {
      for (auto it = received_.begin(); it != received_.end(); ++it) {
        if (match(*it)) {
          v1::WorkerFrame found = *it;
          received_.erase(it);
          return found;
        }
      }
      if (ended_ || absl::Now() > deadline) return std::nullopt;
      mu_.AwaitWithDeadline(absl::Condition(&changed_), deadline);
      changed_ = false;
    }
  }

  std::vector<v1::LogEntry> Logs() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::LogEntry> entries;
    for (const v1::WorkerFrame& frame : received_) {
      for (const v1::LogEntry& entry : frame.logs().entries()) entries.push_back(entry);
    }
    return entries;
  }

 private:
  absl::Mutex mu_;
  std::deque<v1::WorkerFrame> received_;
  grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream_ = nullptr;
  bool ended_ = false;
  bool changed_ = false;
};

class WorkerStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&scheduler_);
    server_ = builder.BuildAndStart();
    ASSERT_GT(port_, 0);
    worker_ = std::make_unique<test::Subprocess>(test::Subprocess::Start(
        {test::RunfilePath("worker/server/kiln-worker"), "--scheduler",
         "127.0.0.1:" + std::to_string(port_), "--executors", "2", "--worker-id", "w1",
         "--hash-seed", "4242"}));
    ASSERT_GT(worker_->pid(), 0);
  }
  void TearDown() override {
    worker_.reset();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }

  v1::BuildResult Build(uint64_t id, const std::string& source) {
    v1::SchedulerFrame frame;
    v1::BuildSnapshot* build = frame.mutable_build();
    build->set_build_id(id);
    build->mutable_bundle()->set_main_module("index.js");
    v1::BundleFile* file = build->mutable_bundle()->add_files();
    file->set_path("index.js");
    file->set_content(source);
    EXPECT_TRUE(scheduler_.Send(frame));
    auto result = scheduler_.WaitFor([id](const v1::WorkerFrame& f) {
      return f.has_build_result() && f.build_result().build_id() == id;
    });
    EXPECT_TRUE(result.has_value());
    return result ? result->build_result() : v1::BuildResult();
  }

  void Load(const std::string& function, const std::string& snapshot, uint32_t cpu_ms = 0) {
    v1::SchedulerFrame frame;
    v1::LoadFunction* load = frame.mutable_load();
    load->mutable_function()->set_tenant("acme");
    load->mutable_function()->set_function(function);
    load->mutable_function()->set_version(1);
    load->set_snapshot(snapshot);
    (*load->mutable_config()->mutable_vars())["GREETING"] = "hello";
    (*load->mutable_secrets())["TOKEN"] = "s3cret";
    if (cpu_ms) load->mutable_config()->mutable_limits()->set_cpu_ms(cpu_ms);
    ASSERT_TRUE(scheduler_.Send(frame));
    auto result = scheduler_.WaitFor([&](const v1::WorkerFrame& f) {
      return f.has_load_result() && f.load_result().function().function() == function;
    });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->load_result().error(), "");
  }

  v1::InvocationResult Invoke(uint64_t id, const std::string& function, const std::string& path) {
    v1::SchedulerFrame frame;
    v1::Invoke* invoke = frame.mutable_invoke();
    invoke->set_invocation_id(id);
    invoke->set_request_id("req-" + std::to_string(id));
    invoke->mutable_function()->set_tenant("acme");
    invoke->mutable_function()->set_function(function);
    invoke->mutable_function()->set_version(1);
    invoke->mutable_event()->mutable_http()->set_method("GET");
    invoke->mutable_event()->mutable_http()->set_url("http://" + function + ".acme.localhost" + path);
    EXPECT_TRUE(scheduler_.Send(frame));
    auto result = scheduler_.WaitFor([id](const v1::WorkerFrame& f) {
      return f.has_result() && f.result().invocation_id() == id;
    });
    EXPECT_TRUE(result.has_value());
    return result ? result->result().result() : v1::InvocationResult();
  }

  FakeScheduler scheduler_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<test::Subprocess> worker_;
};

constexpr char kHello[] = R"JS(
  export default {
    fetch(request, env) {
      console.log('serving', request.url);
      if (request.url.endsWith('/spin')) while (true) {}
      return new Response(`${env.GREETING} ${env.TOKEN}`, { headers: { 'x-kiln': 'yes' } });
    },
  };
)JS";

TEST_F(WorkerStreamTest, RegistersBuildsLoadsInvokesAndDrains) {
  auto hello = scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_register_(); });
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->register_().worker_id(), "w1");
  EXPECT_EQ(hello->register_().pid(), static_cast<uint32_t>(worker_->pid()));
  EXPECT_THAT(hello->register_().runtime_fingerprint(), HasSubstr("-v8-10.2"));

  v1::BuildResult broken = Build(1, "export default {\n  fetch() { return ; ]\n}");
  EXPECT_TRUE(broken.snapshot().empty());
  EXPECT_THAT(broken.error(), HasSubstr("index.js:2:"));
  EXPECT_THAT(broken.error(), HasSubstr("SyntaxError"));

  v1::BuildResult built = Build(2, kHello);
  ASSERT_EQ(built.error(), "");
  ASSERT_FALSE(built.snapshot().empty());
  EXPECT_EQ(built.runtime_fingerprint(), hello->register_().runtime_fingerprint());
  Load("hello", built.snapshot(), /*cpu_ms=*/100);

  v1::InvocationResult ok = Invoke(10, "hello", "/a");
  ASSERT_TRUE(ok.has_http()) << ok.DebugString();
  EXPECT_EQ(ok.http().status(), 200u);
  EXPECT_EQ(ok.http().body(), "hello s3cret");

  v1::InvocationResult spun = Invoke(11, "hello", "/spin");
  ASSERT_TRUE(spun.has_error()) << spun.DebugString();
  EXPECT_EQ(spun.error().kind(), v1::InvocationError::CPU_LIMIT);
  EXPECT_EQ(spun.error().message(), "cpu limit exceeded");

  v1::InvocationResult again = Invoke(12, "hello", "/b");
  EXPECT_EQ(again.http().body(), "hello s3cret");

  v1::InvocationResult unknown = Invoke(13, "nope", "/");
  ASSERT_TRUE(unknown.has_error());
  EXPECT_EQ(unknown.error().kind(), v1::InvocationError::NOT_FOUND);

  // Logs arrive with their request ids, and heartbeats report the warm set.
  auto heartbeat = scheduler_.WaitFor([](const v1::WorkerFrame& f) {
    return f.has_heartbeat() && f.heartbeat().warm_size() > 0;
  });
  ASSERT_TRUE(heartbeat.has_value());
  EXPECT_EQ(heartbeat->heartbeat().warm(0).function().function(), "hello");
  bool saw_log = false;
  for (const v1::LogEntry& entry : scheduler_.Logs()) {
    if (entry.request_id() == "req-10" && entry.message() == "serving http://hello.acme.localhost/a") {
      saw_log = true;
      EXPECT_EQ(entry.level(), v1::LogEntry::LOG);
      EXPECT_EQ(entry.function(), "hello");
    }
  }
  EXPECT_TRUE(saw_log);

  // Every thread of the serving worker runs under the seccomp filter with
  // no_new_privs (TSYNC reached V8's and gRPC's threads too).
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(worker_->pid()) + "/task")) {
    std::ifstream status_file(task.path() / "status");
    std::string text((std::istreambuf_iterator<char>(status_file)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("\nSeccomp:\t2\n")) << task.path();
    EXPECT_THAT(text, HasSubstr("\nNoNewPrivs:\t1\n")) << task.path();
    ++threads;
  }
  EXPECT_GE(threads, 4);  // main, executors, V8 platform, gRPC

  v1::SchedulerFrame drain;
  drain.mutable_drain()->set_deadline_ms(2000);
  ASSERT_TRUE(scheduler_.Send(drain));
  std::optional<int> status = worker_->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "worker did not exit after drain";
  EXPECT_TRUE(WIFEXITED(*status)) << "signal " << WTERMSIG(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// 512 KiB in 64 KiB chunks, made as they are read.
constexpr char kStream[] = R"JS(
  export default {
    fetch() {
      let i = 0;
      return new Response(new ReadableStream({
        pull(controller) {
          if (i++ === 8) return controller.close();
          controller.enqueue(new Uint8Array(65536).fill(i));
        },
      }));
    },
  };
)JS";

TEST_F(WorkerStreamTest, ADrainLetsAStreamedBodyFinishWhileCreditStillArrives) {
  ASSERT_TRUE(scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_register_(); }));
  v1::BuildResult built = Build(1, kStream);
  ASSERT_EQ(built.error(), "");
  Load("stream", built.snapshot());

  v1::SchedulerFrame frame;
  v1::Invoke* invoke = frame.mutable_invoke();
  invoke->set_invocation_id(7);
  invoke->set_request_id("req-7");
  invoke->mutable_function()->set_tenant("acme");
  invoke->mutable_function()->set_function("stream");
  invoke->mutable_function()->set_version(1);
  invoke->mutable_event()->mutable_http()->set_method("GET");
  invoke->mutable_event()->mutable_http()->set_url("http://stream.acme.localhost/");
  invoke->set_stream_window_bytes(128 << 10);  // a quarter of the body
  ASSERT_TRUE(scheduler_.Send(frame));
  auto head = scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_result(); });
  ASSERT_TRUE(head.has_value());
  ASSERT_TRUE(head->result().result().http().body_streamed()) << head->DebugString();

  // Drain while the body is out of credit: the worker must wait for the body
  // and go on reading the credit that lets it finish.
  v1::SchedulerFrame drain;
  drain.mutable_drain()->set_deadline_ms(5000);
  ASSERT_TRUE(scheduler_.Send(drain));
  size_t received = 0;
  while (true) {
    auto chunk = scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_response_body(); });
    ASSERT_TRUE(chunk.has_value()) << "the body ended after " << received << " bytes without its last chunk";
    received += chunk->response_body().data().size();
    if (chunk->response_body().last()) {
      EXPECT_EQ(chunk->response_body().error(), "");
      break;
    }
    v1::SchedulerFrame credit;
    credit.mutable_body_credit()->set_invocation_id(7);
    credit.mutable_body_credit()->set_bytes(chunk->response_body().data().size());
    ASSERT_TRUE(scheduler_.Send(credit));
  }
  EXPECT_EQ(received, 512u << 10);
  std::optional<int> status = worker_->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "worker did not exit after drain";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(WorkerStreamTest, SnapshotFromAnotherRuntimeIsRefused) {
  ASSERT_TRUE(scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_register_(); }));
  v1::SchedulerFrame frame;
  v1::LoadFunction* load = frame.mutable_load();
  load->mutable_function()->set_tenant("acme");
  load->mutable_function()->set_function("alien");
  load->mutable_function()->set_version(1);
  load->set_snapshot(std::string("KILNSNAP\x05\x00\x00\x00otherGARBAGE", 24));
  ASSERT_TRUE(scheduler_.Send(frame));
  auto result = scheduler_.WaitFor([](const v1::WorkerFrame& f) { return f.has_load_result(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->load_result().error(), HasSubstr("snapshot was built for runtime other"));
}

// Answers Register with something other than RegisterAck, then keeps the
// stream open: not a Kiln scheduler.
class WrongScheduler final : public v1::Worker::Service {
 public:
  grpc::Status Connect(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream) override {
    v1::WorkerFrame frame;
    if (!stream->Read(&frame)) return grpc::Status::OK;
    v1::SchedulerFrame drain;
    drain.mutable_drain()->set_deadline_ms(1000);
    stream->Write(drain);
    while (stream->Read(&frame)) {
    }
    return grpc::Status::OK;
  }
};

TEST(WorkerRegistrationTest, AFirstFrameThatIsNotRegisterAckEndsTheWorker) {
  WrongScheduler wrong;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&wrong);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_GT(port, 0);
  const std::string err = ::testing::TempDir() + "/wrong-scheduler.txt";
  test::Subprocess worker = test::Subprocess::Start(
      {"/bin/sh", "-c",
       test::RunfilePath("worker/server/kiln-worker") + " --scheduler 127.0.0.1:" + std::to_string(port) +
           " --executors 1 --worker-id w1 2>" + err});
  // It gives up (exit 1), rather than waiting for an ack forever, and says why.
  std::optional<int> status = worker.Wait(absl::Seconds(20));
  ASSERT_TRUE(status.has_value()) << "kiln-worker still waits for its RegisterAck";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  std::ifstream file(err);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("answered Register with something other than RegisterAck"));
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

TEST(WorkerCliTest, PrintsItsPolicy) {
  std::string out = ::testing::TempDir() + "/policy.txt";
  std::string command = test::RunfilePath("worker/server/kiln-worker") + " --print-policy > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream file(out);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("seccomp policy, mode enforce\ndefault action: kill the process"));
  EXPECT_THAT(text, HasSubstr("kill  execve\n"));
  EXPECT_THAT(text, HasSubstr("kill  socket\n"));
  EXPECT_THAT(text, HasSubstr("errno clone3                 -> ENOSYS"));
}

TEST(WorkerCliTest, UnreachableSchedulerIsAClearError) {
  std::string command = test::RunfilePath("worker/server/kiln-worker") +
                        " --scheduler 127.0.0.1:1 --connect-timeout-ms 300 2>" + ::testing::TempDir() + "/err.txt";
  int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream file(::testing::TempDir() + "/err.txt");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("cannot reach the scheduler at 127.0.0.1:1"));
}

}  // namespace
}  // namespace kiln
