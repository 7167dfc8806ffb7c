#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_OBSERVER_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_OBSERVER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace marketplace::identity {

enum class LoginOutcome { kSuccess, kInvalidCredentials, kThrottled, kSuspended, kError };

// "success", "invalid_credentials", "throttled", "suspended", "error": the metric label.
absl::string_view LoginOutcomeLabel(LoginOutcome outcome);

// What the domain reports as it happens, for metrics. The domain only calls; the Prometheus
// implementation lives with the server wiring. Every method may be called from many threads.
class IdentityObserver {
 public:
  virtual ~IdentityObserver() = default;
  virtual void OnLogin(LoginOutcome outcome) = 0;
  // An email reached its longest back-off or its hourly ceiling.
  virtual void OnLockout() = 0;
  virtual void OnRefreshTokenReuse() = 0;
  // Unrevoked, unexpired sessions across all replicas (read from the database).
  virtual void OnActiveSessions(int64_t count) = 0;
};

// Discards everything (tests, tools).
class NoIdentityObserver final : public IdentityObserver {
 public:
  void OnLogin(LoginOutcome) override {}
  void OnLockout() override {}
  void OnRefreshTokenReuse() override {}
  void OnActiveSessions(int64_t) override {}
};

inline absl::string_view LoginOutcomeLabel(LoginOutcome outcome) {
  switch (outcome) {
    case LoginOutcome::kSuccess: return "success";
    case LoginOutcome::kInvalidCredentials: return "invalid_credentials";
    case LoginOutcome::kThrottled: return "throttled";
    case LoginOutcome::kSuspended: return "suspended";
    case LoginOutcome::kError: return "error";
  }
  return "error";
}

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_OBSERVER_H_
