// Authenticator: turns a control call's `authorization: Bearer <token>`
// metadata into the tenant it acts for (Store::Authenticate), remembering
// recent answers in memory so repeated calls (e.g. Control.Invoke) do not
// read the store. Every Control RPC goes through it.
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler/store/store.h"

namespace kiln::scheduler {

// Thread-safe. Tokens are remembered by their SHA-256, for `ttl`.
class Authenticator {
 public:
  explicit Authenticator(const Store& store, absl::Duration ttl = absl::Seconds(30))
      : store_(store), ttl_(ttl) {}

  // The tenant of the token in `authorization` (the metadata value, e.g.
  // "Bearer kiln_default_3f9c..."). Unauthenticated when it is missing
  // (`present` false), not a bearer token, or not a valid token.
  absl::StatusOr<std::string> Authenticate(bool present, absl::string_view authorization);

  // The tenant a call may act for: the token's, which `requested` must name
  // or leave empty. PermissionDenied otherwise.
  static absl::StatusOr<std::string> ActingTenant(absl::string_view token_tenant,
                                                  absl::string_view requested);

  // Forgets every remembered token (after a token rotation).
  void Forget();

 private:
  struct Remembered {
    std::string tenant;
    absl::Time until;
  };
  const Store& store_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Remembered> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::scheduler
