#include "services/sellerkpi/evaluation_replay.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/evaluation.h"
#include "services/sellerkpi/kpi_math.h"
#include "services/sellerkpi/mysql_kpi_store.h"
#include "services/sellerkpi/sellerkpi_observer.h"
#include "services/sellerkpi/test_events.h"

namespace marketplace::sellerkpi {
namespace {

using namespace ::marketplace::sellerkpi::testing;  // NOLINT

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const absl::Duration kDay = absl::Hours(24);

pb::Thresholds Lines(double odr_at_risk) {
  pb::Thresholds t;
  pb::KpiThreshold* odr = t.add_lines();
  odr->set_kpi(pb::ORDER_DEFECT_RATE);
  odr->set_at_risk(odr_at_risk);
  odr->set_critical(0.5);
  pb::KpiThreshold* rating = t.add_lines();
  rating->set_kpi(pb::RATING_AVERAGE);
  rating->set_at_risk(4.0);
  rating->set_critical(3.0);
  t.set_recovery_share(0.8);
  t.set_recovery_evaluations(2);
  return t;
}

pb::SellerEvent Exclusion(const std::string& id) {
  pb::SellerEvent e;
  e.set_event_id("excluded:" + id);
  common::ToTimestamp(kNow, e.mutable_occurred_at());
  e.set_source("sellerkpi");
  e.mutable_event_excluded()->set_excluded_event_id(id);
  e.mutable_event_excluded()->set_reason("fraudulent claim");
  return e;
}

std::string At(const std::string& seller, absl::Time as_of) {
  return absl::StrCat(seller, "/", absl::FormatTime(absl::RFC3339_full, as_of, absl::UTCTimeZone()));
}

class EvaluationReplayTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySellerKpiMigrations(pool()));
    store_ = std::make_unique<MysqlKpiStore>(&pool());
    ASSERT_OK(store_->SeedThresholds(Lines(0.05), kNow));
    evaluation_ = std::make_unique<Evaluation>(store_.get(), &clock_, &observer_);
  }

  void Record(const std::vector<pb::SellerEvent>& events) {
    std::vector<EventRecord> records;
    for (const auto& e : events) {
      auto r = MakeRecord(e, "api");
      ASSERT_TRUE(r.ok()) << r.status();
      records.push_back(*r);
    }
    ASSERT_OK(store_->RecordEvents(records).status());
  }

  // Both sellers evaluated at `as_of`, the platform mean read again.
  void EvaluateAt(absl::Time as_of) {
    clock_.Advance(absl::Hours(2));
    ASSERT_OK(evaluation_->EvaluateSellers({kSeller, kOtherSeller}, as_of).status());
  }

  // seller_evaluations.health by as_of.
  std::map<absl::Time, pb::HealthLevel> StoredHealth(const std::string& seller) {
    auto rows = pool().Query(
        "SELECT as_of, health FROM seller_evaluations WHERE seller_id = ? ORDER BY as_of",
        {seller});
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::map<absl::Time, pb::HealthLevel> out;
    for (const auto& row : *rows) {
      out[*row.GetTime("as_of")] = static_cast<pb::HealthLevel>(*row.GetInt64("health"));
    }
    return out;
  }

  // Four evaluations of two sellers over four days: hysteresis (AT_RISK held one evaluation
  // under the recovery share, GOOD after two), an exclusion and a late event between two
  // evaluations, the platform mean moving, a new thresholds version before the last.
  void History() {
    std::vector<pb::SellerEvent> day1;
    for (int i = 0; i < 20; ++i) {
      day1.push_back(Placed(absl::StrCat("a-p", i), kNow - absl::Hours(1), absl::StrCat("a", i)));
    }
    for (int i = 0; i < 3; ++i) {
      day1.push_back(Claim(absl::StrCat("a-c", i), kNow - absl::Minutes(30), absl::StrCat("a", i),
                           true));
    }
    for (int i = 0; i < 5; ++i) {
      day1.push_back(Rated(absl::StrCat("a-r", i), kNow - absl::Minutes(20),
                           absl::StrCat("a", 10 + i), 5));
    }
    for (int i = 0; i < 12; ++i) {
      day1.push_back(Placed(absl::StrCat("b-p", i), kNow - absl::Hours(1), absl::StrCat("b", i),
                            kOtherSeller));
    }
    for (int i = 0; i < 5; ++i) {
      day1.push_back(Rated(absl::StrCat("b-r", i), kNow - absl::Minutes(20), absl::StrCat("b", i),
                           4, kOtherSeller));
    }
    Record(day1);
    EvaluateAt(kNow);  // A: 3/20 defects, AT_RISK

    std::vector<pb::SellerEvent> day2;
    for (int i = 20; i < 100; ++i) {
      day2.push_back(Placed(absl::StrCat("a-p", i), kNow + kDay - absl::Hours(1),
                            absl::StrCat("a", i)));
    }
    Record(day2);
    EvaluateAt(kNow + kDay);  // A: 3/100, under the share once: still AT_RISK

    // Between the second and the third: a claim taken out, an order of day 1 arriving late,
    // a low rating for B (the platform mean moves).
    ASSERT_OK(store_->ExcludeEvent("a-c0", Exclusion("a-c0")).status());
    Record({Placed("a-late", kNow - absl::Hours(2), "a-late"),
            Rated("b-low", kNow + 2 * kDay - absl::Hours(1), "b11", 1, kOtherSeller)});
    EvaluateAt(kNow + 2 * kDay);  // A: 2/101, under the share twice: GOOD

    ASSERT_OK(store_->UpdateThresholds(1, Lines(0.01), "admin", kNow).status());
    EvaluateAt(kNow + 3 * kDay);  // A: 2/101 above 1 %: AT_RISK under version 2
  }

  common::ManualClock clock_;
  NoKpiObserver observer_;
  std::unique_ptr<MysqlKpiStore> store_;
  std::unique_ptr<Evaluation> evaluation_;
};

