#ifndef MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_
#define MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_

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
// Each attempt is counted as a failure before the password is even looked at, and taken back
// when it succeeds. That way concurrent attempts cannot slip past the throttle together: the
// ceiling holds however many arrive at once.
//
// An unknown email costs what a wrong password costs (same queries, a dummy Argon2id
// verification, the same audit write), and is throttled the same way, so neither the answer,
// nor its timing, nor the throttle reveal whether an account exists.
class PasswordCheck {
 public:
  // Pointers must outlive the check.
  PasswordCheck(IdentityStore* store, const PasswordHasher* hasher, LoginThrottle throttle,
                const common::Clock* clock, IdentityObserver* observer);

  // The account when `password` is right. UNAUTHENTICATED reason INVALID_CREDENTIALS for an
  // unknown email or a wrong password; RESOURCE_EXHAUSTED reason LOGIN_THROTTLED (with
  // google.rpc.RetryInfo) while the email is throttled. A correct password for a suspended
  // account is returned as the account: what that means is the caller's business. Upgrades the
  // stored hash when its Argon2id parameters are older than the current ones.
  [[nodiscard]] absl::StatusOr<Account> Verify(absl::string_view email_key,
                                               absl::string_view password,
                                               const RequestContext& ctx);

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

// The key the throttle tables use for an email: its SHA-256, so that the emails of people
// who have no account (typos, attackers' lists) are never stored.
std::string ThrottleKey(absl::string_view email_key);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_PASSWORD_CHECK_H_
