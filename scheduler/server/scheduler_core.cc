// SchedulerCore: the deploy flow, the in-memory function table, invocations
// and the cold-path version source.
#include "scheduler/server/scheduler_core.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/validate.h"
#include "scheduler/util/log.h"

namespace kiln::scheduler {
namespace {

constexpr absl::Duration kDefaultWall = absl::Seconds(30);
// Room in a LoadFunction frame for the function's name and secrets.
constexpr size_t kLoadOverhead = 64 << 10;
// For a version other than the active one the limits are not in memory; the
// worker enforces them anyway, this only bounds how long the Fleet waits.
constexpr absl::Duration kUnknownWall = absl::Minutes(5);

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

absl::Duration WallLimit(const kiln::v1::FunctionConfig& config) {
  return config.limits().wall_ms() > 0 ? absl::Milliseconds(config.limits().wall_ms())
                                       : kDefaultWall;
}

}  // namespace

SchedulerCore::SchedulerCore(Store& store, CoreOptions options)
    : store_(store),
      options_(std::move(options)),
      snapshots_(options_.snapshot_cache_bytes),
      http_port_(options_.http_port),
      routes_(options_.base_domain) {}

void SchedulerCore::AttachFleet(Fleet* fleet) { fleet_ = fleet; }

std::string SchedulerCore::Key(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat(tenant, "/", name);
}

void SchedulerCore::SetHttpPort(uint16_t port) { http_port_.store(port); }

std::string SchedulerCore::FunctionUrl(absl::string_view tenant, absl::string_view name) const {
  return absl::StrCat("http://", name, ".", tenant, ".", options_.base_domain, ":",
                      http_port_.load(), "/");
}

absl::Status SchedulerCore::LoadFromStore() {
  absl::MutexLock write(&write_mu_);
  absl::MutexLock lock(&mu_);
  int loaded = 0;
  absl::Status status =
      store_.ForEachFunction([&](const FunctionRecord& function,
                                 const VersionRecord& active) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        functions_[Key(function.tenant, function.name)] =
            Active{.version = active.version,
                   .bundle_sha256 = active.bundle_sha256,
                   .runtime_fingerprint = active.runtime_fingerprint,
                   .config = active.config};
        absl::StatusOr<std::vector<RoutePattern>> routes = routes_.ParseRoutes(active.config);
        if (routes.ok()) {
          routes_.Set(function.tenant, function.name, *std::move(routes));
        } else {
          Log("core", absl::StrCat("skipping the routes of ", function.tenant, "/", function.name,
                                   ": ", routes.status().message()));
        }
        ++loaded;
        return absl::OkStatus();
      });
  if (status.ok()) Log("core", absl::StrCat("loaded ", loaded, " functions from the store"));
  return status;
}

void SchedulerCore::Publish(const VersionRecord& version, std::vector<RoutePattern> routes) {
  absl::MutexLock lock(&mu_);
  functions_[Key(version.tenant, version.name)] =
      Active{.version = version.version,
             .bundle_sha256 = version.bundle_sha256,
             .runtime_fingerprint = version.runtime_fingerprint,
             .config = version.config};
  routes_.Set(version.tenant, version.name, std::move(routes));
}

