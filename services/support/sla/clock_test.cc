#include "services/support/sla/clock.h"

#include <string>

#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "common/errors.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace marketplace::support::sla {
namespace {

// Calendar targets, plus one BUSINESS target over Berlin weekdays 09:00-17:00.
constexpr char kPolicy[] = R"pb(
  version: 7
  schedule {
    time_zone: "Europe/Berlin"
    hours { weekday: 1 open_minute: 540 close_minute: 1020 }
    hours { weekday: 2 open_minute: 540 close_minute: 1020 }
    hours { weekday: 3 open_minute: 540 close_minute: 1020 }
    hours { weekday: 4 open_minute: 540 close_minute: 1020 }
    hours { weekday: 5 open_minute: 540 close_minute: 1020 }
  }
  targets {
    level: L1_SELLER
    channel: EMAIL
    metric: FIRST_REPLY
    target { seconds: 14400 }
    mode: CALENDAR
  }
  targets {
    level: L1_SELLER
    metric: NEXT_REPLY
    target { seconds: 28800 }
    mode: BUSINESS
  }
  targets {
    level: L2_OPERATOR
    metric: FIRST_REPLY
    target { seconds: 86400 }
    mode: CALENDAR
  }
  targets {
    level: L2_OPERATOR
    metric: REQUESTER_WAIT
    target { seconds: 28800 }
    mode: CALENDAR
  }
)pb";

Policy MakePolicy(int64_t version = 7) {
  v1::SlaPolicy proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kPolicy, &proto));
  proto.set_version(version);
  auto policy = Policy::FromProto(proto);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

absl::Time Berlin(int y, int m, int d, int hh, int mm) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &tz));
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), tz);
}

class ClockTest : public ::testing::Test {
 protected:
  ClockState Start(v1::TicketLevel level, v1::Channel channel, v1::SlaMetric metric,
                   v1::SlaParty party) {
    auto clock = StartClock(policy_, level, channel, metric, party, now_.Now());
    EXPECT_TRUE(clock.ok()) << clock.status();
    return *clock;
  }
  ClockState Pause(const ClockState& c) {
    auto next = PauseClock(c, now_.Now(), policy_);
    EXPECT_TRUE(next.ok()) << next.status();
    return *next;
  }
  ClockState Resume(const ClockState& c) {
    auto next = ResumeClock(c, now_.Now(), policy_);
    EXPECT_TRUE(next.ok()) << next.status();
    return *next;
  }
  ClockEvent EvaluateNow(const ClockState& c) { return Evaluate(c, now_.Now()); }

  Policy policy_ = MakePolicy();
  // Tuesday 2026-01-13 10:00 Berlin.
  common::ManualClock now_{Berlin(2026, 1, 13, 10, 0)};
};

TEST_F(ClockTest, StartTakesTheTargetVersionAndWarnPoint) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, v1::SELLER);
  EXPECT_EQ(ClockRunState::kRunning, c.state);
  EXPECT_EQ(v1::SELLER, c.party);
  EXPECT_EQ(v1::CALENDAR, c.mode);
  EXPECT_EQ(7, c.policy_version);
  EXPECT_EQ(absl::Hours(4), c.target);
  EXPECT_EQ(75, c.warn_percent);
  EXPECT_EQ(t0, c.started_at);
  EXPECT_EQ(t0 + absl::Hours(4), c.due_at);
  EXPECT_EQ(t0 + absl::Hours(3), c.warn_at);
  EXPECT_FALSE(c.warned);
  EXPECT_EQ(c.warn_at, NextScanAt(c));
}

TEST_F(ClockTest, WarningAt75PercentThenBreachAt100Percent) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, v1::SELLER);

  now_.Set(t0 + absl::Hours(3) - absl::Seconds(1));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
  now_.Set(t0 + absl::Hours(3));
  ASSERT_EQ(ClockEvent::kWarning, EvaluateNow(c));
  c = ApplyEvent(c, ClockEvent::kWarning);
  EXPECT_TRUE(c.warned);
  EXPECT_EQ(ClockRunState::kRunning, c.state);
  EXPECT_EQ(c.due_at, NextScanAt(c));
  // The warning is sent once.
  now_.Set(t0 + absl::Hours(4) - absl::Nanoseconds(1));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));

  now_.Set(t0 + absl::Hours(4));
  ASSERT_EQ(ClockEvent::kBreach, EvaluateNow(c));
  c = ApplyEvent(c, ClockEvent::kBreach);
  EXPECT_EQ(ClockRunState::kBreached, c.state);
  EXPECT_EQ(t0 + absl::Hours(4), c.stopped_at);
  EXPECT_EQ(v1::SELLER, c.party);
  EXPECT_EQ(absl::InfiniteFuture(), NextScanAt(c));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
}

