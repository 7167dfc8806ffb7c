#include "services/support/sla/claim_rate.h"

#include "common/stats/wilson.h"

namespace marketplace::support::sla {

bool ClaimRateAllowsInstantRefund(int64_t claims, int64_t paid_orders) {
  if (paid_orders < kMinPaidOrders) return false;
  return common::WilsonLowerBound(claims, paid_orders, common::kZ95) <= kMaxClaimRateBound;
}

}  // namespace marketplace::support::sla