absl::StatusOr<DeployOutcome> SchedulerCore::Deploy(absl::string_view tenant,
                                                    absl::string_view name,
                                                    const kiln::v1::Bundle& bundle,
                                                    const kiln::v1::FunctionConfig& config) {
  KILN_RETURN_IF_ERROR(ValidateDeploy(tenant, name, bundle, config));
  std::vector<RoutePattern> routes;
  {
    absl::ReaderMutexLock lock(&mu_);
    KILN_ASSIGN_OR_RETURN(routes, routes_.ParseRoutes(config));
    KILN_RETURN_IF_ERROR(routes_.CheckClaim(tenant, name, routes));
  }
  if (fleet_ == nullptr) return absl::UnavailableError("the scheduler has no fleet");
  // Checked before the build (a quick answer) and again before the commit (a
  // secret may have been deleted meanwhile).
  KILN_RETURN_IF_ERROR(CheckSecretsSet(tenant, config));

  const std::string sha = BundleSha256(bundle);
  std::string snapshot;
  std::string fingerprint;
  uint64_t build_ms = 0;
  // An unchanged bundle (a config change, or a redeploy) reuses its snapshot.
  if (std::optional<std::string> fleet_fingerprint = fleet_->fingerprint()) {
    KILN_ASSIGN_OR_RETURN(bool stored, store_.HasSnapshot(sha, *fleet_fingerprint));
    if (stored) {
      if (std::shared_ptr<const std::string> cached = snapshots_.Get(sha, *fleet_fingerprint)) {
        snapshot = *cached;
      } else {
        KILN_ASSIGN_OR_RETURN(snapshot, store_.GetSnapshot(sha, *fleet_fingerprint));
      }
      fingerprint = *fleet_fingerprint;
    }
  }
  if (snapshot.empty()) {
    kiln::v1::BuildSnapshot build;
    build.mutable_function()->set_tenant(std::string(tenant));
    build.mutable_function()->set_function(std::string(name));
    *build.mutable_bundle() = bundle;
    *build.mutable_config() = config;
    KILN_ASSIGN_OR_RETURN(kiln::v1::BuildResult built,
                          fleet_->Build(std::move(build), options_.build_timeout));
    if (built.has_error() || built.snapshot().empty()) {
      return absl::InvalidArgumentError(built.has_error() ? built.error()
                                                          : "the worker built an empty snapshot");
    }
    if (built.runtime_fingerprint().empty()) {
      return absl::InternalError("the worker's build result names no runtime fingerprint");
    }
    snapshot = std::move(*built.mutable_snapshot());
    fingerprint = built.runtime_fingerprint();
    build_ms = built.build_ms();
  }
  // A version no worker could load is refused now, not at its first request.
  if (snapshot.size() + config.ByteSizeLong() + kLoadOverhead > fleet_->max_frame_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the snapshot of this bundle is ", snapshot.size() >> 10, " KiB; a worker loads at most ",
        fleet_->max_frame_bytes() >> 10, " KiB (make the bundle smaller)"));
  }

  absl::MutexLock write(&write_mu_);
  {
    // Another deploy may have claimed a route while this one built.
    absl::ReaderMutexLock lock(&mu_);
    KILN_RETURN_IF_ERROR(routes_.CheckClaim(tenant, name, routes));
  }
  KILN_RETURN_IF_ERROR(CheckSecretsSet(tenant, config));
  KILN_ASSIGN_OR_RETURN(VersionRecord version,
                        store_.CommitDeploy({.tenant = tenant,
                                             .name = name,
                                             .bundle = bundle,
                                             .config = config,
                                             .runtime_fingerprint = fingerprint,
                                             .snapshot = snapshot}));
  const size_t snapshot_bytes = snapshot.size();
  snapshots_.Put(sha, fingerprint, std::move(snapshot));
  Publish(version, std::move(routes));
  Log("core", absl::StrCat("deployed ", tenant, "/", name, " version ", version.version,
                           " (bundle ", sha.substr(0, 12), ", snapshot ", snapshot_bytes >> 10,
                           " KiB, build ", build_ms, " ms)"));
  return DeployOutcome{
      .version = std::move(version), .url = FunctionUrl(tenant, name), .build_ms = build_ms};
}

absl::StatusOr<FunctionView> SchedulerCore::View(const FunctionRecord& function) const {
  KILN_ASSIGN_OR_RETURN(VersionRecord active,
                        store_.GetVersion(function.tenant, function.name, function.active_version));
  return FunctionView{.function = function,
                      .active = std::move(active),
                      .url = FunctionUrl(function.tenant, function.name)};
}

absl::StatusOr<FunctionView> SchedulerCore::GetFunction(absl::string_view tenant,
                                                        absl::string_view name) const {
  KILN_ASSIGN_OR_RETURN(FunctionRecord function, store_.GetFunction(tenant, name));
  return View(function);
}

absl::StatusOr<std::vector<FunctionView>> SchedulerCore::ListFunctions(
    absl::string_view tenant) const {
  KILN_ASSIGN_OR_RETURN(std::vector<FunctionRecord> functions, store_.ListFunctions(tenant));
  std::vector<FunctionView> views;
  for (const FunctionRecord& function : functions) {
    KILN_ASSIGN_OR_RETURN(FunctionView view, View(function));
    views.push_back(std::move(view));
  }
  return views;
}

