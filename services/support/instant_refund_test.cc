#include "services/support/instant_refund.h"

#include "gtest/gtest.h"

namespace marketplace::support {
namespace {

InstantRefundFacts Facts(int64_t claims, int64_t paid_orders, int64_t amount = 2000) {
  InstantRefundFacts f;
  f.category = pb::NOT_RECEIVED;
  f.amount = {"EUR", amount};
  f.cap_minor = 3000;
  f.claims = claims;
  f.paid_orders = paid_orders;
  return f;
}

TEST(InstantRefundTest, OneClaimInTenOrdersIsRefundedTwoAreNot) {
  EXPECT_TRUE(DecideInstantRefund(Facts(1, 10)).refund);   // Wilson bound 1.8 %
  EXPECT_FALSE(DecideInstantRefund(Facts(2, 10)).refund);  // 5.7 %
}

TEST(InstantRefundTest, NeedsThreePaidOrders) {
  EXPECT_FALSE(DecideInstantRefund(Facts(1, 2)).refund);
  EXPECT_FALSE(DecideInstantRefund(Facts(0, 0)).refund);
}

TEST(InstantRefundTest, TheCapIsInclusiveAndPerCurrency) {
  EXPECT_TRUE(DecideInstantRefund(Facts(1, 100, 3000)).refund);
  EXPECT_FALSE(DecideInstantRefund(Facts(1, 100, 3001)).refund);
  InstantRefundFacts no_cap = Facts(1, 100);
  no_cap.cap_minor.reset();
  EXPECT_FALSE(DecideInstantRefund(no_cap).refund);
}

TEST(InstantRefundTest, OnlyTheFourClaimCategories) {
  for (pb::Category c : {pb::NOT_RECEIVED, pb::DAMAGED, pb::NOT_AS_DESCRIBED, pb::REFUND_REQUEST}) {
    InstantRefundFacts f = Facts(1, 100);
    f.category = c;
    EXPECT_TRUE(DecideInstantRefund(f).refund) << pb::Category_Name(c);
  }
  for (pb::Category c : {pb::COUNTERFEIT, pb::QUESTION, pb::OTHER}) {
    InstantRefundFacts f = Facts(1, 100);
    f.category = c;
    EXPECT_FALSE(DecideInstantRefund(f).refund) << pb::Category_Name(c);
  }
}

TEST(InstantRefundTest, MoreClaimsThanOrdersNeverRefunds) {
  EXPECT_FALSE(DecideInstantRefund(Facts(5, 3)).refund);
}

}  // namespace
}  // namespace marketplace::support
