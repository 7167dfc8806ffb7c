// Actions created by evaluations on a real MariaDB (README "Enforcement"): a CRITICAL seller
// gets the AT_RISK measures and a warning in the evaluation's transaction, a suspension only
// at the end of the improvement period and after enough CRITICAL evaluations in a row, never a
// duplicate (also when two evaluations of the seller run at once), a warning closes when the
// seller improves; a REINSTATE of the suspension closes the measures, and its restoration's
// steps see what the measures replaced.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/db/migrations.h"
#include "common/db/sql_value.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/enforcement_policy.h"
#include "services/sellerkpi/enforcement_worker.h"
#include "services/sellerkpi/evaluation.h"
#include "services/sellerkpi/mysql_enforcement_store.h"
#include "services/sellerkpi/mysql_kpi_store.h"
#include "services/sellerkpi/sellerkpi_migrations.h"
#include "services/sellerkpi/test_events.h"

namespace marketplace::sellerkpi {
namespace {

using namespace ::marketplace::sellerkpi::testing;  // NOLINT

// Answers every step with "result of <name>", recording the restoration inputs it saw.
class EchoExecutor final : public StepExecutor {
 public:
  absl::StatusOr<std::string> Run(const ClaimedStep& step) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(step);
    return "result of " + step.name;
  }
  std::vector<ClaimedStep> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::vector<ClaimedStep> calls_ ABSL_GUARDED_BY(mu_);
};

class EnforcementActionsTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySellerKpiMigrations(pool()));
    enforcement_ = std::make_unique<MysqlEnforcementStore>(&pool(), &clock_);
    store_ = std::make_unique<MysqlKpiStore>(&pool(), enforcement_.get());
    evaluation_ = std::make_unique<Evaluation>(store_.get(), &clock_, &observer_);
    pb::Thresholds t;
    pb::KpiThreshold* odr = t.add_lines();
    odr->set_kpi(pb::ORDER_DEFECT_RATE);
    odr->set_at_risk(0.0075);
    odr->set_critical(0.01);
    t.set_improvement_days(7);
    t.set_critical_evaluations_to_suspend(3);
    ASSERT_OK(store_->SeedThresholds(t, clock_.Now()));
  }

  // 20 orders of `seller` on `at`'s day, 5 of them with a claim that counts: ODR 25 %.
  void DriveToCritical(const std::string& seller, absl::Time at, const std::string& tag = "") {
    std::vector<EventRecord> records;
    for (int i = 0; i < 20; ++i) {
      const std::string order = tag + "o" + std::to_string(i);
      records.push_back(*MakeRecord(Placed(seller + "p" + order, at, order, seller), "api"));
      if (i < 5) {
        records.push_back(*MakeRecord(Claim(seller + "c" + order, at, order, true, seller), "api"));
      }
    }
    ASSERT_OK(store_->RecordEvents(records).status());
  }

  std::vector<pb::EnforcementAction> Actions(const std::string& seller) {
    auto page = enforcement_->ListActions(seller, std::nullopt, 100);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->actions : std::vector<pb::EnforcementAction>{};
  }

  static std::map<pb::ActionType, int> ByType(const std::vector<pb::EnforcementAction>& as) {
    std::map<pb::ActionType, int> out;
    for (const auto& a : as) ++out[a.type()];
    return out;
  }

  static const pb::EnforcementAction* Find(const std::vector<pb::EnforcementAction>& as,
                                           pb::ActionType type) {
    for (const auto& a : as) {
      if (a.type() == type) return &a;
    }
    return nullptr;
  }

  void Evaluate(const std::string& seller, absl::Time as_of) {
    ASSERT_OK(evaluation_->EvaluateSellers({seller}, as_of).status());
  }

  common::ManualClock clock_;
  NoKpiObserver observer_;
  std::unique_ptr<MysqlEnforcementStore> enforcement_;
  std::unique_ptr<MysqlKpiStore> store_;
  std::unique_ptr<Evaluation> evaluation_;
};

