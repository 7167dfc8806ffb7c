#include "services/catalog/permissions.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::catalog {
namespace {

common::auth::Caller As(std::string role, std::vector<std::string> scopes = {}) {
  common::auth::Caller c;
  c.subject = "a1";
  c.roles = {std::move(role)};
  c.scopes = std::move(scopes);
  c.expires_at = absl::InfiniteFuture();
  return c;
}

TEST(PermissionsTest, EveryMethodHasANameAndOnlyReadsArePublic) {
  for (size_t i = 0; i < kMethodCount; ++i) {
    const Method m = static_cast<Method>(i);
    EXPECT_FALSE(MethodNames()[i].empty());
    const bool read =
        m == Method::kGetListing || m == Method::kListListings || m == Method::kListCategories;
    EXPECT_EQ(RuleFor(m).is_public, read) << MethodNames()[i];
  }
}

TEST(PermissionsTest, AnonymousCallersAreUnauthenticatedOutsidePublicMethods) {
  EXPECT_OK(Authorize(Method::kGetListing, std::nullopt));
  EXPECT_EQ(Authorize(Method::kUpdateListing, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authorize(Method::kCreateListing, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PermissionsTest, RolesAndScopesPerMethod) {
  EXPECT_OK(Authorize(Method::kCreateListing, As("SELLER")));
  EXPECT_EQ(Authorize(Method::kCreateListing, As("BUYER")).message(),
            "only sellers create listings");
  EXPECT_OK(Authorize(Method::kReportListing, As("BUYER")));
  EXPECT_EQ(Authorize(Method::kReportListing, As("SELLER")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_OK(Authorize(Method::kDecideReview, As("MODERATOR")));
  EXPECT_EQ(Authorize(Method::kDecideReview, As("SUPPORT_AGENT")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_OK(Authorize(Method::kSuspendSellerListings, As("SERVICE", {"catalog.enforcement"})));
  EXPECT_EQ(Authorize(Method::kSuspendSellerListings, As("SERVICE")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(Method::kClaimReview, As("SERVICE", {"catalog.enforcement"})).code(),
            absl::StatusCode::kPermissionDenied);
  for (Method m : {Method::kSetSellerModerationLevel, Method::kGetSellerModerationLevel}) {
    EXPECT_OK(Authorize(m, As("SERVICE", {"catalog.enforcement"})));
    EXPECT_OK(Authorize(m, As("MODERATOR")));
    EXPECT_OK(Authorize(m, As("ADMIN")));
    EXPECT_EQ(Authorize(m, As("SERVICE")).code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(Authorize(m, As("SELLER")).code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(Authorize(m, As("SUPPORT_AGENT")).code(), absl::StatusCode::kPermissionDenied);
  }
  // Only sellers may ever change a listing; which seller owns it is the domain's to check
  // once the listing is loaded (NOT_FOUND for another's).
  EXPECT_OK(Authorize(Method::kWithdrawListing, As("SELLER")));
  EXPECT_EQ(Authorize(Method::kWithdrawListing, As("BUYER")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(Method::kAppealDecision, As("MODERATOR")).code(),
            absl::StatusCode::kPermissionDenied);
  // A listing's history: its seller (the domain answers another seller NOT_FOUND), staff and
  // SUPPORT_AGENT; other roles may never ask.
  for (const char* role : {"SELLER", "MODERATOR", "ADMIN", "SUPPORT_AGENT"}) {
    SCOPED_TRACE(role);
    EXPECT_OK(Authorize(Method::kGetModerationHistory, As(role)));
  }
  EXPECT_EQ(Authorize(Method::kGetModerationHistory, As("BUYER")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(Method::kGetModerationHistory, As("SERVICE", {"catalog.enforcement"})).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(Method::kGetModerationHistory, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PermissionsTest, OwnerIsTheSellerActingAsSeller) {
  EXPECT_TRUE(IsOwner(As("SELLER"), "a1"));
  EXPECT_FALSE(IsOwner(As("BUYER"), "a1"));
  EXPECT_FALSE(IsOwner(As("SELLER"), "a2"));
  EXPECT_TRUE(SeesEverything(As("SUPPORT_AGENT")));
  EXPECT_FALSE(IsStaff(As("SUPPORT_AGENT")));
}

}  // namespace
}  // namespace marketplace::catalog
