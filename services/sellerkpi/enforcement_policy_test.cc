#include "services/sellerkpi/enforcement_policy.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/proto_time.h"
#include "gtest/gtest.h"

namespace marketplace::sellerkpi {
namespace {

const absl::Time kAsOf = absl::FromUnixSeconds(1'800'000'000);

pb::SellerScorecard Card(pb::HealthLevel health, absl::Time as_of = kAsOf) {
  pb::SellerScorecard c;
  c.set_seller_id("0123456789abcdef0123456789abcdef");
  common::ToTimestamp(as_of, c.mutable_as_of());
  c.set_health(health);
  pb::KpiFigure* f = c.add_figures();
  f->set_kpi(pb::ORDER_DEFECT_RATE);
  f->set_window_days(60);
  f->set_numerator(5);
  f->set_denominator(20);
  f->set_value(0.25);
  f->mutable_line()->set_at_risk(0.0075);
  f->mutable_line()->set_critical(0.01);
  f->set_level(health);
  return c;
}

EnforcementPlan Plan(const pb::SellerScorecard& card, const std::vector<OpenAction>& open,
                     int streak = 0) {
  int n = 0;
  return PlanEnforcement(card, open, streak, EnforcementRules{},
                         [&n] { return "act_" + std::to_string(++n); });
}

std::vector<pb::ActionType> Types(const EnforcementPlan& plan) {
  std::vector<pb::ActionType> out;
  for (const auto& n : plan.create) out.push_back(n.action.type());
  return out;
}

TEST(EnforcementPolicyTest, GoodAndNoLevelDoNothing) {
  EXPECT_TRUE(Plan(Card(pb::GOOD), {}).empty());
  EXPECT_TRUE(Plan(Card(pb::NO_LEVEL), {}).empty());
}

TEST(EnforcementPolicyTest, AtRiskCreatesMeasuresOnce) {
  EnforcementPlan plan = Plan(Card(pb::AT_RISK), {});
  ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::AT_RISK_MEASURES}));
  EXPECT_EQ(plan.create[0].steps,
            (std::vector<std::string>{kNotifySeller, kReadModerationLevel, kSetModerationLevel,
                                      kReadHoldPolicy, kSetHoldPolicy}));
  EXPECT_EQ(plan.create[0].action.seller_id(), "0123456789abcdef0123456789abcdef");
  EXPECT_NE(plan.create[0].action.explanation().find("ORDER_DEFECT_RATE 25.00 %"),
            std::string::npos)
      << plan.create[0].action.explanation();
  // Already open: nothing new.
  EXPECT_TRUE(Plan(Card(pb::AT_RISK), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt}}).empty());
}

TEST(EnforcementPolicyTest, CriticalWarnsWithImprovementPeriod) {
  EnforcementPlan plan = Plan(Card(pb::CRITICAL), {});
  ASSERT_EQ(Types(plan),
            (std::vector<pb::ActionType>{pb::AT_RISK_MEASURES, pb::CRITICAL_WARNING}));
  const pb::EnforcementAction& w = plan.create[1].action;
  EXPECT_EQ(common::FromTimestamp(w.improvement_ends_at(), "x").value(),
            kAsOf + absl::Hours(24 * 7));
  EXPECT_EQ(plan.create[1].steps, (std::vector<std::string>{kNotifySeller}));
  EXPECT_TRUE(plan.close.empty());
}