TEST_F(EvaluationReplayTest, ReplaysTheStoredEvaluationsWithoutDifferenceTwice) {
  History();
  // What was stored is what the scenario is about: the hysteresis held AT_RISK once.
  const std::map<absl::Time, pb::HealthLevel> expected = {{kNow, pb::AT_RISK},
                                                          {kNow + kDay, pb::AT_RISK},
                                                          {kNow + 2 * kDay, pb::GOOD},
                                                          {kNow + 3 * kDay, pb::AT_RISK}};
  ASSERT_EQ(StoredHealth(kSeller), expected);

  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
    EXPECT_EQ(report.evaluations, 8);
    EXPECT_EQ(report.events_read, 20 + 3 + 5 + 12 + 5 + 80 + 1 + 2);  // the exclusion too
    EXPECT_EQ(report.health_differences, 0);
    EXPECT_TRUE(report.examples.empty()) << report.examples[0];
  }
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport one, ReplayEvaluations(*store_, {kSeller}, 100));
  EXPECT_EQ(one.evaluations, 4);
  EXPECT_EQ(one.health_differences, 0);
}

TEST_F(EvaluationReplayTest, ATamperedHealthIsFoundWithItsExample) {
  History();
  // The second evaluation of A says GOOD instead of AT_RISK.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_evaluations SET health = ? WHERE seller_id = ? AND "
                         "as_of = ?",
                         {int64_t{pb::GOOD}, std::string(kSeller), kNow + kDay})
                .status());
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.evaluations, 8);
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0], At(kSeller, kNow + kDay) + ": stored GOOD, replay AT_RISK");
  // The next evaluations are replayed from the replayed result, not from the tampered one.
  ASSERT_OK_AND_ASSIGN(report, ReplayEvaluations(*store_, {kOtherSeller}, 100));
  EXPECT_EQ(report.health_differences, 0);

  // A second seller's difference: counted once however many of its evaluations differ.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_evaluations SET top_badge = TRUE WHERE seller_id = ?",
                         {std::string(kOtherSeller)})
                .status());
  ASSERT_OK_AND_ASSIGN(report, ReplayEvaluations(*store_, {}, 3));
  EXPECT_EQ(report.health_differences, 2);
  EXPECT_EQ(report.examples.size(), 3u);  // capped
  ASSERT_OK_AND_ASSIGN(report, ReplayEvaluations(*store_, {kOtherSeller}, 100));
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_EQ(report.examples.size(), 4u);
  EXPECT_EQ(report.examples[0], At(kOtherSeller, kNow) + ": stored top_badge true, replay false");
}

