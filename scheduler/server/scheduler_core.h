// SchedulerCore: the scheduler's domain logic between the gRPC services and
// the Store / Fleet. Deploy (validate, build on a worker, commit, publish to
// memory), rollback, delete and reads for kiln.v1.Control; the Invoker the
// gateway and Control.Invoke use; and the VersionSource the Fleet's cold path
// loads versions from. Holds every live function's active version (and the
// route table) in memory, loaded at start-up and kept current as it commits,
// so invocations never read the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kiln/v1/common.pb.h"
#include "scheduler/fleet/fleet.h"
#include "scheduler/server/invoker.h"
#include "scheduler/server/route_table.h"
#include "scheduler/server/snapshot_cache.h"
#include "scheduler/store/store.h"

namespace kiln::scheduler {

struct CoreOptions {
  std::string base_domain = "localhost";
  uint16_t http_port = 8080;  // the gateway's, for function URLs
  size_t snapshot_cache_bytes = size_t{256} << 20;
  // How long a deploy waits for its snapshot build (and for a worker to
  // build on, right after start-up).
  absl::Duration build_timeout = absl::Seconds(60);
};

// A function as the Control reads return it.
struct FunctionView {
  FunctionRecord function;
  VersionRecord active;
  std::string url;
};

// A tenant secret as Control.ListSecrets shows it: never its value.
struct SecretView {
  std::string name;
  std::vector<std::string> bound_by;  // functions whose active version binds it, sorted
};

// What SetSecret did.
struct SecretChange {
  bool created = false;    // the tenant had no secret of that name
  bool unchanged = false;  // it had this very value: nothing else was done
  // Functions whose active version binds the secret, each given a new
  // version (same bundle, config and snapshot) made active.
  std::vector<FunctionView> redeployed;
};

struct DeployOutcome {
  VersionRecord version;
  std::string url;
  uint64_t build_ms = 0;  // 0 when a stored snapshot of the same bundle was reused
};

// Owned by the scheduler's main; thread-safe. Deploys, rollbacks and deletes
// are serialized among themselves (the build runs outside that lock);
// invocations and route lookups take a reader lock on the in-memory tables.
class SchedulerCore final : public Invoker, public VersionSource {
 public:
  // `store` outlives the core.
  SchedulerCore(Store& store, CoreOptions options);

  // Loads every live function's active version and routes into memory. Call
  // once before serving. A stored route that no longer parses (e.g. the base
  // domain changed) is skipped and logged. Store errors are returned.
  absl::Status LoadFromStore();

  // The Fleet that builds and runs; set once, before serving. Not owned.
  void AttachFleet(Fleet* fleet);

  // "http://<function>.<tenant>.<base-domain>:<http-port>/".
  std::string FunctionUrl(absl::string_view tenant, absl::string_view name) const;
  // The gateway's port for FunctionUrl, once bound (CoreOptions.http_port
  // until then).
  void SetHttpPort(uint16_t port);

  // Validates (store/validate.h, routes), builds the snapshot on a worker
  // (unless the store holds one of the same bundle for the fleet's runtime),
  // commits the version durably and makes it active. Any failure changes
  // nothing. InvalidArgument for bad input and for code that does not build
  // (the worker's "file:line:column: message"); PermissionDenied /
  // AlreadyExists for a route another tenant / function holds; Unavailable
  // when no worker can build; DeadlineExceeded when the build takes too long;
  // ResourceExhausted when the bundle does not fit a worker frame;
  // FailedPrecondition when the config binds a secret the tenant has not set;
  // the store's errors from the commit.
  absl::StatusOr<DeployOutcome> Deploy(absl::string_view tenant, absl::string_view name,
                                       const kiln::v1::Bundle& bundle,
                                       const kiln::v1::FunctionConfig& config);

