#ifndef MARKETPLACE_SERVICES_IDENTITY_MODEL_H_
#define MARKETPLACE_SERVICES_IDENTITY_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// The words of the identity domain, as plain values shared by the domain classes and the
// store. No behaviour beyond names.

namespace marketplace::identity {

enum class Role { kBuyer, kSeller, kSupportAgent, kModerator, kAdmin, kService };

inline constexpr Role kAllRoles[] = {Role::kBuyer,     Role::kSeller, Role::kSupportAgent,
                                     Role::kModerator, Role::kAdmin,  Role::kService};

// "BUYER", "SELLER", "SUPPORT_AGENT", "MODERATOR", "ADMIN", "SERVICE": the names access
// tokens carry in their `roles` claim and the database stores.
absl::string_view RoleName(Role role);
std::optional<Role> RoleFromName(absl::string_view name);
bool IsStaffRole(Role role);

enum class AccountStatus { kActive, kSuspended };
absl::string_view AccountStatusName(AccountStatus status);
std::optional<AccountStatus> AccountStatusFromName(absl::string_view name);

struct Suspension {
  std::string reason_code;
  std::string reason;
  std::string suspended_by;  // account id of the actor
  absl::Time suspended_at;
};

struct Account {
  std::string id;
  std::string email;      // normalised for display; empty for SERVICE accounts
  std::string email_key;  // lower-cased, unique; empty for SERVICE accounts
  std::string display_name;
  Role role = Role::kBuyer;
  AccountStatus status = AccountStatus::kActive;
  std::string password_hash;        // Argon2id encoded hash; empty for SERVICE accounts
  std::string client_secret_hash;   // SHA-256 of the client secret; SERVICE accounts only
  std::vector<std::string> scopes;  // SERVICE accounts only
  std::optional<Suspension> suspension;
  // Raised by SuspendAccount and LogoutAll when they revoke the account's sessions: a login
  // that read another value before its password check creates no session.
  std::optional<absl::Time> sessions_not_before;
  absl::Time created_at;
  absl::Time updated_at;
};

struct AccountFilter {
  std::optional<Role> role;
  std::optional<AccountStatus> status;
};

// Position after the last account of a page (accounts are listed by creation, then id).
struct AccountCursor {
  absl::Time created_at;
  std::string id;
};

// A login and everything refreshed from it (the "family" of its refresh tokens).
struct Session {
  std::string id;
  std::string account_id;
  absl::Time created_at;
  absl::Time expires_at;  // the refresh lifetime counts from the login, not from each refresh
  std::optional<absl::Time> revoked_at;
  std::string revoke_reason;  // LOGOUT, LOGOUT_ALL, PASSWORD_CHANGED, REFRESH_TOKEN_REUSED, ...
};

struct RefreshTokenRecord {
  std::string token_hash;  // SHA-256 of the token; the token itself is never stored
  std::string session_id;
  absl::Time created_at;
  absl::Time expires_at;
  std::optional<absl::Time> used_at;
};

// What a caller's access token is worth right now, beyond its signature.
struct CallerState {
  bool account_exists = false;
  AccountStatus status = AccountStatus::kActive;
  bool session_exists = false;
  bool session_revoked = false;
  // The account's sessions_not_before (raised by a suspension or LogoutAll).
  std::optional<absl::Time> sessions_not_before;
};

// A CallerState with the caller's account (set when the account exists).
struct CallerAccount {
  CallerState state;
  std::optional<Account> account;
};

enum class SellerStatus { kNotSubmitted, kPending, kApproved, kRejected };
absl::string_view SellerStatusName(SellerStatus status);
std::optional<SellerStatus> SellerStatusFromName(absl::string_view name);

struct SellerApplication {
  std::string legal_name;
  std::string registration_number;
  std::string country_code;
  std::string payout_account_ref;
  std::string contact_email;
  std::string contact_phone;
};

enum class SellerDecisionKind {
  kApplicationApproved,
  kApplicationRejected,
  kAccountSuspended,
  kAccountReinstated
};
absl::string_view SellerDecisionKindName(SellerDecisionKind kind);
std::optional<SellerDecisionKind> SellerDecisionKindFromName(absl::string_view name);

struct SellerDecision {
  SellerDecisionKind kind = SellerDecisionKind::kApplicationApproved;
  std::string reason_code;
  std::string reason;
  std::string decided_by;  // account id
  absl::Time decided_at;
};

struct SellerProfile {
  std::string account_id;
  SellerStatus status = SellerStatus::kNotSubmitted;
  std::optional<SellerApplication> application;
  std::optional<absl::Time> submitted_at;
  std::vector<SellerDecision> decisions;  // oldest first
};

// A signing key's place in its life: published ahead of use (so that every verifier knows it
// before the first token it signs), signing, then published only until its tokens expire.
enum class SigningKeyState { kNext, kActive, kRetired };
absl::string_view SigningKeyStateName(SigningKeyState state);
std::optional<SigningKeyState> SigningKeyStateFromName(absl::string_view name);

// A token signing key as stored: the private key only in encrypted form.
struct StoredSigningKey {
  std::string kid;
  std::string alg;                    // "EdDSA"
  std::string public_key;             // raw 32 bytes
  std::string encrypted_private_key;  // see KeyEncryptor
  std::string kek_id;                 // which key-encryption key sealed it
  SigningKeyState state = SigningKeyState::kNext;
  absl::Time created_at;
  std::optional<absl::Time> activated_at;
  std::optional<absl::Time> retired_at;
  std::optional<absl::Time> expires_at;  // retired keys: when it stops being published
};

// An idempotency key and what its first request made.
struct IdempotencyRecord {
  std::string scope;        // method and, for authenticated calls, the caller's id
  std::string request_id;   // the client's key
  std::string fingerprint;  // SHA-256 over the request fields that define "the same request"
  std::string resource_id;  // what the first request created
  absl::Time created_at;
};

// One line of the audit log. `detail` is a JSON object and never holds a secret.
struct AuditEvent {
  std::string type;        // SIGN_UP, LOGIN_SUCCEEDED, LOGIN_FAILED, LOCKED_OUT, ...
  std::string actor_id;    // who did it; empty for anonymous calls
  std::string account_id;  // whom it concerns; empty when nobody in particular
  std::string detail;      // JSON object
  std::string request_id;  // x-request-id of the call, to join with logs
  absl::Time occurred_at;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_MODEL_H_
