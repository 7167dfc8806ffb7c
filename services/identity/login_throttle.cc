#include "services/identity/login_throttle.h"

#include <algorithm>

#include "common/errors.h"

namespace marketplace::identity {

absl::Status ValidateThrottlePolicy(const ThrottlePolicy& policy) {
  if (policy.free_failures < 0 || policy.free_failures > 100) {
    return common::InvalidField("login_free_failures", "must be in [0, 100]");
  }
  if (policy.base_delay <= absl::ZeroDuration()) {
    return common::InvalidField("login_base_delay", "must be > 0");
  }
  if (policy.max_delay < policy.base_delay) {
    return common::InvalidField("login_max_delay", "must be >= login_base_delay");
  }
  if (policy.max_failures_per_hour < 1 || policy.max_failures_per_hour > 100) {
    return common::InvalidField("login_max_failures_per_hour", "must be in [1, 100]");
  }
  return absl::OkStatus();
}

absl::Duration LoginThrottle::DelayAfter(int consecutive_failures) const {
  const int beyond = consecutive_failures - policy_.free_failures;
  if (beyond <= 0) return absl::ZeroDuration();
  // Doubling stops at the cap long before the shift could overflow.
  absl::Duration delay = policy_.base_delay;
  for (int i = 1; i < beyond && delay < policy_.max_delay; ++i) delay *= 2;
  return std::min(delay, policy_.max_delay);
}

int LoginThrottle::FailuresInLastHour(const ThrottleState& state, absl::Time now) const {
  const absl::Time since = now - absl::Hours(1);
  return static_cast<int>(std::count_if(state.failures_last_hour.begin(),
                                        state.failures_last_hour.end(),
                                        [&](absl::Time t) { return t > since; }));
}

ThrottleDecision LoginThrottle::Decide(const ThrottleState& state, absl::Time now) const {
  ThrottleDecision decision;
  absl::Time next = absl::InfinitePast();
  const absl::Duration delay = DelayAfter(state.consecutive_failures);
  if (delay > absl::ZeroDuration() && state.last_failure != absl::InfinitePast()) {
    next = state.last_failure + delay;
    if (delay >= policy_.max_delay) decision.locked_out = true;
  }
  // The hourly ceiling: the next attempt waits until enough of the last hour's failures have
  // aged out for one more to fit.
  std::vector<absl::Time> recent;
  for (absl::Time t : state.failures_last_hour) {
    if (t > now - absl::Hours(1)) recent.push_back(t);
  }
  std::sort(recent.begin(), recent.end());
  const int count = static_cast<int>(recent.size());
  if (count >= policy_.max_failures_per_hour) {
    next = std::max(next, recent[count - policy_.max_failures_per_hour] + absl::Hours(1));
    decision.locked_out = true;
  }
  if (next > now) {
    decision.allowed = false;
    decision.next_attempt = next;
  } else {
    decision.locked_out = false;
  }
  return decision;
}

bool LoginThrottle::MustWaitForInFlight(const ThrottleState& state, absl::Time now) const {
  if (state.in_flight <= 0) return false;
  ThrottleState worst = state;
  worst.consecutive_failures += state.in_flight;
  worst.last_failure = now;
  for (int i = 0; i < state.in_flight; ++i) worst.failures_last_hour.push_back(now);
  worst.in_flight = 0;
  return !Decide(worst, now).allowed;
}

bool LoginThrottle::FailureStartsLockout(const ThrottleState& state, absl::Time now) const {
  const bool delay_was_max = DelayAfter(state.consecutive_failures) >= policy_.max_delay;
  const bool delay_becomes_max = DelayAfter(state.consecutive_failures + 1) >= policy_.max_delay;
  const int hourly = FailuresInLastHour(state, now);
  const bool hourly_reached = hourly + 1 == policy_.max_failures_per_hour;
  return (delay_becomes_max && !delay_was_max) || hourly_reached;
}

}  // namespace marketplace::identity
