#include "services/sellerkpi/kpi_math.h"

#include <cmath>
#include <string>
#include <vector>

#include "common/stats/wilson.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/counters.h"
#include "services/sellerkpi/thresholds_file.h"

namespace marketplace::sellerkpi {
namespace {

const absl::Time kAsOf = absl::FromCivil(absl::CivilSecond(2026, 12, 4, 18, 0, 0),
                                         absl::UTCTimeZone());
const absl::CivilDay kToday(2026, 12, 4);

pb::Thresholds Seed() {
  auto t = LoadThresholdsFile("services/sellerkpi/data/thresholds.textproto");
  EXPECT_TRUE(t.ok()) << t.status();
  t->set_version(1);
  return *t;
}

pb::HealthLevel Odr(int64_t defects, int64_t orders) {
  return JudgeRate(defects, orders, 0.0075, 0.01, kDefaultMinTrials, kDefaultMinEvents);
}

TEST(WilsonTest, TheIssuesOdrBounds) {
  EXPECT_NEAR(common::WilsonLowerBound(1, 10, kOneSidedZ95), 0.023, 0.0005);
  EXPECT_NEAR(common::WilsonLowerBound(2, 100, kOneSidedZ95), 0.0066, 0.0005);
  EXPECT_NEAR(common::WilsonLowerBound(3, 100, kOneSidedZ95), 0.012, 0.0005);
  EXPECT_NEAR(common::WilsonLowerBound(15, 1000, kOneSidedZ95), 0.0099, 0.0001);
  EXPECT_NEAR(common::WilsonLowerBound(20, 1000, kOneSidedZ95), 0.0139, 0.0001);
}

TEST(JudgeRateTest, TheIssuesOdrExamples) {
  EXPECT_EQ(Odr(1, 3), pb::NO_LEVEL);     // too few orders
  EXPECT_EQ(Odr(1, 10), pb::AT_RISK);     // bound 2.3 % but a single event
  EXPECT_EQ(Odr(2, 100), pb::AT_RISK);    // bound 0.66 %
  EXPECT_EQ(Odr(3, 100), pb::CRITICAL);   // bound 1.2 %
  EXPECT_EQ(Odr(15, 1000), pb::AT_RISK);  // bound 0.99 %
  EXPECT_EQ(Odr(20, 1000), pb::CRITICAL); // bound 1.39 %
  EXPECT_EQ(Odr(0, 1000), pb::GOOD);
  EXPECT_EQ(Odr(7, 1000), pb::GOOD);      // 0.7 %, under the 0.75 % line
}

TEST(BayesianRatingTest, ShrinksTowardThePlatformMean) {
  EXPECT_NEAR(BayesianRating(5, 25, 4.0), (40.0 + 25) / 15, 1e-9);
  EXPECT_NEAR(BayesianRating(0, 0, 4.2), 4.2, 1e-9);
  EXPECT_NEAR(BayesianRating(1000, 1000, 4.5), (45.0 + 1000) / 1010, 1e-9);
  EXPECT_DOUBLE_EQ(PlatformMean(0, 0), kDefaultPlatformMean);
  EXPECT_DOUBLE_EQ(PlatformMean(4, 18), 4.5);
}

TEST(FigureTest, RatingNeedsFiveRatings) {
  const pb::Thresholds t = Seed();
  DayCounters c;
  c.Add(kToday, counters::kRatings, 4);
  c.Add(kToday, counters::kRatingStars, 4);
  const pb::KpiThreshold* line = nullptr;
  for (const auto& l : t.lines()) if (l.kpi() == pb::RATING_AVERAGE) line = &l;
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(Figure(*SpecOf(pb::RATING_AVERAGE), c, kToday, line, 4.5).level(), pb::NO_LEVEL);
  c.Add(kToday, counters::kRatings, 11);
  c.Add(kToday, counters::kRatingStars, 11);
  // 15 one-star ratings: (45 + 15) / 25 = 2.4 < 3.
  pb::KpiFigure f = Figure(*SpecOf(pb::RATING_AVERAGE), c, kToday, line, 4.5);
  EXPECT_NEAR(f.value(), 2.4, 1e-9);
  EXPECT_EQ(f.level(), pb::CRITICAL);
}

TEST(FigureTest, DaySixtyInDaySixtyOneOut) {
  const pb::Thresholds t = Seed();
  DayCounters c;
  c.Add(kToday - 59, counters::kOrders, 10);
  c.Add(kToday - 59, counters::kOdrDefects, 1);
  c.Add(kToday - 60, counters::kOrders, 10);
  c.Add(kToday - 60, counters::kOdrDefects, 5);
  pb::KpiFigure f = Figure(*SpecOf(pb::ORDER_DEFECT_RATE), c, kToday, &t.lines(0), 4.5);
  EXPECT_EQ(f.window_days(), 60);
  EXPECT_EQ(f.numerator(), 1);
  EXPECT_EQ(f.denominator(), 10);
  EXPECT_EQ(f.level(), pb::AT_RISK);
  // A day later the day-59 orders are the 61st day: out.
  f = Figure(*SpecOf(pb::ORDER_DEFECT_RATE), c, kToday + 1, &t.lines(0), 4.5);
  EXPECT_EQ(f.denominator(), 0);
  EXPECT_EQ(f.level(), pb::NO_LEVEL);
}

TEST(FigureTest, GoodDirectionRatesAreJudgedAsComplements) {
  const pb::Thresholds t = Seed();
  const pb::KpiThreshold* line = nullptr;
  for (const auto& l : t.lines()) if (l.kpi() == pb::VALID_TRACKING_RATE) line = &l;
  ASSERT_NE(line, nullptr);
  auto level = [&](int valid, int shipments) {
    DayCounters c;
    c.Add(kToday, counters::kValidTracking, valid);
    c.Add(kToday, counters::kShipments, shipments);
    return Figure(*SpecOf(pb::VALID_TRACKING_RATE), c, kToday, line, 4.5).level();
  };
  EXPECT_EQ(level(98, 100), pb::GOOD);      // 2 % invalid
  EXPECT_EQ(level(96, 100), pb::AT_RISK);   // 4 % invalid > 3 %
  EXPECT_EQ(level(88, 100), pb::CRITICAL);  // 12 % invalid, bound > 5 %
  EXPECT_EQ(level(9, 9), pb::NO_LEVEL);
}

TEST(FigureTest, WithinSlaCarriesTheAverageSeconds) {
  DayCounters c;
  c.Add(kToday, counters::kFirstResponses, 4);
  c.Add(kToday, counters::kFirstResponsesWithin, 3);
  c.Add(kToday, counters::kFirstResponseSeconds, 4000);
  pb::KpiFigure f = Figure(*SpecOf(pb::WITHIN_SLA_RATE), c, kToday, nullptr, 4.5);
  EXPECT_DOUBLE_EQ(f.value(), 0.75);
  EXPECT_DOUBLE_EQ(f.average_seconds(), 1000);
  EXPECT_EQ(f.level(), pb::NO_LEVEL);  // no line
}

// A seller whose ODR sits on the at-risk line, one order more or less each day.
DayCounters OdrOf(int defects, int orders) {
  DayCounters c;
  c.Add(kToday, counters::kOrders, orders);
  c.Add(kToday, counters::kOdrDefects, defects);
  return c;
}

TEST(HysteresisTest, NoFlappingAtALine) {
  const pb::Thresholds t = Seed();
  HealthState state;
  // 0.8 %, 0.7 %, 0.8 %, 0.7 %...: raw AT_RISK, GOOD, AT_RISK, GOOD.
  std::vector<pb::HealthLevel> seen;
  for (int i = 0; i < 8; ++i) {
    EvaluationResult r =
        Evaluate("s", t, OdrOf(i % 2 == 0 ? 8 : 7, 1000), kAsOf, 4.5, state);
    state = r.state;
    seen.push_back(state.health);
  }
  for (pb::HealthLevel h : seen) EXPECT_EQ(h, pb::AT_RISK);
}

TEST(HysteresisTest, LeavesALevelAfterTwoEvaluationsUnderTheShare) {
  const pb::Thresholds t = Seed();
  HealthState state{pb::AT_RISK, 0};
  // 0.5 % < 80 % of 0.75 % = 0.6 %.
  EvaluationResult r = Evaluate("s", t, OdrOf(5, 1000), kAsOf, 4.5, state);
  EXPECT_EQ(r.state.health, pb::AT_RISK);
  EXPECT_EQ(r.state.recovery_streak, 1);
  // An evaluation over the share resets the streak.
  r = Evaluate("s", t, OdrOf(7, 1000), kAsOf, 4.5, r.state);
  EXPECT_EQ(r.state.health, pb::AT_RISK);
  EXPECT_EQ(r.state.recovery_streak, 0);
  r = Evaluate("s", t, OdrOf(5, 1000), kAsOf, 4.5, r.state);
  r = Evaluate("s", t, OdrOf(5, 1000), kAsOf, 4.5, r.state);
  EXPECT_EQ(r.state.health, pb::GOOD);
  EXPECT_EQ(r.scorecard.health(), pb::GOOD);
}

TEST(HysteresisTest, WorseLevelsApplyAtOnce) {
  const pb::Thresholds t = Seed();
  EvaluationResult r = Evaluate("s", t, OdrOf(20, 1000), kAsOf, 4.5, {pb::GOOD, 0});
  EXPECT_EQ(r.state.health, pb::CRITICAL);
  // From CRITICAL, a raw AT_RISK (0.9 %) is not under 80 % of the critical line (0.8 %).
  r = Evaluate("s", t, OdrOf(9, 1000), kAsOf, 4.5, r.state);
  r = Evaluate("s", t, OdrOf(9, 1000), kAsOf, 4.5, r.state);
  EXPECT_EQ(r.state.health, pb::CRITICAL);
  // 0.7 % is: after two evaluations, the raw level (GOOD) applies.
  r = Evaluate("s", t, OdrOf(7, 1000), kAsOf, 4.5, r.state);
  r = Evaluate("s", t, OdrOf(7, 1000), kAsOf, 4.5, r.state);
  EXPECT_EQ(r.state.health, pb::GOOD);
}

TEST(TopBadgeTest, NeedsLowDefectsFastRepliesAndHighRatings) {
  const pb::Thresholds t = Seed();
  DayCounters c;
  c.Add(kToday, counters::kOrders, 1000);
  c.Add(kToday, counters::kRatings, 100);
  c.Add(kToday, counters::kRatingStars, 495);
  c.Add(kToday, counters::kFirstResponses, 20);
  c.Add(kToday, counters::kFirstResponsesWithin, 20);
  EvaluationResult r = Evaluate("s", t, c, kAsOf, 4.5, {});
  EXPECT_EQ(r.scorecard.health(), pb::GOOD);
  EXPECT_TRUE(r.scorecard.top_badge());
  c.Add(kToday, counters::kOdrDefects, 3);  // upper bound of 3/1000 > 0.5 %
  r = Evaluate("s", t, c, kAsOf, 4.5, {});
  EXPECT_FALSE(r.scorecard.top_badge());
}

TEST(ThresholdsTest, TheSeedFileIsValidAndBadLinesAreNamed) {
  const pb::Thresholds t = Seed();
  EXPECT_EQ(t.lines_size(), 8);
  pb::Thresholds bad = t;
  bad.mutable_lines(0)->set_at_risk(0.5);  // above its critical line
  bad.set_recovery_share(2);
  absl::Status s = ValidateThresholds(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("thresholds.lines[0].at_risk"), std::string::npos) << s;
  EXPECT_NE(s.message().find("thresholds.recovery_share"), std::string::npos) << s;
}

TEST(ThresholdsTest, ANotANumberLineIsRefused) {
  for (int i = 0; i < Seed().lines_size(); ++i) {
    for (bool at_risk : {true, false}) {
      pb::Thresholds bad = Seed();
      pb::KpiThreshold* line = bad.mutable_lines(i);
      if (at_risk) {
        line->set_at_risk(std::nan(""));
      } else {
        line->set_critical(std::nan(""));
      }
      absl::Status s = ValidateThresholds(bad);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
          << pb::Kpi_Name(line->kpi()) << (at_risk ? " at_risk" : " critical");
    }
  }
}

TEST(ThresholdsTest, HoldDaysPerStanding) {
  pb::Thresholds t = Seed();
  EXPECT_EQ(t.hold_days_at_risk(), 21);
  EXPECT_EQ(t.hold_days_good(), 14);
  EXPECT_EQ(t.hold_days_top(), 7);
  EXPECT_TRUE(ValidateThresholds(t).ok());
  // 0 is the default (a version stored before the fields existed).
  pb::Thresholds old = t;
  old.clear_hold_days_at_risk();
  old.clear_hold_days_good();
  old.clear_hold_days_top();
  EXPECT_TRUE(ValidateThresholds(old).ok());
  // Equal days are allowed; 90 is payments' limit.
  pb::Thresholds flat = t;
  flat.set_hold_days_at_risk(90);
  flat.set_hold_days_good(90);
  flat.set_hold_days_top(90);
  EXPECT_TRUE(ValidateThresholds(flat).ok());
  struct Case {
    int at_risk, good, top;
    const char* field;
  };
  for (const Case& c : {Case{91, 14, 7, "thresholds.hold_days_at_risk"},
                        Case{-1, 14, 7, "thresholds.hold_days_at_risk"},
                        Case{21, 100, 7, "thresholds.hold_days_good"},
                        Case{21, 14, -3, "thresholds.hold_days_top"},
                        Case{10, 14, 7, "thresholds.hold_days_good"},  // good > at_risk
                        Case{21, 14, 15, "thresholds.hold_days_top"},  // top > good
                        Case{0, 22, 7, "thresholds.hold_days_good"},   // > the default 21
                        Case{21, 0, 15, "thresholds.hold_days_top"}}) {  // > the default 14
    pb::Thresholds bad = t;
    bad.set_hold_days_at_risk(c.at_risk);
    bad.set_hold_days_good(c.good);
    bad.set_hold_days_top(c.top);
    absl::Status s = ValidateThresholds(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.at_risk << c.good << c.top;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
  }
}

TEST(HistoryTest, OnePointPerDayOverItsWindow) {
  DayCounters c;
  c.Add(kToday - 2, counters::kShipments, 10);
  c.Add(kToday - 2, counters::kLateShipments, 1);
  c.Add(kToday, counters::kShipments, 10);
  auto points = History(*SpecOf(pb::LATE_SHIPMENT_RATE), c, kToday, 3, 4.5);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].day(), absl::FormatCivilTime(kToday - 2));
  EXPECT_DOUBLE_EQ(points[0].value(), 0.1);
  EXPECT_EQ(points[2].denominator(), 20);
  EXPECT_DOUBLE_EQ(points[2].value(), 0.05);
}

}  // namespace
}  // namespace marketplace::sellerkpi
