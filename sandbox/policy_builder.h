// Fluent builder for seccomp policies (policy.h): name the syscalls a process
// may make, with argument restrictions, and the ones refused on purpose. The
// worker's allowlist (worker_policy.cc) is written with it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/policy.h"

namespace kiln::sandbox {

// A NamedValue carrying its own spelling: KILN_NAMED(CLOCK_MONOTONIC) is
// {1, "CLOCK_MONOTONIC"}, so Describe() prints the constant's name.
#define KILN_NAMED(x) ::kiln::sandbox::NamedValue(static_cast<uint64_t>(x), #x)

// Names one syscall argument and turns a set of values into an ArgCondition.
//   Arg(2, "prot").BitsWithin({KILN_NAMED(PROT_READ), KILN_NAMED(PROT_WRITE)})
//   Arg(0, "clock").Equals32({KILN_NAMED(CLOCK_MONOTONIC)})
class Arg {
 public:
  // `index` is the argument position, 0..5; `name` is only for Describe().
  explicit Arg(int index, std::string name = "") : index_(index), name_(std::move(name)) {}

  // The full 64-bit argument register is one of `values`. For pointers,
  // sizes and kernel `unsigned long` arguments.
  ArgCondition Equals(std::vector<NamedValue> values) const;

  // The low 32 bits are one of `values` (each truncated to 32 bits). For
  // arguments the kernel reads as `int` / `unsigned int`, whose upper register
  // half it ignores: a negative int matches whether or not it was
  // sign-extended.
  ArgCondition Equals32(std::vector<NamedValue> values) const;

  // (low 32 bits & mask) is one of `values`: flag bits masked out before the
  // comparison, e.g. FUTEX_PRIVATE_FLAG on futex ops.
  ArgCondition Masked32(uint32_t mask, std::vector<NamedValue> values) const;

  // No bit outside the union of `bits` is set (any subset, zero included),
  // over the whole 64-bit register. For `prot` masks.
  ArgCondition BitsWithin(std::vector<NamedValue> bits) const;

 private:
  int index_;
  std::string name_;
};

// Builds a Policy. Rules are kept in the order given; Group() starts a heading
// under which Describe() lists the rules that follow.
//
// Example: a process that may only compute, write to descriptors it already
// holds, and exit; opening a file kills it, clone3 fails with ENOSYS.
//
//   absl::StatusOr<Policy> policy =
//       PolicyBuilder()
//           .Group("output to inherited descriptors")
//           .Allow({__NR_write, __NR_close})
//           .AllowIf(__NR_fcntl, {Arg(1, "cmd").Equals32({KILN_NAMED(F_GETFL)})})
//           .Group("exit")
//           .Allow({__NR_exit, __NR_exit_group})
//           .Group("refused")
//           .KillProcess({__NR_open, __NR_openat})
//           .Errno(__NR_clone3, ENOSYS)
//           .Build();
//   if (!policy.ok()) return policy.status();
//   std::cout << policy->Describe();
//   KILN_RETURN_IF_ERROR(policy->Apply());
//
// Constraints Build() checks: each syscall exists on this architecture; each
// rule restricts an argument at most once; a syscall with an unconditional
// rule has no other rule (an unconditional allow beside a kill is a mistake
// the builder refuses rather than resolves); errno values are 1..4095.
//
// Not thread-safe; a builder is used by one thread and discarded.
class PolicyBuilder {
 public:
  PolicyBuilder() = default;

  // Enforce (default) or log; see Mode.
  PolicyBuilder& SetMode(Mode mode);

  // Starts a Describe() heading (say why the following rules exist).
  PolicyBuilder& Group(std::string title);

  // Allows the syscall(s) with any arguments.
  PolicyBuilder& Allow(int syscall);
  PolicyBuilder& Allow(std::initializer_list<int> syscalls);

  // Allows the syscall when every condition holds; other argument values get
  // the default action. Call again for alternatives.
  PolicyBuilder& AllowIf(int syscall, std::vector<ArgCondition> conditions);

  // Refuses the syscall(s) by killing the whole process, explicitly: listed in
  // Describe() and checked against accidental allows. The default action
  // already kills unlisted syscalls; naming the dangerous ones documents the
  // intent and makes Build() fail if a later edit allows one of them.
  PolicyBuilder& KillProcess(int syscall);
  PolicyBuilder& KillProcess(std::initializer_list<int> syscalls);

  // Makes the syscall fail with `errno_value` (in every mode), for calls whose
  // callers probe and cope.
  PolicyBuilder& Errno(int syscall, int errno_value);
  PolicyBuilder& ErrnoIf(int syscall, int errno_value, std::vector<ArgCondition> conditions);

  // Validates the rules and compiles the filter (nothing is loaded yet).
  // Returns InvalidArgument for a rule that breaks the constraints above,
  // Internal when libseccomp rejects the filter.
  absl::StatusOr<Policy> Build() const;

 private:
  PolicyBuilder& Add(int syscall, Action action, std::vector<ArgCondition> conditions);

  Mode mode_ = Mode::kEnforce;
  std::vector<Rule> rules_;
  std::vector<std::string> groups_;
};

}  // namespace kiln::sandbox