TEST(EnforcementPolicyTest, SuspensionOnlyAfterPeriodAndStreak) {
  const absl::Time ends = kAsOf + absl::Hours(24 * 7);
  const std::vector<OpenAction> open = {{"act_m", pb::AT_RISK_MEASURES, std::nullopt},
                                        {"act_w", pb::CRITICAL_WARNING, ends}};
  // Within the period: nothing, whatever the streak.
  EXPECT_FALSE(NeedsCriticalStreak(Card(pb::CRITICAL, ends - absl::Seconds(1)), open));
  EXPECT_TRUE(Plan(Card(pb::CRITICAL, ends - absl::Seconds(1)), open, 10).empty());
  // At its end, but only two CRITICAL evaluations in a row: nothing yet.
  EXPECT_TRUE(NeedsCriticalStreak(Card(pb::CRITICAL, ends), open));
  EXPECT_TRUE(Plan(Card(pb::CRITICAL, ends), open, 2).empty());
  // Three: suspension, and the warning closes.
  EnforcementPlan plan = Plan(Card(pb::CRITICAL, ends), open, 3);
  ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::SUSPENSION}));
  EXPECT_EQ(plan.create[0].steps, (std::vector<std::string>{kSuspendAccount, kNotifySeller}));
  EXPECT_EQ(plan.close, (std::vector<std::string>{"act_w"}));
  // A suspension open: nothing more.
  EXPECT_TRUE(Plan(Card(pb::CRITICAL, ends + absl::Hours(1)),
                   {{"act_m", pb::AT_RISK_MEASURES, std::nullopt},
                    {"act_s", pb::SUSPENSION, std::nullopt}},
                   5)
                  .empty());
}

TEST(EnforcementPolicyTest, WarningClosesWhenNoLongerCritical) {
  const std::vector<OpenAction> open = {{"act_m", pb::AT_RISK_MEASURES, std::nullopt},
                                        {"act_w", pb::CRITICAL_WARNING, kAsOf}};
  EnforcementPlan plan = Plan(Card(pb::AT_RISK), open);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.close, (std::vector<std::string>{"act_w"}));
  // GOOD again: the warning closes, and the finished measures are undone (and close).
  plan = Plan(Card(pb::GOOD), open);
  EXPECT_EQ(plan.close, (std::vector<std::string>{"act_m", "act_w"}));
}

TEST(EnforcementPolicyTest, RulesFromThresholds) {
  pb::Thresholds t;
  EXPECT_EQ(RulesOf(t).improvement_period, absl::Hours(24 * 7));
  EXPECT_EQ(RulesOf(t).critical_evaluations_to_suspend, 3);
  EXPECT_EQ(RulesOf(t).hold_at_risk, absl::Hours(24 * 21));
  EXPECT_EQ(RulesOf(t).hold_good, absl::Hours(24 * 14));
  EXPECT_EQ(RulesOf(t).hold_top, absl::Hours(24 * 7));
  t.set_improvement_days(2);
  t.set_critical_evaluations_to_suspend(5);
  EXPECT_EQ(RulesOf(t).improvement_period, absl::Hours(48));
  EXPECT_EQ(RulesOf(t).critical_evaluations_to_suspend, 5);
}

TEST(EnforcementPolicyTest, RestorationSteps) {
  EXPECT_EQ(RestorationSteps(pb::SUSPENSION),
            (std::vector<std::string>{kReinstateAccount, kRestoreModerationLevel,
                                      kRestoreHoldPolicy, kNotifySeller}));
  EXPECT_EQ(RestorationSteps(pb::AT_RISK_MEASURES),
            (std::vector<std::string>{kRestoreModerationLevel, kRestoreHoldPolicy,
                                      kNotifySeller}));
}


TEST(EnforcementPolicyTest, BackToGoodUndoesFinishedMeasuresUnlessSuspended) {
  const OpenAction done{"act_m", pb::AT_RISK_MEASURES, std::nullopt, false};
  EnforcementPlan plan = Plan(Card(pb::GOOD), {done});
  ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::RESTORATION}));
  EXPECT_EQ(plan.create[0].steps, RestorationSteps(pb::AT_RISK_MEASURES));
  EXPECT_EQ(plan.create[0].related_action_id, "act_m");
  EXPECT_EQ(plan.close, (std::vector<std::string>{"act_m"}));
  // Still being carried out: wait; NO_LEVEL or AT_RISK: keep; suspended: the appeal decides.
  EXPECT_TRUE(
      Plan(Card(pb::GOOD), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt, true}}).empty());
  EXPECT_TRUE(Plan(Card(pb::NO_LEVEL), {done}).empty());
  EXPECT_TRUE(Plan(Card(pb::AT_RISK), {done}).empty());
  EXPECT_TRUE(Plan(Card(pb::GOOD), {done, {"act_s", pb::SUSPENSION, std::nullopt, false}}).empty());
}