absl::StatusOr<std::vector<VersionRecord>> SchedulerCore::ListVersions(absl::string_view tenant,
                                                                       absl::string_view name,
                                                                       uint64_t* active) const {
  KILN_ASSIGN_OR_RETURN(FunctionRecord function, store_.GetFunction(tenant, name));
  *active = function.active_version;
  return store_.ListVersions(tenant, name);
}

absl::StatusOr<FunctionView> SchedulerCore::Rollback(absl::string_view tenant,
                                                     absl::string_view name, uint64_t to_version) {
  absl::MutexLock write(&write_mu_);
  KILN_ASSIGN_OR_RETURN(FunctionRecord function, store_.GetFunction(tenant, name));
  KILN_ASSIGN_OR_RETURN(std::vector<VersionRecord> versions, store_.ListVersions(tenant, name));
  const VersionRecord* target = nullptr;
  for (const VersionRecord& v : versions) {
    if (to_version != 0 ? v.version == to_version : v.version < function.active_version)
      target = &v;
  }
  if (target == nullptr) {
    if (to_version != 0) {
      return absl::NotFoundError(absl::StrCat(tenant, "/", name, " has no version ", to_version));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(tenant, "/", name, ": version ", function.active_version,
                     " is the oldest; there is nothing to roll back to"));
  }
  std::vector<RoutePattern> routes;
  {
    absl::ReaderMutexLock lock(&mu_);
    KILN_ASSIGN_OR_RETURN(routes, routes_.ParseRoutes(target->config));
    KILN_RETURN_IF_ERROR(routes_.CheckClaim(tenant, name, routes));
  }
  KILN_RETURN_IF_ERROR(CheckSecretsSet(tenant, target->config));
  KILN_ASSIGN_OR_RETURN(FunctionRecord updated, store_.Rollback(tenant, name, target->version));
  Publish(*target, std::move(routes));
  Log("core", absl::StrCat("rolled ", tenant, "/", name, " back to version ", target->version));
  return FunctionView{
      .function = std::move(updated), .active = *target, .url = FunctionUrl(tenant, name)};
}

absl::Status SchedulerCore::DeleteFunction(absl::string_view tenant, absl::string_view name) {
  absl::MutexLock write(&write_mu_);
  KILN_RETURN_IF_ERROR(store_.DeleteFunction(tenant, name));
  {
    absl::MutexLock lock(&mu_);
    functions_.erase(Key(tenant, name));
    routes_.Remove(tenant, name);
  }
  if (fleet_ != nullptr) fleet_->UnloadFunction(tenant, name);
  Log("core", absl::StrCat("deleted ", tenant, "/", name));
  return absl::OkStatus();
}

absl::Status SchedulerCore::CheckSecretsSet(absl::string_view tenant,
                                            const kiln::v1::FunctionConfig& config) const {
  if (config.secret_names().empty()) return absl::OkStatus();
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> set, store_.ListSecretNames(tenant));
  for (const std::string& name : config.secret_names()) {
    if (!std::binary_search(set.begin(), set.end(), name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("secret \"", name, "\" is not set in tenant \"", tenant,
                       "\"; set it before deploying or activating a version that binds it"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> SchedulerCore::SecretBinders(absl::string_view tenant,
                                                      absl::string_view name) const {
  const std::string prefix = absl::StrCat(tenant, "/");
  std::vector<std::string> binders;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, active] : functions_) {
    if (!absl::StartsWith(key, prefix)) continue;
    const auto& names = active.config.secret_names();
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      binders.push_back(key.substr(prefix.size()));
    }
  }
  std::sort(binders.begin(), binders.end());
  return binders;
}

absl::StatusOr<FunctionView> SchedulerCore::RecommitActive(absl::string_view tenant,
                                                           absl::string_view name) {
  std::optional<Active> active;
  std::vector<RoutePattern> routes;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = functions_.find(Key(tenant, name));
    if (it == functions_.end()) {
      return absl::NotFoundError(
          absl::StrCat("function ", name, " does not exist in tenant ", tenant));
    }
    active = it->second;
    KILN_ASSIGN_OR_RETURN(routes, routes_.ParseRoutes(active->config));
  }
  KILN_ASSIGN_OR_RETURN(kiln::v1::Bundle bundle, store_.GetBundle(active->bundle_sha256));
  std::string snapshot;
  if (std::shared_ptr<const std::string> cached =
          snapshots_.Get(active->bundle_sha256, active->runtime_fingerprint)) {
    snapshot = *cached;
  } else {
    KILN_ASSIGN_OR_RETURN(snapshot,
                          store_.GetSnapshot(active->bundle_sha256, active->runtime_fingerprint));
  }
  KILN_ASSIGN_OR_RETURN(VersionRecord version,
                        store_.CommitDeploy({.tenant = tenant,
                                             .name = name,
                                             .bundle = bundle,
                                             .config = active->config,
                                             .runtime_fingerprint = active->runtime_fingerprint,
                                             .snapshot = snapshot}));
  Publish(version, std::move(routes));
  KILN_ASSIGN_OR_RETURN(FunctionRecord function, store_.GetFunction(tenant, name));
  return FunctionView{.function = std::move(function),
                      .active = std::move(version),
                      .url = FunctionUrl(tenant, name)};
}

