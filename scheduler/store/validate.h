// Deploy-time input checks the scheduler runs before it builds a snapshot, and
// the store runs again before it commits: names, bundle paths and sizes, env
// bindings, secrets. Pure functions, no RocksDB. Each failure is
// InvalidArgument with a message naming the offending item, fit to show a user.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::scheduler {

// Limits on what a deploy may carry.
inline constexpr size_t kMaxBundleBytes = 10 * 1024 * 1024;  // sum of file contents
inline constexpr int kMaxBundleFiles = 1000;
inline constexpr size_t kMaxBundlePathBytes = 1024;
inline constexpr int kMaxEnvBindings = 64;  // vars + secret_names together
inline constexpr size_t kMaxEnvValueBytes = 5 * 1024;
inline constexpr size_t kMaxSecretValueBytes = 5 * 1024;
inline constexpr size_t kMaxNameBytes = 63;

// Ranges of a function's limits (0 in the config: the platform default). The
// worker enforces them (worker/runtime/limits.h, kept equal by hand: the two
// sides share only the protos); checking here makes a deploy that asks for
// more fail at once instead of every request later.
inline constexpr uint32_t kMaxCpuMs = 30'000;
inline constexpr uint32_t kMaxWallMs = 900'000;        // also the waitUntil budget's
inline constexpr uint64_t kMinHeapBytes = 16u << 20;
inline constexpr uint64_t kMaxHeapBytes = 2048ull << 20;
// The gateway reads at most this much of a request body (h2o's global cap,
// GatewayOptions::max_body_bytes): a function cannot accept more.
inline constexpr uint64_t kMaxRequestBodyBytes = 32u << 20;
// A buffered response body (it travels in one frame of the worker's stream,
// at most 256 MiB); streamed bodies have no size limit.
inline constexpr uint64_t kMaxResponseBodyBytes = 128u << 20;

// A tenant or function name: 1 to 63 of [a-z0-9-], starting and ending with a
// letter or digit (`[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`). Both are DNS labels
// in a function's address (`<function>.<tenant>.<base-domain>`), so a trailing
// hyphen is refused too.
absl::Status ValidateTenantName(absl::string_view name);
absl::Status ValidateFunctionName(absl::string_view name);

// One bundle file path: relative ("lib/util.js"), at most 1024 bytes, no
// leading "/", no backslash, no NUL, no empty segment ("a//b", "a/"), no "."
// or ".." segment.
absl::Status ValidateBundlePath(absl::string_view path);

// A whole bundle: 1 to 1,000 files, each path valid and unique, contents
// together at most 10 MiB, and `main_module` naming one of the files.
absl::Status ValidateBundle(const kiln::v1::Bundle& bundle);

// An env binding or secret name: `[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes.
absl::Status ValidateEnvName(absl::string_view name);

// A function's env bindings: at most 64 (`vars` and `secret_names` together),
// each name valid, no name twice (a secret may not shadow a var), each var
// value at most 5 KiB; limits within the ranges above. Other FunctionConfig
// fields are not checked here.
absl::Status ValidateFunctionConfig(const kiln::v1::FunctionConfig& config);
absl::Status ValidateLimits(const kiln::v1::Limits& limits);

// A tenant secret: name as ValidateEnvName; value 1 byte to 5 KiB of UTF-8.
absl::Status ValidateSecret(absl::string_view name, absl::string_view value);

// Everything a deploy carries, in the order above; the first failure.
absl::Status ValidateDeploy(absl::string_view tenant, absl::string_view function,
                            const kiln::v1::Bundle& bundle, const kiln::v1::FunctionConfig& config);

}  // namespace kiln::scheduler
