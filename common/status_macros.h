#ifndef MARKETPLACE_COMMON_STATUS_MACROS_H_
#define MARKETPLACE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Abseil 20220623 ships no status macros; these are the project's one copy.

#define MP_STATUS_CONCAT_INNER_(a, b) a##b
#define MP_STATUS_CONCAT_(a, b) MP_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status mp_status_ = (expr);                \
    if (!mp_status_.ok()) return mp_status_;           \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  MP_ASSIGN_OR_RETURN_IMPL_(MP_STATUS_CONCAT_(mp_statusor_, __LINE__), lhs, expr)

#define MP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // MARKETPLACE_COMMON_STATUS_MACROS_H_
