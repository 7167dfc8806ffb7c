#include "services/sellerkpi/enforcement_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"

namespace marketplace::sellerkpi {
namespace {

const OpenAction* FindOpen(const std::vector<OpenAction>& open, pb::ActionType type) {
  for (const OpenAction& a : open) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

std::string Days(absl::Duration d) {
  const int64_t days = absl::ToInt64Hours(d) / 24;
  return absl::StrCat(days, days == 1 ? " day" : " days");
}

std::string Percent(double v) { return absl::StrFormat("%.2f %%", v * 100); }

std::string FigureText(const pb::KpiFigure& f) {
  const std::string name = pb::Kpi_Name(f.kpi());
  if (f.kpi() == pb::RATING_AVERAGE) {
    return absl::StrFormat("%s %.2f stars over %d ratings (%d days; lines %.2f / %.2f)", name,
                           f.value(), f.denominator(), f.window_days(), f.line().at_risk(),
                           f.line().critical());
  }
  return absl::StrCat(name, " ", Percent(f.value()), " (", f.numerator(), " of ",
                      f.denominator(), " in ", f.window_days(), " days; lines ",
                      Percent(f.line().at_risk()), " / ", Percent(f.line().critical()), ")");
}

}  // namespace

std::vector<std::string> ActionSteps(pb::ActionType type) {
  switch (type) {
    case pb::AT_RISK_MEASURES:
      return {kNotifySeller, kReadModerationLevel, kSetModerationLevel, kReadHoldPolicy,
              kSetHoldPolicy};
    case pb::CRITICAL_WARNING:
      return {kNotifySeller};
    case pb::SUSPENSION:
      return {kSuspendAccount, kNotifySeller};
    case pb::TOP_SELLER_TERMS:
      return {kReadHoldPolicy, kSetHoldPolicy, kNotifySeller};
    default:
      return {kNotifySeller};
  }
}

std::vector<std::string> RestorationSteps(pb::ActionType undone) {
  switch (undone) {
    case pb::AT_RISK_MEASURES:
      return {kRestoreModerationLevel, kRestoreHoldPolicy, kNotifySeller};
    case pb::SUSPENSION:
      return {kReinstateAccount, kRestoreModerationLevel, kRestoreHoldPolicy, kNotifySeller};
    case pb::TOP_SELLER_TERMS:
      return {kRestoreHoldPolicy, kNotifySeller};
    default:
      return {kNotifySeller};
  }
}

absl::Duration RestoredHold(absl::Duration replaced, std::optional<absl::Duration> least) {
  return least.has_value() ? std::max(replaced, *least) : replaced;
}

EnforcementRules RulesOf(const pb::Thresholds& thresholds) {
  EnforcementRules rules;
  if (thresholds.improvement_days() > 0) {
    rules.improvement_period = absl::Hours(24) * thresholds.improvement_days();
  }
  if (thresholds.critical_evaluations_to_suspend() > 0) {
    rules.critical_evaluations_to_suspend = thresholds.critical_evaluations_to_suspend();
  }
  if (thresholds.hold_days_at_risk() > 0) {
    rules.hold_at_risk = absl::Hours(24) * thresholds.hold_days_at_risk();
  }
  if (thresholds.hold_days_good() > 0) {
    rules.hold_good = absl::Hours(24) * thresholds.hold_days_good();
  }
  if (thresholds.hold_days_top() > 0) {
    rules.hold_top = absl::Hours(24) * thresholds.hold_days_top();
  }
  return rules;
}

std::string ExplainTopTermsEnd(const pb::SellerScorecard& scorecard,
                               const EnforcementRules& rules) {
  return absl::StrCat("Your seller health is ", pb::HealthLevel_Name(scorecard.health()),
                      " without the TOP badge: your TOP seller terms end, and new payments are "
                      "held ",
                      Days(rules.hold_good),
                      " again (or longer if a longer hold was in force before your TOP terms).");
}

std::string Explain(pb::ActionType type, const pb::SellerScorecard& scorecard,
                    const EnforcementRules& rules) {
  std::vector<std::string> bad;
  for (const pb::KpiFigure& f : scorecard.figures()) {
    if (f.level() == pb::AT_RISK || f.level() == pb::CRITICAL) {
      bad.push_back(absl::StrCat(FigureText(f), ": ", pb::HealthLevel_Name(f.level())));
    }
  }
  std::string what;
  switch (type) {
    case pb::AT_RISK_MEASURES:
      what = "Your seller health is " + pb::HealthLevel_Name(scorecard.health()) +
             ": every new listing goes to human review and new payments are held " +
             Days(rules.hold_at_risk) + ".";
      break;
    case pb::CRITICAL_WARNING:
      what = "Warning: your seller health is CRITICAL. Improve it before the improvement "
             "period ends, or your account will be suspended.";
      break;
    case pb::SUSPENSION:
      what = "Your account is suspended (KPI_CRITICAL): your seller health stayed CRITICAL "
             "after the improvement period. You may appeal.";
      break;
    case pb::RESTORATION:
      what = "Your seller health is back to GOOD: new listings no longer wait for human review "
             "and new payments are held as long as before the measures, at least " +
             Days(rules.hold_good) + ".";
      break;
    case pb::TOP_SELLER_TERMS:
      what = "Your seller health is GOOD and you hold the TOP badge: new payments are held " +
             Days(rules.hold_top) + " instead of " + Days(rules.hold_good) +
             " while you keep the badge.";
      break;
    default:
      break;
  }
  return absl::StrCat(what, bad.empty() ? "" : " ", absl::StrJoin(bad, "; "),
                      bad.empty() ? "" : ".");
}

bool NeedsCriticalStreak(const pb::SellerScorecard& scorecard,
                         const std::vector<OpenAction>& open) {
  if (scorecard.health() != pb::CRITICAL) return false;
  const OpenAction* warning = FindOpen(open, pb::CRITICAL_WARNING);
  if (warning == nullptr || !warning->improvement_ends_at.has_value()) return false;
  absl::StatusOr<absl::Time> as_of = common::FromTimestamp(scorecard.as_of(), "as_of");
  return as_of.ok() && *as_of >= *warning->improvement_ends_at;
}

EnforcementPlan PlanEnforcement(const pb::SellerScorecard& scorecard,
                                const std::vector<OpenAction>& open, int critical_streak,
                                const EnforcementRules& rules,
                                const std::function<std::string()>& new_id) {
  EnforcementPlan plan;
  const pb::HealthLevel health = scorecard.health();
  absl::StatusOr<absl::Time> as_of = common::FromTimestamp(scorecard.as_of(), "as_of");
  if (!as_of.ok()) return plan;
  auto add = [&](pb::ActionType type, std::optional<absl::Time> ends) {
    EnforcementPlan::NewAction n;
    n.action.set_action_id(new_id());
    n.action.set_seller_id(scorecard.seller_id());
    n.action.set_type(type);
    n.action.set_explanation(Explain(type, scorecard, rules));
    const absl::Duration hold = type == pb::AT_RISK_MEASURES    ? rules.hold_at_risk
                                : type == pb::TOP_SELLER_TERMS ? rules.hold_top
                                : type == pb::RESTORATION      ? rules.hold_good
                                                               : absl::ZeroDuration();
    if (hold > absl::ZeroDuration()) {
      n.action.mutable_hold_period()->set_seconds(absl::ToInt64Seconds(hold));
    }
    *n.action.mutable_evaluation_as_of() = scorecard.as_of();
    if (ends.has_value()) common::ToTimestamp(*ends, n.action.mutable_improvement_ends_at());
    n.steps = ActionSteps(type);
    plan.create.push_back(std::move(n));
  };
  const OpenAction* measures = FindOpen(open, pb::AT_RISK_MEASURES);
  const OpenAction* warning = FindOpen(open, pb::CRITICAL_WARNING);
  const OpenAction* suspension = FindOpen(open, pb::SUSPENSION);
  const OpenAction* top_terms = FindOpen(open, pb::TOP_SELLER_TERMS);
  const bool bad = health == pb::AT_RISK || health == pb::CRITICAL;
  if (bad && measures == nullptr) {
    add(pb::AT_RISK_MEASURES, std::nullopt);
  }
  if (top_terms != nullptr && !(health == pb::GOOD && scorecard.top_badge())) {
    if (!bad && suspension == nullptr) {
      // GOOD or NO_LEVEL without the badge: the hold back (at least the GOOD one).
      add(pb::RESTORATION, std::nullopt);
      plan.create.back().action.set_explanation(ExplainTopTermsEnd(scorecard, rules));
      plan.create.back().steps = RestorationSteps(pb::TOP_SELLER_TERMS);
      plan.create.back().related_action_id = top_terms->action_id;
    }
    // AT_RISK or CRITICAL: the measures set their own hold after these terms' steps.
    plan.close.push_back(top_terms->action_id);
  }
  if (health == pb::GOOD && scorecard.top_badge() && top_terms == nullptr &&
      measures == nullptr && suspension == nullptr) {
    add(pb::TOP_SELLER_TERMS, std::nullopt);
    plan.create.back().keep_above = rules.hold_good;
  }
  if (health == pb::GOOD && measures != nullptr && !measures->in_progress &&
      suspension == nullptr) {
    add(pb::RESTORATION, std::nullopt);
    plan.create.back().steps = RestorationSteps(pb::AT_RISK_MEASURES);
    plan.create.back().related_action_id = measures->action_id;
    plan.close.push_back(measures->action_id);
  }
  if (health != pb::CRITICAL) {
    if (warning != nullptr) plan.close.push_back(warning->action_id);
    return plan;
  }
  if (suspension != nullptr) return plan;
  if (warning == nullptr) {
    add(pb::CRITICAL_WARNING, *as_of + rules.improvement_period);
    return plan;
  }
  if (warning->improvement_ends_at.has_value() && *as_of >= *warning->improvement_ends_at &&
      critical_streak >= rules.critical_evaluations_to_suspend) {
    add(pb::SUSPENSION, std::nullopt);
    plan.close.push_back(warning->action_id);
  }
  return plan;
}

}  // namespace marketplace::sellerkpi
