#ifndef MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_POLICY_H_
#define MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_POLICY_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"

namespace marketplace::sellerkpi {

namespace pb = ::marketplace::sellerkpi::v1;

// Which enforcement actions an evaluation decides (README "Enforcement"), as a pure function
// of the evaluation and the seller's open actions. The store applies the plan in the
// evaluation's own transaction, with the seller's seller_health row locked, so two replicas
// evaluating one seller never both create an action.

// Step names, in the order they run.
inline constexpr char kNotifySeller[] = "notify_seller";
inline constexpr char kReadModerationLevel[] = "catalog.read_moderation_level";
inline constexpr char kSetModerationLevel[] = "catalog.set_moderation_level";
inline constexpr char kReadHoldPolicy[] = "payments.read_hold_policy";
inline constexpr char kSetHoldPolicy[] = "payments.set_hold_policy";
inline constexpr char kSuspendAccount[] = "identity.suspend_account";
inline constexpr char kReinstateAccount[] = "identity.reinstate_account";
// Only in restorations created before catalog kept an account's suspension apart from a
// SuspendSellerListings one: it calls nothing now (identity's reinstatement event restores the
// listings; calling RestoreSellerListings would lift a suspension staff made in catalog).
inline constexpr char kRestoreListings[] = "catalog.restore_listings";
inline constexpr char kRestoreModerationLevel[] = "catalog.restore_moderation_level";
inline constexpr char kRestoreHoldPolicy[] = "payments.restore_hold_policy";

// How the explanation of a RESTORATION made by an appeal's REINSTATE begins (the others undo
// measures of a seller back to GOOD).
inline constexpr char kAppealRestorationPrefix[] = "appeal of ";

// Defaults of Thresholds.hold_days_at_risk / hold_days_good / hold_days_top when 0: the
// hold periods at payments per standing (AT_RISK_MEASURES set the first, TOP_SELLER_TERMS the
// last; a restoration never puts back less than the GOOD one).
inline constexpr int kDefaultHoldDaysAtRisk = 21;
inline constexpr int kDefaultHoldDaysGood = 14;
inline constexpr int kDefaultHoldDaysTop = 7;
// The largest hold payments' SetSellerHoldPolicy accepts, in days.
inline constexpr int kMaxHoldDays = 90;
// The hold an AT_RISK_MEASURES created before actions recorded their hold sets.
inline constexpr absl::Duration kAtRiskHoldPeriod = absl::Hours(kDefaultHoldDaysAtRisk * 24);
// Defaults of Thresholds.improvement_days / critical_evaluations_to_suspend when 0.
inline constexpr int kDefaultImprovementDays = 7;
inline constexpr int kDefaultCriticalEvaluationsToSuspend = 3;

// The steps of an action of `type` (RESTORATION: use RestorationSteps).
std::vector<std::string> ActionSteps(pb::ActionType type);
// The steps of the RESTORATION that undoes an action of `undone`.
std::vector<std::string> RestorationSteps(pb::ActionType undone);

// The hold payments.restore_hold_policy sets: the one the undone action's set step replaced,
// but never less than the restoration's hold_period (the GOOD days when it was created; none
// for restorations created before it was recorded).
absl::Duration RestoredHold(absl::Duration replaced, std::optional<absl::Duration> least);

// An action of the seller that is open (not REVERSED, not closed).
struct OpenAction {
  std::string action_id;
  pb::ActionType type = pb::ACTION_TYPE_UNSPECIFIED;
  std::optional<absl::Time> improvement_ends_at;  // CRITICAL_WARNING
  bool in_progress = false;  // steps still being carried out (state IN_PROGRESS)
};

struct EnforcementRules {
  absl::Duration improvement_period = absl::Hours(24 * kDefaultImprovementDays);
  int critical_evaluations_to_suspend = kDefaultCriticalEvaluationsToSuspend;
  // Hold periods at payments per standing.
  absl::Duration hold_at_risk = absl::Hours(24 * kDefaultHoldDaysAtRisk);
  absl::Duration hold_good = absl::Hours(24 * kDefaultHoldDaysGood);
  absl::Duration hold_top = absl::Hours(24 * kDefaultHoldDaysTop);
};
// The rules of `thresholds`, defaults for its zero fields.
EnforcementRules RulesOf(const pb::Thresholds& thresholds);

// What an evaluation decides for one seller.
struct EnforcementPlan {
  // Actions to create (action_id, seller_id, type, explanation, evaluation_as_of,
  // improvement_ends_at set), with their steps.
  struct NewAction {
    pb::EnforcementAction action;
    std::vector<std::string> steps;
    std::string related_action_id;  // a RESTORATION: the action it undoes
    // A TOP_SELLER_TERMS: the GOOD hold; a hold in force longer than it is kept.
    std::optional<absl::Duration> keep_above;
  };
  std::vector<NewAction> create;
  // Open actions to close (at `as_of`).
  std::vector<std::string> close;
  bool empty() const { return create.empty() && close.empty(); }
};

// The plan for a seller evaluated to `scorecard` (its health after hysteresis, as_of,
// figures), given its open actions and `critical_streak`: how many of its latest evaluations,
// this one included, were CRITICAL in a row (only consulted when a warning's period is over;
// the caller may pass 0 otherwise). `new_id` makes action ids.
//  - health AT_RISK or CRITICAL, no open AT_RISK_MEASURES: create one (notice, catalog
//    moderation level AT_RISK, payments hold rules.hold_at_risk, each previous setting read
//    first); an open TOP_SELLER_TERMS closes without a restoration (the measures' hold steps
//    run after its own: EnforcementStore orders a seller's payments steps);
//  - CRITICAL, no open CRITICAL_WARNING and no open SUSPENSION: a CRITICAL_WARNING whose
//    improvement period ends at as_of + rules.improvement_period;
//  - CRITICAL, an open warning whose period has ended (as_of >= its end), critical_streak >=
//    rules.critical_evaluations_to_suspend, no open SUSPENSION: a SUSPENSION, and the warning
//    closes;
//  - not CRITICAL: an open warning closes (the seller improved);
//  - GOOD (back under every line, after hysteresis), an open AT_RISK_MEASURES whose steps are
//    all done, no open SUSPENSION: a RESTORATION of the measures (the moderation level and
//    hold period they read before, a notice), and the measures close. Measures still being
//    carried out wait for a later evaluation, so the restoration never races them. The
//    restoration's hold_period is rules.hold_good: the least hold it puts back;
//  - GOOD with the TOP badge, no open AT_RISK_MEASURES, SUSPENSION nor TOP_SELLER_TERMS: a
//    TOP_SELLER_TERMS (payments hold rules.hold_top, the previous hold read first; a notice);
//  - an open TOP_SELLER_TERMS, GOOD or NO_LEVEL without the badge: a RESTORATION of it (the
//    hold back, at least rules.hold_good; a notice), and it closes.
// An open SUSPENSION (and the measures with it) stays until an appeal reverses it; NO_LEVEL
// (too few orders to judge) keeps the measures.
EnforcementPlan PlanEnforcement(const pb::SellerScorecard& scorecard,
                                const std::vector<OpenAction>& open, int critical_streak,
                                const EnforcementRules& rules,
                                const std::function<std::string()>& new_id);

// Whether PlanEnforcement needs the seller's critical streak (a warning's period is over).
bool NeedsCriticalStreak(const pb::SellerScorecard& scorecard,
                         const std::vector<OpenAction>& open);

// The explanation of an action: what it does (with the hold periods of `rules`), then the
// KPIs at AT_RISK or worse with their figures and lines. A RESTORATION's text is the one of a
// seller back to GOOD (ExplainTopTermsEnd: the one of a lost badge).
std::string Explain(pb::ActionType type, const pb::SellerScorecard& scorecard,
                    const EnforcementRules& rules = EnforcementRules());
// The explanation of the RESTORATION of TOP_SELLER_TERMS.
std::string ExplainTopTermsEnd(const pb::SellerScorecard& scorecard,
                               const EnforcementRules& rules);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_POLICY_H_
