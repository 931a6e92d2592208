// Snapshot builders: in-process, and a forked child speaking a small
// length-prefixed protocol over a socketpair.
#include "worker/runtime/builder.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "worker/js/v8_process.h"

namespace kiln::worker {
namespace {

// ---- wire format: u32 frame length, then fields; strings are u32 + bytes ----

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { out_.append(reinterpret_cast<const char*>(&v), 4); }
  void U64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string Frame() const {
    std::string frame;
    uint32_t length = static_cast<uint32_t>(out_.size());
    frame.append(reinterpret_cast<const char*>(&length), 4);
    frame.append(out_);
    return frame;
  }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool Str(std::string* s) {
    uint32_t length;
    if (!U32(&length) || in_.size() - pos_ < length) return false;
    s->assign(in_, pos_, length);
    pos_ += length;
    return true;
  }

 private:
  bool Raw(void* v, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(v, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  const std::string& in_;
  size_t pos_ = 0;
};

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads one frame. `deadline` < 0: wait forever.
bool ReadFrame(int fd, std::string* frame, int timeout_ms = -1) {
  auto read_exactly = [&](char* buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
      if (timeout_ms >= 0) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
      }
      ssize_t n = read(fd, buffer + done, length - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  };
  uint32_t length;
  if (!read_exactly(reinterpret_cast<char*>(&length), 4)) return false;
  frame->resize(length);
  return read_exactly(frame->data(), length);
}

std::string EncodeRequest(const Bundle& bundle, const js::BuildOptions& options) {
  Writer w;
  w.Str(bundle.main_module);
  w.U32(static_cast<uint32_t>(bundle.files.size()));
  for (const auto& [path, content] : bundle.files) {
    w.Str(path);
    w.Str(content);
  }
  w.U64(static_cast<uint64_t>(absl::ToInt64Milliseconds(options.time_limit)));
  w.U64(options.heap_limit_bytes);
  w.U8(options.allow_eval);
  w.U8(options.allow_wasm_codegen);
  return w.Frame();
}

bool DecodeRequest(const std::string& frame, Bundle* bundle, js::BuildOptions* options) {
  Reader r(frame);
  uint32_t files;
  uint64_t time_ms, heap;
  uint8_t eval, wasm;
  if (!r.Str(&bundle->main_module) || !r.U32(&files)) return false;
  for (uint32_t i = 0; i < files; ++i) {
    std::string path, content;
    if (!r.Str(&path) || !r.Str(&content)) return false;
    bundle->files[path] = std::move(content);
  }
  if (!r.U64(&time_ms) || !r.U64(&heap) || !r.U8(&eval) || !r.U8(&wasm)) return false;
  options->time_limit = absl::Milliseconds(time_ms);
  options->heap_limit_bytes = heap;
  options->allow_eval = eval;
  options->allow_wasm_codegen = wasm;
  return true;
}

std::string EncodeResult(const absl::StatusOr<js::BuildResult>& result) {
  Writer w;
  w.U8(result.ok());
  if (result.ok()) {
    w.Str(result->blob);
    w.U32(static_cast<uint32_t>(result->logs.size()));
    for (const std::string& line : result->logs) w.Str(line);
  } else {
    w.U32(static_cast<uint32_t>(result.status().code()));
    w.Str(std::string(result.status().message()));
  }
  return w.Frame();
}

absl::StatusOr<js::BuildResult> DecodeResult(const std::string& frame) {
  Reader r(frame);
  uint8_t ok;
  if (!r.U8(&ok)) return absl::InternalError("malformed builder reply");
  if (!ok) {
    uint32_t code;
    std::string message;
    if (!r.U32(&code) || !r.Str(&message)) return absl::InternalError("malformed builder reply");
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  js::BuildResult result;
  uint32_t lines;
  if (!r.Str(&result.blob) || !r.U32(&lines)) return absl::InternalError("malformed builder reply");
  for (uint32_t i = 0; i < lines; ++i) {
    std::string line;
    if (!r.Str(&line)) return absl::InternalError("malformed builder reply");
    result.logs.push_back(std::move(line));
  }
  return result;
}

// What the builder child builds once before it is confined: loads the
// runtime and everything V8 and ICU read lazily (time zone, locale data).
constexpr char kWarmUpModule[] = R"JS(
  const probe = [new Date().toString(), new Intl.DateTimeFormat('en-US').format(0),
                 (1234.5).toLocaleString(), 'a'.localeCompare('b'), /a+b/u.test('aab')];
  export default { fetch() { return new Response(probe.join('|')); } };
)JS";

}  // namespace

absl::StatusOr<js::BuildResult> InProcessBuilder::Build(const Bundle& bundle,
                                                        const js::BuildOptions& options) {
  return js::BuildSnapshot(bundle, spec_, options);
}

absl::StatusOr<std::unique_ptr<BuilderProcess>> BuilderProcess::Start(const js::RuntimeSpec& spec,
                                                                      BuilderProcessOptions options) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    _exit(ChildMain(fds[1], spec, options));
  }
  close(fds[1]);
  return std::unique_ptr<BuilderProcess>(new BuilderProcess(pid, fds[0]));
}

int BuilderProcess::ChildMain(int fd, const js::RuntimeSpec& spec, const BuilderProcessOptions& options) {
  // The parent's SIGINT/SIGTERM handling is not ours; the parent ends us by
  // closing the socket.
  signal(SIGINT, SIG_IGN);
  if (options.before_v8) {
    absl::Status status = options.before_v8();
    if (!status.ok()) return 3;
  }
  js::InitializeV8(options.hash_seed);
  Bundle warm_up;
  warm_up.main_module = "warmup.js";
  warm_up.files["warmup.js"] = kWarmUpModule;
  if (!js::BuildSnapshot(warm_up, spec).ok()) return 4;
  if (options.after_warm_up) {
    absl::Status status = options.after_warm_up();
    if (!status.ok()) return 5;
  }
  std::string frame;
  while (ReadFrame(fd, &frame)) {
    Bundle bundle;
    js::BuildOptions build_options;
    absl::StatusOr<js::BuildResult> result =
        DecodeRequest(frame, &bundle, &build_options)
            ? js::BuildSnapshot(bundle, spec, build_options)
            : absl::StatusOr<js::BuildResult>(absl::InternalError("malformed build request"));
    if (!WriteAll(fd, EncodeResult(result))) return 6;
  }
  return 0;
}

BuilderProcess::~BuilderProcess() {
  {
    absl::MutexLock lock(&mu_);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int status;
  waitpid(pid_, &status, 0);
}

absl::StatusOr<js::BuildResult> BuilderProcess::Build(const Bundle& bundle,
                                                      const js::BuildOptions& options) {
  absl::MutexLock lock(&mu_);
  if (fd_ < 0) return absl::UnavailableError("the snapshot builder process is gone");
  std::string reply;
  // The child enforces the build's time limit; this is the backstop.
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(options.time_limit)) + 30000;
  if (!WriteAll(fd_, EncodeRequest(bundle, options)) || !ReadFrame(fd_, &reply, timeout_ms)) {
    // Closing the socket ends the child once its current build is over (its
    // own time limit bounds that); a confined worker may not signal it.
    close(fd_);
    fd_ = -1;
    return absl::UnavailableError("the snapshot builder process died or stopped answering");
  }
  return DecodeResult(reply);
}

}  // namespace kiln::worker
