#include "services/support/sla/claim_rate.h"

#include "gtest/gtest.h"

namespace marketplace::support::sla {
namespace {

TEST(ClaimRateAllowsInstantRefund, IssueExamples) {
  EXPECT_TRUE(ClaimRateAllowsInstantRefund(1, 10));   // 1.8 %: refunded at once
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(2, 10));  // 5.7 %: to a person
}

TEST(ClaimRateAllowsInstantRefund, NeedsThreePaidOrders) {
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(0, 0));
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(1, 2));
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(0, 2));
  // With 3 orders the first claim is already too much evidence (bound 6.1 %)...
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(1, 3));
  // ...with 5 it passes (bound 3.6 %).
  EXPECT_TRUE(ClaimRateAllowsInstantRefund(1, 5));
}

TEST(ClaimRateAllowsInstantRefund, MoreOrdersAllowMoreClaims) {
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(2, 11));    // 5.1 %
  EXPECT_TRUE(ClaimRateAllowsInstantRefund(2, 12));     // 4.7 %
  EXPECT_TRUE(ClaimRateAllowsInstantRefund(9, 100));    // 4.8 %
  EXPECT_FALSE(ClaimRateAllowsInstantRefund(10, 100));  // 5.5 %
}

}  // namespace
}  // namespace marketplace::support::sla
