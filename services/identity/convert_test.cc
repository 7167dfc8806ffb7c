#include "services/identity/convert.h"

#include <string>
#include <vector>

#include "common/errors.h"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::identity {
namespace {

using ::testing::ElementsAre;

RequestContext AsCaller(const std::string& id) {
  RequestContext ctx;
  ctx.caller = Principal{id, Role::kBuyer, {}, "", ""};
  return ctx;
}

std::vector<std::string> Fields(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : common::FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST(ConvertTest, PrincipalTakesTheOneRoleAndTheSessionOfTheTokenId) {
  common::auth::Caller caller;
  caller.subject = "acct1";
  caller.roles = {"SELLER"};
  caller.scopes = {"a.b"};
  caller.token_id = "sess1.nonce";
  Principal p = PrincipalFromCaller(caller);
  EXPECT_EQ(p.account_id, "acct1");
  EXPECT_EQ(p.role, Role::kSeller);
  EXPECT_THAT(p.scopes, ElementsAre("a.b"));
  EXPECT_EQ(p.session_id, "sess1");
  EXPECT_EQ(p.token_id, "sess1.nonce");

  caller.roles = {"SELLER", "ADMIN"};
  EXPECT_EQ(PrincipalFromCaller(caller).role, std::nullopt);
  caller.roles = {"ROOT"};
  EXPECT_EQ(PrincipalFromCaller(caller).role, std::nullopt);
  caller.roles = {};
  EXPECT_EQ(PrincipalFromCaller(caller).role, std::nullopt);
}

TEST(ConvertTest, AccountNames) {
  RequestContext me = AsCaller("abc123");
  EXPECT_EQ(*AccountIdFromName("accounts/me", "name", me), "abc123");
  const std::string id = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(*AccountIdFromName("accounts/" + id, "name", me), id);
  // Only the one spelling identity issues: 32 lowercase hex digits.
  for (const std::string& bad : std::vector<std::string>{
           "", "accounts/", "account/x", "accounts/x/y", "accounts/a b", "accounts/é",
        "xaccounts/abc", "accounts/0f0f", "accounts/0123456789ABCDEF0123456789ABCDEF",
        "accounts/ " + id, "accounts/" + id + " ", "accounts/acc_0123456789abcdef01234567",
        "accounts/" + id + "0"}) {
    absl::Status s = AccountIdFromName(bad, "account.name", me).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Fields(s), ElementsAre("account.name")) << bad;
  }
  EXPECT_EQ(AccountIdFromName("accounts/" + std::string(65, 'a'), "name", me).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AccountIdFromName("accounts/me", "name", RequestContext()).status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(*AccountIdFromSellerProfileName("accounts/me/sellerProfile", "name", me), "abc123");
  EXPECT_EQ(*AccountIdFromSellerProfileName("accounts/" + id + "/sellerProfile", "name", me), id);
  for (const std::string& bad : std::vector<std::string>{
           "accounts/x1", "accounts/x1/sellerprofile", "accounts//sellerProfile", "sellerProfile",
        "accounts/x1/sellerProfile", "accounts/" + absl::AsciiStrToUpper(id) + "/sellerProfile"}) {
    EXPECT_EQ(AccountIdFromSellerProfileName(bad, "name", me).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ConvertTest, EnumsRoundTrip) {
  for (Role role : kAllRoles) EXPECT_EQ(RoleFromProto(RoleToProto(role)), role);
  EXPECT_EQ(RoleFromProto(v1::ROLE_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(RoleFromProto(static_cast<v1::Role>(42)), std::nullopt);
  EXPECT_EQ(AccountStatusFromProto(v1::SUSPENDED), AccountStatus::kSuspended);
  EXPECT_EQ(AccountStatusFromProto(v1::ACCOUNT_STATUS_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(ReviewOutcomeFromProto(v1::APPROVE), ReviewOutcome::kApprove);
  EXPECT_EQ(ReviewOutcomeFromProto(v1::REVIEW_DECISION_UNSPECIFIED), std::nullopt);
}

TEST(ConvertTest, AccountNeverCarriesSecretsAndNamesTheSuspender) {
  Account a;
  a.id = "acct";
  a.email = "x@example.com";
  a.password_hash = "$argon2id$secret";
  a.client_secret_hash = "hash";
  a.status = AccountStatus::kSuspended;
  a.suspension = Suspension{"KPI_CRITICAL", "why", "admin1", absl::FromUnixSeconds(10)};
  v1::Account out;
  AccountToProto(a, &out);
  EXPECT_EQ(out.name(), "accounts/acct");
  EXPECT_EQ(out.status(), v1::SUSPENDED);
  EXPECT_EQ(out.suspension().suspended_by(), "accounts/admin1");
  EXPECT_EQ(out.DebugString().find("argon2id"), std::string::npos);
  EXPECT_EQ(out.DebugString().find("hash"), std::string::npos);
}

TEST(ConvertTest, InactiveIntrospectionCarriesOnlyTheReason) {
  Introspection in;
  in.active = false;
  in.inactive_reason = InactiveReason::kSessionRevoked;
  in.subject = "acct";
  v1::IntrospectTokenResponse out;
  IntrospectionToProto(in, &out);
  EXPECT_FALSE(out.active());
  EXPECT_EQ(out.inactive_reason(), v1::SESSION_REVOKED);
  EXPECT_TRUE(out.subject().empty());
}

TEST(ConvertTest, SuspendedSellerProfileShowsSellerSuspended) {
  SellerProfileView view;
  view.profile.account_id = "s1";
  view.profile.status = SellerStatus::kApproved;
  view.suspended = true;
  v1::SellerProfile out;
  SellerProfileToProto(view, &out);
  EXPECT_EQ(out.name(), "accounts/s1/sellerProfile");
  EXPECT_EQ(out.status(), v1::SELLER_SUSPENDED);
  EXPECT_FALSE(out.has_application());
}

}  // namespace
}  // namespace marketplace::identity