pb::SellerScorecard Top(absl::Time as_of = kAsOf) {
  pb::SellerScorecard c = Card(pb::GOOD, as_of);
  c.set_top_badge(true);
  return c;
}

absl::Duration Days(int n) { return absl::Hours(24 * n); }

std::optional<absl::Duration> HoldOf(const EnforcementPlan::NewAction& n) {
  if (!n.action.has_hold_period()) return std::nullopt;
  return absl::Seconds(n.action.hold_period().seconds());
}

TEST(EnforcementPolicyTest, TopBadgeGetsTopTermsOnce) {
  EnforcementPlan plan = Plan(Top(), {});
  ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::TOP_SELLER_TERMS}));
  EXPECT_EQ(plan.create[0].steps,
            (std::vector<std::string>{kReadHoldPolicy, kSetHoldPolicy, kNotifySeller}));
  EXPECT_EQ(HoldOf(plan.create[0]), Days(7));
  // A hold in force longer than the GOOD one (an operator's) is kept.
  EXPECT_EQ(plan.create[0].keep_above, Days(14));
  EXPECT_NE(plan.create[0].action.explanation().find("held 7 days instead of 14 days"),
            std::string::npos)
      << plan.create[0].action.explanation();
  EXPECT_TRUE(plan.close.empty());
  // Already open (running or done): nothing new, evaluation after evaluation.
  for (bool running : {true, false}) {
    EXPECT_TRUE(Plan(Top(), {{"act_t", pb::TOP_SELLER_TERMS, std::nullopt, running}}).empty());
  }
  // No badge, or the badge with open measures or a suspension: no terms.
  EXPECT_TRUE(Plan(Card(pb::GOOD), {}).empty());
  EnforcementPlan with_measures =
      Plan(Top(), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt, true}});
  EXPECT_TRUE(with_measures.empty());
  EXPECT_TRUE(Plan(Top(), {{"act_s", pb::SUSPENSION, std::nullopt, false},
                           {"act_m", pb::AT_RISK_MEASURES, std::nullopt, false}})
                  .empty());
  // Finished measures of a TOP seller back to GOOD: this evaluation undoes them, the terms
  // come with the next one (no measures open then).
  plan = Plan(Top(), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt, false}});
  EXPECT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::RESTORATION}));
}

TEST(EnforcementPolicyTest, LosingTheBadgeRestoresTheHold) {
  for (bool running : {false, true}) {
    for (pb::HealthLevel health : {pb::GOOD, pb::NO_LEVEL}) {
      EnforcementPlan plan =
          Plan(Card(health), {{"act_t", pb::TOP_SELLER_TERMS, std::nullopt, running}});
      ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::RESTORATION}));
      EXPECT_EQ(plan.create[0].steps, RestorationSteps(pb::TOP_SELLER_TERMS));
      EXPECT_EQ(plan.create[0].steps,
                (std::vector<std::string>{kRestoreHoldPolicy, kNotifySeller}));
      EXPECT_EQ(plan.create[0].related_action_id, "act_t");
      EXPECT_EQ(HoldOf(plan.create[0]), Days(14));  // at least the GOOD hold
      EXPECT_NE(plan.create[0].action.explanation().find("without the TOP badge"),
                std::string::npos)
          << plan.create[0].action.explanation();
      EXPECT_EQ(plan.close, (std::vector<std::string>{"act_t"}));
    }
  }
}

