#include "services/identity/permissions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::identity {
namespace {

constexpr RoleSet kHumanRoles = {Role::kBuyer, Role::kSeller, Role::kSupportAgent,
                                 Role::kModerator, Role::kAdmin};
constexpr RoleSet kAllRoleSet = {Role::kBuyer,     Role::kSeller, Role::kSupportAgent,
                                 Role::kModerator, Role::kAdmin,  Role::kService};
constexpr RoleSet kStaff = {Role::kSupportAgent, Role::kModerator, Role::kAdmin};
constexpr RoleSet kAdminOnly = {Role::kAdmin};

MethodRule Public() {
  MethodRule rule;
  rule.is_public = true;
  return rule;
}

MethodRule Rule(RoleSet self, RoleSet any, absl::string_view service_scope = "",
                RoleSet service_target_roles = {}) {
  MethodRule rule;
  rule.self = self;
  rule.any = any;
  rule.service_scope = service_scope;
  rule.service_target_roles = service_target_roles;
  return rule;
}

}  // namespace

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kSignUp: return "SignUp";
    case Method::kLogin: return "Login";
    case Method::kRefreshSession: return "RefreshSession";
    case Method::kLogout: return "Logout";
    case Method::kLogoutAll: return "LogoutAll";
    case Method::kGetAccount: return "GetAccount";
    case Method::kListAccounts: return "ListAccounts";
    case Method::kUpdateProfile: return "UpdateProfile";
    case Method::kChangePassword: return "ChangePassword";
    case Method::kGetSigningKeys: return "GetSigningKeys";
    case Method::kRotateSigningKey: return "RotateSigningKey";
    case Method::kCreateStaffAccount: return "CreateStaffAccount";
    case Method::kCreateServiceAccount: return "CreateServiceAccount";
    case Method::kIssueServiceToken: return "IssueServiceToken";
    case Method::kSubmitSellerApplication: return "SubmitSellerApplication";
    case Method::kReviewSellerApplication: return "ReviewSellerApplication";
    case Method::kGetSellerProfile: return "GetSellerProfile";
    case Method::kSuspendAccount: return "SuspendAccount";
    case Method::kReinstateAccount: return "ReinstateAccount";
    case Method::kIntrospectToken: return "IntrospectToken";
  }
  return "Unknown";
}

bool Principal::HasScope(absl::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

const MethodRule& RuleFor(Method method) {
  // One row a method. The switch has no default: a new method does not compile until it has
  // a row here.
  static const MethodRule kDenyAll;
  static const MethodRule kPublic = Public();
  static const MethodRule kHumanSelf = Rule(kHumanRoles, {});
  static const MethodRule kGetAccount = Rule(kAllRoleSet, kStaff, kScopeAccountsRead);
  static const MethodRule kAdminMethod = Rule({}, kAdminOnly);
  static const MethodRule kSubmit = Rule({Role::kSeller}, {});
  static const MethodRule kReview = Rule({}, {Role::kAdmin, Role::kModerator});
  static const MethodRule kGetSeller = Rule({Role::kSeller}, kStaff, kScopeAccountsRead);
  static const MethodRule kEnforce =
      Rule({}, kAdminOnly, kScopeEnforcement, {Role::kBuyer, Role::kSeller});
  static const MethodRule kIntrospect = Rule({}, kAdminOnly, kScopeIntrospect);
  switch (method) {
    case Method::kSignUp:
    case Method::kLogin:
    case Method::kRefreshSession:
    case Method::kGetSigningKeys:
    case Method::kIssueServiceToken:
      return kPublic;
    case Method::kLogout:
    case Method::kLogoutAll:
    case Method::kUpdateProfile:
    case Method::kChangePassword:
      return kHumanSelf;
    case Method::kGetAccount:
      return kGetAccount;
    case Method::kListAccounts:
    case Method::kRotateSigningKey:
    case Method::kCreateStaffAccount:
    case Method::kCreateServiceAccount:
      return kAdminMethod;
    case Method::kSubmitSellerApplication:
      return kSubmit;
    case Method::kReviewSellerApplication:
      return kReview;
    case Method::kGetSellerProfile:
      return kGetSeller;
    case Method::kSuspendAccount:
    case Method::kReinstateAccount:
      return kEnforce;
    case Method::kIntrospectToken:
      return kIntrospect;
  }
  return kDenyAll;
}

bool MayActOnOthers(Method method, const Principal& caller) {
  const MethodRule& rule = RuleFor(method);
  if (rule.is_public) return true;
  if (!caller.role) return false;
  if (rule.any.Contains(*caller.role)) return true;
  return *caller.role == Role::kService && !rule.service_scope.empty() &&
         caller.HasScope(rule.service_scope);
}

absl::Status Authorize(Method method, const Principal* caller, const Target* target) {
  const MethodRule& rule = RuleFor(method);
  if (rule.is_public) return absl::OkStatus();
  if (caller == nullptr) {
    return common::Unauthenticated(absl::StrCat(MethodName(method), " needs an access token"));
  }
  const auto denied = [&] {
    return common::PermissionDenied(absl::StrCat(
        "role ", caller->role ? RoleName(*caller->role) : "(none)", " may not call ",
        MethodName(method), target != nullptr && target->account_id != caller->account_id
                                ? " on another account"
                                : ""));
  };
  if (!caller->role) return denied();
  const Role role = *caller->role;
  const bool self = target != nullptr && target->account_id == caller->account_id;
  if (self && rule.self.Contains(role)) return absl::OkStatus();
  if (rule.any.Contains(role)) return absl::OkStatus();
  if (role == Role::kService && !rule.service_scope.empty() &&
      caller->HasScope(rule.service_scope)) {
    if (rule.service_target_roles.empty()) return absl::OkStatus();
    if (target != nullptr && target->role && rule.service_target_roles.Contains(*target->role)) {
      return absl::OkStatus();
    }
  }
  return denied();
}

}  // namespace marketplace::identity