TEST_F(ClockTest, LateScanReportsOnlyTheBreach) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, v1::SELLER);
  now_.Set(t0 + absl::Hours(5));
  EXPECT_EQ(ClockEvent::kBreach, EvaluateNow(c));
}

TEST_F(ClockTest, PausedTimeIsNotCounted) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L2_OPERATOR, v1::CHAT, v1::REQUESTER_WAIT, v1::OPERATOR);  // 8 h
  now_.Advance(absl::Hours(2));
  c = Pause(c);
  EXPECT_EQ(ClockRunState::kPaused, c.state);
  EXPECT_EQ(absl::Hours(6), c.remaining);
  EXPECT_EQ(absl::InfiniteFuture(), NextScanAt(c));
  // Ten days awaiting the buyer: nothing is due, however long.
  now_.Advance(absl::Hours(240));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
  // Pausing again changes nothing.
  EXPECT_EQ(absl::Hours(6), Pause(c).remaining);

  const absl::Time resumed = now_.Now();
  c = Resume(c);
  EXPECT_EQ(ClockRunState::kRunning, c.state);
  EXPECT_EQ(resumed + absl::Hours(6), c.due_at);
  // 75 % of 8 h is 6 h of running time: 2 h before the pause and 4 h after it.
  EXPECT_EQ(resumed + absl::Hours(4), c.warn_at);
  EXPECT_EQ(absl::ZeroDuration(), c.remaining);
  EXPECT_EQ(t0, c.started_at);
  // Resuming again changes nothing.
  EXPECT_EQ(c.due_at, Resume(c).due_at);

  now_.Set(resumed + absl::Hours(4) - absl::Seconds(1));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
  now_.Set(resumed + absl::Hours(4));
  EXPECT_EQ(ClockEvent::kWarning, EvaluateNow(c));
  c = ApplyEvent(c, ClockEvent::kWarning);
  now_.Set(resumed + absl::Hours(6));
  EXPECT_EQ(ClockEvent::kBreach, EvaluateNow(c));
}

TEST_F(ClockTest, BusinessClockStartsOutsideHoursAndWarnsAt75PercentOfBusinessTime) {
  now_.Set(Berlin(2026, 1, 13, 15, 0));                                        // Tuesday 15:00
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::NEXT_REPLY, v1::SELLER);  // 8 business h
  EXPECT_EQ(v1::BUSINESS, c.mode);
  EXPECT_EQ(Berlin(2026, 1, 14, 15, 0), c.due_at);
  // 6 business hours: 2 on Tuesday, 4 on Wednesday.
  EXPECT_EQ(Berlin(2026, 1, 14, 13, 0), c.warn_at);

  now_.Set(Berlin(2026, 1, 16, 18, 0));  // Friday after closing
  c = Start(v1::L1_SELLER, v1::EMAIL, v1::NEXT_REPLY, v1::SELLER);
  EXPECT_EQ(Berlin(2026, 1, 19, 17, 0), c.due_at);
  EXPECT_EQ(Berlin(2026, 1, 19, 15, 0), c.warn_at);
}

TEST_F(ClockTest, PauseAndResumeInBusinessTimeAcrossANight) {
  now_.Set(Berlin(2026, 1, 13, 15, 0));  // Tuesday 15:00, 8 business hours -> Wed 15:00
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::NEXT_REPLY, v1::SELLER);
  now_.Set(Berlin(2026, 1, 13, 16, 0));  // one business hour used
  c = Pause(c);
  EXPECT_EQ(absl::Hours(7), c.remaining);

  // Resumed Wednesday 10:00: the night and Wednesday 09:00-10:00 were paused.
  now_.Set(Berlin(2026, 1, 14, 10, 0));
  c = Resume(c);
  EXPECT_EQ(Berlin(2026, 1, 14, 17, 0), c.due_at);
  // Warned when 2 business hours are left.
  EXPECT_EQ(Berlin(2026, 1, 14, 15, 0), c.warn_at);

  // Paused again in the evening, outside hours: the time left is what was left at closing.
  now_.Set(Berlin(2026, 1, 14, 16, 30));
  c = Pause(c);
  EXPECT_EQ(absl::Minutes(30), c.remaining);
  EXPECT_EQ(ClockRunState::kPaused, c.state);
  now_.Set(Berlin(2026, 1, 14, 21, 0));
  auto late = PauseClock(*ResumeClock(c, now_.Now(), policy_), now_.Now(), policy_);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(absl::Minutes(30), late->remaining);
  // Resumed on Saturday: due Monday 09:30.
  now_.Set(Berlin(2026, 1, 17, 11, 0));
  c = Resume(c);
  EXPECT_EQ(Berlin(2026, 1, 19, 9, 30), c.due_at);
  EXPECT_EQ(Berlin(2026, 1, 17, 11, 0), c.warn_at);  // already inside the last 25 %
}