TEST(EnforcementPolicyTest, FallingAtRiskWithTopTermsClosesThemUnderTheMeasures) {
  for (pb::HealthLevel health : {pb::AT_RISK, pb::CRITICAL}) {
    EnforcementPlan plan =
        Plan(Card(health), {{"act_t", pb::TOP_SELLER_TERMS, std::nullopt, false}});
    // The measures set the AT_RISK hold; no restoration of the terms races them.
    ASSERT_FALSE(plan.create.empty());
    EXPECT_EQ(plan.create[0].action.type(), pb::AT_RISK_MEASURES);
    EXPECT_EQ(HoldOf(plan.create[0]), Days(21));
    for (const auto& n : plan.create) EXPECT_NE(n.action.type(), pb::RESTORATION);
    EXPECT_EQ(plan.close, (std::vector<std::string>{"act_t"}));
  }
}

TEST(EnforcementPolicyTest, HoldDaysFollowTheThresholds) {
  pb::Thresholds t;
  t.set_hold_days_at_risk(30);
  t.set_hold_days_good(10);
  t.set_hold_days_top(3);
  const EnforcementRules rules = RulesOf(t);
  int n = 0;
  auto id = [&n] { return "act_" + std::to_string(++n); };
  EnforcementPlan plan = PlanEnforcement(Card(pb::AT_RISK), {}, 0, rules, id);
  EXPECT_EQ(HoldOf(plan.create[0]), Days(30));
  EXPECT_NE(plan.create[0].action.explanation().find("held 30 days"), std::string::npos);
  plan = PlanEnforcement(Top(), {}, 0, rules, id);
  EXPECT_EQ(HoldOf(plan.create[0]), Days(3));
  plan = PlanEnforcement(Card(pb::GOOD), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt}}, 0,
                         rules, id);
  EXPECT_EQ(HoldOf(plan.create[0]), Days(10));
  EXPECT_NE(plan.create[0].action.explanation().find("at least 10 days"), std::string::npos)
      << plan.create[0].action.explanation();
  // Warnings and suspensions set no hold.
  plan = PlanEnforcement(Card(pb::CRITICAL), {{"act_m", pb::AT_RISK_MEASURES, std::nullopt}}, 0,
                         rules, id);
  ASSERT_EQ(Types(plan), (std::vector<pb::ActionType>{pb::CRITICAL_WARNING}));
  EXPECT_FALSE(plan.create[0].action.has_hold_period());
}

TEST(EnforcementPolicyTest, RestoredHoldIsNeverBelowTheFloor) {
  EXPECT_EQ(RestoredHold(Days(7), Days(14)), Days(14));
  EXPECT_EQ(RestoredHold(Days(14), Days(14)), Days(14));
  EXPECT_EQ(RestoredHold(Days(30), Days(14)), Days(30));  // an operator's longer hold stays
  EXPECT_EQ(RestoredHold(Days(7), std::nullopt), Days(7));  // restorations from before
}

// Payments' hold for one seller as the planned actions would leave it when each runs to the
// end in the order created (EnforcementStore runs a seller's payments steps in that order):
// set steps record the hold they replace, restorations put back RestoredHold.
class HoldModel {
 public:
  // Evaluates at `card`; returns the plan's action types.
  std::vector<pb::ActionType> Evaluate(const pb::SellerScorecard& card) {
    EnforcementPlan plan = PlanEnforcement(card, open_, 0, EnforcementRules{},
                                           [this] { return "act_" + std::to_string(++ids_); });
    for (const std::string& id : plan.close) {
      open_.erase(std::remove_if(open_.begin(), open_.end(),
                                 [&](const OpenAction& a) { return a.action_id == id; }),
                  open_.end());
    }
    std::vector<pb::ActionType> types;
    for (const auto& n : plan.create) {
      types.push_back(n.action.type());
      const auto& steps = n.steps;
      const bool sets = std::find(steps.begin(), steps.end(), kSetHoldPolicy) != steps.end();
      const bool restores =
          std::find(steps.begin(), steps.end(), kRestoreHoldPolicy) != steps.end();
      if (sets) {
        replaced_[n.action.action_id()] = hold_;
        hold_ = *HoldOf(n);
      }
      if (restores) {
        auto it = replaced_.find(n.related_action_id);
        if (it != replaced_.end()) hold_ = RestoredHold(it->second, HoldOf(n));
      }
      if (n.action.type() != pb::RESTORATION) {
        open_.push_back({n.action.action_id(), n.action.type(), std::nullopt, false});
      }
    }
    return types;
  }
  absl::Duration hold() const { return hold_; }
  size_t open() const { return open_.size(); }

