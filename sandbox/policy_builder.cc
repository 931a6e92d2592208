// PolicyBuilder: validates rules and compiles them into a libseccomp filter.
#include "sandbox/policy_builder.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kiln::sandbox {
namespace {

constexpr uint64_t kLow32 = 0xffffffffULL;
// A rule with several multi-valued conditions becomes the cross product of
// their values in the filter; keep that product small.
constexpr size_t kMaxExpansion = 256;

uint32_t SeccompAction(const Action& action, Mode mode) {
  switch (action.type) {
    case Action::Type::kAllow:
      return SCMP_ACT_ALLOW;
    case Action::Type::kKillProcess:
      return mode == Mode::kEnforce ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_LOG;
    case Action::Type::kErrno:
      return SCMP_ACT_ERRNO(static_cast<uint32_t>(action.errno_value));
  }
  return SCMP_ACT_KILL_PROCESS;
}

std::string RuleName(const Rule& rule) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rule.syscall);
  std::string result = name != nullptr ? name : absl::StrCat("syscall ", rule.syscall);
  free(name);
  return result;
}

absl::Status Validate(const std::vector<Rule>& rules) {
  // syscall -> has an unconditional rule / number of rules.
  std::map<int, std::pair<bool, int>> seen;
  for (const Rule& rule : rules) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rule.syscall);
    if (name == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("syscall number ", rule.syscall, " is unknown on this architecture"));
    }
    free(name);
    if (rule.action.type == Action::Type::kErrno &&
        (rule.action.errno_value < 1 || rule.action.errno_value > 4095)) {
      return absl::InvalidArgumentError(absl::StrCat(
          RuleName(rule), ": errno value ", rule.action.errno_value, " is outside 1..4095"));
    }
    std::set<int> indices;
    size_t expansion = 1;
    for (const ArgCondition& c : rule.conditions) {
      if (c.index < 0 || c.index > 5) {
        return absl::InvalidArgumentError(
            absl::StrCat(RuleName(rule), ": argument index ", c.index, " is outside 0..5"));
      }
      if (!indices.insert(c.index).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(RuleName(rule), ": argument ", c.index,
                         " is restricted twice in one rule; merge the values or add a rule"));
      }
      if (c.values.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(RuleName(rule), ": argument ", c.index, " has no allowed value"));
      }
      expansion *= c.kind == ArgCondition::Kind::kBitsWithin ? 1 : c.values.size();
    }
    if (expansion > kMaxExpansion) {
      return absl::InvalidArgumentError(absl::StrCat(RuleName(rule), ": conditions expand to ",
                                                     expansion, " filter rules; split the rule"));
    }
    auto& [unconditional, count] = seen[rule.syscall];
    if ((unconditional && count > 0) || (rule.conditions.empty() && count > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          RuleName(rule), ": an unconditional rule cannot share a syscall with other rules"));
    }
    unconditional = unconditional || rule.conditions.empty();
    ++count;
  }
  return absl::OkStatus();
}

// One alternative of a condition: a single (mask, value) comparison.
struct Comparison {
  int index;
  uint64_t mask;
  uint64_t value;
};

std::vector<Comparison> Alternatives(const ArgCondition& c) {
  std::vector<Comparison> result;
  if (c.kind == ArgCondition::Kind::kBitsWithin) {
    result.push_back({c.index, c.mask, 0});
    return result;
  }
  for (const NamedValue& v : c.values) result.push_back({c.index, c.mask, v.value & c.mask});
  return result;
}

// Adds `rule` as one libseccomp rule per combination of condition values.
absl::Status AddRule(scmp_filter_ctx ctx, const Rule& rule, uint32_t action) {
  std::vector<std::vector<Comparison>> choices;
  for (const ArgCondition& c : rule.conditions) choices.push_back(Alternatives(c));
  std::vector<size_t> pick(choices.size(), 0);
  while (true) {
    std::vector<scmp_arg_cmp> cmps;
    for (size_t i = 0; i < choices.size(); ++i) {
      const Comparison& cmp = choices[i][pick[i]];
      if (cmp.mask == ~uint64_t{0}) {
        cmps.push_back(SCMP_CMP64(static_cast<unsigned>(cmp.index), SCMP_CMP_EQ, cmp.value));
      } else {
        cmps.push_back(
            SCMP_CMP64(static_cast<unsigned>(cmp.index), SCMP_CMP_MASKED_EQ, cmp.mask, cmp.value));
      }
    }
    int rc = seccomp_rule_add_exact_array(ctx, action, rule.syscall, cmps.size(),
                                          cmps.empty() ? nullptr : cmps.data());
    if (rc != 0) {
      return absl::InternalError(
          absl::StrCat("seccomp_rule_add(", RuleName(rule), "): ", strerror(-rc)));
    }
    // Next combination (odometer order).
    size_t i = 0;
    for (; i < choices.size(); ++i) {
      if (++pick[i] < choices[i].size()) break;
      pick[i] = 0;
    }
    if (i == choices.size()) break;
  }
  return absl::OkStatus();
}

}  // namespace

ArgCondition Arg::Equals(std::vector<NamedValue> values) const {
  return ArgCondition{index_, name_, ArgCondition::Kind::kEquals, ~uint64_t{0}, std::move(values)};
}

