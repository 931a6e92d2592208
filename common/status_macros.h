// Early-return helpers for absl::Status / absl::StatusOr, which Debian's Abseil
// (20220623) does not ship. Used on every fallible path across Kiln.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KILN_STATUS_CONCAT_INNER_(a, b) a##b
#define KILN_STATUS_CONCAT_(a, b) KILN_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function with `expr`'s status if it is not OK.
//   KILN_RETURN_IF_ERROR(store.Put(key, value));
#define KILN_RETURN_IF_ERROR(expr)                   \
  do {                                               \
    const ::absl::Status kiln_status_ = (expr);      \
    if (!kiln_status_.ok()) return kiln_status_;     \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, else
// moves the value into `lhs`, which may be a declaration.
//   KILN_ASSIGN_OR_RETURN(std::string blob, BuildSnapshot(bundle));
#define KILN_ASSIGN_OR_RETURN(lhs, rexpr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_STATUS_CONCAT_(kiln_statusor_, __LINE__), lhs, rexpr)

#define KILN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
