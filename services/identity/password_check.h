#ifndef MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_
#define MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/identity/identity_observer.h"
#include "services/identity/identity_store.h"
#include "services/identity/login_throttle.h"
#include "services/identity/model.h"
#include "services/identity/password_hasher.h"
#include "services/identity/permissions.h"

namespace marketplace::identity {

// The throttle state of one email, as admins see it.
struct ThrottleView {
  int consecutive_failures = 0;
  int failures_last_hour = 0;
  std::optional<absl::Time> next_attempt;
  bool locked_out = false;
};

// Checks an email and password under the login throttle. Shared by Login and ChangePassword,
// so that a stolen access token does not turn ChangePassword into an unthrottled oracle.
//
// Only completed failures count. An attempt is recorded as pending while its password is
// checked; an attempt that the throttle would allow on the completed failures, but not if
// every attempt in flight failed, waits for them (up to kMaxInFlightWait) instead of being
// refused: concurrent logins with the right password all pass, and concurrent guesses get no
// more evaluations than sequential ones.
//
// An unknown email costs what a wrong password costs (same queries, a dummy Argon2id
// verification, the same audit write), and is throttled the same way, so neither the answer,
// nor its timing, nor the throttle reveal whether an account exists.
class PasswordCheck {
 public:
  // Runs in the transaction that accepts the right password, after the account was read again
  // under its row lock (`current`): what it writes commits only with that decision.
  using OnVerified = std::function<absl::Status(IdentityTransaction& tx, const Account& current)>;

  // Longest wait for the attempts in flight; then RESOURCE_EXHAUSTED LOGIN_THROTTLED.
  static constexpr absl::Duration kMaxInFlightWait = absl::Seconds(10);

  // Pointers must outlive the check.
  PasswordCheck(IdentityStore* store, const PasswordHasher* hasher, LoginThrottle throttle,
                const common::Clock* clock, IdentityObserver* observer);

  // The account (as re-read under its lock) when `password` is right and the account may
  // use it. UNAUTHENTICATED reason INVALID_CREDENTIALS for an unknown email or a wrong
  // password (a completed failure), or a password changed while it was checked (not counted);
  // RESOURCE_EXHAUSTED reason LOGIN_THROTTLED (with google.rpc.RetryInfo) while the email is
  // throttled; PERMISSION_DENIED reason ACCOUNT_SUSPENDED for the right password of a
  // suspended account, counted as a failure like a wrong one; UNAUTHENTICATED reason
  // SESSION_REVOKED when a suspension or LogoutAll committed while the password was checked.
  // Upgrades the stored hash when its Argon2id parameters are older than the current ones.
  [[nodiscard]] absl::StatusOr<Account> Verify(absl::string_view email_key,
                                               absl::string_view password,
                                               const RequestContext& ctx,
                                               const OnVerified& on_verified = nullptr);

  // The throttle state of `email_key` now.
  [[nodiscard]] absl::StatusOr<ThrottleView> Inspect(absl::string_view email_key);

  const LoginThrottle& throttle() const { return throttle_; }

 private:
  IdentityStore* const store_;
  const PasswordHasher* const hasher_;
  const LoginThrottle throttle_;
  const common::Clock* const clock_;
  IdentityObserver* const observer_;
};

// PERMISSION_DENIED reason ACCOUNT_SUSPENDED.
absl::Status AccountSuspendedError();
// UNAUTHENTICATED SESSION_REVOKED: the caller's token belongs to a session that was ended.
absl::Status SessionRevokedError();

// The key the throttle tables use for an email: its SHA-256, so that the emails of people
// who have no account (typos, attackers' lists) are never stored.
std::string ThrottleKey(absl::string_view email_key);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_
