#include "services/payments/permissions.h"

#include <optional>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

common::auth::Caller CallerWith(std::vector<std::string> roles,
                                std::vector<std::string> scopes = {}) {
  common::auth::Caller c;
  c.subject = "acct-1";
  c.roles = std::move(roles);
  c.scopes = std::move(scopes);
  return c;
}

TEST(PermissionsTest, EveryMethodHasItsGrpcNameInEnumOrder) {
  const auto names = MethodNames();
  std::set<std::string> seen;
  for (Method m : kAllMethods) {
    EXPECT_EQ(names[static_cast<size_t>(m)], MethodName(m));
    EXPECT_NE(MethodName(m), "Unknown");
    seen.insert(std::string(MethodName(m)));
  }
  EXPECT_EQ(seen.size(), kMethodCount);
}

TEST(PermissionsTest, DeniedByDefault) {
  for (Method m : kAllMethods) {
    EXPECT_EQ(ActorFor(std::nullopt, m).status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(ActorFor(CallerWith({}), m).status().code(), absl::StatusCode::kPermissionDenied)
        << MethodName(m);
    EXPECT_EQ(ActorFor(CallerWith({"SERVICE"}, {"payments.unknown"}), m).status().code(),
              absl::StatusCode::kPermissionDenied)
        << MethodName(m);
  }
}

TEST(PermissionsTest, OnlyTheCheckoutServiceSetsCommission) {
  auto service = ActorFor(CallerWith({"SERVICE"}, {"payments.checkout"}), Method::kCreatePayment);
  ASSERT_TRUE(service.ok());
  EXPECT_TRUE(service->any_payment);
  EXPECT_TRUE(service->may_set_commission);
  auto buyer = ActorFor(CallerWith({"BUYER"}), Method::kCreatePayment);
  ASSERT_TRUE(buyer.ok());
  EXPECT_TRUE(buyer->as_buyer);
  EXPECT_FALSE(buyer->any_payment);
  EXPECT_FALSE(buyer->may_set_commission);
  // A scope grants only the methods it names.
  EXPECT_FALSE(
      ActorFor(CallerWith({"SERVICE"}, {"payments.checkout"}), Method::kRefundPayment).ok());
}

TEST(PermissionsTest, AdminOnlyMethods) {
  for (Method m :
       {Method::kVerifyLedger, Method::kSetSellerHoldPolicy, Method::kGetSellerHoldPolicy}) {
    EXPECT_TRUE(ActorFor(CallerWith({"ADMIN"}), m).ok()) << MethodName(m);
    EXPECT_FALSE(ActorFor(CallerWith({"SUPPORT_AGENT"}), m).ok()) << MethodName(m);
    EXPECT_FALSE(ActorFor(CallerWith({"SELLER"}), m).ok()) << MethodName(m);
  }
  for (Method m : {Method::kSetSellerHoldPolicy, Method::kGetSellerHoldPolicy}) {
    EXPECT_TRUE(ActorFor(CallerWith({"SERVICE"}, {"payments.policy"}), m).ok()) << MethodName(m);
    EXPECT_FALSE(ActorFor(CallerWith({"SERVICE"}, {"payments.read"}), m).ok()) << MethodName(m);
  }
}

}  // namespace
}  // namespace marketplace::payments
