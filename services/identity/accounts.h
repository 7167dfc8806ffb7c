#ifndef MARKETPLACE_SERVICES_IDENTITY_ACCOUNTS_H_
#define MARKETPLACE_SERVICES_IDENTITY_ACCOUNTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "services/identity/identity_store.h"
#include "services/identity/model.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/permissions.h"

namespace marketplace::identity {

// What a new account is made of (SignUp, CreateStaffAccount).
struct NewAccount {
  std::string email;
  std::string password;
  std::string display_name;
  std::optional<Role> role;  // nullopt: not given
  std::string request_id;
};

struct CreatedServiceAccount {
  Account account;
  // Empty when the request was a repeat: the secret is shown once.
  std::string client_secret;
};

// An account with what the caller may additionally see.
struct AccountView {
  Account account;
  std::optional<ThrottleView> throttle;  // ADMIN callers only
};

struct AccountPage {
  std::vector<AccountView> accounts;
  std::string next_page_token;
};

// ListAccounts page sizes.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 200;

// Accounts: creation (self-service, staff, services, the bootstrap admin), reading, profile
// and password changes, suspension. Each method checks the caller against the permission
// matrix first; anonymous callers only reach SignUp.
class Accounts {
 public:
  // Pointers must outlive the object. `fingerprint_key` (32 bytes, KeyEncryptor::DeriveKey)
  // keys the digest of the password in request fingerprints.
  Accounts(IdentityStore* store, const PasswordPolicy* policy, const PasswordHasher* hasher,
           PasswordCheck* passwords, const common::Clock* clock, std::string fingerprint_key);

  // BUYER or SELLER, by anyone.
  [[nodiscard]] absl::StatusOr<Account> SignUp(const NewAccount& request,
                                               const RequestContext& ctx);
  // SUPPORT_AGENT, MODERATOR or ADMIN, by an ADMIN.
  [[nodiscard]] absl::StatusOr<Account> CreateStaffAccount(const NewAccount& request,
                                                           const RequestContext& ctx);
  [[nodiscard]] absl::StatusOr<CreatedServiceAccount> CreateServiceAccount(
      absl::string_view display_name, const std::vector<std::string>& scopes,
      absl::string_view request_id, const RequestContext& ctx);

  [[nodiscard]] absl::StatusOr<AccountView> Get(absl::string_view account_id,
                                                const RequestContext& ctx);
  // Get of an account already read (the caller's own, read with its revocation check).
  [[nodiscard]] absl::StatusOr<AccountView> GetLoaded(Account account, const RequestContext& ctx);
  // `page_size` 0 means kDefaultPageSize; larger than kMaxPageSize is reduced to it.
  [[nodiscard]] absl::StatusOr<AccountPage> List(const AccountFilter& filter, int page_size,
                                                 absl::string_view page_token,
                                                 const RequestContext& ctx);

  [[nodiscard]] absl::StatusOr<Account> UpdateDisplayName(absl::string_view account_id,
                                                          absl::string_view display_name,
                                                          const RequestContext& ctx);
  // Returns how many other sessions were revoked.
  [[nodiscard]] absl::StatusOr<int> ChangePassword(absl::string_view account_id,
                                                   absl::string_view current_password,
                                                   absl::string_view new_password,
                                                   const RequestContext& ctx);

  [[nodiscard]] absl::StatusOr<Account> Suspend(absl::string_view account_id,
                                                absl::string_view reason_code,
                                                absl::string_view reason,
                                                const RequestContext& ctx);
  [[nodiscard]] absl::StatusOr<Account> Reinstate(absl::string_view account_id,
                                                  absl::string_view reason_code,
                                                  absl::string_view reason,
                                                  const RequestContext& ctx);

  // The first admin, from start-up configuration. Idempotent: when an ADMIN with this email
  // exists nothing changes (its password is not reset). FAILED_PRECONDITION when the email
  // belongs to a non-admin account; INVALID_ARGUMENT when the password breaks the policy.
  [[nodiscard]] absl::Status EnsureBootstrapAdmin(absl::string_view email,
                                                  absl::string_view password);

 private:
  // `role_rule` is the violation to report when request.role is not in `allowed_roles`.
  // `scope` is the request ids' namespace; SignUp (anonymous) has one per email
  // (`scope_per_email`), where an id reused for another request answers EMAIL_TAKEN, as a
  // fresh sign-up with that email would.
  absl::StatusOr<Account> Create(const NewAccount& request, RoleSet allowed_roles,
                                 absl::string_view role_rule, absl::string_view scope,
                                 bool scope_per_email, absl::string_view audit_type,
                                 const RequestContext& ctx);
  // Loads the target of `method` after checking that the caller may act on it; NOT_FOUND only
  // for callers who may act on other accounts.
  absl::StatusOr<Account> LoadAuthorized(Method method, absl::string_view account_id,
                                         const RequestContext& ctx);
  absl::StatusOr<Account> SetSuspension(bool suspend, absl::string_view account_id,
                                        absl::string_view reason_code, absl::string_view reason,
                                        const RequestContext& ctx);

  IdentityStore* const store_;
  const PasswordPolicy* const policy_;
  const PasswordHasher* const hasher_;
  PasswordCheck* const passwords_;
  const common::Clock* const clock_;
  const std::string fingerprint_key_;
};

// Opaque ListAccounts page tokens: the position after the last account and the filter they
// were made for (a token is refused with other filters).
std::string EncodePageToken(const AccountCursor& cursor, const AccountFilter& filter);
[[nodiscard]] absl::StatusOr<AccountCursor> DecodePageToken(absl::string_view token,
                                                            const AccountFilter& filter);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_ACCOUNTS_H_