TEST_F(EnforcementActionsTest, CriticalIsWarnedThenSuspendedAfterThePeriod) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  DriveToCritical(kSeller, t0);
  const absl::Time as_of = t0 + absl::Hours(1);
  Evaluate(kSeller, as_of);
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  EXPECT_EQ(ByType(actions), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                            {pb::CRITICAL_WARNING, 1}}));
  const pb::EnforcementAction* measures = Find(actions, pb::AT_RISK_MEASURES);
  ASSERT_NE(measures, nullptr);
  // Ids the API accepts back (AppealEnforcement checks the issued-id form).
  for (const auto& a : actions) EXPECT_TRUE(common::IsIssuedId(a.action_id())) << a.action_id();
  ASSERT_EQ(measures->steps_size(), 5);
  EXPECT_EQ(measures->steps(0).name(), kNotifySeller);
  EXPECT_EQ(measures->steps(2).name(), kSetModerationLevel);
  EXPECT_EQ(measures->steps(4).name(), kSetHoldPolicy);
  EXPECT_EQ(measures->state(), pb::IN_PROGRESS);
  EXPECT_NE(measures->explanation().find("ORDER_DEFECT_RATE 25.00 %"), std::string::npos)
      << measures->explanation();
  const pb::EnforcementAction* warning = Find(actions, pb::CRITICAL_WARNING);
  ASSERT_NE(warning, nullptr);
  const absl::Time ends = as_of + absl::Hours(24 * 7);
  EXPECT_EQ(common::FromTimestamp(warning->improvement_ends_at(), "x").value(), ends);
  EXPECT_EQ(common::FromTimestamp(warning->evaluation_as_of(), "x").value(), as_of);

  // Still CRITICAL inside the period: nothing new, however often.
  Evaluate(kSeller, as_of + absl::Hours(24));
  Evaluate(kSeller, ends - absl::Seconds(1));
  EXPECT_EQ(Actions(kSeller).size(), 2u);
  // At the period's end, the third CRITICAL evaluation in a row: suspension; the warning closes.
  Evaluate(kSeller, ends);
  actions = Actions(kSeller);
  EXPECT_EQ(ByType(actions), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                            {pb::CRITICAL_WARNING, 1},
                                                            {pb::SUSPENSION, 1}}));
  const pb::EnforcementAction* suspension = Find(actions, pb::SUSPENSION);
  ASSERT_NE(suspension, nullptr);
  ASSERT_EQ(suspension->steps_size(), 2);
  EXPECT_EQ(suspension->steps(0).name(), kSuspendAccount);
  EXPECT_NE(suspension->explanation().find("KPI_CRITICAL"), std::string::npos);
  EXPECT_TRUE(Find(actions, pb::CRITICAL_WARNING)->has_closed_at());
  // Later evaluations add nothing while the suspension is open.
  Evaluate(kSeller, ends + absl::Hours(24));
  EXPECT_EQ(Actions(kSeller).size(), 3u);
  // The scorecard read carries the open actions, and the closed warning only while its
  // notice is still being sent.
  ASSERT_OK_AND_ASSIGN(std::vector<pb::EnforcementAction> current,
                       enforcement_->CurrentActions(kSeller));
  EXPECT_EQ(ByType(current), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                            {pb::CRITICAL_WARNING, 1},
                                                            {pb::SUSPENSION, 1}}));
  EchoExecutor executor;
  EnforcementWorker worker(enforcement_.get(), &executor, &clock_, &observer_);
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  ASSERT_OK_AND_ASSIGN(current, enforcement_->CurrentActions(kSeller));
  EXPECT_EQ(ByType(current), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                            {pb::SUSPENSION, 1}}));
}

TEST_F(EnforcementActionsTest, NoSuspensionWithoutEnoughCriticalEvaluationsAfterTheEnd) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  DriveToCritical(kSeller, t0);
  const absl::Time as_of = t0 + absl::Hours(1);
  Evaluate(kSeller, as_of);
  // The first evaluation after the end is only the second CRITICAL one in a row.
  Evaluate(kSeller, as_of + absl::Hours(24 * 8));
  EXPECT_EQ(ByType(Actions(kSeller)).count(pb::SUSPENSION), 0u);
  Evaluate(kSeller, as_of + absl::Hours(24 * 9));
  EXPECT_EQ(ByType(Actions(kSeller)).count(pb::SUSPENSION), 1u);
}

TEST_F(EnforcementActionsTest, WarningClosesWhenTheSellerIsNoLongerCritical) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 100);
  DriveToCritical(kSeller, t0);
  Evaluate(kSeller, t0 + absl::Hours(1));
  // 91 days later the orders are out of every window: NO_LEVEL. Hysteresis keeps CRITICAL
  // for one evaluation (only the second CRITICAL one in a row: no suspension); at the second
  // the seller leaves CRITICAL, the warning closes and the measures stay (only an appeal
  // reverses them).
  Evaluate(kSeller, t0 + absl::Hours(24 * 91));
  EXPECT_FALSE(Find(Actions(kSeller), pb::CRITICAL_WARNING)->has_closed_at());
  Evaluate(kSeller, t0 + absl::Hours(24 * 92));
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_TRUE(Find(actions, pb::CRITICAL_WARNING)->has_closed_at());
  EXPECT_FALSE(Find(actions, pb::AT_RISK_MEASURES)->has_closed_at());
  // CRITICAL again: a new warning, no second set of measures.
  DriveToCritical(kSeller, t0 + absl::Hours(24 * 93), "again");
  Evaluate(kSeller, t0 + absl::Hours(24 * 93 + 1));
  EXPECT_EQ(ByType(Actions(kSeller)), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                                    {pb::CRITICAL_WARNING, 2}}));
}

