// A compiled seccomp-bpf syscall policy, ready to confine the current process
// (every thread). kiln-worker applies the worker policy (worker_policy.h) after
// it has connected to the scheduler and before any tenant code loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln::sandbox {

// How a policy treats a syscall it does not allow.
enum class Mode {
  // Production: a refused syscall kills the whole process (SIGSYS).
  kEnforce,
  // Staging: a refused syscall is logged by the kernel (SCMP_ACT_LOG, visible in
  // `dmesg` / the audit log as `type=1326 ... syscall=N`) and then runs. Use it
  // to find a missing rule; it confines nothing. Errno rules still apply, and
  // their hits are logged too (SECCOMP_FILTER_FLAG_LOG). Syscalls through
  // another ABI still kill.
  kLog,
};

// "enforce" or "log".
const char* ModeName(Mode mode);

// An argument value with the name Describe() prints for it ("CLOCK_MONOTONIC").
// The name may be empty; then the number is printed alone.
// Any integer converts; a negative one is stored sign-extended, which the
// 32-bit conditions then truncate.
struct NamedValue {
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  NamedValue(T value) : value(static_cast<uint64_t>(value)) {}  // NOLINT: numbers convert.
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  NamedValue(T value, std::string name)
      : value(static_cast<uint64_t>(value)), name(std::move(name)) {}
  uint64_t value;
  std::string name;
};

// A restriction on one syscall argument. It holds when
// `(argument & mask)` equals one of `values`. Build these with `Arg`
// (policy_builder.h) rather than by hand.
struct ArgCondition {
  // How Describe() renders the condition; the test is always the masked one.
  enum class Kind {
    kEquals,      // the whole 64-bit register equals a value
    kEquals32,    // the low 32 bits equal a value (an `int` argument)
    kMasked32,    // (low 32 bits & mask) equals a value
    kBitsWithin,  // no bit outside the named ones is set (mask = ~bits, value 0)
  };
  int index = 0;         // 0..5, the syscall argument
  std::string arg_name;  // "prot", "op", ...; may be empty
  Kind kind = Kind::kEquals;
  uint64_t mask = ~uint64_t{0};
  std::vector<NamedValue> values;  // alternatives (OR); for kBitsWithin, the bits
};

// What a matching rule does.
struct Action {
  enum class Type {
    kAllow,
    // Kill the whole process with SIGSYS (never only the thread). In Mode::kLog
    // this becomes "log and run", like the default action.
    kKillProcess,
    // Fail the call with `errno_value`, in every mode: for calls libc probes
    // and copes with (clone3 -> ENOSYS makes glibc fall back to clone).
    kErrno,
  };
  Type type = Type::kAllow;
  int errno_value = 0;
};

// One rule: `action` for `syscall` when every condition holds (an empty list
// always holds). Several rules for one syscall are alternatives.
struct Rule {
  int syscall = -1;  // native (x86-64) syscall number, e.g. __NR_mmap
  Action action;
  std::vector<ArgCondition> conditions;
  int group = -1;  // index into Policy::groups(), or -1
};

// A seccomp-bpf filter compiled from rules by PolicyBuilder (policy_builder.h).
//
// What applies: each rule; anything else -- a syscall no rule names, or a named
// syscall whose arguments match none of its rules -- gets the default action,
// which kills the process (Mode::kEnforce) or logs the call (Mode::kLog).
// Syscalls made through another ABI (i386 `int 0x80`, x32) kill the process.
//
// Owned by whoever built it; move-only. Apply() confines the calling process
// for the rest of its life; the Policy object may be destroyed afterwards.
class Policy {
 public:
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

  Mode mode() const { return mode_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<std::string>& groups() const { return groups_; }

  // Loads the filter into the kernel for every thread of the calling process
  // (SECCOMP_FILTER_FLAG_TSYNC) after setting no_new_privs, which TSYNC also
  // gives every thread. Irreversible: the filter outlives this object and is
  // inherited by any child. Filters stack: applying twice makes both apply.
  // Returns FailedPrecondition when a thread cannot be synchronised (it runs
  // under a different filter stack), PermissionDenied when the kernel refuses
  // the filter, Internal otherwise.
  absl::Status Apply() const;

  // A readable listing of the policy: mode, default action, each allowed
  // syscall with its argument restrictions, each refused syscall with its
  // action, under the builder's group headings. No syscalls are made, so this
  // is safe to call in a confined process. `kiln-worker --print-policy` prints
  // WorkerPolicy().Describe().
  std::string Describe() const;

  // Number of BPF instructions of the compiled filter (what runs on every
  // syscall that the kernel's constant-action cache does not answer). Makes a
  // memfd and writes to it, so call it only in an unconfined process.
  absl::StatusOr<size_t> BpfInstructionCount() const;

 private:
  friend class PolicyBuilder;
  struct ContextDeleter {
    void operator()(void* ctx) const;
  };
  using Context = std::unique_ptr<void, ContextDeleter>;

  Policy(Mode mode, std::vector<Rule> rules, std::vector<std::string> groups, Context ctx);

  Mode mode_;
  std::vector<Rule> rules_;
  std::vector<std::string> groups_;
  Context ctx_;  // libseccomp's scmp_filter_ctx, rules already added
};

}  // namespace kiln::sandbox
