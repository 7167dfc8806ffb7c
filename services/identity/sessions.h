#ifndef MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_
#define MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/identity/identity_events.h"
#include "services/identity/identity_store.h"
#include "services/identity/model.h"
#include "services/identity/password_check.h"
#include "services/identity/permissions.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {

struct SessionTokens {
  IssuedAccessToken access;
  std::string refresh_token;
  absl::Time refresh_expires_at;
  std::string session_id;
};

struct LoginResult {
  SessionTokens tokens;
  Account account;
};

struct ServiceToken {
  IssuedAccessToken access;
  std::vector<std::string> scopes;
};

enum class InactiveReason { kNone, kInvalid, kExpired, kSessionRevoked, kSuspended, kUnknownAccount };

struct Introspection {
  bool active = false;
  InactiveReason inactive_reason = InactiveReason::kNone;
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  std::string token_id;
  std::string session_id;
  absl::Time issued_at;
  absl::Time expires_at;
};

// A used refresh token presented again within this time of its first use is taken for a
// concurrent refresh by the same client (refused, the session kept); later, for a copy (the
// whole session is revoked).
inline constexpr absl::Duration kConcurrentRefreshGrace = absl::Seconds(2);

// Logins, sessions and their tokens: Login, RefreshSession, Logout, LogoutAll,
// IssueServiceToken, IntrospectToken, and the revocation check behind every authenticated
// call to identity.
class Sessions {
 public:
  // Pointers must outlive the object. `verifier` checks identity's own tokens (introspection).
  Sessions(IdentityStore* store, PasswordCheck* passwords, AccessTokenIssuer* issuer,
           common::auth::TokenVerifier* verifier, const common::Clock* clock,
           IdentityEvents* events);

  [[nodiscard]] absl::StatusOr<LoginResult> Login(absl::string_view email,
                                                  absl::string_view password,
                                                  const RequestContext& ctx);

  // Rotates a refresh token (see identity.proto RefreshSession).
  [[nodiscard]] absl::StatusOr<SessionTokens> Refresh(absl::string_view refresh_token,
                                                      const RequestContext& ctx);

  // Revokes the caller's session.
  [[nodiscard]] absl::Status Logout(const RequestContext& ctx);
  // Revokes every session of the caller; returns how many were active.
  [[nodiscard]] absl::StatusOr<int> LogoutAll(const RequestContext& ctx);

  // Client-credentials grant.
  [[nodiscard]] absl::StatusOr<ServiceToken> IssueServiceToken(
      absl::string_view client_id, absl::string_view client_secret,
      const std::vector<std::string>& scopes, const RequestContext& ctx);

  [[nodiscard]] absl::StatusOr<Introspection> Introspect(absl::string_view token,
                                                         const RequestContext& ctx);

  // For every authenticated call to identity: the token's account still exists and is not
  // suspended, and its session (if it has one) is not revoked. UNAUTHENTICATED reason
  // SESSION_REVOKED / ACCOUNT_NOT_FOUND, PERMISSION_DENIED reason ACCOUNT_SUSPENDED.
  [[nodiscard]] absl::Status CheckCallerActive(const Principal& caller);

 private:
  IdentityStore* const store_;
  PasswordCheck* const passwords_;
  AccessTokenIssuer* const issuer_;
  common::auth::TokenVerifier* const verifier_;
  const common::Clock* const clock_;
  IdentityEvents* const events_;
};

// PERMISSION_DENIED reason ACCOUNT_SUSPENDED.
absl::Status AccountSuspendedError();

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_
