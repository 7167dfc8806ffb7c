#ifndef MARKETPLACE_SERVICES_SUPPORT_INSTANT_REFUND_H_
#define MARKETPLACE_SERVICES_SUPPORT_INSTANT_REFUND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// "Right unless too often" (support.proto CreateTicket, README "Instant refunds"): a new
// claim ticket is refunded at once, from the guarantee fund, when
//   - its category is NOT_RECEIVED, DAMAGED, NOT_AS_DESCRIBED or REFUND_REQUEST (not
//     COUNTERFEIT, which goes to the operator);
//   - the claim's amount (the whole payment: a claim is about the order) is at most the SLA
//     policy's auto_refund_cap for the payment's currency (no cap for it: never);
//   - the buyer has at least 3 paid orders held in the last 365 days (paid_orders), and
//   - the Wilson lower bound (z = 1.96) of claims / paid orders over those 365 days is at
//     most 5 % (sla::ClaimRateAllowsInstantRefund), where claims are the buyer's claim
//     tickets (is_claim) created in the window and not merged into another ticket, the new
//     one included.
inline constexpr absl::Duration kClaimRateWindow = absl::Hours(365 * 24);

bool IsInstantRefundCategory(pb::Category category);

struct InstantRefundFacts {
  pb::Category category = pb::CATEGORY_UNSPECIFIED;
  Amount amount;                     // the payment's amount
  std::optional<int64_t> cap_minor;  // the policy's cap in amount.currency, if any
  int64_t claims = 0;                // including the new one
  int64_t paid_orders = 0;
};

struct InstantRefundDecision {
  bool refund = false;
  // Why (for the ticket's history): e.g. "claims 1 / paid orders 10" or "over the cap".
  std::string why;
};

InstantRefundDecision DecideInstantRefund(const InstantRefundFacts& facts);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_INSTANT_REFUND_H_
