#include "services/sellerkpi/prometheus_observer.h"

#include <string>

namespace marketplace::sellerkpi {

PrometheusKpiObserver::PrometheusKpiObserver(prometheus::Registry& registry)
    : enforcement_(prometheus::BuildCounter()
                       .Name("sellerkpi_enforcement_actions_total")
                       .Help("Attempts of enforcement steps, by action type, step and result "
                             "(done, retrying)")
                       .Register(registry)),
      events_(prometheus::BuildCounter()
                  .Name("sellerkpi_events_total")
                  .Help("Seller events seen, by type and result (recorded, duplicate, conflict, "
                        "invalid)")
                  .Register(registry)),
      sellers_(prometheus::BuildGauge()
                   .Name("sellerkpi_sellers")
                   .Help("Sellers by health level after the last evaluation pass")
                   .Register(registry)),
      pass_seconds_(prometheus::BuildHistogram()
                        .Name("sellerkpi_evaluation_pass_seconds")
                        .Help("Duration of one evaluation pass")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{
                                     0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300})),
      evaluated_(prometheus::BuildCounter()
                     .Name("sellerkpi_evaluated_sellers_total")
                     .Help("Seller evaluations stored")
                     .Register(registry)
                     .Add({})) {}

void PrometheusKpiObserver::EventsSeen(absl::string_view type, absl::string_view result,
                                       int64_t n) {
  events_.Add({{"type", std::string(type)}, {"result", std::string(result)}})
      .Increment(static_cast<double>(n));
}

void PrometheusKpiObserver::EnforcementStep(absl::string_view action, absl::string_view step,
                                            absl::string_view result) {
  enforcement_
      .Add({{"action", std::string(action)},
            {"step", std::string(step)},
            {"result", std::string(result)}})
      .Increment();
}

void PrometheusKpiObserver::EvaluationPass(absl::Duration took, int evaluated) {
  pass_seconds_.Observe(absl::ToDoubleSeconds(took));
  evaluated_.Increment(evaluated);
}

void PrometheusKpiObserver::SellersByHealth(const std::map<v1::HealthLevel, int64_t>& counts) {
  for (int level = v1::NO_LEVEL; level <= v1::CRITICAL; ++level) {
    auto it = counts.find(static_cast<v1::HealthLevel>(level));
    sellers_.Add({{"health", v1::HealthLevel_Name(level)}})
        .Set(it == counts.end() ? 0 : static_cast<double>(it->second));
  }
}

}  // namespace marketplace::sellerkpi