 private:
  std::vector<OpenAction> open_;
  std::map<std::string, absl::Duration> replaced_;
  absl::Duration hold_ = Days(14);  // payments' default
  int ids_ = 0;
};

TEST(EnforcementPolicyTest, TopThenAtRiskThenGoodEndsAtTheGoodHold) {
  HoldModel m;
  EXPECT_EQ(m.Evaluate(Top()), (std::vector<pb::ActionType>{pb::TOP_SELLER_TERMS}));
  EXPECT_EQ(m.hold(), Days(7));
  EXPECT_EQ(m.Evaluate(Card(pb::AT_RISK)), (std::vector<pb::ActionType>{pb::AT_RISK_MEASURES}));
  EXPECT_EQ(m.hold(), Days(21));
  EXPECT_EQ(m.Evaluate(Card(pb::AT_RISK)), (std::vector<pb::ActionType>{}));
  // Back to GOOD: the measures replaced 7 days (the TOP hold), but the seller is GOOD now.
  EXPECT_EQ(m.Evaluate(Card(pb::GOOD)), (std::vector<pb::ActionType>{pb::RESTORATION}));
  EXPECT_EQ(m.hold(), Days(14));
  EXPECT_EQ(m.open(), 0u);
  EXPECT_EQ(m.Evaluate(Card(pb::GOOD)), (std::vector<pb::ActionType>{}));
  EXPECT_EQ(m.hold(), Days(14));
  // The badge again: TOP terms again.
  EXPECT_EQ(m.Evaluate(Top()), (std::vector<pb::ActionType>{pb::TOP_SELLER_TERMS}));
  EXPECT_EQ(m.hold(), Days(7));
}

TEST(EnforcementPolicyTest, BadgeFlappingCreatesOneActionPerChange) {
  HoldModel m;
  int created = 0;
  for (int round = 0; round < 5; ++round) {
    // Several evaluations with the badge, then several without.
    for (int i = 0; i < 3; ++i) {
      created += static_cast<int>(m.Evaluate(Top()).size());
      EXPECT_EQ(m.hold(), Days(7));
      EXPECT_EQ(m.open(), 1u);
    }
    for (int i = 0; i < 3; ++i) {
      created += static_cast<int>(m.Evaluate(Card(pb::GOOD)).size());
      EXPECT_EQ(m.hold(), Days(14));
      EXPECT_EQ(m.open(), 0u);
    }
  }
  EXPECT_EQ(created, 10);  // 5 terms, 5 restorations
}

TEST(EnforcementPolicyTest, TopTermsLostToCriticalThenSuspensionKeepsNoTopHold) {
  HoldModel m;
  m.Evaluate(Top());
  EXPECT_EQ(m.Evaluate(Card(pb::CRITICAL)),
            (std::vector<pb::ActionType>{pb::AT_RISK_MEASURES, pb::CRITICAL_WARNING}));
  EXPECT_EQ(m.hold(), Days(21));
  // NO_LEVEL keeps the measures (and their hold).
  EXPECT_EQ(m.Evaluate(Card(pb::NO_LEVEL)), (std::vector<pb::ActionType>{}));
  EXPECT_EQ(m.hold(), Days(21));
  EXPECT_EQ(m.Evaluate(Top()), (std::vector<pb::ActionType>{pb::RESTORATION}));
  EXPECT_EQ(m.hold(), Days(14));
  EXPECT_EQ(m.Evaluate(Top()), (std::vector<pb::ActionType>{pb::TOP_SELLER_TERMS}));
  EXPECT_EQ(m.hold(), Days(7));
}

}  // namespace
}  // namespace marketplace::sellerkpi
