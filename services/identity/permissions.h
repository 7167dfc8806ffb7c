#ifndef MARKETPLACE_SERVICES_IDENTITY_PERMISSIONS_H_
#define MARKETPLACE_SERVICES_IDENTITY_PERMISSIONS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/identity/model.h"

namespace marketplace::identity {

// Scopes of SERVICE accounts that identity itself interprets.
inline constexpr absl::string_view kScopeAccountsRead = "identity.accounts.read";
inline constexpr absl::string_view kScopeEnforcement = "identity.enforcement";
inline constexpr absl::string_view kScopeIntrospect = "identity.tokens.introspect";

// Every method of the Identity API.
enum class Method {
  kSignUp,
  kLogin,
  kRefreshSession,
  kLogout,
  kLogoutAll,
  kGetAccount,
  kListAccounts,
  kUpdateProfile,
  kChangePassword,
  kGetSigningKeys,
  kRotateSigningKey,
  kCreateStaffAccount,
  kCreateServiceAccount,
  kIssueServiceToken,
  kSubmitSellerApplication,
  kReviewSellerApplication,
  kGetSellerProfile,
  kSuspendAccount,
  kReinstateAccount,
  kIntrospectToken,
};

inline constexpr Method kAllMethods[] = {
    Method::kSignUp,          Method::kLogin,
    Method::kRefreshSession,  Method::kLogout,
    Method::kLogoutAll,       Method::kGetAccount,
    Method::kListAccounts,    Method::kUpdateProfile,
    Method::kChangePassword,  Method::kGetSigningKeys,
    Method::kRotateSigningKey, Method::kCreateStaffAccount,
    Method::kCreateServiceAccount, Method::kIssueServiceToken,
    Method::kSubmitSellerApplication, Method::kReviewSellerApplication,
    Method::kGetSellerProfile, Method::kSuspendAccount,
    Method::kReinstateAccount, Method::kIntrospectToken,
};

// "SignUp", "Login", ...: the gRPC method name.
absl::string_view MethodName(Method method);

// Who is calling, as stated by a verified access token.
struct Principal {
  std::string account_id;
  // nullopt when the token names no role this service knows (it then may do nothing).
  std::optional<Role> role;
  std::vector<std::string> scopes;
  // The session the token was issued in; empty for SERVICE tokens.
  std::string session_id;
  std::string token_id;
  // The token's iat (whole seconds). A SERVICE token older than its account's
  // sessions_not_before (its last suspension) is refused even after a reinstatement.
  absl::Time issued_at = absl::InfinitePast();

  bool HasScope(absl::string_view scope) const;
};

// What a domain operation knows about the call it serves.
struct RequestContext {
  // nullopt for anonymous calls (public methods).
  std::optional<Principal> caller;
  // x-request-id of the call, recorded in audit events to join them with logs.
  std::string request_id;

  // The caller's account id, or "" when anonymous.
  const std::string& caller_id() const {
    static const std::string kNone;
    return caller ? caller->account_id : kNone;
  }
};

// A set of roles.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Contains(Role role) const { return (bits_ & Bit(role)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }

 private:
  static constexpr uint32_t Bit(Role role) { return 1u << static_cast<int>(role); }
  uint32_t bits_ = 0;
};

// Who may call a method. Anything not granted here is denied.
struct MethodRule {
  // Callable without a token.
  bool is_public = false;
  // Roles that may act on their own account.
  RoleSet self;
  // Roles that may act on any account (and on methods that concern no account).
  RoleSet any;
  // A SERVICE caller holding this scope may act on any account...
  absl::string_view service_scope;
  // ...whose role is in this set (empty: any role).
  RoleSet service_target_roles;
};

// The explicit permission matrix.
const MethodRule& RuleFor(Method method);

// The account a call concerns, once known.
struct Target {
  std::string account_id;
  std::optional<Role> role;  // nullopt while not loaded, or when the account does not exist
};

// Whether `caller` may call `method` at all on accounts other than its own (for methods that
// concern no account: at all). Lets a handler refuse before looking up the target, so that
// callers without the right cannot learn which accounts exist.
bool MayActOnOthers(Method method, const Principal& caller);

// The full check. `caller` is nullptr for anonymous calls; `target` is nullptr for methods
// that concern no particular account. UNAUTHENTICATED for anonymous calls to non-public
// methods, PERMISSION_DENIED for everything else that is not granted.
[[nodiscard]] absl::Status Authorize(Method method, const Principal* caller,
                                     const Target* target);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_PERMISSIONS_H_
