#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_METRICS_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_METRICS_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/identity/identity_observer.h"

namespace marketplace::identity {

// IdentityObserver as Prometheus metrics:
//   identity_logins_total{result}              logins by LoginOutcomeLabel
//   identity_lockouts_total                    emails that reached a lock-out
//   identity_refresh_token_reuse_total         refresh tokens presented again (theft signals)
//   identity_active_sessions                   unrevoked, unexpired sessions (all replicas)
class PrometheusIdentityObserver final : public IdentityObserver {
 public:
  explicit PrometheusIdentityObserver(prometheus::Registry& registry);

  void OnLogin(LoginOutcome outcome) override;
  void OnLockout() override;
  void OnRefreshTokenReuse() override;
  void OnActiveSessions(int64_t count) override;

 private:
  // One counter per outcome, made up front so every label value is exported from the start.
  absl::flat_hash_map<LoginOutcome, prometheus::Counter*> logins_;
  prometheus::Counter* lockouts_;
  prometheus::Counter* reuse_;
  prometheus::Gauge* active_sessions_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_METRICS_H_