absl::StatusOr<SecretChange> SchedulerCore::SetSecret(absl::string_view tenant,
                                                      absl::string_view name,
                                                      absl::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateSecret(name, value));
  absl::MutexLock write(&write_mu_);
  SecretChange change;
  kiln::v1::FunctionConfig probe;
  probe.add_secret_names(std::string(name));
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> existing =
      store_.ResolveSecrets(tenant, probe);
  if (existing.ok()) {
    if (existing->begin()->second == value) {
      change.unchanged = true;
      return change;
    }
  } else if (existing.status().code() == absl::StatusCode::kNotFound) {
    change.created = true;
  } else {
    return existing.status();
  }
  KILN_RETURN_IF_ERROR(store_.SetSecret(tenant, name, value));
  Log("core", absl::StrCat(change.created ? "created" : "changed", " secret ", tenant, "/", name));
  for (const std::string& function : SecretBinders(tenant, name)) {
    absl::StatusOr<FunctionView> view = RecommitActive(tenant, function);
    if (!view.ok()) {
      return absl::Status(
          view.status().code(),
          absl::StrCat("secret ", name, " was set, but giving ", function,
                       " a new version failed (", view.status().message(),
                       "); its loaded instances keep the old value until it is deployed again"));
    }
    // Older versions loaded with the old value are dropped once idle.
    if (fleet_ != nullptr) fleet_->UnloadFunction(tenant, function);
    Log("core", absl::StrCat("secret ", name, " changed: ", tenant, "/", function, " is version ",
                             view->active.version));
    change.redeployed.push_back(*std::move(view));
  }
  return change;
}

absl::StatusOr<std::vector<SecretView>> SchedulerCore::ListSecrets(absl::string_view tenant) const {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, store_.ListSecretNames(tenant));
  std::vector<SecretView> secrets;
  for (std::string& name : names) {
    std::vector<std::string> binders = SecretBinders(tenant, name);
    secrets.push_back({.name = std::move(name), .bound_by = std::move(binders)});
  }
  return secrets;
}

absl::Status SchedulerCore::DeleteSecret(absl::string_view tenant, absl::string_view name) {
  absl::MutexLock write(&write_mu_);
  std::vector<std::string> binders = SecretBinders(tenant, name);
  if (!binders.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("secret \"", name, "\" is bound by ", absl::StrJoin(binders, ", "),
                     "; remove it from their secrets and deploy them first"));
  }
  KILN_RETURN_IF_ERROR(store_.DeleteSecret(tenant, name));
  Log("core", absl::StrCat("deleted secret ", tenant, "/", name));
  return absl::OkStatus();
}

bool SchedulerCore::HasFunction(absl::string_view tenant, absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  return functions_.contains(Key(tenant, name));
}

