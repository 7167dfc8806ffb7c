#ifndef MARKETPLACE_COMMON_ERRORS_H_
#define MARKETPLACE_COMMON_ERRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketplace::common {

// Domain errors are absl::Status values, with no gRPC in sight. Their machine-readable details
// travel as payloads that the one mapping (common/status_mapping.h) turns into google.rpc
// details on the wire:
// - field violations  -> google.rpc.BadRequest
// - a reason code     -> google.rpc.ErrorInfo{reason, domain = "marketplace"}

struct FieldViolation {
  std::string field;  // path of the offending field, e.g. "amount.currency_code"
  std::string rule;   // what the value must satisfy, in words
};

// INVALID_ARGUMENT naming one field and the rule it breaks: "amount.amount_minor: must be > 0".
absl::Status InvalidField(absl::string_view field, absl::string_view rule);

// INVALID_ARGUMENT for several fields at once.
absl::Status InvalidFields(std::vector<FieldViolation> violations);

// Collects a request's field violations so that one INVALID_ARGUMENT names every bad field:
//   Violations v;
//   v.Check(ValidateId("seller_id", req.seller_id()));
//   if (req.page_size() < 0) v.Add("page_size", "must be >= 0");
//   RETURN_IF_ERROR(v.Status());
class Violations {
 public:
  void Add(std::string field, std::string rule);
  // Adds the field violations `status` carries (nothing for OK).
  void Check(const absl::Status& status);
  bool empty() const { return list_.empty(); }
  // OK when there are none, else InvalidFields of all of them.
  absl::Status Status() const;

 private:
  std::vector<FieldViolation> list_;
};

// Attaches an ErrorInfo reason (UPPER_SNAKE_CASE, e.g. "SELLER_NOT_APPROVED") to `status`,
// with optional ErrorInfo metadata (e.g. {"decline_code", "INSUFFICIENT_FUNDS"}).
absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Shorthands for the common cases with a reason code.
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message);
absl::Status NotFound(absl::string_view what, absl::string_view id);
absl::Status PermissionDenied(absl::string_view message);
absl::Status Unauthenticated(absl::string_view message);

// The field violations and reason carried by `status` (empty when none).
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);
std::string ReasonOf(const absl::Status& status);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_ERRORS_H_