TEST_F(EnforcementActionsTest, ConcurrentEvaluationsCreateEachActionOnce) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  std::vector<std::string> sellers;
  for (int i = 0; i < 6; ++i) {
    char seller[33];
    snprintf(seller, sizeof(seller), "%032x", i + 100);
    sellers.push_back(seller);
    DriveToCritical(seller, t0);
  }
  // Two replicas: explicit evaluations of every seller and queued passes, all at once.
  Evaluation other(store_.get(), &clock_, &observer_);
  std::atomic<int> failures{0};
  std::thread a([&] {
    for (int round = 0; round < 3; ++round) {
      if (!evaluation_->EvaluateSellers(sellers, clock_.Now() - absl::Hours(1)).ok()) ++failures;
    }
  });
  std::thread b([&] {
    for (int round = 0; round < 3; ++round) {
      if (!other.EvaluateSellers(sellers, clock_.Now() - absl::Hours(1)).ok()) ++failures;
      if (!other.RunPass(100).ok()) ++failures;
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::string& seller : sellers) {
    EXPECT_EQ(ByType(Actions(seller)), (std::map<pb::ActionType, int>{
                                           {pb::AT_RISK_MEASURES, 1}, {pb::CRITICAL_WARNING, 1}}))
        << seller;
  }
}

TEST_F(EnforcementActionsTest, ReinstatingASuspensionRestoresWhatTheMeasuresReplaced) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  DriveToCritical(kSeller, t0);
  const absl::Time as_of = t0 + absl::Hours(1);
  Evaluate(kSeller, as_of);
  Evaluate(kSeller, as_of + absl::Hours(24));
  Evaluate(kSeller, as_of + absl::Hours(24 * 7));
  EchoExecutor executor;
  EnforcementWorker worker(enforcement_.get(), &executor, &clock_, &observer_);
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  for (const auto& a : actions) {
    if (a.type() != pb::CRITICAL_WARNING) EXPECT_EQ(a.state(), pb::DONE) << a.action_id();
  }
  const pb::EnforcementAction* suspension = Find(actions, pb::SUSPENSION);
  ASSERT_NE(suspension, nullptr);
  // The notice is on the step, for the seller to read.
  EXPECT_EQ(suspension->steps(1).result(), "result of notify_seller");

  ASSERT_OK(enforcement_->Appeal(suspension->action_id(), kSeller, "my carrier lost them", kSeller, clock_.Now())
                .status());
  EnforcementStore::Restoration r;
  r.action.set_action_id("act_restore1");
  r.action.set_seller_id(kSeller);
  r.action.set_type(pb::RESTORATION);
  r.step_names = RestorationSteps(pb::SUSPENSION);
  ASSERT_OK(enforcement_->DecideAppeal(suspension->action_id(), pb::REINSTATE, "ok", "admin", r,
                                       clock_.Now())
                .status());
  actions = Actions(kSeller);
  EXPECT_TRUE(Find(actions, pb::AT_RISK_MEASURES)->has_closed_at());
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  std::map<std::string, ClaimedStep> restoration;
  for (const ClaimedStep& c : executor.calls()) {
    if (c.type == pb::RESTORATION) restoration[c.name] = c;
  }
  ASSERT_EQ(restoration.size(), 4u);  // RestorationSteps(SUSPENSION)
  EXPECT_EQ(restoration[kRestoreModerationLevel].undone_results[kSetModerationLevel],
            "result of catalog.set_moderation_level");
  EXPECT_EQ(restoration[kRestoreHoldPolicy].undone_results[kSetHoldPolicy],
            "result of payments.set_hold_policy");
  ASSERT_OK_AND_ASSIGN(std::optional<pb::EnforcementAction> done,
                       enforcement_->GetAction("act_restore1"));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), pb::DONE);
  // Still CRITICAL after the reinstatement: the cycle starts again (new measures, which read
  // the restored settings, and a new warning with its own period), not a suspension at once.
  Evaluate(kSeller, as_of + absl::Hours(24 * 8));
  EXPECT_EQ(ByType(Actions(kSeller)),
            (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 2},
                                           {pb::CRITICAL_WARNING, 2},
                                           {pb::SUSPENSION, 1},
                                           {pb::RESTORATION, 1}}));
}

