#include "services/sellerkpi/evaluation_replay.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "services/sellerkpi/kpi_math.h"

namespace marketplace::sellerkpi {
namespace {

const pb::KpiFigure* FigureOf(const pb::SellerScorecard& card, pb::Kpi kpi) {
  for (const pb::KpiFigure& f : card.figures()) {
    if (f.kpi() == kpi) return &f;
  }
  return nullptr;
}

// What differs between a stored evaluation and its replay, as examples.
std::vector<std::string> Differences(const KpiStore::StoredEvaluation& stored,
                                     const EvaluationResult& replay, const std::string& at) {
  std::vector<std::string> found;
  const pb::HealthLevel health = replay.state.health;
  if (stored.health != health) {
    found.push_back(absl::StrCat(at, ": stored ", pb::HealthLevel_Name(stored.health),
                                 ", replay ", pb::HealthLevel_Name(health)));
  } else if (stored.scorecard.health() != health) {
    found.push_back(absl::StrCat(at, ": stored scorecard ",
                                 pb::HealthLevel_Name(stored.scorecard.health()), ", replay ",
                                 pb::HealthLevel_Name(health)));
  }
  const bool badge = replay.scorecard.top_badge();
  if (stored.top_badge != badge || stored.scorecard.top_badge() != badge) {
    const bool shown = stored.top_badge == badge ? !badge : stored.top_badge;
    found.push_back(absl::StrCat(at, ": stored top_badge ", shown ? "true" : "false",
                                 ", replay ", badge ? "true" : "false"));
  }
  for (const pb::KpiFigure& f : replay.scorecard.figures()) {
    const pb::KpiFigure* s = FigureOf(stored.scorecard, f.kpi());
    if (s != nullptr && s->numerator() == f.numerator() && s->denominator() == f.denominator()) {
      continue;
    }
    found.push_back(absl::StrCat(
        at, "/", pb::Kpi_Name(f.kpi()), ": stored ",
        s == nullptr ? "none" : absl::StrCat(s->numerator(), "/", s->denominator()), ", replay ",
        f.numerator(), "/", f.denominator()));
  }
  return found;
}

}  // namespace

double StoredPrior(const pb::SellerScorecard& scorecard) {
  if (scorecard.platform_mean_rating() > 0) return scorecard.platform_mean_rating();
  const pb::KpiFigure* f = FigureOf(scorecard, pb::RATING_AVERAGE);
  if (f == nullptr || f->denominator() <= 0) return kDefaultPlatformMean;
  // value = (weight * prior + stars) / (weight + ratings)
  return (f->value() * (kRatingPriorWeight + static_cast<double>(f->denominator())) -
          static_cast<double>(f->numerator())) /
         kRatingPriorWeight;
}

absl::StatusOr<EvaluationReplayReport> ReplayEvaluations(KpiStore& store,
                                                         const std::vector<std::string>& seller_ids,
                                                         int max_examples) {
  using Versions = std::map<int64_t, pb::Thresholds>;
  ASSIGN_OR_RETURN(const Versions thresholds, store.AllThresholds());
  EvaluationReplayReport report;
  std::string seller;
  HealthState state;
  bool seller_differs = false;
  ASSIGN_OR_RETURN(
      report.events_read,
      store.ReplayStoredEvaluations(
          seller_ids, [&](const KpiStore::StoredEvaluation& stored) -> absl::Status {
            if (stored.seller_id != seller) {
              seller = stored.seller_id;
              state = HealthState{};
              seller_differs = false;
            }
            ++report.evaluations;
            const std::string at = absl::StrCat(
                stored.seller_id, "/",
                absl::FormatTime(absl::RFC3339_full, stored.as_of, absl::UTCTimeZone()));
            std::vector<std::string> found;
            auto t = thresholds.find(stored.thresholds_version);
            if (t == thresholds.end()) {
              found.push_back(absl::StrCat(at, ": thresholds version ",
                                           stored.thresholds_version, " is not stored"));
              // The next evaluation goes on from what was stored.
              state = HealthState{stored.health, 0};
            } else {
              const EvaluationResult replay =
                  Evaluate(stored.seller_id, t->second, DayCounters(stored.counters),
                           stored.as_of, StoredPrior(stored.scorecard), state);
              state = replay.state;
              found = Differences(stored, replay, at);
            }
            if (stored.in_force.has_value() &&
                (stored.in_force->health != state.health ||
                 stored.in_force->recovery_streak != state.recovery_streak)) {
              found.push_back(absl::StrCat(
                  stored.seller_id, ": in force ", pb::HealthLevel_Name(stored.in_force->health),
                  " streak ", stored.in_force->recovery_streak, ", replay ",
                  pb::HealthLevel_Name(state.health), " streak ", state.recovery_streak));
            }
            if (found.empty()) return absl::OkStatus();
            if (!seller_differs) {
              seller_differs = true;
              ++report.health_differences;
            }
            for (std::string& example : found) {
              if (static_cast<int>(report.examples.size()) >= max_examples) break;
              report.examples.push_back(std::move(example));
            }
            return absl::OkStatus();
          }));
  return report;
}

}  // namespace marketplace::sellerkpi
