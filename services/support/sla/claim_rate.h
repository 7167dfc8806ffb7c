#ifndef MARKETPLACE_SERVICES_SUPPORT_SLA_CLAIM_RATE_H_
#define MARKETPLACE_SERVICES_SUPPORT_SLA_CLAIM_RATE_H_

#include <cstdint>

namespace marketplace::support::sla {

// "Right unless too often": a buyer's claim (NOT_RECEIVED, DAMAGED, NOT_AS_DESCRIBED,
// REFUND_REQUEST) up to the policy's auto_refund_cap is refunded at once when the buyer has at
// least kMinPaidOrders paid orders and the Wilson lower bound (two-sided 95 %, z = 1.96) of
// claims / paid orders over the last 365 days is at most kMaxClaimRateBound.
inline constexpr int64_t kMinPaidOrders = 3;
inline constexpr double kMaxClaimRateBound = 0.05;

// Whether the buyer's record allows a refund at once. `claims` counts the buyer's claims in
// the window *including the one being decided*; `paid_orders` the buyer's paid orders in the
// same window. 1 claim in 10 paid orders (bound 1.8 %): true; 2 in 10 (5.7 %): false, a person
// decides; fewer than 3 paid orders: false. The amount cap and the claim category are the
// caller's to check.
bool ClaimRateAllowsInstantRefund(int64_t claims, int64_t paid_orders);

}  // namespace marketplace::support::sla

#endif  // MARKETPLACE_SERVICES_SUPPORT_SLA_CLAIM_RATE_H_
