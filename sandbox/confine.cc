// ConfineWorker: build the worker policy, harden, apply -- in that order, so a
// policy that fails to build leaves the process untouched.
#include "sandbox/confine.h"

#include "common/status_macros.h"
#include "sandbox/worker_policy.h"

namespace kiln::sandbox {

absl::Status ConfineWorker(const ConfineOptions& options) {
  KILN_ASSIGN_OR_RETURN(Policy policy, WorkerPolicy(options.mode));
  KILN_RETURN_IF_ERROR(HardenProcess(options.hardening));
  return policy.Apply();
}

}  // namespace kiln::sandbox