TEST_F(EnforcementActionsTest, ReinstatingMeasuresRestoresTheirOwnSettings) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  DriveToCritical(kSeller, t0);
  Evaluate(kSeller, t0 + absl::Hours(1));
  EchoExecutor executor;
  EnforcementWorker worker(enforcement_.get(), &executor, &clock_, &observer_);
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  const pb::EnforcementAction* measures = nullptr;
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  measures = Find(actions, pb::AT_RISK_MEASURES);
  ASSERT_NE(measures, nullptr);
  ASSERT_EQ(measures->state(), pb::DONE);
  ASSERT_OK(enforcement_->Appeal(measures->action_id(), kSeller, "one bad week", kSeller, clock_.Now())
                .status());
  EnforcementStore::Restoration r;
  r.action.set_action_id("act_0123456789abcdef01234567");
  r.action.set_seller_id(kSeller);
  r.action.set_type(pb::RESTORATION);
  r.step_names = RestorationSteps(pb::AT_RISK_MEASURES);
  ASSERT_OK_AND_ASSIGN(pb::EnforcementAction decided,
                       enforcement_->DecideAppeal(measures->action_id(), pb::REINSTATE, "",
                                                  "admin", r, clock_.Now()));
  EXPECT_EQ(decided.state(), pb::REVERSED);
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  std::map<std::string, ClaimedStep> restoration;
  for (const ClaimedStep& c : executor.calls()) {
    if (c.type == pb::RESTORATION) restoration[c.name] = c;
  }
  ASSERT_EQ(restoration.size(), 3u);
  EXPECT_EQ(restoration[kRestoreModerationLevel].undone_results[kSetModerationLevel],
            "result of catalog.set_moderation_level");
  EXPECT_EQ(restoration[kRestoreHoldPolicy].undone_results[kSetHoldPolicy],
            "result of payments.set_hold_policy");
  // The warning is still open (only a suspension's REINSTATE closes it); the next CRITICAL
  // evaluation applies the measures again, since the reversed ones are no longer open.
  Evaluate(kSeller, t0 + absl::Hours(2));
  EXPECT_EQ(ByType(Actions(kSeller)), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 2},
                                                                    {pb::CRITICAL_WARNING, 1},
                                                                    {pb::RESTORATION, 1}}));
}


TEST_F(EnforcementActionsTest, ASellerBackToGoodGetsTheMeasuresUndoneOnce) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  DriveToCritical(kSeller, t0);
  Evaluate(kSeller, t0 + absl::Hours(1));
  ASSERT_NE(Find(Actions(kSeller), pb::AT_RISK_MEASURES), nullptr);
  // 1,000 good orders the next day: ODR 5 / 1,020 = 0.49 %, under 80 % of the 0.75 % line.
  std::vector<EventRecord> good;
  for (int i = 0; i < 1000; ++i) {
    const std::string order = "good" + std::to_string(i);
    good.push_back(*MakeRecord(Placed(std::string(kSeller) + "p" + order, t0 + absl::Hours(24), order, kSeller),
                               "api"));
  }
  ASSERT_OK(store_->RecordEvents(good).status());
  // GOOD (after hysteresis) while the measures are still being carried out: they are left to
  // finish, nothing is undone yet.
  Evaluate(kSeller, t0 + absl::Hours(25));
  Evaluate(kSeller, t0 + absl::Hours(26));
  ASSERT_OK_AND_ASSIGN(std::optional<pb::SellerScorecard> card,
                       store_->LatestScorecard(kSeller));
  ASSERT_TRUE(card.has_value());
  ASSERT_EQ(card->health(), pb::GOOD);
  EXPECT_EQ(Find(Actions(kSeller), pb::RESTORATION), nullptr);

  EchoExecutor executor;
  EnforcementWorker worker(enforcement_.get(), &executor, &clock_, &observer_);
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  Evaluate(kSeller, t0 + absl::Hours(27));
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  const pb::EnforcementAction* restoration = Find(actions, pb::RESTORATION);
  ASSERT_NE(restoration, nullptr);
  EXPECT_NE(restoration->explanation().find("back to GOOD"), std::string::npos);
  EXPECT_TRUE(Find(actions, pb::AT_RISK_MEASURES)->has_closed_at());
  EXPECT_TRUE(Find(actions, pb::CRITICAL_WARNING)->has_closed_at());
  for (int i = 0; i < 10; ++i) ASSERT_OK(worker.RunPass().status());
  std::map<std::string, ClaimedStep> restored;
  for (const ClaimedStep& c : executor.calls()) {
    if (c.type == pb::RESTORATION) restored[c.name] = c;
  }
  ASSERT_EQ(restored.size(), 3u);
  EXPECT_EQ(restored[kRestoreModerationLevel].undone_results[kSetModerationLevel],
            "result of catalog.set_moderation_level");
  EXPECT_EQ(restored[kRestoreHoldPolicy].undone_results[kSetHoldPolicy],
            "result of payments.set_hold_policy");
  // Later GOOD evaluations undo nothing more.
  Evaluate(kSeller, t0 + absl::Hours(28));
  EXPECT_EQ(ByType(Actions(kSeller)), (std::map<pb::ActionType, int>{{pb::AT_RISK_MEASURES, 1},
                                                                    {pb::CRITICAL_WARNING, 1},
                                                                    {pb::RESTORATION, 1}}));
}

