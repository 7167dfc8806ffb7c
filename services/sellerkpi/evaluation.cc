#include "services/sellerkpi/evaluation.h"

#include "common/status_macros.h"

namespace marketplace::sellerkpi {
namespace {

absl::CivilDay LastDay(absl::Time as_of) { return absl::ToCivilDay(as_of, absl::UTCTimeZone()); }

}  // namespace

absl::StatusOr<double> Evaluation::PriorMean(absl::CivilDay last) {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (prior_day_ == last && now - prior_read_at_ < absl::Hours(1)) return prior_;
  }
  ASSIGN_OR_RETURN(auto totals,
                   store_->PlatformRatings(WindowStart(last, kLongestWindowDays), last));
  const double mean = PlatformMean(totals.first, totals.second);
  absl::MutexLock lock(&mu_);
  prior_day_ = last;
  prior_read_at_ = now;
  prior_ = mean;
  return mean;
}

Judge Evaluation::JudgeAt(const pb::Thresholds& thresholds, absl::Time as_of,
                          double prior) const {
  return [thresholds, as_of, prior](const SellerSnapshot& s) -> absl::StatusOr<EvaluationResult> {
    EvaluationResult result =
        Evaluate(s.seller_id, thresholds, DayCounters(s.counters), as_of, prior, s.previous);
    result.improvement_days = thresholds.improvement_days();
    result.critical_evaluations_to_suspend = thresholds.critical_evaluations_to_suspend();
    result.hold_days_at_risk = thresholds.hold_days_at_risk();
    result.hold_days_good = thresholds.hold_days_good();
    result.hold_days_top = thresholds.hold_days_top();
    return result;
  };
}

absl::StatusOr<EvaluationCounts> Evaluation::RunPass(int limit) {
  const absl::Time start = clock_->Now();
  const absl::CivilDay last = LastDay(start);
  ASSIGN_OR_RETURN(pb::Thresholds thresholds, store_->CurrentThresholds());
  ASSIGN_OR_RETURN(double prior, PriorMean(last));
  const absl::Time start_of_day = absl::FromCivil(last, absl::UTCTimeZone());
  ASSIGN_OR_RETURN(EvaluationCounts counts,
                   store_->EvaluateQueued(limit, start_of_day,
                                          WindowStart(last, kLongestWindowDays), last,
                                          JudgeAt(thresholds, start, prior)));
  observer_->EvaluationPass(clock_->Now() - start, counts.evaluated);
  if (counts.changed > 0 || counts.evaluated > 0) {
    if (auto by_health = store_->CountByHealth(); by_health.ok()) {
      observer_->SellersByHealth(*by_health);
    }
  }
  return counts;
}

absl::StatusOr<EvaluationCounts> Evaluation::EvaluateSellers(
    const std::vector<std::string>& seller_ids, absl::Time as_of) {
  const absl::Time start = clock_->Now();
  const absl::CivilDay last = LastDay(as_of);
  ASSIGN_OR_RETURN(pb::Thresholds thresholds, store_->CurrentThresholds());
  ASSIGN_OR_RETURN(double prior, PriorMean(last));
  std::vector<std::string> ids = seller_ids;
  if (ids.empty()) {
    ASSIGN_OR_RETURN(ids, store_->AllSellers());
  }
  ASSIGN_OR_RETURN(EvaluationCounts counts,
                   store_->EvaluateSellers(ids, WindowStart(last, kLongestWindowDays), last,
                                           JudgeAt(thresholds, as_of, prior)));
  observer_->EvaluationPass(clock_->Now() - start, counts.evaluated);
  if (auto by_health = store_->CountByHealth(); by_health.ok()) {
    observer_->SellersByHealth(*by_health);
  }
  return counts;
}

absl::StatusOr<pb::SellerScorecard> Evaluation::Preview(const std::string& seller_id,
                                                        absl::Time as_of) {
  const absl::CivilDay last = LastDay(as_of);
  ASSIGN_OR_RETURN(pb::Thresholds thresholds, store_->CurrentThresholds());
  ASSIGN_OR_RETURN(double prior, PriorMean(last));
  ASSIGN_OR_RETURN(std::vector<CounterRow> rows,
                   store_->ReadCounters(seller_id, WindowStart(last, kLongestWindowDays), last));
  return Evaluate(seller_id, thresholds, DayCounters(rows), as_of, prior, HealthState{})
      .scorecard;
}

}  // namespace marketplace::sellerkpi
