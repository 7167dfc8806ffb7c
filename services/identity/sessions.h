#ifndef MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_
#define MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/identity/identity_observer.h"
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

enum class InactiveReason {
  kNone,
  kInvalid,
  kExpired,
  kSessionRevoked,
  kSuspended,
  kUnknownAccount,
  kTokenRevoked  // a SERVICE token issued before its account's last suspension
};

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

struct SessionsOptions {
  // How long this replica reuses a positive CheckCallerActive answer (account present and not
  // suspended, session not revoked) before reading the database again. Zero: every check reads
  // it. Revocations made through this replica (ForgetCaller, Logout, LogoutAll, refresh-token
  // reuse) take effect on it at once; made through another replica, within this time.
  absl::Duration caller_check_ttl = absl::ZeroDuration();
  // Most (account, session) answers remembered; when full, all are forgotten at once.
  size_t caller_check_capacity = 100000;
};

// Logins, sessions and their tokens: Login, RefreshSession, Logout, LogoutAll,
// IssueServiceToken, IntrospectToken, and the revocation check behind every authenticated
// call to identity.
class Sessions {
 public:
  // Pointers must outlive the object. `verifier` checks identity's own tokens (introspection).
  Sessions(IdentityStore* store, PasswordCheck* passwords, AccessTokenIssuer* issuer,
           common::auth::TokenVerifier* verifier, const common::Clock* clock,
           IdentityObserver* observer, SessionsOptions options = {});

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
  // Within SessionsOptions::caller_check_ttl of a positive answer for the same account and
  // session, answers from memory.
  [[nodiscard]] absl::Status CheckCallerActive(const Principal& caller);

  // CheckCallerActive and the caller's account from the same single read (for a caller
  // reading its own account). Within SessionsOptions::caller_check_ttl of such a read for the
  // same account and session, answers from memory: the account as it was then.
  [[nodiscard]] absl::StatusOr<Account> LoadActiveCaller(const Principal& caller);

  // Drops the remembered answers of `account_id`'s calls and its remembered account, so that
  // the next check on this replica reads the database: after a suspension or reinstatement, a
  // password or profile change, a logout.
  void ForgetCaller(absl::string_view account_id);

 private:
  // The answer to CheckCallerActive for `state`.
  static absl::Status CallerStatus(const Principal& caller, const CallerState& state);
  bool RecentlyActive(const Principal& caller) const;
  // The account remembered with a positive answer for `caller`, while RecentlyActive.
  std::optional<Account> RecentAccount(const Principal& caller) const;
  // Remembers a positive answer read after `generation` unless a ForgetCaller came since.
  void RememberActive(const Principal& caller, uint64_t generation,
                      const Account* account = nullptr);
  uint64_t CacheGeneration() const;

  IdentityStore* const store_;
  PasswordCheck* const passwords_;
  AccessTokenIssuer* const issuer_;
  common::auth::TokenVerifier* const verifier_;
  const common::Clock* const clock_;
  IdentityObserver* const observer_;
  const SessionsOptions options_;

  // account id -> session id (for a SERVICE token, "token <jti>") -> when last found active.
  mutable absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, absl::Time>> active_callers_
      ABSL_GUARDED_BY(cache_mu_);
  size_t active_entries_ ABSL_GUARDED_BY(cache_mu_) = 0;
  // account id -> the caller's account as LoadActiveCaller last read it, with the time of that
  // read: reused while that read (not a later CheckCallerActive) is within caller_check_ttl.
  struct RecentAccountCopy {
    Account account;
    absl::Time read_at;
  };
  absl::flat_hash_map<std::string, RecentAccountCopy> recent_accounts_ ABSL_GUARDED_BY(cache_mu_);
  // Counts ForgetCaller calls: an answer read before one of them is not remembered.
  uint64_t generation_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_SESSIONS_H_