  // NotFound for an unknown function.
  absl::StatusOr<FunctionView> GetFunction(absl::string_view tenant, absl::string_view name) const;
  absl::StatusOr<std::vector<FunctionView>> ListFunctions(absl::string_view tenant) const;
  // Oldest first; `active` gets the active version. NotFound for an unknown
  // function.
  absl::StatusOr<std::vector<VersionRecord>> ListVersions(absl::string_view tenant,
                                                          absl::string_view name,
                                                          uint64_t* active) const;
  // Moves the active pointer (to_version 0: the newest version below the
  // active one). NotFound, FailedPrecondition (nothing older, or the target
  // binds a secret the tenant has not set), and the route errors of Deploy
  // for the target version's routes.
  absl::StatusOr<FunctionView> Rollback(absl::string_view tenant, absl::string_view name,
                                        uint64_t to_version);
  // Removes the function (the store collects unused bundles and snapshots)
  // and unloads it from the workers. NotFound for an unknown function.
  absl::Status DeleteFunction(absl::string_view tenant, absl::string_view name);

  // Secrets. Versions do not capture secret values: a worker loading any
  // version reads the tenant's current values (LoadFor). So that a change
  // reaches functions already loaded, SetSecret gives every function whose
  // active version binds the secret a new version — the same bundle, config
  // and snapshot, no build — makes it active, and unloads the function's
  // older versions from the workers (in-flight invocations finish first).
  // Every invocation of the active version that starts after SetSecret
  // returns sees the new value. Setting the value a secret already has
  // changes nothing (`unchanged`). InvalidArgument for a bad name or value
  // (store/validate.h); the store's errors. If a redeploy fails after the
  // secret was stored, the error says which function kept its old version.
  absl::StatusOr<SecretChange> SetSecret(absl::string_view tenant, absl::string_view name,
                                         absl::string_view value);
  // The tenant's secrets by name, with their binders.
  absl::StatusOr<std::vector<SecretView>> ListSecrets(absl::string_view tenant) const;
  // NotFound when the tenant has no such secret; FailedPrecondition, naming
  // the functions, while an active version binds it (every active version's
  // secrets stay resolvable: deploys and rollbacks check the same).
  absl::Status DeleteSecret(absl::string_view tenant, absl::string_view name);

  // Whether tenant/name is a live function (from memory).
  bool HasFunction(absl::string_view tenant, absl::string_view name) const;

  // Invoker.
  void Invoke(Invocation invocation, InvokeCallback done) override;
  void Cancel(const std::string& request_id) override;
  void Credit(const std::string& request_id, size_t bytes) override;
  absl::StatusOr<RouteTarget> ResolveRoute(absl::string_view host,
                                           absl::string_view path) const override;

  // VersionSource: the Fleet's cold path. Reads the version record (unless
  // it is the active one, in memory), the snapshot (unless cached) and the
  // secrets from the store.
  absl::StatusOr<kiln::v1::LoadFunction> LoadFor(const kiln::v1::FunctionVersionRef& function,
                                                 absl::string_view fingerprint) override;

 private:
  // What the invocation path needs of a function's active version.
  struct Active {
    uint64_t version = 0;
    std::string bundle_sha256;
    std::string runtime_fingerprint;
    kiln::v1::FunctionConfig config;
  };
  static std::string Key(absl::string_view tenant, absl::string_view name);
  void Publish(const VersionRecord& version, std::vector<RoutePattern> routes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::StatusOr<FunctionView> View(const FunctionRecord& function) const;
  // FailedPrecondition naming the first secret `config` binds that the tenant
  // has not set.
  absl::Status CheckSecretsSet(absl::string_view tenant,
                               const kiln::v1::FunctionConfig& config) const;
  // The tenant's functions whose active version binds secret `name`, sorted.
  std::vector<std::string> SecretBinders(absl::string_view tenant, absl::string_view name) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Commits a copy of tenant/name's active version as a new active version.
  absl::StatusOr<FunctionView> RecommitActive(absl::string_view tenant, absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  Store& store_;
  const CoreOptions options_;
  SnapshotCache snapshots_;
  std::atomic<uint16_t> http_port_;
  Fleet* fleet_ = nullptr;

  // Serializes deploy commits, rollbacks and deletes (each checks routes,
  // writes the store, then publishes to memory).
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // The in-memory tables the invocation path reads.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Active> functions_ ABSL_GUARDED_BY(mu_);
  RouteTable routes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::scheduler
