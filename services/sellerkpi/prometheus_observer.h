#ifndef MARKETPLACE_SERVICES_SELLERKPI_PROMETHEUS_OBSERVER_H_
#define MARKETPLACE_SERVICES_SELLERKPI_PROMETHEUS_OBSERVER_H_

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/sellerkpi/sellerkpi_observer.h"

namespace marketplace::sellerkpi {

// sellerkpi_events_total{type,result}, sellerkpi_sellers{health},
// sellerkpi_evaluation_pass_seconds, sellerkpi_evaluated_sellers_total,
// sellerkpi_enforcement_actions_total{action,step,result}.
class PrometheusKpiObserver final : public KpiObserver {
 public:
  explicit PrometheusKpiObserver(prometheus::Registry& registry);

  void EventsSeen(absl::string_view type, absl::string_view result, int64_t n) override;
  void EvaluationPass(absl::Duration took, int evaluated) override;
  void SellersByHealth(const std::map<v1::HealthLevel, int64_t>& counts) override;
  void EnforcementStep(absl::string_view action, absl::string_view step,
                       absl::string_view result) override;

 private:
  prometheus::Family<prometheus::Counter>& enforcement_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Gauge>& sellers_;
  prometheus::Histogram& pass_seconds_;
  prometheus::Counter& evaluated_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_PROMETHEUS_OBSERVER_H_