TEST_F(ClockTest, ResumePastTheWarningPointWarnsAtOnce) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L2_OPERATOR, v1::CHAT, v1::REQUESTER_WAIT, v1::OPERATOR);  // 8 h
  now_.Set(t0 + absl::Hours(7));  // past warn_at, the scanner has not warned yet
  c = Pause(c);
  EXPECT_FALSE(c.warned);
  now_.Advance(absl::Hours(1));
  c = Resume(c);
  EXPECT_EQ(now_.Now(), c.warn_at);
  EXPECT_EQ(now_.Now() + absl::Hours(1), c.due_at);
  EXPECT_EQ(ClockEvent::kWarning, EvaluateNow(c));
  // Once warned, it is not warned again after another pause.
  c = ApplyEvent(c, ClockEvent::kWarning);
  c = Resume(Pause(c));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
  EXPECT_EQ(c.due_at, NextScanAt(c));
}

TEST_F(ClockTest, MetBeforeDue) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, v1::SELLER);
  now_.Set(t0 + absl::Hours(4) - absl::Nanoseconds(1));
  c = MeetClock(c, now_.Now());
  EXPECT_EQ(ClockRunState::kMet, c.state);
  EXPECT_EQ(now_.Now(), c.stopped_at);
  EXPECT_EQ(absl::InfiniteFuture(), NextScanAt(c));
  now_.Advance(absl::Hours(10));
  EXPECT_EQ(ClockEvent::kNone, EvaluateNow(c));
  // Met stays met.
  EXPECT_EQ(ClockRunState::kMet, MeetClock(c, now_.Now()).state);
  EXPECT_EQ(ClockRunState::kMet, ApplyEvent(c, ClockEvent::kBreach).state);
  auto paused = PauseClock(c, now_.Now(), policy_);
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition, paused.status().code());
  EXPECT_EQ("SLA_CLOCK_STOPPED", common::ReasonOf(paused.status()));
  EXPECT_EQ("SLA_CLOCK_STOPPED", common::ReasonOf(ResumeClock(c, now_.Now(), policy_).status()));
}

TEST_F(ClockTest, MetAtOrAfterDueIsBreached) {
  const absl::Time t0 = now_.Now();
  const ClockState c = Start(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, v1::SELLER);
  for (absl::Duration after : {absl::Hours(4), absl::Hours(4) + absl::Minutes(1)}) {
    const ClockState met = MeetClock(c, t0 + after);
    EXPECT_EQ(ClockRunState::kBreached, met.state);
    EXPECT_EQ(t0 + absl::Hours(4), met.stopped_at);
  }
  // A breached clock stays breached when the party finally acts.
  const ClockState breached = ApplyEvent(c, ClockEvent::kBreach);
  EXPECT_EQ(ClockRunState::kBreached, MeetClock(breached, t0 + absl::Hours(9)).state);
}

TEST_F(ClockTest, MetWhilePausedIsMet) {
  ClockState c = Start(v1::L2_OPERATOR, v1::CHAT, v1::REQUESTER_WAIT, v1::OPERATOR);
  now_.Advance(absl::Hours(1));
  c = Pause(c);
  now_.Advance(absl::Hours(100));  // far beyond the 8 h target, but paused
  c = MeetClock(c, now_.Now());
  EXPECT_EQ(ClockRunState::kMet, c.state);
  EXPECT_EQ(absl::ZeroDuration(), c.remaining);
}

TEST_F(ClockTest, PausingAClockPastDueBreachesIt) {
  const absl::Time t0 = now_.Now();
  ClockState c = Start(v1::L2_OPERATOR, v1::CHAT, v1::REQUESTER_WAIT, v1::OPERATOR);
  now_.Set(t0 + absl::Hours(9));
  c = Pause(c);
  EXPECT_EQ(ClockRunState::kBreached, c.state);
  EXPECT_EQ(t0 + absl::Hours(8), c.stopped_at);
}

TEST(ResponsibleParty, LevelOneIsTheSellerLevelTwoTheOperatorUnlessTheSellerIsAwaited) {
  for (v1::SlaParty await : {v1::SLA_PARTY_UNSPECIFIED, v1::SELLER, v1::OPERATOR}) {
    EXPECT_EQ(v1::SELLER, ResponsibleParty(v1::L1_SELLER, await));
  }
  EXPECT_EQ(v1::OPERATOR, ResponsibleParty(v1::L2_OPERATOR, v1::SLA_PARTY_UNSPECIFIED));
  EXPECT_EQ(v1::OPERATOR, ResponsibleParty(v1::L2_OPERATOR, v1::OPERATOR));
  EXPECT_EQ(v1::SELLER, ResponsibleParty(v1::L2_OPERATOR, v1::SELLER));
  EXPECT_EQ(v1::SLA_PARTY_UNSPECIFIED,
            ResponsibleParty(v1::TICKET_LEVEL_UNSPECIFIED, v1::SLA_PARTY_UNSPECIFIED));
}