TEST_F(EvaluationReplayTest, ATamperedCounterIsFoundByBothReplays) {
  History();
  // Counters changed behind the log's back, then evaluated: the aggregate replay finds the
  // row, and the evaluation made from it differs from its replay.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_day_counters SET n = n + 5 WHERE seller_id = ? AND "
                         "day = ? AND counter = 'odr_defects'",
                         {std::string(kSeller), absl::FormatCivilTime(DayOf(kNow))})
                .status());
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport counters, store_->ReplayCounters({}, 10));
  EXPECT_EQ(counters.aggregate_differences, 1);
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.health_differences, 0);  // the stored evaluations predate the tampering
  EvaluateAt(kNow + 4 * kDay);
  ASSERT_OK_AND_ASSIGN(report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.evaluations, 10);
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_FALSE(report.examples.empty());
  EXPECT_EQ(report.examples.back(),
            At(kSeller, kNow + 4 * kDay) + "/ORDER_DEFECT_RATE: stored 7/101, replay 2/101");
}

TEST_F(EvaluationReplayTest, ATamperedHealthInForceIsFound) {
  History();
  // B's health in force (seller_health, what ListSellersByHealth and enforcement read) says
  // GOOD; its last evaluation, stored and replayed, says AT_RISK.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_health SET health = ? WHERE seller_id = ?",
                         {int64_t{pb::GOOD}, std::string(kOtherSeller)})
                .status());
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0],
            std::string(kOtherSeller) + ": in force GOOD streak 0, replay AT_RISK streak 0");
  // So is a tampered recovery streak.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_health SET health = ?, recovery_streak = 1 WHERE "
                         "seller_id = ?",
                         {int64_t{pb::AT_RISK}, std::string(kOtherSeller)})
                .status());
  ASSERT_OK_AND_ASSIGN(report, ReplayEvaluations(*store_, {kOtherSeller}, 100));
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0],
            std::string(kOtherSeller) + ": in force AT_RISK streak 1, replay AT_RISK streak 0");
}

TEST_F(EvaluationReplayTest, AMissingThresholdsVersionIsADifference) {
  History();
  ASSERT_OK(pool()
                .Execute("UPDATE seller_evaluations SET thresholds_version = 99 WHERE "
                         "seller_id = ? AND as_of = ?",
                         {std::string(kOtherSeller), kNow})
                .status());
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.health_differences, 1);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0], At(kOtherSeller, kNow) + ": thresholds version 99 is not stored");
}

TEST_F(EvaluationReplayTest, ReplaysWhileEvaluationsRun) {
  History();
  // Evaluations stored while replays read: each replay reads every seller's evaluations and
  // events in one snapshot, so none finds a difference.
  std::atomic<bool> done{false};
  std::thread evaluator([&] {
    for (int hour = 1; hour <= 20; ++hour) {
      EXPECT_OK(evaluation_->EvaluateSellers({kSeller, kOtherSeller},
                                             kNow + 3 * kDay + absl::Hours(hour))
                    .status());
    }
    done = true;
  });
  int replays = 0;
  while (!done || replays == 0) {
    auto report = ReplayEvaluations(*store_, {}, 100);
    if (!report.ok()) {
      ADD_FAILURE() << report.status();
      break;
    }
    EXPECT_EQ(report->health_differences, 0)
        << (report->examples.empty() ? "" : report->examples[0]);
    ++replays;
  }
  evaluator.join();
  ASSERT_OK_AND_ASSIGN(EvaluationReplayReport report, ReplayEvaluations(*store_, {}, 100));
  EXPECT_EQ(report.evaluations, 8 + 40);
  EXPECT_EQ(report.health_differences, 0);
}

TEST(StoredPriorTest, ReadFromTheScorecardOrDerivedFromTheRatingFigure) {
  pb::Thresholds t = Lines(0.05);
  DayCounters counters;
  const absl::CivilDay day = DayOf(kNow);
  counters.Add(day, "ratings", 7);
  counters.Add(day, "rating_stars", 30);
  pb::SellerScorecard card =
      Evaluate(kSeller, t, counters, kNow, 4.37, HealthState{}).scorecard;
  EXPECT_DOUBLE_EQ(StoredPrior(card), 4.37);
  card.clear_platform_mean_rating();  // stored before the field existed
  EXPECT_NEAR(StoredPrior(card), 4.37, 1e-9);
  pb::SellerScorecard no_ratings =
      Evaluate(kSeller, t, DayCounters(), kNow, 4.37, HealthState{}).scorecard;
  no_ratings.clear_platform_mean_rating();
  EXPECT_DOUBLE_EQ(StoredPrior(no_ratings), kDefaultPlatformMean);
}

}  // namespace
}  // namespace marketplace::sellerkpi