// payments' hold policy of one seller as the executor would leave it: reads answer the hold
// in force, sets record what they replaced, restorations put back RestoredHold. TOP terms'
// set fails `failing_top_sets` times first (payments unavailable).
class FakePayments final : public StepExecutor {
 public:
  explicit FakePayments(absl::Duration hold, int failing_top_sets = 0)
      : hold_(hold), failing_top_sets_(failing_top_sets) {}

  absl::StatusOr<std::string> Run(const ClaimedStep& step) override {
    absl::MutexLock lock(&mu_);
    if (step.name == kReadHoldPolicy) {
      log_.push_back(absl::StrCat(pb::ActionType_Name(step.type), " read ", Text(hold_)));
      return Text(hold_);
    }
    if (step.name == kSetHoldPolicy) {
      if (step.type == pb::TOP_SELLER_TERMS && failing_top_sets_ > 0) {
        --failing_top_sets_;
        return absl::UnavailableError("payments unavailable");
      }
      if (!step.hold.has_value()) return absl::InternalError("no hold recorded");
      const std::string previous = step.earlier_results.at(step.step_no - 1);
      if (step.type == pb::TOP_SELLER_TERMS && step.keep_above.has_value() &&
          hold_ > *step.keep_above) {
        // As GrpcStepExecutor: TOP terms never shorten a hold longer than the GOOD one.
        log_.push_back(absl::StrCat(pb::ActionType_Name(step.type), " kept ", Text(hold_)));
        return previous;
      }
      hold_ = *step.hold;
      log_.push_back(absl::StrCat(pb::ActionType_Name(step.type), " set ", Text(hold_)));
      return previous;
    }
    if (step.name == kRestoreHoldPolicy) {
      auto it = step.undone_results.find(kSetHoldPolicy);
      if (it == step.undone_results.end()) return std::string("nothing to restore");
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(absl::StripSuffix(it->second, "s"), &seconds)) {
        return absl::InternalError("bad recorded hold " + it->second);
      }
      hold_ = RestoredHold(absl::Seconds(seconds), step.hold);
      log_.push_back(absl::StrCat("RESTORATION set ", Text(hold_)));
      return "hold " + Text(hold_);
    }
    return "result of " + step.name;
  }
  absl::Duration hold() {
    absl::MutexLock lock(&mu_);
    return hold_;
  }
  std::vector<std::string> log() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

 private:
  static std::string Text(absl::Duration d) {
    return absl::StrCat(absl::ToInt64Seconds(d), "s");
  }
  absl::Mutex mu_;
  absl::Duration hold_ ABSL_GUARDED_BY(mu_);
  int failing_top_sets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
};

std::string DaysText(int days) { return absl::StrCat(days * 86400, "s"); }

class HoldTiersTest : public EnforcementActionsTest {
 protected:
  // `orders` orders of the seller on `at`'s day without a defect, 20 of them rated 5 stars:
  // with >= 600 orders the TOP badge (ODR upper bound <= 0.5 %, rating >= 4.8).
  void GoodOrders(const std::string& tag, absl::Time at, int orders) {
    std::vector<EventRecord> records;
    for (int i = 0; i < orders; ++i) {
      const std::string order = tag + std::to_string(i);
      records.push_back(*MakeRecord(Placed(tag + "p" + std::to_string(i), at, order), "api"));
      if (i < 20) {
        records.push_back(
            *MakeRecord(Rated(tag + "r" + std::to_string(i), at, order, 5), "api"));
      }
    }
    ASSERT_OK(store_->RecordEvents(records).status());
  }
  // Claims that count on `n` of the orders GoodOrders(tag) made.
  void Claims(const std::string& tag, absl::Time at, int n) {
    std::vector<EventRecord> records;
    for (int i = 0; i < n; ++i) {
      records.push_back(*MakeRecord(
          Claim(tag + "c" + std::to_string(i), at, tag + std::to_string(i), true), "api"));
    }
    ASSERT_OK(store_->RecordEvents(records).status());
  }
  pb::SellerScorecard Card() {
    auto card = store_->LatestScorecard(kSeller);
    EXPECT_TRUE(card.ok() && card->has_value());
    return card.ok() && card->has_value() ? **card : pb::SellerScorecard();
  }
  void RunWorker(EnforcementWorker& worker, int passes = 10) {
    for (int i = 0; i < passes; ++i) {
      clock_.Advance(absl::Minutes(10));  // past any backoff
      ASSERT_OK(worker.RunPass().status());
    }
  }
  void UpdateHoldDays(int at_risk, int good, int top) {
    ASSERT_OK_AND_ASSIGN(pb::Thresholds t, store_->CurrentThresholds());
    t.set_hold_days_at_risk(at_risk);
    t.set_hold_days_good(good);
    t.set_hold_days_top(top);
    ASSERT_OK(store_->UpdateThresholds(t.version(), t, "admin", clock_.Now()).status());
  }
};

