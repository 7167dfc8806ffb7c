#include "services/identity/identity_metrics.h"

#include <string>

namespace marketplace::identity {

PrometheusIdentityObserver::PrometheusIdentityObserver(prometheus::Registry& registry) {
  auto& logins = prometheus::BuildCounter()
                     .Name("identity_logins_total")
                     .Help("Login attempts by result.")
                     .Register(registry);
  for (LoginOutcome outcome :
       {LoginOutcome::kSuccess, LoginOutcome::kInvalidCredentials, LoginOutcome::kThrottled,
        LoginOutcome::kSuspended, LoginOutcome::kError}) {
    logins_[outcome] = &logins.Add({{"result", std::string(LoginOutcomeLabel(outcome))}});
  }
  lockouts_ = &prometheus::BuildCounter()
                   .Name("identity_lockouts_total")
                   .Help(
                       "Emails whose failed logins reached the longest back-off or the hourly "
                       "ceiling.")
                   .Register(registry)
                   .Add({});
  reuse_ = &prometheus::BuildCounter()
                .Name("identity_refresh_token_reuse_total")
                .Help(
                    "Refresh tokens presented after they were used (the session family was "
                    "revoked).")
                .Register(registry)
                .Add({});
  active_sessions_ = &prometheus::BuildGauge()
                          .Name("identity_active_sessions")
                          .Help("Unrevoked, unexpired sessions, as last read from the database.")
                          .Register(registry)
                          .Add({});
}

void PrometheusIdentityObserver::OnLogin(LoginOutcome outcome) {
  auto it = logins_.find(outcome);
  if (it == logins_.end()) it = logins_.find(LoginOutcome::kError);
  it->second->Increment();
}

void PrometheusIdentityObserver::OnLockout() { lockouts_->Increment(); }

void PrometheusIdentityObserver::OnRefreshTokenReuse() { reuse_->Increment(); }

void PrometheusIdentityObserver::OnActiveSessions(int64_t count) {
  active_sessions_->Set(static_cast<double>(count));
}

}  // namespace marketplace::identity
