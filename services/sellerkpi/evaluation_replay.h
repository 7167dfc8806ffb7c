#ifndef MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_REPLAY_H_
#define MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// The stored evaluations judged again from the log (README "Replay").
struct EvaluationReplayReport {
  int64_t evaluations = 0;  // stored evaluations replayed
  int64_t events_read = 0;  // log events of their sellers
  // Sellers with at least one evaluation whose replay differs (health, top badge, a figure's
  // numerator or denominator, or a thresholds version that is not stored), or whose health in
  // force (seller_health: health and recovery streak) differs from its last one's replay.
  int health_differences = 0;
  // Up to max_examples, "seller/as_of: stored AT_RISK, replay GOOD",
  // "seller/as_of: stored top_badge true, replay false",
  // "seller/as_of/ORDER_DEFECT_RATE: stored 3/40, replay 2/40",
  // "seller: in force GOOD streak 0, replay AT_RISK streak 0".
  std::vector<std::string> examples;
};

// Replays every stored evaluation of `seller_ids` (empty: every seller with one), each
// seller's in the order they were made: the counters the log gives at its evaluated_at
// (KpiStore::ReplayStoredEvaluations), the thresholds version it stored, the platform mean it
// used (StoredPrior) and, for the hysteresis, the replayed result of the seller's previous
// evaluation (the first one starts from NO_LEVEL, streak 0), through the same Evaluate as the
// evaluator. Nothing is written.
absl::StatusOr<EvaluationReplayReport> ReplayEvaluations(KpiStore& store,
                                                         const std::vector<std::string>& seller_ids,
                                                         int max_examples);

// The platform mean rating (the prior of RATING_AVERAGE) an evaluation used: its scorecard's
// platform_mean_rating; for a scorecard stored before that field existed, derived from its
// RATING_AVERAGE figure, or kDefaultPlatformMean when the figure has no rating (the prior then
// changes nothing).
double StoredPrior(const pb::SellerScorecard& scorecard);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_EVALUATION_REPLAY_H_