TEST_F(HoldTiersTest, TopTermsFollowTheBadgeAndLosingItRestoresTheHold) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  GoodOrders("a", t0, 600);
  Evaluate(kSeller, t0 + absl::Hours(1));
  ASSERT_TRUE(Card().top_badge());
  ASSERT_EQ(Card().health(), pb::GOOD);
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  ASSERT_EQ(ByType(actions), (std::map<pb::ActionType, int>{{pb::TOP_SELLER_TERMS, 1}}));
  const pb::EnforcementAction terms = actions[0];
  EXPECT_EQ(terms.hold_period().seconds(), 7 * 86400);
  ASSERT_EQ(terms.steps_size(), 3);
  EXPECT_EQ(terms.steps(0).name(), kReadHoldPolicy);
  EXPECT_EQ(terms.steps(1).name(), kSetHoldPolicy);
  EXPECT_EQ(terms.steps(2).name(), kNotifySeller);
  // Evaluations with the badge add nothing.
  Evaluate(kSeller, t0 + absl::Hours(2));
  Evaluate(kSeller, t0 + absl::Hours(3));
  EXPECT_EQ(Actions(kSeller).size(), 1u);
  // Not appealable (it lifts measures).
  absl::Status appeal =
      enforcement_->Appeal(terms.action_id(), kSeller, "more", kSeller, clock_.Now()).status();
  EXPECT_EQ(appeal.code(), absl::StatusCode::kFailedPrecondition) << appeal;

  // An operator had set 30 days before the terms came: longer than the GOOD 14 (recorded
  // with the terms), so the terms leave it.
  FakePayments payments(absl::Hours(24 * 30));
  EnforcementWorker worker(enforcement_.get(), &payments, &clock_, &observer_);
  RunWorker(worker);
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 30));
  EXPECT_EQ(payments.log(), (std::vector<std::string>{"TOP_SELLER_TERMS read 2592000s",
                                                      "TOP_SELLER_TERMS kept 2592000s"}));
  ASSERT_OK_AND_ASSIGN(std::vector<pb::EnforcementAction> current,
                       enforcement_->CurrentActions(kSeller));
  ASSERT_EQ(current.size(), 1u);  // the scorecard shows the terms while they hold
  EXPECT_EQ(current[0].type(), pb::TOP_SELLER_TERMS);
  EXPECT_EQ(current[0].state(), pb::DONE);

  // One claim: ODR 1/600 is still GOOD, but its upper bound loses the badge.
  Claims("a", t0 + absl::Hours(24), 1);
  Evaluate(kSeller, t0 + absl::Hours(25));
  ASSERT_EQ(Card().health(), pb::GOOD);
  ASSERT_FALSE(Card().top_badge());
  actions = Actions(kSeller);
  EXPECT_EQ(ByType(actions), (std::map<pb::ActionType, int>{{pb::TOP_SELLER_TERMS, 1},
                                                            {pb::RESTORATION, 1}}));
  const pb::EnforcementAction* restoration = Find(actions, pb::RESTORATION);
  ASSERT_NE(restoration, nullptr);
  EXPECT_EQ(restoration->hold_period().seconds(), 14 * 86400);
  EXPECT_NE(restoration->explanation().find("without the TOP badge"), std::string::npos)
      << restoration->explanation();
  ASSERT_EQ(restoration->steps_size(), 2);
  EXPECT_EQ(restoration->steps(0).name(), kRestoreHoldPolicy);
  EXPECT_TRUE(Find(actions, pb::TOP_SELLER_TERMS)->has_closed_at());
  RunWorker(worker);
  // The operator's 30 days come back (longer than the GOOD 14).
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 30));
  // Later evaluations without the badge add nothing.
  Evaluate(kSeller, t0 + absl::Hours(26));
  EXPECT_EQ(Actions(kSeller).size(), 2u);
}

