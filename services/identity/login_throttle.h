#ifndef MARKETPLACE_SERVICES_IDENTITY_LOGIN_THROTTLE_H_
#define MARKETPLACE_SERVICES_IDENTITY_LOGIN_THROTTLE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace marketplace::identity {

// How failed logins slow down guessing. Throttling is per email (the lookup key), whatever the
// source address, so a botnet gains nothing from many addresses; and it applies equally to
// emails that have no account, so the throttle never reveals which emails are registered.
struct ThrottlePolicy {
  // Consecutive failures allowed without any wait: typos should not punish anyone.
  int free_failures = 5;
  // The wait after the first failure beyond the free ones; it doubles with each further one.
  absl::Duration base_delay = absl::Seconds(1);
  // The longest wait. Reaching it is a lock-out.
  absl::Duration max_delay = absl::Minutes(15);
  // A hard ceiling in any rolling hour, counted independently of successes, so that a user who
  // logs in now and then cannot reset an attacker's budget.
  int max_failures_per_hour = 100;
};

// INVALID_ARGUMENT when the policy cannot work (negative counts, max below base, ...).
[[nodiscard]] absl::Status ValidateThrottlePolicy(const ThrottlePolicy& policy);

// What is known about recent attempts for one email.
struct ThrottleState {
  // Completed failures since the last successful login.
  int consecutive_failures = 0;
  // When the most recent failure was recorded.
  absl::Time last_failure = absl::InfinitePast();
  // Times of the completed failures of the last hour, oldest first.
  std::vector<absl::Time> failures_last_hour;
  // Attempts being evaluated now (password check in progress): not failures (yet).
  int in_flight = 0;
};

// The verdict on an attempt.
struct ThrottleDecision {
  bool allowed = true;
  // When the next attempt will be evaluated; InfinitePast when one may be made now.
  absl::Time next_attempt = absl::InfinitePast();
  bool locked_out = false;
};

// The decisions of the policy; pure, so it is tested without a database or a clock.
class LoginThrottle {
 public:
  explicit LoginThrottle(ThrottlePolicy policy) : policy_(policy) {}

  // The wait imposed after `consecutive_failures` consecutive failures.
  absl::Duration DelayAfter(int consecutive_failures) const;

  // Whether an attempt may be evaluated at `now`, given `state`.
  ThrottleDecision Decide(const ThrottleState& state, absl::Time now) const;

  // True when the attempt may not start yet because of the attempts in flight: allowed on
  // the completed failures in `state`, but not if every attempt in flight ended as a failure.
  // It waits for them to finish rather than being refused: only completed failures count,
  // and yet no number of concurrent guesses gets more evaluations than the throttle allows.
  bool MustWaitForInFlight(const ThrottleState& state, absl::Time now) const;

  // True when recording one more failure on top of `state` starts a lock-out (the wait reaches
  // its maximum for the first time, or the hourly ceiling is reached), for the lock-out metric
  // and audit event.
  bool FailureStartsLockout(const ThrottleState& state, absl::Time now) const;

  const ThrottlePolicy& policy() const { return policy_; }

 private:
  int FailuresInLastHour(const ThrottleState& state, absl::Time now) const;

  ThrottlePolicy policy_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_LOGIN_THROTTLE_H_
