// Store: the scheduler's durable state — tenants and their token hashes,
// functions, immutable versions, bundles (by SHA-256), snapshots (by bundle
// hash and runtime fingerprint) and tenant secrets. The deploy flow ends in
// CommitDeploy; rollback, delete and the control RPCs' reads go through here.
// The invocation path does not: the scheduler loads what it needs into memory
// at startup (ForEachFunction) and keeps it current as it commits.
// Implementation: RocksDbStore (rocksdb_store.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::scheduler {

// The tenant a fresh data dir gets (EnsureDefaultTenant); the CLI's default.
inline constexpr absl::string_view kDefaultTenant = "default";

// Generated once, on the first open of a data dir; the same on every later open.
struct ClusterSettings {
  uint64_t hash_seed = 0;  // 64 random bits, for hashing that must be stable across restarts
  int64_t created_ms = 0;
};

struct TenantRecord {
  std::string name;
  int64_t created_ms = 0;
};

// A live function. `next_version` never decreases, not even across a delete
// and a redeploy of the same name, so tenant/name/version names one bundle and
// config forever.
struct FunctionRecord {
  std::string tenant;
  std::string name;
  uint64_t active_version = 0;
  uint64_t next_version = 0;  // the number the next deploy gets
  int64_t created_ms = 0;     // first deploy (since the last delete)
  int64_t updated_ms = 0;     // last deploy or rollback
};

// One immutable version of a function.
struct VersionRecord {
  std::string tenant;
  std::string name;
  uint64_t version = 0;
  std::string bundle_sha256;        // BundleSha256(bundle): lowercase hex, key for GetBundle
  std::string runtime_fingerprint;  // with bundle_sha256, the key for GetSnapshot
  kiln::v1::FunctionConfig config;
  int64_t created_ms = 0;
};

// What one deploy commits. Borrowed: the caller keeps every referent alive for
// the duration of the call. Typical use, after validation and the build:
//
//   KILN_ASSIGN_OR_RETURN(VersionRecord v,
//       store.CommitDeploy({.tenant = req.tenant(), .name = req.name(),
//                           .bundle = req.bundle(), .config = req.config(),
//                           .runtime_fingerprint = built.runtime_fingerprint(),
//                           .snapshot = built.snapshot()}));
struct DeployCommit {
  absl::string_view tenant;
  absl::string_view name;
  const kiln::v1::Bundle& bundle;
  const kiln::v1::FunctionConfig& config;
  absl::string_view runtime_fingerprint;  // 1..256 bytes, no NUL
  absl::string_view snapshot;             // the snapshot blob the worker built; not empty
};

// Durable scheduler state. Implementations are thread-safe: writes are
// serialized, reads run concurrently with them and see whole commits only.
// Every write is durable (synced) when the call returns OK.
//
// Status codes, unless a method says otherwise: InvalidArgument for malformed
// names or input (see validate.h), NotFound for an unknown tenant, function or
// version, DataLoss when stored bytes fail verification (never served),
// Unavailable for an I/O error of the underlying storage.
class Store {
 public:
  virtual ~Store() = default;

  virtual const ClusterSettings& cluster_settings() const = 0;

  // ---- tenants and tokens ----

  // Creates tenant `name` and returns its token ("kiln_<name>_<64 hex>", see
  // token.h), the only time the token exists outside the caller: the store
  // keeps its SHA-256. AlreadyExists if the tenant exists.
  virtual absl::StatusOr<std::string> CreateTenant(absl::string_view name) = 0;

  // Creates the "default" tenant if it does not exist and returns its token;
  // nullopt if it already existed (its token was handed out before). Call once
  // after opening; write the token where the local CLI finds it.
  virtual absl::StatusOr<std::optional<std::string>> EnsureDefaultTenant() = 0;

  // Replaces tenant `name`'s token; the old one stops working. Returns the new
  // token. For a lost or leaked token.
  virtual absl::StatusOr<std::string> RotateToken(absl::string_view name) = 0;

  // The tenant `token` belongs to. Unauthenticated for a malformed, unknown or
  // wrong token (hashes compared in constant time); never NotFound, so a
  // caller cannot probe which tenants exist by token alone.
  virtual absl::StatusOr<std::string> Authenticate(absl::string_view token) const = 0;