TEST_F(HoldTiersTest, TopThenAtRiskThenGoodEndsAtTheGoodHold) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  GoodOrders("a", t0, 600);
  Evaluate(kSeller, t0 + absl::Hours(1));
  ASSERT_TRUE(Card().top_badge());
  // payments is down for the terms' set: the seller falls AT_RISK (6 claims of 600: 1 %)
  // before the TOP hold is set.
  FakePayments payments(absl::Hours(24 * 14), /*failing_top_sets=*/6);
  EnforcementWorker worker(enforcement_.get(), &payments, &clock_, &observer_);
  ASSERT_OK(worker.RunPass().status());  // the terms' read
  Claims("a", t0 + absl::Hours(24), 6);
  Evaluate(kSeller, t0 + absl::Hours(25));
  ASSERT_EQ(Card().health(), pb::AT_RISK);
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  EXPECT_EQ(ByType(actions), (std::map<pb::ActionType, int>{{pb::TOP_SELLER_TERMS, 1},
                                                            {pb::AT_RISK_MEASURES, 1}}));
  EXPECT_TRUE(Find(actions, pb::TOP_SELLER_TERMS)->has_closed_at());
  EXPECT_EQ(Find(actions, pb::AT_RISK_MEASURES)->hold_period().seconds(), 21 * 86400);
  RunWorker(worker, 15);
  // The measures' hold steps waited for the terms' set: the AT_RISK hold is the last one.
  EXPECT_EQ(payments.log(),
            (std::vector<std::string>{"TOP_SELLER_TERMS read " + DaysText(14),
                                      "TOP_SELLER_TERMS set " + DaysText(7),
                                      "AT_RISK_MEASURES read " + DaysText(7),
                                      "AT_RISK_MEASURES set " + DaysText(21)}));
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 21));

  // 1,400 good orders: ODR 6 / 2,000 = 0.3 % (GOOD after two evaluations, no badge: upper
  // bound 0.58 %). The measures replaced 7 days; the seller is GOOD: 14 come back.
  GoodOrders("b", t0 + absl::Hours(48), 1400);
  Evaluate(kSeller, t0 + absl::Hours(49));
  Evaluate(kSeller, t0 + absl::Hours(50));
  ASSERT_EQ(Card().health(), pb::GOOD);
  ASSERT_FALSE(Card().top_badge());
  actions = Actions(kSeller);
  const pb::EnforcementAction* restoration = Find(actions, pb::RESTORATION);
  ASSERT_NE(restoration, nullptr);
  EXPECT_EQ(restoration->hold_period().seconds(), 14 * 86400);
  RunWorker(worker);
  EXPECT_EQ(payments.log().back(), "RESTORATION set " + DaysText(14));
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 14));
  Evaluate(kSeller, t0 + absl::Hours(51));
  EXPECT_EQ(ByType(Actions(kSeller)), (std::map<pb::ActionType, int>{{pb::TOP_SELLER_TERMS, 1},
                                                                    {pb::AT_RISK_MEASURES, 1},
                                                                    {pb::RESTORATION, 1}}));
}

// The same race with two workers on two stores running passes at once (as two replicas):
// whichever claims what, the measures' hold steps run after the terms' set.
TEST_F(HoldTiersTest, TwoWorkersAtOnceKeepTheOrderOfTheHolds) {
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  GoodOrders("a", t0, 600);
  Evaluate(kSeller, t0 + absl::Hours(1));
  Claims("a", t0 + absl::Hours(24), 6);
  Evaluate(kSeller, t0 + absl::Hours(25));
  ASSERT_EQ(ByType(Actions(kSeller)), (std::map<pb::ActionType, int>{
                                          {pb::TOP_SELLER_TERMS, 1}, {pb::AT_RISK_MEASURES, 1}}));
  FakePayments payments(absl::Hours(24 * 14), /*failing_top_sets=*/4);
  MysqlEnforcementStore other(&pool(), &clock_);
  EnforcementWorker a(enforcement_.get(), &payments, &clock_, &observer_);
  EnforcementWorker b(&other, &payments, &clock_, &observer_);
  std::atomic<bool> failed{false};
  // 2 s a pass: past the backoffs (1, 2, 4, 8 s), far from the 2-minute lease (a step in
  // flight is not claimed again by the other worker).
  auto run = [&](EnforcementWorker* worker) {
    for (int i = 0; i < 60; ++i) {
      clock_.Advance(absl::Seconds(2));
      if (!worker->RunPass().ok()) failed = true;
    }
  };
  std::thread ta(run, &a);
  std::thread tb(run, &b);
  ta.join();
  tb.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(payments.log(),
            (std::vector<std::string>{"TOP_SELLER_TERMS read " + DaysText(14),
                                      "TOP_SELLER_TERMS set " + DaysText(7),
                                      "AT_RISK_MEASURES read " + DaysText(7),
                                      "AT_RISK_MEASURES set " + DaysText(21)}));
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 21));
  for (const auto& action : Actions(kSeller)) EXPECT_EQ(action.state(), pb::DONE);
}

TEST_F(HoldTiersTest, HoldDaysComeFromTheThresholdsInForce) {
  UpdateHoldDays(30, 10, 3);
  const absl::Time t0 = clock_.Now() - absl::Hours(24 * 20);
  GoodOrders("a", t0, 600);
  Evaluate(kSeller, t0 + absl::Hours(1));
  const pb::EnforcementAction* terms = Find(Actions(kSeller), pb::TOP_SELLER_TERMS);
  ASSERT_NE(terms, nullptr);
  EXPECT_EQ(terms->hold_period().seconds(), 3 * 86400);
  Claims("a", t0 + absl::Hours(24), 6);
  Evaluate(kSeller, t0 + absl::Hours(25));
  std::vector<pb::EnforcementAction> actions = Actions(kSeller);
  const pb::EnforcementAction* measures = Find(actions, pb::AT_RISK_MEASURES);
  ASSERT_NE(measures, nullptr);
  EXPECT_EQ(measures->hold_period().seconds(), 30 * 86400);
  EXPECT_NE(measures->explanation().find("held 30 days"), std::string::npos);
  FakePayments payments(absl::Hours(24 * 14));
  EnforcementWorker worker(enforcement_.get(), &payments, &clock_, &observer_);
  RunWorker(worker);
  EXPECT_EQ(payments.hold(), absl::Hours(24 * 30));
}

