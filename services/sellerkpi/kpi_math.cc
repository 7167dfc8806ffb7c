#include "services/sellerkpi/kpi_math.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "common/stats/wilson.h"
#include "services/sellerkpi/counters.h"
#include "services/sellerkpi/enforcement_policy.h"

namespace marketplace::sellerkpi {
namespace {

int OrDefault(int value, int fallback) { return value > 0 ? value : fallback; }

// The bad side of a figure against a line, in one scale: bigger is worse.
double BadSide(Direction d, double value) {
  switch (d) {
    case Direction::kBad: return value;
    case Direction::kGood: return 1 - value;
    case Direction::kStars: return 5 - value;
  }
  return value;
}

const pb::KpiThreshold* LineOf(const pb::Thresholds& t, pb::Kpi kpi) {
  for (const pb::KpiThreshold& line : t.lines()) {
    if (line.kpi() == kpi) return &line;
  }
  return nullptr;
}

}  // namespace

const std::vector<KpiSpec>& KpiSpecs() {
  static const auto* specs = new std::vector<KpiSpec>{
      {pb::ORDER_DEFECT_RATE, 60, counters::kOdrDefects, counters::kOrders, Direction::kBad},
      {pb::INCIDENT_RATE, 30, counters::kIncidents, counters::kOrders, Direction::kBad},
      {pb::DISPUTE_RATE, 90, counters::kDisputedOrders, counters::kOrders, Direction::kBad},
      {pb::DISPUTE_LOSS_RATE, 90, counters::kDisputesLost, counters::kDisputesResolved,
       Direction::kBad},
      {pb::CANCELLATION_RATE, 30, counters::kSellerCancellations, counters::kOrders,
       Direction::kBad},
      {pb::LATE_SHIPMENT_RATE, 30, counters::kLateShipments, counters::kShipments,
       Direction::kBad},
      {pb::VALID_TRACKING_RATE, 30, counters::kValidTracking, counters::kShipments,
       Direction::kGood},
      {pb::WITHIN_SLA_RATE, 30, counters::kFirstResponsesWithin, counters::kFirstResponses,
       Direction::kGood},
      {pb::RATING_AVERAGE, 90, counters::kRatingStars, counters::kRatings, Direction::kStars},
      {pb::LISTING_REJECTION_RATE, 30, counters::kListingRejections, counters::kListingReviews,
       Direction::kBad},
  };
  return *specs;
}

const KpiSpec* SpecOf(pb::Kpi kpi) {
  for (const KpiSpec& spec : KpiSpecs()) {
    if (spec.kpi == kpi) return &spec;
  }
  return nullptr;
}

DayCounters::DayCounters(const std::vector<CounterRow>& rows) {
  for (const CounterRow& row : rows) Add(row.day, row.counter, row.n);
}

void DayCounters::Add(absl::CivilDay day, absl::string_view counter, int64_t n) {
  by_counter_[std::string(counter)][day] += n;
}

int64_t DayCounters::Sum(absl::string_view counter, absl::CivilDay last, int days) const {
  auto it = by_counter_.find(std::string(counter));
  if (it == by_counter_.end()) return 0;
  int64_t sum = 0;
  for (auto d = it->second.lower_bound(WindowStart(last, days));
       d != it->second.end() && d->first <= last; ++d) {
    sum += d->second;
  }
  return sum;
}

double BayesianRating(int64_t count, int64_t stars, double prior_mean) {
  return (kRatingPriorWeight * prior_mean + static_cast<double>(stars)) /
         (kRatingPriorWeight + static_cast<double>(count));
}

double PlatformMean(int64_t ratings, int64_t stars) {
  if (ratings <= 0) return kDefaultPlatformMean;
  return static_cast<double>(stars) / static_cast<double>(ratings);
}

pb::HealthLevel JudgeRate(int64_t events, int64_t trials, double at_risk, double critical,
                          int min_trials, int min_events) {
  if (trials < min_trials || trials <= 0) return pb::NO_LEVEL;
  if (events >= min_events &&
      common::WilsonLowerBound(events, trials, kOneSidedZ95) > critical) {
    return pb::CRITICAL;
  }
  if (static_cast<double>(events) / static_cast<double>(trials) > at_risk) return pb::AT_RISK;
  return pb::GOOD;
}

pb::KpiFigure Figure(const KpiSpec& spec, const DayCounters& counters, absl::CivilDay last,
                     const pb::KpiThreshold* line, double prior_mean) {
  pb::KpiFigure f;
  f.set_kpi(spec.kpi);
  f.set_window_days(spec.window_days);
  const int64_t num = counters.Sum(spec.numerator, last, spec.window_days);
  const int64_t den = counters.Sum(spec.denominator, last, spec.window_days);
  f.set_numerator(num);
  f.set_denominator(den);
  if (line != nullptr) *f.mutable_line() = *line;
  if (spec.direction == Direction::kStars) {
    f.set_value(den > 0 ? BayesianRating(den, num, prior_mean) : 0);
    if (line == nullptr || den < OrDefault(line->min_trials(), kDefaultMinRatings)) {
      f.set_level(pb::NO_LEVEL);
    } else if (f.value() < line->critical()) {
      f.set_level(pb::CRITICAL);
    } else if (f.value() < line->at_risk()) {
      f.set_level(pb::AT_RISK);
    } else {
      f.set_level(pb::GOOD);
    }
    return f;
  }
  f.set_value(den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0);
  f.set_lower_bound(den > 0 ? common::WilsonLowerBound(num, den, kOneSidedZ95) : 0);
  f.set_upper_bound(den > 0 ? common::WilsonUpperBound(num, den, kOneSidedZ95) : 0);
  if (spec.kpi == pb::WITHIN_SLA_RATE && den > 0) {
    f.set_average_seconds(
        static_cast<double>(counters.Sum(counters::kFirstResponseSeconds, last,
                                         spec.window_days)) /
        static_cast<double>(den));
  }
  if (line == nullptr) {
    f.set_level(pb::NO_LEVEL);
    return f;
  }
  const int min_trials = OrDefault(line->min_trials(), kDefaultMinTrials);
  const int min_events = OrDefault(line->min_events(), kDefaultMinEvents);
  if (spec.direction == Direction::kGood) {
    f.set_level(JudgeRate(den - num, den, 1 - line->at_risk(), 1 - line->critical(), min_trials,
                          min_events));
  } else {
    f.set_level(JudgeRate(num, den, line->at_risk(), line->critical(), min_trials, min_events));
  }
  return f;
}

HealthState NextHealth(const HealthState& previous, pb::HealthLevel raw, bool under_share,
                       int recovery_evaluations) {
  if (raw >= previous.health || previous.health <= pb::GOOD) return {raw, 0};
  // Better than the level in force: only after enough evaluations in a row under the share.
  if (!under_share) return {previous.health, 0};
  const int streak = previous.recovery_streak + 1;
  if (streak >= recovery_evaluations) return {raw, 0};
  return {previous.health, streak};
}

bool UnderRecoveryShare(const std::vector<pb::KpiFigure>& figures, pb::HealthLevel level,
                        double share) {
  for (const pb::KpiFigure& f : figures) {
    if (!f.has_line() || f.level() == pb::NO_LEVEL) continue;
    const KpiSpec* spec = SpecOf(f.kpi());
    if (spec == nullptr) continue;
    const double line = level == pb::CRITICAL ? f.line().critical() : f.line().at_risk();
    if (!(BadSide(spec->direction, f.value()) < share * BadSide(spec->direction, line))) {
      return false;
    }
  }
  return true;
}

bool TopBadge(const std::vector<pb::KpiFigure>& figures, pb::HealthLevel health) {
  if (health != pb::GOOD) return false;
  bool odr = false, sla = true, rating = false;
  for (const pb::KpiFigure& f : figures) {
    switch (f.kpi()) {
      case pb::ORDER_DEFECT_RATE:
        odr = f.denominator() >= kDefaultMinTrials && f.upper_bound() <= kTopOdrUpperBound;
        break;
      case pb::WITHIN_SLA_RATE:
        sla = f.denominator() == 0 || f.value() >= kTopWithinSla;
        break;
      case pb::RATING_AVERAGE:
        rating = f.denominator() >= kDefaultMinRatings && f.value() >= kTopRating;
        break;
      default:
        break;
    }
  }
  return odr && sla && rating;
}

absl::Status ValidateThresholds(const pb::Thresholds& t) {
  common::Violations v;
  std::vector<bool> seen(pb::Kpi_ARRAYSIZE, false);
  for (int i = 0; i < t.lines_size(); ++i) {
    const pb::KpiThreshold& line = t.lines(i);
    const std::string at = absl::StrCat("thresholds.lines[", i, "]");
    const KpiSpec* spec = SpecOf(line.kpi());
    if (spec == nullptr) {
      v.Add(at + ".kpi", "must be a Kpi other than KPI_UNSPECIFIED");
      continue;
    }
    if (seen[line.kpi()]) v.Add(at + ".kpi", "must appear at most once");
    seen[line.kpi()] = true;
    if (line.min_trials() < 0) v.Add(at + ".min_trials", "must be >= 0");
    if (line.min_events() < 0) v.Add(at + ".min_events", "must be >= 0");
    if (spec->direction == Direction::kStars) {
      // Written so that NaN fails it too.
      if (!(line.critical() >= 1 && line.critical() <= 5 && line.at_risk() >= 1 &&
            line.at_risk() <= 5)) {
        v.Add(at, "rating lines must be 1-5 stars");
      } else if (line.at_risk() < line.critical()) {
        v.Add(at + ".at_risk", "must be >= critical for RATING_AVERAGE");
      }
      continue;
    }
    if (!(line.at_risk() >= 0 && line.at_risk() <= 1 && line.critical() >= 0 &&
          line.critical() <= 1)) {
      v.Add(at, "rate lines must be fractions in [0, 1]");
    } else if (spec->direction == Direction::kBad && line.at_risk() > line.critical()) {
      v.Add(at + ".at_risk", "must be <= critical for a rate where higher is worse");
    } else if (spec->direction == Direction::kGood && line.at_risk() < line.critical()) {
      v.Add(at + ".at_risk", "must be >= critical for a rate where higher is better");
    }
  }
  if (t.recovery_share() != 0 && !(t.recovery_share() >= 0.01 && t.recovery_share() <= 1)) {
    v.Add("thresholds.recovery_share", "must be 0 (0.8) or 0.01-1");
  }
  if (t.recovery_evaluations() < 0 || t.recovery_evaluations() > 100) {
    v.Add("thresholds.recovery_evaluations", "must be 0-100");
  }
  if (t.improvement_days() < 0 || t.improvement_days() > 365) {
    v.Add("thresholds.improvement_days", "must be 0-365");
  }
  if (t.critical_evaluations_to_suspend() < 0 || t.critical_evaluations_to_suspend() > 100) {
    v.Add("thresholds.critical_evaluations_to_suspend", "must be 0-100");
  }
  // Hold days per standing: 0 (the default) or 1-90 (payments accepts up to 90 days); in
  // force (defaults applied) at_risk >= good >= top.
  const std::pair<const char*, int> holds[] = {
      {"thresholds.hold_days_at_risk", t.hold_days_at_risk()},
      {"thresholds.hold_days_good", t.hold_days_good()},
      {"thresholds.hold_days_top", t.hold_days_top()}};
  bool holds_ok = true;
  for (const auto& [field, days] : holds) {
    if (days < 0 || days > kMaxHoldDays) {
      v.Add(field, absl::StrCat("must be 0 (the default) or 1-", kMaxHoldDays, " days"));
      holds_ok = false;
    }
  }
  if (holds_ok) {
    const int at_risk = t.hold_days_at_risk() > 0 ? t.hold_days_at_risk() : kDefaultHoldDaysAtRisk;
    const int good = t.hold_days_good() > 0 ? t.hold_days_good() : kDefaultHoldDaysGood;
    const int top = t.hold_days_top() > 0 ? t.hold_days_top() : kDefaultHoldDaysTop;
    if (good > at_risk) {
      v.Add("thresholds.hold_days_good",
            absl::StrCat("must be <= hold_days_at_risk (", at_risk, " in force with it)"));
    }
    if (top > good) {
      v.Add("thresholds.hold_days_top",
            absl::StrCat("must be <= hold_days_good (", good, " in force with it)"));
    }
  }
  return v.Status();
}

EvaluationResult Evaluate(const std::string& seller_id, const pb::Thresholds& thresholds,
                          const DayCounters& counters, absl::Time as_of, double prior_mean,
                          const HealthState& previous) {
  EvaluationResult result;
  pb::SellerScorecard& card = result.scorecard;
  card.set_seller_id(seller_id);
  common::ToTimestamp(as_of, card.mutable_as_of());
  card.set_thresholds_version(thresholds.version());
  card.set_platform_mean_rating(prior_mean);
  const absl::CivilDay last = absl::ToCivilDay(as_of, absl::UTCTimeZone());
  pb::HealthLevel raw = pb::NO_LEVEL;
  std::vector<pb::KpiFigure> figures;
  for (const KpiSpec& spec : KpiSpecs()) {
    figures.push_back(Figure(spec, counters, last, LineOf(thresholds, spec.kpi), prior_mean));
    raw = std::max(raw, figures.back().level());
  }
  const double share =
      thresholds.recovery_share() > 0 ? thresholds.recovery_share() : kDefaultRecoveryShare;
  const int evaluations = OrDefault(thresholds.recovery_evaluations(), kDefaultRecoveryEvaluations);
  const bool under = previous.health >= pb::AT_RISK &&
                     UnderRecoveryShare(figures, previous.health, share);
  result.state = NextHealth(previous, raw, under, evaluations);
  card.set_health(result.state.health);
  card.set_top_badge(TopBadge(figures, result.state.health));
  for (pb::KpiFigure& f : figures) *card.add_figures() = std::move(f);
  return result;
}

std::vector<pb::KpiPoint> History(const KpiSpec& spec, const DayCounters& counters,
                                  absl::CivilDay last, int days, double prior_mean) {
  std::vector<pb::KpiPoint> points;
  for (absl::CivilDay day = WindowStart(last, days); day <= last; ++day) {
    const pb::KpiFigure f = Figure(spec, counters, day, nullptr, prior_mean);
    pb::KpiPoint p;
    p.set_day(absl::FormatCivilTime(day));
    p.set_numerator(f.numerator());
    p.set_denominator(f.denominator());
    p.set_value(f.value());
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace marketplace::sellerkpi
