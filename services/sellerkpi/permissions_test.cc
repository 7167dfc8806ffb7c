#include "services/sellerkpi/permissions.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace marketplace::sellerkpi {
namespace {

common::auth::Caller As(const std::string& role, std::vector<std::string> scopes = {}) {
  common::auth::Caller c;
  c.subject = "0123456789abcdef0123456789abcdef";
  c.roles = {role};
  c.scopes = std::move(scopes);
  return c;
}

absl::StatusCode Code(Method m, const MaybeCaller& c) { return Authorize(m, c).code(); }

TEST(PermissionsTest, EveryMethodHasARowAndAName) {
  for (size_t i = 0; i < kMethodCount; ++i) {
    EXPECT_FALSE(MethodNames()[i].empty());
    const MethodRule& rule = RuleFor(static_cast<Method>(i));
    EXPECT_TRUE(rule.is_public || !rule.denied.empty()) << MethodNames()[i];
  }
  EXPECT_EQ(PublicMethods().size(), 1u);
}

TEST(PermissionsTest, Matrix) {
  const auto ok = absl::StatusCode::kOk;
  const auto denied = absl::StatusCode::kPermissionDenied;
  EXPECT_EQ(Code(Method::kRecordSellerEvents, As("ADMIN")), ok);
  EXPECT_EQ(Code(Method::kRecordSellerEvents, As("SERVICE", {"sellerkpi.events.write"})), ok);
  EXPECT_EQ(Code(Method::kRecordSellerEvents, As("SERVICE", {"sellerkpi.read"})), denied);
  EXPECT_EQ(Code(Method::kRecordSellerEvents, As("SELLER")), denied);
  EXPECT_EQ(Code(Method::kGetSellerScorecard, As("SELLER")), ok);
  EXPECT_EQ(Code(Method::kGetSellerScorecard, As("BUYER")), denied);
  EXPECT_EQ(Code(Method::kGetSellerScorecard, As("SERVICE", {"sellerkpi.read"})), ok);
  EXPECT_EQ(Code(Method::kGetSellerScorecard, std::nullopt), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code(Method::kGetPublicSellerRating, std::nullopt), ok);
  EXPECT_EQ(Code(Method::kListSellersByHealth, As("MODERATOR")), ok);
  EXPECT_EQ(Code(Method::kListSellersByHealth, As("SELLER")), denied);
  EXPECT_EQ(Code(Method::kUpdateThresholds, As("SUPPORT_AGENT")), denied);
  EXPECT_EQ(Code(Method::kUpdateThresholds, As("ADMIN")), ok);
  EXPECT_EQ(Code(Method::kExcludeSellerEvent, As("SUPPORT_AGENT")), ok);
  EXPECT_EQ(Code(Method::kAppealEnforcement, As("ADMIN")), denied);  // ADMIN decides
  EXPECT_EQ(Code(Method::kAppealEnforcement, As("SELLER")), ok);
  EXPECT_EQ(Code(Method::kAppealEnforcement, As("SUPPORT_AGENT")), ok);
  EXPECT_EQ(Code(Method::kAppealEnforcement, As("MODERATOR")), denied);
}

}  // namespace
}  // namespace marketplace::sellerkpi
