#ifndef MARKETPLACE_SERVICES_SUPPORT_REASON_CODES_H_
#define MARKETPLACE_SERVICES_SUPPORT_REASON_CODES_H_

#include "absl/strings/string_view.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// The version of the closed reason-code lists (support.proto ReasonCodes).
inline constexpr int kReasonCodesVersion = 1;

// Whether `code` is in the closed list of `category` (version kReasonCodesVersion).
bool IsReasonCodeOf(pb::Category category, absl::string_view code);

// Claims: the buyer wants something back (NOT_RECEIVED, DAMAGED, NOT_AS_DESCRIBED, COUNTERFEIT,
// REFUND_REQUEST).
bool IsClaim(pb::Category category);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REASON_CODES_H_
