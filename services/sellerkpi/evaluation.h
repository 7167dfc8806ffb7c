#ifndef MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_H_
#define MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/kpi_math.h"
#include "services/sellerkpi/kpi_store.h"
#include "services/sellerkpi/sellerkpi_observer.h"

namespace marketplace::sellerkpi {

// Evaluations: the thresholds in force (read from the database at each pass, so every replica
// follows UpdateThresholds), the platform's mean rating (the prior, re-read hourly), the
// seller's counters, kpi_math's judgement, stored by the store in one transaction per seller.
class Evaluation {
 public:
  // All must outlive the evaluation.
  Evaluation(KpiStore* store, const common::Clock* clock, KpiObserver* observer)
      : store_(store), clock_(clock), observer_(observer) {}

  // One background pass at now: up to `limit` sellers with new events, then those not
  // evaluated yet today (UTC), claimed with SKIP LOCKED.
  absl::StatusOr<EvaluationCounts> RunPass(int limit);

  // Evaluates `seller_ids` (empty: every seller with events) at `as_of`.
  absl::StatusOr<EvaluationCounts> EvaluateSellers(const std::vector<std::string>& seller_ids,
                                                   absl::Time as_of);

  // A seller's figures at `as_of` without storing anything (for a seller never evaluated
  // yet); health as if it had none before.
  absl::StatusOr<pb::SellerScorecard> Preview(const std::string& seller_id, absl::Time as_of);

  // The prior of the rating average (platform mean over the 90 days ending with `last`).
  absl::StatusOr<double> PriorMean(absl::CivilDay last);

 private:
  Judge JudgeAt(const pb::Thresholds& thresholds, absl::Time as_of, double prior) const;

  KpiStore* const store_;
  const common::Clock* const clock_;
  KpiObserver* const observer_;
  absl::Mutex mu_;
  absl::CivilDay prior_day_ ABSL_GUARDED_BY(mu_);
  absl::Time prior_read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double prior_ ABSL_GUARDED_BY(mu_) = kDefaultPlatformMean;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_H_
