#include "services/identity/permissions.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/identity/model.h"

namespace marketplace::identity {
namespace {

// The callers of the matrix, one column each.
struct Column {
  const char* name;
  std::optional<Role> role;  // nullopt with anonymous = true: no token
  std::vector<std::string> scopes;
  bool anonymous = false;
};

const std::vector<Column>& Columns() {
  static const auto* columns = new std::vector<Column>{
      {"anonymous", std::nullopt, {}, true},
      {"BUYER", Role::kBuyer, {}},
      {"SELLER", Role::kSeller, {}},
      {"SUPPORT_AGENT", Role::kSupportAgent, {}},
      {"MODERATOR", Role::kModerator, {}},
      {"ADMIN", Role::kAdmin, {}},
      {"SERVICE", Role::kService, {}},
      {"SERVICE+enforcement", Role::kService, {std::string(kScopeEnforcement)}},
      {"SERVICE+accounts.read", Role::kService, {std::string(kScopeAccountsRead)}},
      {"SERVICE+introspect", Role::kService, {std::string(kScopeIntrospect)}},
  };
  return *columns;
}

enum class On {
  kNothing,      // the method concerns no account
  kSelf,         // the caller's own account
  kOtherBuyer,   // another account, a BUYER
  kOtherSeller,  // another account, a SELLER
  kOtherAdmin,   // another account, an ADMIN
};

// One row of the matrix: the expected answer per column, in Columns() order.
// 'Y' allowed, 'U' UNAUTHENTICATED, 'D' PERMISSION_DENIED.
struct MatrixRow {
  Method method;
  On on;
  const char* expected;
};

// Columns: anonymous, BUYER, SELLER, SUPPORT_AGENT, MODERATOR, ADMIN, SERVICE without scopes,
// SERVICE+enforcement, SERVICE+accounts.read, SERVICE+introspect.
const MatrixRow kMatrix[] = {
    {Method::kSignUp, On::kNothing, "YYYYYYYYYY"},
    {Method::kLogin, On::kNothing, "YYYYYYYYYY"},
    {Method::kRefreshSession, On::kNothing, "YYYYYYYYYY"},
    {Method::kGetSigningKeys, On::kNothing, "YYYYYYYYYY"},
    {Method::kIssueServiceToken, On::kNothing, "YYYYYYYYYY"},

    {Method::kLogout, On::kSelf, "UYYYYYDDDD"},
    {Method::kLogout, On::kOtherBuyer, "UDDDDDDDDD"},
    {Method::kLogoutAll, On::kSelf, "UYYYYYDDDD"},
    {Method::kLogoutAll, On::kOtherBuyer, "UDDDDDDDDD"},
    {Method::kUpdateProfile, On::kSelf, "UYYYYYDDDD"},
    {Method::kUpdateProfile, On::kOtherBuyer, "UDDDDDDDDD"},
    {Method::kChangePassword, On::kSelf, "UYYYYYDDDD"},
    {Method::kChangePassword, On::kOtherBuyer, "UDDDDDDDDD"},

    // Everyone reads their own account; staff and readers with the scope read others'.
    {Method::kGetAccount, On::kSelf, "UYYYYYYYYY"},
    {Method::kGetAccount, On::kOtherBuyer, "UDDYYYDDYD"},
    {Method::kGetAccount, On::kOtherAdmin, "UDDYYYDDYD"},

    {Method::kListAccounts, On::kNothing, "UDDDDYDDDD"},
    {Method::kRotateSigningKey, On::kNothing, "UDDDDYDDDD"},
    {Method::kCreateStaffAccount, On::kNothing, "UDDDDYDDDD"},
    {Method::kCreateServiceAccount, On::kNothing, "UDDDDYDDDD"},

    {Method::kSubmitSellerApplication, On::kSelf, "UDYDDDDDDD"},
    {Method::kSubmitSellerApplication, On::kOtherSeller, "UDDDDDDDDD"},
    {Method::kReviewSellerApplication, On::kOtherSeller, "UDDDYYDDDD"},
    {Method::kGetSellerProfile, On::kSelf, "UDYYYYDDYD"},
    {Method::kGetSellerProfile, On::kOtherSeller, "UDDYYYDDYD"},

    // Enforcement: ADMIN on anyone; a SERVICE with the enforcement scope on buyers and
    // sellers only.
    {Method::kSuspendAccount, On::kOtherBuyer, "UDDDDYDYDD"},
    {Method::kSuspendAccount, On::kOtherSeller, "UDDDDYDYDD"},
    {Method::kSuspendAccount, On::kOtherAdmin, "UDDDDYDDDD"},
    {Method::kReinstateAccount, On::kOtherSeller, "UDDDDYDYDD"},
    {Method::kReinstateAccount, On::kOtherAdmin, "UDDDDYDDDD"},

    {Method::kIntrospectToken, On::kNothing, "UDDDDYDDDY"},
};

char Answer(const absl::Status& status) {
  if (status.ok()) return 'Y';
  if (status.code() == absl::StatusCode::kUnauthenticated) return 'U';
  if (status.code() == absl::StatusCode::kPermissionDenied) return 'D';
  return '?';
}

TEST(PermissionsTest, MatrixOfMethodsRolesAndTargets) {
  for (const MatrixRow& row : kMatrix) {
    ASSERT_EQ(std::string(row.expected).size(), Columns().size()) << MethodName(row.method);
    for (size_t c = 0; c < Columns().size(); ++c) {
      const Column& column = Columns()[c];
      Principal caller;
      caller.account_id = "caller";
      caller.role = column.role;
      caller.scopes = column.scopes;
      std::optional<Target> target;
      switch (row.on) {
        case On::kNothing:
          break;
        case On::kSelf:
          target = Target{"caller", column.role};
          break;
        case On::kOtherBuyer:
          target = Target{"other", Role::kBuyer};
          break;
        case On::kOtherSeller:
          target = Target{"other", Role::kSeller};
          break;
        case On::kOtherAdmin:
          target = Target{"other", Role::kAdmin};
          break;
      }
      if (column.anonymous && row.on == On::kSelf) target = Target{"", std::nullopt};
      const absl::Status status =
          Authorize(row.method, column.anonymous ? nullptr : &caller, target ? &*target : nullptr);
      EXPECT_EQ(Answer(status), row.expected[c])
          << MethodName(row.method) << " by " << column.name << " on target kind "
          << static_cast<int>(row.on) << ": " << status;
    }
  }
}

TEST(PermissionsTest, EveryMethodIsInTheMatrix) {
  std::set<Method> covered;
  for (const MatrixRow& row : kMatrix) covered.insert(row.method);
  for (Method m : kAllMethods) EXPECT_TRUE(covered.count(m)) << MethodName(m);
}

TEST(PermissionsTest, AnAccountCannotReadOrChangeAnothersData) {
  for (Role role : {Role::kBuyer, Role::kSeller}) {
    Principal caller{"alice", role, {}, "s1", "t1"};
    const Target bob{"bob", Role::kSeller};
    for (Method m : {Method::kGetAccount, Method::kUpdateProfile, Method::kChangePassword,
                     Method::kGetSellerProfile, Method::kSubmitSellerApplication, Method::kLogout,
                     Method::kLogoutAll}) {
      const absl::Status status = Authorize(m, &caller, &bob);
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
          << RoleName(role) << " " << MethodName(m) << ": " << status;
    }
  }
}

TEST(PermissionsTest, ATokenWithoutAKnownRoleMayDoNothingButPublicMethods) {
  Principal caller{"x", std::nullopt, {std::string(kScopeEnforcement)}, "", "t"};
  for (Method m : kAllMethods) {
    const Target self{"x", std::nullopt};
    const absl::Status status = Authorize(m, &caller, &self);
    if (RuleFor(m).is_public) {
      EXPECT_TRUE(status.ok()) << MethodName(m);
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << MethodName(m);
    }
  }
}

TEST(PermissionsTest, MayActOnOthersBeforeTheTargetIsKnown) {
  const Principal buyer{"b", Role::kBuyer, {}, "s", "t"};
  const Principal support{"s", Role::kSupportAgent, {}, "s", "t"};
  const Principal enforcer{"svc", Role::kService, {std::string(kScopeEnforcement)}, "", "t"};
  const Principal plain_service{"svc", Role::kService, {}, "", "t"};
  EXPECT_FALSE(MayActOnOthers(Method::kGetAccount, buyer));
  EXPECT_TRUE(MayActOnOthers(Method::kGetAccount, support));
  EXPECT_FALSE(MayActOnOthers(Method::kSuspendAccount, support));
  EXPECT_TRUE(MayActOnOthers(Method::kSuspendAccount, enforcer));
  EXPECT_FALSE(MayActOnOthers(Method::kSuspendAccount, plain_service));
  EXPECT_TRUE(MayActOnOthers(Method::kSignUp, buyer));
}

TEST(PermissionsTest, DenialsSayWhatWasDeniedWithoutTheTargetsData) {
  const Principal buyer{"alice", Role::kBuyer, {}, "s", "t"};
  const Target other{"bob", Role::kAdmin};
  const absl::Status status = Authorize(Method::kGetAccount, &buyer, &other);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("GetAccount"), absl::string_view::npos) << status;
  EXPECT_EQ(status.message().find("ADMIN"), absl::string_view::npos)
      << "the target's role leaked: " << status;
  EXPECT_EQ(Authorize(Method::kGetAccount, nullptr, &other).code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace marketplace::identity
