#ifndef MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_OBSERVER_H_
#define MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_OBSERVER_H_

#include <cstdint>
#include <map>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"

namespace marketplace::sellerkpi {

// What the domain reports for metrics (README "Metrics"); the Prometheus implementation sits
// beside main. Every method may be called from any thread.
class KpiObserver {
 public:
  virtual ~KpiObserver() = default;
  // `n` events of `type` ("ORDER_PLACED") ended with `result`: recorded, duplicate, conflict,
  // invalid.
  virtual void EventsSeen(absl::string_view type, absl::string_view result, int64_t n) = 0;
  // One evaluation pass and how many sellers it evaluated.
  virtual void EvaluationPass(absl::Duration took, int evaluated) = 0;
  // Sellers by health level, after a pass.
  virtual void SellersByHealth(const std::map<v1::HealthLevel, int64_t>& counts) = 0;
  // One attempt of an enforcement step: `action` the ActionType name, `step` the step name,
  // `result` done or retrying.
  virtual void EnforcementStep(absl::string_view action, absl::string_view step,
                               absl::string_view result) = 0;
};

// Reports nothing.
class NoKpiObserver final : public KpiObserver {
 public:
  void EventsSeen(absl::string_view, absl::string_view, int64_t) override {}
  void EvaluationPass(absl::Duration, int) override {}
  void SellersByHealth(const std::map<v1::HealthLevel, int64_t>&) override {}
  void EnforcementStep(absl::string_view, absl::string_view, absl::string_view) override {}
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_OBSERVER_H_
