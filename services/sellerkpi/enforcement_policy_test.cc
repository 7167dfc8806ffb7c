#include "services/sellerkpi/enforcement_policy.h"

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
  t.set_improvement_days(2);
  t.set_critical_evaluations_to_suspend(5);
  EXPECT_EQ(RulesOf(t).improvement_period, absl::Hours(48));
  EXPECT_EQ(RulesOf(t).critical_evaluations_to_suspend, 5);
}

TEST(EnforcementPolicyTest, RestorationSteps) {
  EXPECT_EQ(RestorationSteps(pb::SUSPENSION),
            (std::vector<std::string>{kReinstateAccount, kRestoreListings,
                                      kRestoreModerationLevel, kRestoreHoldPolicy,
                                      kNotifySeller}));
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

}  // namespace
}  // namespace marketplace::sellerkpi
