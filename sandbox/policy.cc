// A compiled seccomp policy: applying it to the current process and describing
// it for `kiln-worker --print-policy`.
#include "sandbox/policy.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::sandbox {
namespace {

std::string SyscallName(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) return absl::StrCat("syscall_", nr);
  std::string result(name);
  free(name);
  return result;
}

std::string Padded(std::string text, size_t width) {
  if (text.size() < width) text.resize(width, ' ');
  return text;
}

std::string ErrnoName(int value) {
  const char* name = strerrorname_np(value);
  return name != nullptr ? std::string(name) : absl::StrCat(value);
}

std::string ValueText(const ArgCondition& condition, const NamedValue& v) {
  if (!v.name.empty()) return v.name;
  switch (condition.kind) {
    case ArgCondition::Kind::kEquals32:
      return absl::StrCat(static_cast<int32_t>(v.value));
    case ArgCondition::Kind::kMasked32:
    case ArgCondition::Kind::kBitsWithin:
      return absl::StrCat("0x", absl::Hex(v.value));
    case ArgCondition::Kind::kEquals:
      break;
  }
  return absl::StrCat(v.value);
}

std::string ConditionText(const ArgCondition& condition) {
  std::string arg = absl::StrCat("arg", condition.index);
  if (!condition.arg_name.empty()) absl::StrAppend(&arg, " (", condition.arg_name, ")");
  std::vector<std::string> values;
  for (const NamedValue& v : condition.values) values.push_back(ValueText(condition, v));
  switch (condition.kind) {
    case ArgCondition::Kind::kBitsWithin:
      return absl::StrCat(arg, " has no bit outside ", absl::StrJoin(values, "|"));
    case ArgCondition::Kind::kMasked32:
      absl::StrAppend(&arg, " & 0x", absl::Hex(condition.mask));
      break;
    case ArgCondition::Kind::kEquals:
    case ArgCondition::Kind::kEquals32:
      break;
  }
  if (values.size() == 1) return absl::StrCat(arg, " == ", values[0]);
  return absl::StrCat(arg, " in {", absl::StrJoin(values, ", "), "}");
}

std::string ActionText(const Action& action, Mode mode) {
  switch (action.type) {
    case Action::Type::kAllow:
      return "allow";
    case Action::Type::kKillProcess:
      return mode == Mode::kEnforce ? "kill" : "log";
    case Action::Type::kErrno:
      return "errno";
  }
  return "?";
}

}  // namespace

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kLog:
      return "log";
  }
  return "?";
}

void Policy::ContextDeleter::operator()(void* ctx) const { seccomp_release(ctx); }

Policy::Policy(Mode mode, std::vector<Rule> rules, std::vector<std::string> groups, Context ctx)
    : mode_(mode), rules_(std::move(rules)), groups_(std::move(groups)), ctx_(std::move(ctx)) {}

Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

absl::Status Policy::Apply() const {
  if (ctx_ == nullptr) return absl::FailedPreconditionError("policy was moved from");
  // libseccomp sets no_new_privs (SCMP_FLTATR_CTL_NNP) and then calls
  // seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ...).
  int rc = seccomp_load(ctx_.get());
  if (rc == 0) return absl::OkStatus();
  if (rc == -ESRCH) {
    return absl::FailedPreconditionError(
        "seccomp: could not synchronise the filter to every thread (TSYNC); a thread "
        "runs under a different filter stack");
  }
  if (rc == -EACCES || rc == -EPERM) {
    return absl::PermissionDeniedError(
        absl::StrCat("seccomp: the kernel refused the filter: ", strerror(-rc)));
  }
  return absl::InternalError(absl::StrCat("seccomp_load: ", strerror(-rc)));
}

std::string Policy::Describe() const {
  const bool enforce = mode_ == Mode::kEnforce;
  std::string out;
  absl::StrAppend(&out, "seccomp policy, mode ", ModeName(mode_), "\n");
  absl::StrAppend(&out, "default action: ",
                  enforce ? "kill the process (SIGSYS)" : "log the call (SCMP_ACT_LOG) and run it",
                  " -- for every syscall not listed, and for a listed syscall whose arguments "
                  "match none of its rules\n");
  absl::StrAppend(&out,
                  "other ABIs (i386 int 0x80, x32): kill the process\n"
                  "applied to every thread (TSYNC), with no_new_privs\n");
  if (!enforce) {
    absl::StrAppend(&out,
                    "NOTE: log mode confines nothing; rules marked 'log' kill in enforce mode\n");
  }
  int current_group = -2;
  for (const Rule& rule : rules_) {
    if (rule.group != current_group) {
      current_group = rule.group;
      if (rule.group >= 0) absl::StrAppend(&out, "\n[", groups_[rule.group], "]\n");
    }
    std::string line = absl::StrCat("  ", Padded(ActionText(rule.action, mode_), 5), " ",
                                    Padded(SyscallName(rule.syscall), 22));
    if (rule.action.type == Action::Type::kErrno) {
      absl::StrAppend(&line, " -> ", ErrnoName(rule.action.errno_value));
      if (!rule.conditions.empty()) absl::StrAppend(&line, " if");
    }
    std::vector<std::string> conditions;
    for (const ArgCondition& c : rule.conditions) conditions.push_back(ConditionText(c));
    if (!conditions.empty()) absl::StrAppend(&line, " ", absl::StrJoin(conditions, " and "));
    // Trim the padding of lines with nothing after the name.
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<size_t> Policy::BpfInstructionCount() const {
  if (ctx_ == nullptr) return absl::FailedPreconditionError("policy was moved from");
  int fd = memfd_create("kiln-seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("memfd_create: ", strerror(errno)));
  int rc = seccomp_export_bpf(ctx_.get(), fd);
  struct stat st;
  int stat_rc = fstat(fd, &st);
  close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("seccomp_export_bpf: ", strerror(-rc)));
  if (stat_rc != 0) return absl::InternalError(absl::StrCat("fstat: ", strerror(errno)));
  return static_cast<size_t>(st.st_size) / 8;  // struct sock_filter is 8 bytes
}

}  // namespace kiln::sandbox
