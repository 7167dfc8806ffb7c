#ifndef MARKETPLACE_SERVICES_SELLERKPI_KPI_MATH_H_
#define MARKETPLACE_SERVICES_SELLERKPI_KPI_MATH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// KPIs as pure functions of the seller x day counters: windows, levels, hysteresis, badge.
// README "KPIs and health" is the contract; sellerkpi.proto the field meanings.

// z of a one-sided 95 % bound.
inline constexpr double kOneSidedZ95 = 1.645;
// Weight of the prior in the Bayesian rating average (in ratings).
inline constexpr double kRatingPriorWeight = 10;
// The prior when the platform has no rating in the window.
inline constexpr double kDefaultPlatformMean = 4.5;
// Defaults of 0 fields of Thresholds / KpiThreshold.
inline constexpr int kDefaultMinTrials = 10;
inline constexpr int kDefaultMinRatings = 5;
inline constexpr int kDefaultMinEvents = 3;
inline constexpr double kDefaultRecoveryShare = 0.8;
inline constexpr int kDefaultRecoveryEvaluations = 2;
// The public TOP badge.
inline constexpr double kTopOdrUpperBound = 0.005;
inline constexpr double kTopWithinSla = 0.95;
inline constexpr double kTopRating = 4.8;
// Longest window: the days an evaluation reads.
inline constexpr int kLongestWindowDays = 90;

enum class Direction {
  kBad,    // a higher rate is worse (defects, cancellations, ...)
  kGood,   // a higher rate is better; judged as its complement (invalid tracking, late replies)
  kStars,  // RATING_AVERAGE: a Bayesian average of stars, lower is worse
};

struct KpiSpec {
  pb::Kpi kpi;
  int window_days;
  absl::string_view numerator;    // counter
  absl::string_view denominator;  // counter
  Direction direction;
};

// Every KPI, in Kpi enum order.
const std::vector<KpiSpec>& KpiSpecs();
// nullptr for KPI_UNSPECIFIED or an unknown value.
const KpiSpec* SpecOf(pb::Kpi kpi);

// The window of `days` days ending with `last` (day N in, day N+1 out): [last - days + 1, last].
inline absl::CivilDay WindowStart(absl::CivilDay last, int days) { return last - (days - 1); }

// Counters by day, summed over windows.
class DayCounters {
 public:
  DayCounters() = default;
  explicit DayCounters(const std::vector<CounterRow>& rows);
  void Add(absl::CivilDay day, absl::string_view counter, int64_t n);
  // Sum of `counter` over the `days` days ending with `last`.
  int64_t Sum(absl::string_view counter, absl::CivilDay last, int days) const;

 private:
  std::map<std::string, std::map<absl::CivilDay, int64_t>> by_counter_;
};

// Bayesian average of `count` ratings whose stars sum to `stars`, prior `prior_mean` with
// weight kRatingPriorWeight.
double BayesianRating(int64_t count, int64_t stars, double prior_mean);

// The level of a rate with `events` bad events in `trials` trials (already the complement for
// good-direction KPIs) against bad-direction lines `at_risk` and `critical`: NO_LEVEL under
// `min_trials`; CRITICAL when there are >= `min_events` events and the Wilson lower bound
// (z = 1.645) is above `critical`; AT_RISK when the raw rate is above `at_risk`; else GOOD.
pb::HealthLevel JudgeRate(int64_t events, int64_t trials, double at_risk, double critical,
                          int min_trials, int min_events);

// The figure of one KPI at the end of `last` (a whole UTC day), judged against `line` (null:
// not judged, NO_LEVEL). `prior_mean` serves RATING_AVERAGE.
pb::KpiFigure Figure(const KpiSpec& spec, const DayCounters& counters, absl::CivilDay last,
                     const pb::KpiThreshold* line, double prior_mean);

// The seller's health after hysteresis: worse or equal raw levels apply at once; a better raw
// level replaces AT_RISK or CRITICAL only after `recovery_evaluations` evaluations in a row
// with `under_share` (every KPI under the recovery share of the level's line).
HealthState NextHealth(const HealthState& previous, pb::HealthLevel raw, bool under_share,
                       int recovery_evaluations);

// Whether every judged figure is under `share` of its line for `level` (AT_RISK: at_risk
// lines; CRITICAL: critical lines), measured on the bad side: the rate for bad-direction KPIs,
// 1 - rate for good-direction ones, 5 - stars for the rating. Figures with NO_LEVEL pass.
bool UnderRecoveryShare(const std::vector<pb::KpiFigure>& figures, pb::HealthLevel level,
                        double share);

// The public TOP badge: health GOOD, order defect upper bound <= 0.5 % with enough orders,
// within SLA >= 95 % (or no first response), rating >= 4.8 with >= 5 ratings.
bool TopBadge(const std::vector<pb::KpiFigure>& figures, pb::HealthLevel health);

// Checks thresholds for UpdateThresholds: INVALID_ARGUMENT naming the fields.
absl::Status ValidateThresholds(const pb::Thresholds& thresholds);

// One evaluation of a seller at `as_of` (its day is the windows' last day).
EvaluationResult Evaluate(const std::string& seller_id, const pb::Thresholds& thresholds,
                          const DayCounters& counters, absl::Time as_of, double prior_mean,
                          const HealthState& previous);

// The platform's mean stars from (ratings, stars) totals.
double PlatformMean(int64_t ratings, int64_t stars);

// The daily series of one KPI: for each of the `days` days ending with `last`, its figure at
// that day's end.
std::vector<pb::KpiPoint> History(const KpiSpec& spec, const DayCounters& counters,
                                  absl::CivilDay last, int days, double prior_mean);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_KPI_MATH_H_