ArgCondition Arg::Equals32(std::vector<NamedValue> values) const {
  for (NamedValue& v : values) v.value &= kLow32;
  return ArgCondition{index_, name_, ArgCondition::Kind::kEquals32, kLow32, std::move(values)};
}

ArgCondition Arg::Masked32(uint32_t mask, std::vector<NamedValue> values) const {
  for (NamedValue& v : values) v.value &= mask;
  return ArgCondition{index_, name_, ArgCondition::Kind::kMasked32, mask, std::move(values)};
}

ArgCondition Arg::BitsWithin(std::vector<NamedValue> bits) const {
  uint64_t allowed = 0;
  for (const NamedValue& b : bits) allowed |= b.value;
  return ArgCondition{index_, name_, ArgCondition::Kind::kBitsWithin, ~allowed, std::move(bits)};
}

PolicyBuilder& PolicyBuilder::SetMode(Mode mode) {
  mode_ = mode;
  return *this;
}

PolicyBuilder& PolicyBuilder::Group(std::string title) {
  groups_.push_back(std::move(title));
  return *this;
}

PolicyBuilder& PolicyBuilder::Add(int syscall, Action action,
                                  std::vector<ArgCondition> conditions) {
  rules_.push_back(
      Rule{syscall, action, std::move(conditions), static_cast<int>(groups_.size()) - 1});
  return *this;
}

PolicyBuilder& PolicyBuilder::Allow(int syscall) {
  return Add(syscall, Action{Action::Type::kAllow, 0}, {});
}

PolicyBuilder& PolicyBuilder::Allow(std::initializer_list<int> syscalls) {
  for (int nr : syscalls) Allow(nr);
  return *this;
}

PolicyBuilder& PolicyBuilder::AllowIf(int syscall, std::vector<ArgCondition> conditions) {
  return Add(syscall, Action{Action::Type::kAllow, 0}, std::move(conditions));
}

PolicyBuilder& PolicyBuilder::KillProcess(int syscall) {
  return Add(syscall, Action{Action::Type::kKillProcess, 0}, {});
}

PolicyBuilder& PolicyBuilder::KillProcess(std::initializer_list<int> syscalls) {
  for (int nr : syscalls) KillProcess(nr);
  return *this;
}

PolicyBuilder& PolicyBuilder::Errno(int syscall, int errno_value) {
  return Add(syscall, Action{Action::Type::kErrno, errno_value}, {});
}

PolicyBuilder& PolicyBuilder::ErrnoIf(int syscall, int errno_value,
                                      std::vector<ArgCondition> conditions) {
  return Add(syscall, Action{Action::Type::kErrno, errno_value}, std::move(conditions));
}

absl::StatusOr<Policy> PolicyBuilder::Build() const {
  if (absl::Status status = Validate(rules_); !status.ok()) return status;

  const uint32_t default_action = mode_ == Mode::kEnforce ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_LOG;
  // KILL_PROCESS and LOG need API level 3 (kernel >= 4.14, libseccomp >= 2.4).
  if (seccomp_api_get() < 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("seccomp API level ", seccomp_api_get(),
                     " lacks KILL_PROCESS / LOG (needs 3: Linux >= 4.14)"));
  }
  Policy::Context ctx(seccomp_init(default_action));
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");

  struct Attribute {
    scmp_filter_attr attr;
    uint32_t value;
    const char* what;
  };
  const Attribute attributes[] = {
      // Another ABI's syscall numbers mean other syscalls: kill, never allow.
      {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "ACT_BADARCH"},
      {SCMP_FLTATR_CTL_NNP, 1, "CTL_NNP"},
      // Every existing thread gets the filter, or loading fails.
      {SCMP_FLTATR_CTL_TSYNC, 1, "CTL_TSYNC"},
      // Return kernel error codes from seccomp_load unchanged.
      {SCMP_FLTATR_API_SYSRAWRC, 1, "API_SYSRAWRC"},
  };
  for (const Attribute& a : attributes) {
    int rc = seccomp_attr_set(ctx.get(), a.attr, a.value);
    if (rc != 0) {
      return absl::InternalError(absl::StrCat("seccomp_attr_set(", a.what, "): ", strerror(-rc)));
    }
  }
  // In log mode the kernel also logs errno actions, so a path a library
  // probes (and gets EACCES for) shows up beside the would-be kills.
  if (mode_ == Mode::kLog) {
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_LOG, 1);
    if (rc != 0)
      return absl::InternalError(absl::StrCat("seccomp_attr_set(CTL_LOG): ", strerror(-rc)));
  }
  // A binary search over syscall numbers instead of a linear chain: fewer BPF
  // instructions per syscall for a long allowlist. Optional; older libseccomp
  // lacks it and then the linear filter is equally correct.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (const Rule& rule : rules_) {
    const uint32_t action = SeccompAction(rule.action, mode_);
    // An explicit kill is already the default action; libseccomp refuses rules
    // that repeat the default, and Describe() lists them from rules_.
    if (action == default_action) continue;
    if (absl::Status status = AddRule(ctx.get(), rule, action); !status.ok()) return status;
  }
  return Policy(mode_, rules_, groups_, std::move(ctx));
}

}  // namespace kiln::sandbox