  virtual absl::StatusOr<std::vector<TenantRecord>> ListTenants() const = 0;

  // ---- functions and versions ----

  // Commits a deploy as the function's new active version, atomically and
  // durably: the bundle (if not stored yet), the snapshot (if not stored yet),
  // the version record and the function's active pointer and counter, in one
  // synced batch. Creates the function on its first deploy. Runs ValidateDeploy
  // (validate.h) first. Returns the new version; version numbers of a function
  // start at 1 and are never reused. NotFound if the tenant does not exist.
  virtual absl::StatusOr<VersionRecord> CommitDeploy(const DeployCommit& deploy) = 0;

  // Moves the active pointer to `to_version`, or with 0 to the version numbered
  // just below the active one. Returns the updated function. NotFound for an
  // unknown function or version; FailedPrecondition when `to_version` is 0 and
  // the active version is the oldest. Rolling to the active version is a no-op.
  virtual absl::StatusOr<FunctionRecord> Rollback(absl::string_view tenant, absl::string_view name,
                                                  uint64_t to_version) = 0;

  // Removes the function and all its versions, and the bundles and snapshots
  // no remaining version of any tenant uses, in one synced batch. Tenant
  // secrets stay (they belong to the tenant). NotFound for an unknown function.
  virtual absl::Status DeleteFunction(absl::string_view tenant, absl::string_view name) = 0;

  virtual absl::StatusOr<FunctionRecord> GetFunction(absl::string_view tenant,
                                                     absl::string_view name) const = 0;

  // The tenant's functions by name. Empty (not NotFound) for an unknown tenant.
  virtual absl::StatusOr<std::vector<FunctionRecord>> ListFunctions(
      absl::string_view tenant) const = 0;

  virtual absl::StatusOr<VersionRecord> GetVersion(absl::string_view tenant, absl::string_view name,
                                                   uint64_t version) const = 0;

  // The function's versions, oldest first. NotFound for an unknown function.
  virtual absl::StatusOr<std::vector<VersionRecord>> ListVersions(absl::string_view tenant,
                                                                  absl::string_view name) const = 0;

  // The bundle stored under `sha256`, after checking that its bytes still hash
  // to it: DataLoss if not. NotFound if no version uses that bundle.
  virtual absl::StatusOr<kiln::v1::Bundle> GetBundle(absl::string_view sha256) const = 0;

  // The snapshot blob for (bundle, runtime fingerprint), verified against the
  // SHA-256 stored beside it: DataLoss on mismatch. NotFound if absent.
  virtual absl::StatusOr<std::string> GetSnapshot(absl::string_view bundle_sha256,
                                                  absl::string_view runtime_fingerprint) const = 0;

  // Whether a snapshot for (bundle, fingerprint) is stored, without reading it:
  // lets a deploy of an unchanged bundle skip the build.
  virtual absl::StatusOr<bool> HasSnapshot(absl::string_view bundle_sha256,
                                           absl::string_view runtime_fingerprint) const = 0;

  // Calls `fn` for every live function of every tenant (tenant, then name
  // order) with its active version, from one consistent view of the store:
  // what the scheduler loads into memory at startup. Stops at, and returns,
  // the first error `fn` returns.
  virtual absl::Status ForEachFunction(
      absl::FunctionRef<absl::Status(const FunctionRecord& function, const VersionRecord& active)>
          fn) const = 0;

  // ---- secrets (per tenant; FunctionConfig.secret_names picks which a
  // function sees) ----

  // Sets (creates or replaces) a tenant secret. See ValidateSecret for limits.
  virtual absl::Status SetSecret(absl::string_view tenant, absl::string_view name,
                                 absl::string_view value) = 0;

  // NotFound if the tenant has no such secret.
  virtual absl::Status DeleteSecret(absl::string_view tenant, absl::string_view name) = 0;

  // The tenant's secret names, sorted; never the values.
  virtual absl::StatusOr<std::vector<std::string>> ListSecretNames(
      absl::string_view tenant) const = 0;

  // Values of the secrets `config.secret_names` binds, for a LoadFunction
  // frame. NotFound naming the first one the tenant has not set.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ResolveSecrets(
      absl::string_view tenant, const kiln::v1::FunctionConfig& config) const = 0;
};

}  // namespace kiln::scheduler
