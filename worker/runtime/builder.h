// Where snapshots are built. With Debian's V8 10.2 a SnapshotCreator must not
// run in a process that has other isolates (js::BuildSnapshot refuses), so a
// serving process builds through a BuilderProcess: a child forked at start-up,
// before any thread exists, that builds one snapshot at a time and nothing
// else. It also keeps deploy-time evaluation of untrusted top-level code out
// of the process that serves other tenants.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker/js/native.h"
#include "worker/js/snapshot.h"

namespace kiln::worker {

class SnapshotBuilder {
 public:
  virtual ~SnapshotBuilder() = default;
  // See js::BuildSnapshot for the statuses; Unavailable when the builder is
  // gone. Thread-safe.
  virtual absl::StatusOr<js::BuildResult> Build(const Bundle& bundle,
                                                const js::BuildOptions& options) = 0;
};

// Builds on the calling thread: only for a process with no other isolates
// (the builder child itself, one-shot tools).
class InProcessBuilder final : public SnapshotBuilder {
 public:
  explicit InProcessBuilder(const js::RuntimeSpec& spec) : spec_(spec) {}
  absl::StatusOr<js::BuildResult> Build(const Bundle& bundle, const js::BuildOptions& options) override;

 private:
  const js::RuntimeSpec& spec_;
};

struct BuilderProcessOptions {
  uint64_t hash_seed = 0;  // must be the serving process's (js::InitializeV8)
  // Run in the child, in order: while it is still single-threaded (e.g. enter
  // namespaces); after V8 is up and warmed (e.g. apply the seccomp policy).
  std::function<absl::Status()> before_v8;
  std::function<absl::Status()> after_warm_up;
};

class BuilderProcess final : public SnapshotBuilder {
 public:
  // Forks the builder child. Call while the process has one thread: before
  // V8, gRPC or libuv start any (fork copies only the calling thread).
  // Internal when fork or socketpair fail.
  static absl::StatusOr<std::unique_ptr<BuilderProcess>> Start(const js::RuntimeSpec& spec,
                                                               BuilderProcessOptions options);
  // Closes the connection; the child exits and is reaped.
  ~BuilderProcess() override;

  absl::StatusOr<js::BuildResult> Build(const Bundle& bundle, const js::BuildOptions& options) override;
  pid_t pid() const { return pid_; }

 private:
  BuilderProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  static int ChildMain(int fd, const js::RuntimeSpec& spec, const BuilderProcessOptions& options);

  const pid_t pid_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::worker
