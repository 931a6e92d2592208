// Client-side checks of a deploy or a secret before it is sent: the same rules
// the scheduler enforces (scheduler/store/validate.h — names, bundle paths and
// sizes, env bindings, secret values), repeated here so the CLI can fail fast with a message
// that says what to change. The scheduler stays authoritative; sdk/ may not
// depend on scheduler/, so the rules and limits are restated, not shared.
// Every failure is InvalidArgument.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"
#include "kiln/v1/common.pb.h"
#include "kiln/v1/control.pb.h"

namespace kiln::sdk {

// The scheduler's limits (scheduler/store/validate.h).
inline constexpr size_t kMaxBundleBytes = 10 * 1024 * 1024;  // sum of file contents
inline constexpr int kMaxBundleFiles = 1000;
inline constexpr size_t kMaxBundlePathBytes = 1024;
inline constexpr int kMaxEnvBindings = 64;  // vars + secret names together
inline constexpr size_t kMaxEnvValueBytes = 5 * 1024;
inline constexpr size_t kMaxSecretValueBytes = 5 * 1024;
inline constexpr size_t kMaxNameBytes = 63;
// The largest per-invocation CPU limit a function may ask for (common.proto).
inline constexpr uint32_t kMaxCpuMs = 30000;

// A function name: 1 to 63 of [a-z0-9-], starting and ending with a letter or
// digit (it is a DNS label in the function's address).
absl::Status CheckFunctionName(absl::string_view name);

// `name` lowercased with every other character run turned into one '-', cut
// to 63 characters: a valid function name to suggest, or "" if none is left.
std::string SuggestFunctionName(absl::string_view name);

// One bundle path: relative, '/'-separated, at most 1024 bytes, no NUL or
// backslash, no empty, "." or ".." segment.
absl::Status CheckBundlePath(absl::string_view path);

// 1 to 1,000 files, valid unique paths, at most 10 MiB in all, and
// `main_module` one of the files.
absl::Status CheckBundle(const kiln::v1::Bundle& bundle);

// An env var or secret name: [A-Za-z_][A-Za-z0-9_]*, at most 63 bytes.
absl::Status CheckEnvName(absl::string_view name);

// Env bindings (at most 64 vars + secrets, valid names, no secret named like a
// var or listed twice, var values at most 5 KiB) and cpu_ms within 30,000.
absl::Status CheckFunctionConfig(const kiln::v1::FunctionConfig& config);

// Everything above for one deploy: name, bundle, config.
absl::Status CheckDeployRequest(const kiln::v1::DeployRequest& request);

// A secret name, as CheckEnvName (it becomes env.NAME).
absl::Status CheckSecretName(absl::string_view name);

// A tenant secret: a valid name, and a value of 1 byte to 5 KiB of UTF-8 text
// (functions read it as a JavaScript string).
absl::Status CheckSecret(absl::string_view name, absl::string_view value);

// Whether `bytes` is well-formed UTF-8 (common/utf8.h).
using ::kiln::IsUtf8;

// "1.5 MiB", "312 bytes": a byte count for messages.
std::string HumanBytes(uint64_t bytes);

}  // namespace kiln::sdk