// A database with actions from before migration 0006 (no hold_seconds, no seq): the
// migration numbers them, their hold stays unset, and a restoration of old measures decided
// now restores what they replaced with the GOOD floor; new actions come after them in seq.
class HoldUpgradeTest : public common::testing::DatabaseTest {
 protected:
  NoKpiObserver observer_;
};

TEST_F(HoldUpgradeTest, ActionsFromBeforeTheHoldColumnsKeepWorking) {
  common::db::MigrationFiles before;
  for (const auto& file : SellerKpiMigrations()) {
    if (file.first < "0006") before.push_back(file);
  }
  ASSERT_LT(before.size(), SellerKpiMigrations().size());
  ASSERT_OK(common::db::ApplyMigrations(pool(), "sellerkpi", before));
  common::ManualClock clock;
  const absl::Time t = clock.Now() - absl::Hours(1);
  for (const char* id : {"act_0000000000000000000000a1", "act_0000000000000000000000a2"}) {
    ASSERT_OK(pool()
                  .Execute("INSERT INTO enforcement_actions (action_id, seller_id, type, state, "
                           "explanation, created_at, updated_at) "
                           "VALUES (?, ?, 'AT_RISK_MEASURES', 'DONE', 'old', ?, ?)",
                           {std::string(id), std::string(kSeller), t, t})
                  .status());
  }
  const std::vector<std::string> steps = ActionSteps(pb::AT_RISK_MEASURES);
  for (size_t i = 0; i < steps.size(); ++i) {
    ASSERT_OK(pool()
                  .Execute("INSERT INTO enforcement_steps (action_id, step_no, name, request_id, "
                           "state, attempts, error, result, next_attempt_at, updated_at) VALUES "
                           "('act_0000000000000000000000a2', ?, ?, ?, 'DONE_CHECKED', 1, '', ?, "
                           "?, ?)",
                           {static_cast<int64_t>(i), steps[i],
                            absl::StrCat("act_0000000000000000000000a2.", i),
                            std::string(i >= 3 ? "604800s" : "STANDARD"), t, t})
                  .status());
  }
  ASSERT_OK(ApplySellerKpiMigrations(pool()));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT COUNT(DISTINCT seq) AS n, "
                                               "COUNT(hold_seconds) AS h FROM enforcement_actions"));
  EXPECT_EQ(*rows[0].GetInt64("n"), 2);
  EXPECT_EQ(*rows[0].GetInt64("h"), 0);

  MysqlEnforcementStore store(&pool(), &clock);
  ASSERT_OK_AND_ASSIGN(std::optional<pb::EnforcementAction> old,
                       store.GetAction("act_0000000000000000000000a2"));
  ASSERT_TRUE(old.has_value());
  EXPECT_FALSE(old->has_hold_period());
  ASSERT_OK(store.Appeal(old->action_id(), kSeller, "old measures", kSeller, clock.Now())
                .status());
  EnforcementStore::Restoration r;
  r.action.set_action_id("act_0000000000000000000000b1");
  r.action.set_seller_id(kSeller);
  r.action.set_type(pb::RESTORATION);
  r.action.mutable_hold_period()->set_seconds(14 * 86400);
  r.step_names = RestorationSteps(pb::AT_RISK_MEASURES);
  ASSERT_OK(store.DecideAppeal(old->action_id(), pb::REINSTATE, "", "admin", r, clock.Now())
                .status());
  FakePayments payments(absl::Hours(24 * 21));
  EnforcementWorker worker(&store, &payments, &clock, &observer_);
  for (int i = 0; i < 5; ++i) {
    clock.Advance(absl::Minutes(10));
    ASSERT_OK(worker.RunPass().status());
  }
  // The old measures replaced 7 days; the restoration's floor is 14.
  EXPECT_EQ(payments.log(), (std::vector<std::string>{"RESTORATION set " + DaysText(14)}));
  ASSERT_OK_AND_ASSIGN(rows, pool().Query("SELECT action_id FROM enforcement_actions "
                                          "ORDER BY seq DESC LIMIT 1"));
  EXPECT_EQ(*rows[0].GetString("action_id"), "act_0000000000000000000000b1");
}

}  // namespace
}  // namespace marketplace::sellerkpi