TEST_F(ClockTest, LevelTwoBreachIsTheOperatorsAndASellerRequestAtLevelTwoIsTheSellers) {
  const absl::Time t0 = now_.Now();
  ClockState operator_clock = Start(v1::L2_OPERATOR, v1::PHONE, v1::FIRST_REPLY,
                                    ResponsibleParty(v1::L2_OPERATOR, v1::SLA_PARTY_UNSPECIFIED));
  ClockState seller_clock = Start(v1::L2_OPERATOR, v1::PHONE, v1::FIRST_REPLY,
                                  ResponsibleParty(v1::L2_OPERATOR, v1::SELLER));
  now_.Set(t0 + absl::Hours(24));
  ASSERT_EQ(ClockEvent::kBreach, EvaluateNow(operator_clock));
  ASSERT_EQ(ClockEvent::kBreach, EvaluateNow(seller_clock));
  EXPECT_EQ(v1::OPERATOR, ApplyEvent(operator_clock, ClockEvent::kBreach).party);
  EXPECT_EQ(v1::SELLER, ApplyEvent(seller_clock, ClockEvent::kBreach).party);
  EXPECT_EQ(v1::L2_OPERATOR, seller_clock.level);
}

TEST_F(ClockTest, StartRefusesBadInputAndMissingTargets) {
  auto none =
      StartClock(policy_, v1::L2_OPERATOR, v1::EMAIL, v1::NEXT_REPLY, v1::OPERATOR, now_.Now());
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition, none.status().code());
  EXPECT_EQ("NO_SLA_TARGET", common::ReasonOf(none.status()));

  auto bad = StartClock(policy_, v1::TICKET_LEVEL_UNSPECIFIED, v1::EMAIL,
                        v1::SLA_METRIC_UNSPECIFIED, v1::SLA_PARTY_UNSPECIFIED, now_.Now());
  ASSERT_EQ(absl::StatusCode::kInvalidArgument, bad.status().code());
  std::string fields;
  for (const auto& v : common::FieldViolationsOf(bad.status())) fields += v.field + " ";
  EXPECT_EQ("level metric party ", fields);
}

TEST_F(ClockTest, BusinessClockNeedsItsOwnPolicyVersionCalendarDoesNot) {
  const Policy other = MakePolicy(8);
  ClockState business = Start(v1::L1_SELLER, v1::EMAIL, v1::NEXT_REPLY, v1::SELLER);
  auto paused = PauseClock(business, now_.Now(), other);
  EXPECT_EQ("SLA_POLICY_VERSION_MISMATCH", common::ReasonOf(paused.status()));
  EXPECT_TRUE(PauseClock(business, now_.Now(), policy_).ok());

  ClockState calendar = Start(v1::L2_OPERATOR, v1::CHAT, v1::REQUESTER_WAIT, v1::OPERATOR);
  EXPECT_TRUE(PauseClock(calendar, now_.Now(), other).ok());
}

TEST(EscalatesOnBreach, OnlyLevelOneReplyClocks) {
  ClockState c;
  c.level = v1::L1_SELLER;
  for (v1::SlaMetric m : {v1::FIRST_REPLY, v1::NEXT_REPLY}) {
    c.metric = m;
    EXPECT_TRUE(EscalatesOnBreach(c)) << v1::SlaMetric_Name(m);
  }
  for (v1::SlaMetric m : {v1::REQUESTER_WAIT, v1::L1_WINDOW}) {
    c.metric = m;
    EXPECT_FALSE(EscalatesOnBreach(c)) << v1::SlaMetric_Name(m);
  }
  c.level = v1::L2_OPERATOR;
  for (v1::SlaMetric m : {v1::FIRST_REPLY, v1::NEXT_REPLY, v1::REQUESTER_WAIT}) {
    c.metric = m;
    EXPECT_FALSE(EscalatesOnBreach(c)) << v1::SlaMetric_Name(m);
  }
}

TEST(ClockRunStateName, RoundTrips) {
  for (ClockRunState s : {ClockRunState::kRunning, ClockRunState::kPaused, ClockRunState::kMet,
                          ClockRunState::kBreached}) {
    EXPECT_EQ(s, ParseClockRunState(ClockRunStateName(s)));
  }
  EXPECT_EQ("BREACHED", ClockRunStateName(ClockRunState::kBreached));
  EXPECT_FALSE(ParseClockRunState("running").has_value());
}

}  // namespace
}  // namespace marketplace::support::sla