void SchedulerCore::Invoke(Invocation invocation, InvokeCallback done) {
  if (invocation.request_id.empty()) invocation.request_id = NewRequestId();
  InvocationRequest request;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = functions_.find(Key(invocation.tenant, invocation.function));
    if (it == functions_.end()) {
      done(absl::NotFoundError(absl::StrCat("function ", invocation.function,
                                            " does not exist in tenant ", invocation.tenant)));
      return;
    }
    const Active& active = it->second;
    const uint64_t version = invocation.version != 0 ? invocation.version : active.version;
    if (version == active.version) {
      request.fingerprint = active.runtime_fingerprint;
      request.timeout = WallLimit(active.config);
    } else {
      request.timeout = kUnknownWall;
    }
    request.function.set_tenant(invocation.tenant);
    request.function.set_function(invocation.function);
    request.function.set_version(version);
  }
  if (fleet_ == nullptr) {
    done(absl::UnavailableError("the scheduler has no fleet"));
    return;
  }
  request.event = std::move(invocation.event);
  request.request_id = invocation.request_id;
  request.body = std::move(invocation.body);
  request.stream_window_bytes = invocation.stream_window_bytes;
  request.cancellable = invocation.cancellable;
  const uint64_t version = request.function.version();
  fleet_->Invoke(std::move(request),
                 [done = std::move(done), version, request_id = std::move(invocation.request_id)](
                     absl::StatusOr<InvocationReply> reply) mutable {
                   if (!reply.ok()) {
                     done(reply.status());
                     return;
                   }
                   kiln::v1::InvokeResponse response;
                   response.set_request_id(request_id);
                   response.set_version(version);
                   *response.mutable_result() = std::move(reply->result);
                   response.set_worker_id(std::move(reply->worker_id));
                   done(std::move(response));
                 });
}

void SchedulerCore::Cancel(const std::string& request_id) {
  if (fleet_ != nullptr) fleet_->Cancel(request_id);
}

void SchedulerCore::Credit(const std::string& request_id, size_t bytes) {
  if (fleet_ != nullptr) fleet_->Credit(request_id, bytes);
}

absl::StatusOr<RouteTarget> SchedulerCore::ResolveRoute(absl::string_view host,
                                                        absl::string_view path) const {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<RouteTarget> target = routes_.Resolve(host, path);
  if (!target) return absl::NotFoundError(absl::StrCat("no function answers at ", host, path));
  auto it = functions_.find(Key(target->tenant, target->function));
  if (it == functions_.end())
    return absl::NotFoundError(absl::StrCat("no function answers at ", host, path));
  target->max_body_bytes = it->second.config.limits().request_body_bytes();
  return *std::move(target);
}

absl::StatusOr<kiln::v1::LoadFunction> SchedulerCore::LoadFor(
    const kiln::v1::FunctionVersionRef& ref, absl::string_view fingerprint) {
  std::optional<Active> version;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = functions_.find(Key(ref.tenant(), ref.function()));
    if (it == functions_.end()) {
      return absl::NotFoundError(
          absl::StrCat("function ", ref.function(), " does not exist in tenant ", ref.tenant()));
    }
    if (it->second.version == ref.version()) version = it->second;
  }
  if (!version) {
    KILN_ASSIGN_OR_RETURN(VersionRecord record,
                          store_.GetVersion(ref.tenant(), ref.function(), ref.version()));
    version = Active{.version = record.version,
                     .bundle_sha256 = std::move(record.bundle_sha256),
                     .runtime_fingerprint = std::move(record.runtime_fingerprint),
                     .config = std::move(record.config)};
  }
  if (version->runtime_fingerprint != fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        ref.function(), " version ", ref.version(), " was built for runtime ",
        version->runtime_fingerprint, " but the workers run ", fingerprint, ": deploy it again"));
  }
  kiln::v1::LoadFunction load;
  *load.mutable_function() = ref;
  if (std::shared_ptr<const std::string> cached =
          snapshots_.Get(version->bundle_sha256, fingerprint)) {
    load.set_snapshot(*cached);
  } else {
    KILN_ASSIGN_OR_RETURN(std::string blob,
                          store_.GetSnapshot(version->bundle_sha256, fingerprint));
    load.set_snapshot(blob);
    snapshots_.Put(version->bundle_sha256, fingerprint, std::move(blob));
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> secrets =
      store_.ResolveSecrets(ref.tenant(), version->config);
  if (!secrets.ok()) {
    if (secrets.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(secrets.status().message());
    }
    return secrets.status();
  }
  for (auto& [name, value] : *secrets) (*load.mutable_secrets())[name] = std::move(value);
  *load.mutable_config() = std::move(version->config);
  return load;
}

}  // namespace kiln::scheduler
