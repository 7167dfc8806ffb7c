#include "common/time/business_time.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/errors.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using marketplace::support::v1::BusinessSchedule;

// Weekdays 09:00-17:00 in Berlin: the usual office.
constexpr char kOffice[] = R"pb(
  time_zone: "Europe/Berlin"
  hours { weekday: 1 open_minute: 540 close_minute: 1020 }
  hours { weekday: 2 open_minute: 540 close_minute: 1020 }
  hours { weekday: 3 open_minute: 540 close_minute: 1020 }
  hours { weekday: 4 open_minute: 540 close_minute: 1020 }
  hours { weekday: 5 open_minute: 540 close_minute: 1020 }
)pb";

BusinessSchedule ParseSchedule(const std::string& text) {
  BusinessSchedule proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return proto;
}

common::BusinessSchedule Build(const std::string& text) {
  auto schedule = common::BusinessSchedule::FromProto(ParseSchedule(text));
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  return *std::move(schedule);
}

absl::TimeZone Berlin() {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &tz));
  return tz;
}

// A Berlin wall-clock time (unique: never inside a skipped or repeated hour).
absl::Time At(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), Berlin());
}

absl::Time Utc(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::UTCTimeZone());
}

std::string Show(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z (%a)", t, Berlin());
}

#define EXPECT_TIME_EQ(expected, actual) EXPECT_EQ(Show(expected), Show(actual))

// 2026-01-12 is a Monday.
TEST(AddBusinessTime, InsideHoursIsPlainAddition) {
  auto office = Build(kOffice);
  EXPECT_TIME_EQ(At(2026, 1, 13, 12, 0),
                 AddBusinessTime(At(2026, 1, 13, 10, 0), absl::Hours(2), office));
  EXPECT_TIME_EQ(
      At(2026, 1, 13, 10, 0) + absl::Seconds(90) + absl::Microseconds(7),
      AddBusinessTime(At(2026, 1, 13, 10, 0) + absl::Microseconds(7), absl::Seconds(90), office));
}

TEST(AddBusinessTime, StartBeforeOpeningCountsFromOpening) {
  auto office = Build(kOffice);
  EXPECT_TIME_EQ(At(2026, 1, 13, 10, 0),
                 AddBusinessTime(At(2026, 1, 13, 7, 0), absl::Hours(1), office));
}

TEST(AddBusinessTime, StartAfterClosingCountsFromNextOpening) {
  auto office = Build(kOffice);
  EXPECT_TIME_EQ(At(2026, 1, 14, 10, 0),
                 AddBusinessTime(At(2026, 1, 13, 18, 0), absl::Hours(1), office));
}

TEST(AddBusinessTime, CarriesOverTheWeekend) {
  auto office = Build(kOffice);
  // Friday 16:00 + 2 h: one hour on Friday, one on Monday.
  EXPECT_TIME_EQ(At(2026, 1, 19, 10, 0),
                 AddBusinessTime(At(2026, 1, 16, 16, 0), absl::Hours(2), office));
  // Started on a Saturday: nothing counts before Monday's opening.
  EXPECT_TIME_EQ(At(2026, 1, 19, 9, 30),
                 AddBusinessTime(At(2026, 1, 17, 12, 0), absl::Minutes(30), office));
}

TEST(AddBusinessTime, DeadlineLandsOnClosingNotNextOpening) {
  auto office = Build(kOffice);
  EXPECT_TIME_EQ(At(2026, 1, 16, 17, 0),
                 AddBusinessTime(At(2026, 1, 16, 16, 0), absl::Hours(1), office));
}

TEST(AddBusinessTime, StartExactlyAtOpeningAndAtClosing) {
  auto office = Build(kOffice);
  EXPECT_TIME_EQ(At(2026, 1, 13, 17, 0),
                 AddBusinessTime(At(2026, 1, 13, 9, 0), absl::Hours(8), office));
  EXPECT_TIME_EQ(At(2026, 1, 14, 9, 1),
                 AddBusinessTime(At(2026, 1, 13, 17, 0), absl::Minutes(1), office));
  // One nanosecond before closing leaves one nanosecond on that day.
  EXPECT_TIME_EQ(
      At(2026, 1, 14, 9, 0) + absl::Minutes(1) - absl::Nanoseconds(1),
      AddBusinessTime(At(2026, 1, 13, 17, 0) - absl::Nanoseconds(1), absl::Minutes(1), office));
}

TEST(AddBusinessTime, ZeroOrNegativeDurationReturnsStart) {
  auto office = Build(kOffice);
  const absl::Time saturday = At(2026, 1, 17, 12, 0);
  EXPECT_EQ(saturday, AddBusinessTime(saturday, absl::ZeroDuration(), office));
  EXPECT_EQ(saturday, AddBusinessTime(saturday, absl::Hours(-3), office));
  EXPECT_EQ(At(2026, 1, 13, 17, 0),
            AddBusinessTime(At(2026, 1, 13, 17, 0), absl::ZeroDuration(), office));
}

TEST(AddBusinessTime, InfiniteInputs) {
  auto office = Build(kOffice);
  EXPECT_EQ(absl::InfiniteFuture(),
            AddBusinessTime(At(2026, 1, 13, 10, 0), absl::InfiniteDuration(), office));
  EXPECT_EQ(absl::InfiniteFuture(),
            AddBusinessTime(absl::InfiniteFuture(), absl::Hours(1), office));
  EXPECT_EQ(absl::InfiniteDuration(),
            BusinessTimeBetween(At(2026, 1, 13, 10, 0), absl::InfiniteFuture(), office));
}

TEST(AddBusinessTime, SkipsAHoliday) {
  auto office = Build(absl::StrCat(kOffice, R"pb(holidays: "2026-01-14")pb"));
  // Tuesday 16:00 + 2 h: one hour Tuesday, Wednesday is a holiday, one hour Thursday.
  EXPECT_TIME_EQ(At(2026, 1, 15, 10, 0),
                 AddBusinessTime(At(2026, 1, 13, 16, 0), absl::Hours(2), office));
  // Started on the holiday itself.
  EXPECT_TIME_EQ(At(2026, 1, 15, 9, 15),
                 AddBusinessTime(At(2026, 1, 14, 11, 0), absl::Minutes(15), office));
  EXPECT_FALSE(office.IsBusinessTime(At(2026, 1, 14, 11, 0)));
  EXPECT_TRUE(office.IsBusinessTime(At(2026, 1, 15, 11, 0)));
}

TEST(AddBusinessTime, HolidayOnAWeekendChangesNothing) {
  auto with = Build(absl::StrCat(kOffice, R"pb(holidays: "2026-01-17")pb"));
  auto without = Build(kOffice);
  for (absl::Duration d : {absl::Hours(1), absl::Hours(9), absl::Hours(100)}) {
    EXPECT_EQ(AddBusinessTime(At(2026, 1, 16, 16, 0), d, without),
              AddBusinessTime(At(2026, 1, 16, 16, 0), d, with));
  }
}

TEST(AddBusinessTime, SpansWeeks) {
  auto office = Build(kOffice);
  // Three 40-hour weeks and one hour.
  EXPECT_TIME_EQ(At(2026, 2, 2, 10, 0),
                 AddBusinessTime(At(2026, 1, 12, 9, 0), absl::Hours(121), office));
  // Exactly three weeks ends on the third Friday's closing.
  EXPECT_TIME_EQ(At(2026, 1, 30, 17, 0),
                 AddBusinessTime(At(2026, 1, 12, 9, 0), absl::Hours(120), office));
  // A holiday in the second week moves it one business day.
  auto holiday = Build(absl::StrCat(kOffice, R"pb(holidays: "2026-01-21")pb"));
  EXPECT_TIME_EQ(At(2026, 2, 3, 10, 0),
                 AddBusinessTime(At(2026, 1, 12, 9, 0), absl::Hours(121), holiday));
}

TEST(AddBusinessTime, NinetyDaysOfBusinessTimeCrossesBothDaylightSavingChanges) {
  auto office = Build(kOffice);
  // 2160 h = 54 weeks of 40 h, from a Monday opening: the 54th Friday's closing, in winter
  // time again after a summer (the 09:00-17:00 hours never move in local time).
  const absl::Time due = AddBusinessTime(At(2026, 1, 12, 9, 0), absl::Hours(2160), office);
  EXPECT_TIME_EQ(At(2027, 1, 22, 17, 0), due);
  EXPECT_EQ(absl::Hours(2160), BusinessTimeBetween(At(2026, 1, 12, 9, 0), due, office));
}

// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 CEST -> 02:00 CET.
TEST(AddBusinessTime, SpringForwardKeepsLocalOpeningHours) {
  auto office = Build(kOffice);
  // Friday 16:00 CET (15:00 UTC) + 2 h -> Monday 10:00 CEST (08:00 UTC), not 09:00 UTC.
  const absl::Time due = AddBusinessTime(At(2026, 3, 27, 16, 0), absl::Hours(2), office);
  EXPECT_EQ(Utc(2026, 3, 30, 8, 0), due) << Show(due);
  EXPECT_EQ(absl::Hours(2), BusinessTimeBetween(At(2026, 3, 27, 16, 0), due, office));
}

TEST(AddBusinessTime, FallBackKeepsLocalOpeningHours) {
  auto office = Build(kOffice);
  // Friday 16:00 CEST (14:00 UTC) + 2 h -> Monday 10:00 CET (09:00 UTC), not 08:00 UTC.
  const absl::Time due = AddBusinessTime(At(2026, 10, 23, 16, 0), absl::Hours(2), office);
  EXPECT_EQ(Utc(2026, 10, 26, 9, 0), due) << Show(due);
  EXPECT_EQ(absl::Hours(2), BusinessTimeBetween(At(2026, 10, 23, 16, 0), due, office));
}

TEST(AddBusinessTime, AlwaysOpenScheduleCountsWallTimeAcrossChanges) {
  std::string text = R"pb(time_zone: "Europe/Berlin")pb";
  for (int wd = 1; wd <= 7; ++wd) {
    absl::StrAppend(&text, " hours { weekday: ", wd, " open_minute: 0 close_minute: 1440 }");
  }
  auto always = Build(text);
  // The spring Sunday has 23 hours, the autumn Sunday 25.
  EXPECT_EQ(absl::Hours(23),
            BusinessTimeBetween(At(2026, 3, 29, 0, 0), At(2026, 3, 30, 0, 0), always));
  EXPECT_EQ(absl::Hours(25),
            BusinessTimeBetween(At(2026, 10, 25, 0, 0), At(2026, 10, 26, 0, 0), always));
  for (absl::Time start : {At(2026, 3, 28, 12, 0), At(2026, 10, 24, 12, 0)}) {
    EXPECT_EQ(start + absl::Hours(24), AddBusinessTime(start, absl::Hours(24), always));
    EXPECT_EQ(start + absl::Hours(24 * 200), AddBusinessTime(start, absl::Hours(24 * 200), always));
  }
}

TEST(AddBusinessTime, IntervalsAroundTheChangedHourFollowTheWallClock) {
  // Sunday 01:00-04:00: the spring Sunday skips 02:00-03:00 (2 h of business time), the
  // autumn Sunday shows 02:00-03:00 twice (4 h).
  auto night = Build(R"pb(
    time_zone: "Europe/Berlin"
    hours { weekday: 7 open_minute: 60 close_minute: 240 }
  )pb");
  EXPECT_EQ(absl::Hours(2),
            BusinessTimeBetween(At(2026, 3, 29, 0, 0), At(2026, 3, 30, 0, 0), night));
  EXPECT_EQ(absl::Hours(4),
            BusinessTimeBetween(At(2026, 10, 25, 0, 0), At(2026, 10, 26, 0, 0), night));
  // 01:30 CET + 1 h: 30 minutes to 02:00, then the clock shows 03:00 and 30 more minutes.
  EXPECT_EQ(Utc(2026, 3, 29, 1, 30),
            AddBusinessTime(Utc(2026, 3, 29, 0, 30), absl::Hours(1), night));
  // 01:30 CEST + 2 h: 1.5 h to the change at 03:00 CEST, then 30 minutes from 02:00 CET.
  EXPECT_EQ(Utc(2026, 10, 25, 1, 30),
            AddBusinessTime(Utc(2026, 10, 24, 23, 30), absl::Hours(2), night));
  // Sunday 01:00-02:30 on the autumn Sunday: 01:00-02:30 CEST and again 02:00-02:30 CET.
  auto short_night = Build(R"pb(
    time_zone: "Europe/Berlin"
    hours { weekday: 7 open_minute: 60 close_minute: 150 }
  )pb");
  EXPECT_EQ(absl::Hours(2),
            BusinessTimeBetween(At(2026, 10, 25, 0, 0), At(2026, 10, 26, 0, 0), short_night));
}

TEST(AddBusinessTime, SeveralIntervalsPerDay) {
  auto split = Build(R"pb(
    time_zone: "America/New_York"
    hours { weekday: 3 open_minute: 780 close_minute: 1080 }
    hours { weekday: 3 open_minute: 480 close_minute: 720 }
  )pb");
  absl::TimeZone ny;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &ny));
  auto ny_at = [&](int y, int m, int d, int hh, int mm) {
    return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), ny);
  };
  // Wednesday 11:00 + 2 h: 1 h until the 12:00 break, 1 h from 13:00.
  EXPECT_EQ(ny_at(2026, 1, 14, 14, 0),
            AddBusinessTime(ny_at(2026, 1, 14, 11, 0), absl::Hours(2), split));
  // 9 business hours a week: + 10 h from Wednesday 08:00 is next Wednesday 09:00.
  EXPECT_EQ(ny_at(2026, 1, 21, 9, 0),
            AddBusinessTime(ny_at(2026, 1, 14, 8, 0), absl::Hours(10), split));
  EXPECT_EQ(absl::Hours(9), split.nominal_week());
}

TEST(BusinessTimeBetween, CountsOnlyOpenTimeAndIsAntisymmetric) {
  auto office = Build(absl::StrCat(kOffice, R"pb(holidays: "2026-01-14")pb"));
  // Monday 12:00 to Friday 12:00 with Wednesday off: 5 + 8 + 0 + 8 + 3 = 24 h.
  EXPECT_EQ(absl::Hours(24),
            BusinessTimeBetween(At(2026, 1, 12, 12, 0), At(2026, 1, 16, 12, 0), office));
  EXPECT_EQ(-absl::Hours(24),
            BusinessTimeBetween(At(2026, 1, 16, 12, 0), At(2026, 1, 12, 12, 0), office));
  EXPECT_EQ(absl::ZeroDuration(),
            BusinessTimeBetween(At(2026, 1, 17, 1, 0), At(2026, 1, 18, 23, 0), office));
}

// An independent, slow oracle: count business minutes on the minute grid by asking the zone
// for each minute's wall clock.
int64_t CountBusinessMinutes(absl::Time a, absl::Time b, const BusinessSchedule& proto) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(proto.time_zone(), &tz));
  int64_t count = 0;
  for (absl::Time t = a; t < b; t += absl::Minutes(1)) {
    const absl::CivilSecond local = tz.At(t).cs;
    const absl::CivilDay day(local);
    if (std::find(proto.holidays().begin(), proto.holidays().end(), absl::FormatCivilTime(day)) !=
        proto.holidays().end()) {
      continue;
    }
    const int weekday = static_cast<int>(absl::GetWeekday(day)) + 1;  // absl: Monday = 0
    const int minute = local.hour() * 60 + local.minute();
    for (const auto& h : proto.hours()) {
      if (h.weekday() == weekday && h.open_minute() <= minute && minute < h.close_minute()) {
        ++count;
        break;
      }
    }
  }
  return count;
}

// Berlin (1 h changes), Lord Howe Island (30-minute changes, southern hemisphere) and
// Sao Paulo (no changes since 2019).
class MinuteCountTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MinuteCountTest, AgreesWithAMinuteByMinuteCountAroundEveryChangeOf2026) {
  const std::string text = absl::StrCat("time_zone: \"", GetParam(), "\"", R"pb(
    hours { weekday: 1 open_minute: 480 close_minute: 720 }
    hours { weekday: 1 open_minute: 780 close_minute: 1080 }
    hours { weekday: 3 open_minute: 0 close_minute: 1440 }
    hours { weekday: 5 open_minute: 540 close_minute: 1020 }
    hours { weekday: 6 open_minute: 600 close_minute: 840 }
    hours { weekday: 7 open_minute: 60 close_minute: 200 }
    hours { weekday: 7 open_minute: 1380 close_minute: 1440 }
    holidays: "2026-03-27"
    holidays: "2026-10-28"
    holidays: "2026-04-08"
  )pb");
  const BusinessSchedule proto = ParseSchedule(text);
  auto schedule = Build(text);
  // The zone's changes in 2026, or mid-year when it has none.
  std::vector<absl::Time> changes;
  absl::TimeZone::CivilTransition transition;
  for (absl::Time t = Utc(2026, 1, 1, 0, 0);
       schedule.zone().NextTransition(t, &transition) &&
       (t = schedule.zone().At(transition.to).trans) < Utc(2027, 1, 1, 0, 0);) {
    changes.push_back(t);
  }
  EXPECT_EQ(std::string(GetParam()) == "America/Sao_Paulo" ? 0u : 2u, changes.size());
  if (changes.empty()) changes.push_back(Utc(2026, 7, 1, 0, 0));
  std::mt19937_64 random(17);
  for (absl::Time around : changes) {
    for (int i = 0; i < 10; ++i) {
      const absl::Time a = around + absl::Minutes(static_cast<int64_t>(random() % 20000) - 10000);
      const absl::Time b = a + absl::Minutes(static_cast<int64_t>(random() % 15000));
      const absl::Duration between = BusinessTimeBetween(a, b, schedule);
      ASSERT_EQ(absl::Minutes(CountBusinessMinutes(a, b, proto)), between)
          << Show(a) << " .. " << Show(b);
      // And AddBusinessTime inverts it.
      const absl::Time due = AddBusinessTime(a, between, schedule);
      EXPECT_LE(due, b);
      EXPECT_EQ(between, BusinessTimeBetween(a, due, schedule));
      const bool open = CountBusinessMinutes(b, b + absl::Minutes(1), proto) == 1;
      EXPECT_EQ(open, schedule.IsBusinessTime(b)) << Show(b);
      if (open) {
        EXPECT_EQ(b, due) << Show(a) << " .. " << Show(b);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Zones, MinuteCountTest,
                         ::testing::Values("Europe/Berlin", "Australia/Lord_Howe",
                                           "America/Sao_Paulo"));

TEST(BusinessTimeBetween, InvertsAddBusinessTimeOverLongSpans) {
  auto office = Build(absl::StrCat(kOffice, R"pb(
    holidays: "2026-04-03"
    holidays: "2026-04-06"
    holidays: "2026-05-01"
    holidays: "2026-12-24"
    holidays: "2026-12-25"
    holidays: "2026-12-31"
  )pb"));
  std::mt19937_64 random(42);
  for (int i = 0; i < 300; ++i) {
    const absl::Time start = Utc(2026, 1, 1, 0, 0) + absl::Seconds(random() % (400 * 86400));
    const absl::Duration d = absl::Seconds(random() % (90 * 86400));
    const absl::Time due = AddBusinessTime(start, d, office);
    ASSERT_EQ(d, BusinessTimeBetween(start, due, office)) << Show(start) << " + " << d;
    if (d > absl::ZeroDuration()) {
      // The earliest such instant: one nanosecond less of business time ends earlier.
      EXPECT_LT(AddBusinessTime(start, d - absl::Nanoseconds(1), office), due);
    }
  }
}

// --- validation ---

absl::Status Validate(const std::string& text, absl::string_view field = "schedule") {
  return common::BusinessSchedule::FromProto(ParseSchedule(text), field).status();
}

std::string OnlyViolation(const absl::Status& status) {
  auto violations = FieldViolationsOf(status);
  if (violations.size() != 1)
    return absl::StrCat(violations.size(), " violations: ", status.ToString());
  return absl::StrCat(violations[0].field, ": ", violations[0].rule);
}

TEST(BusinessScheduleFromProto, RefusesAScheduleWithoutHours) {
  absl::Status status = Validate(R"pb(time_zone: "Europe/Berlin")pb");
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, status.code());
  EXPECT_EQ("schedule.hours: at least one interval is required", OnlyViolation(status));
}

TEST(BusinessScheduleFromProto, NamesTheIntervalWhoseCloseIsNotAfterOpen) {
  absl::Status status = Validate(R"pb(
    time_zone: "Europe/Berlin"
    hours { weekday: 1 open_minute: 540 close_minute: 1020 }
    hours { weekday: 2 open_minute: 540 close_minute: 1020 }
    hours { weekday: 3 open_minute: 600 close_minute: 600 }
  )pb");
  EXPECT_EQ("schedule.hours[2].close_minute: must be > open_minute", OnlyViolation(status));
}

TEST(BusinessScheduleFromProto, RangeRules) {
  EXPECT_EQ("schedule.hours[0].weekday: must be 1 (Monday) to 7 (Sunday)",
            OnlyViolation(Validate(R"pb(time_zone: "UTC"
                                        hours { weekday: 0 open_minute: 1 close_minute: 2 })pb")));
  EXPECT_EQ("schedule.hours[0].weekday: must be 1 (Monday) to 7 (Sunday)",
            OnlyViolation(Validate(R"pb(time_zone: "UTC"
                                        hours { weekday: 8 open_minute: 1 close_minute: 2 })pb")));
  EXPECT_EQ(
      "schedule.hours[0].open_minute: must be 0 to 1439",
      OnlyViolation(Validate(R"pb(time_zone: "UTC"
                                  hours { weekday: 1 open_minute: -1 close_minute: 2 })pb")));
  EXPECT_EQ(
      "schedule.hours[0].close_minute: must be 1 to 1440",
      OnlyViolation(Validate(R"pb(time_zone: "UTC"
                                  hours { weekday: 1 open_minute: 0 close_minute: 1441 })pb")));
  // The whole day is one valid interval.
  EXPECT_TRUE(Validate(R"pb(time_zone: "UTC"
                            hours { weekday: 1 open_minute: 0 close_minute: 1440 })pb")
                  .ok());
}

TEST(BusinessScheduleFromProto, RefusesOverlapsAllowsTouching) {
  EXPECT_EQ(
      "schedule.hours[2]: overlaps schedule.hours[0] on Monday (intervals of a day must not "
      "overlap)",
      OnlyViolation(Validate(R"pb(
        time_zone: "UTC"
        hours { weekday: 1 open_minute: 540 close_minute: 720 }
        hours { weekday: 2 open_minute: 660 close_minute: 780 }
        hours { weekday: 1 open_minute: 660 close_minute: 780 }
      )pb")));
  // Given in the other order, the later index is still the one named.
  EXPECT_EQ(
      "schedule.hours[1]: overlaps schedule.hours[0] on Monday (intervals of a day must not "
      "overlap)",
      OnlyViolation(Validate(R"pb(
        time_zone: "UTC"
        hours { weekday: 1 open_minute: 660 close_minute: 780 }
        hours { weekday: 1 open_minute: 540 close_minute: 720 }
      )pb")));
  EXPECT_TRUE(Validate(R"pb(
                time_zone: "UTC"
                hours { weekday: 1 open_minute: 540 close_minute: 720 }
                hours { weekday: 1 open_minute: 720 close_minute: 1020 }
              )pb")
                  .ok());
}

TEST(BusinessScheduleFromProto, TimeZoneRules) {
  const std::string hours = " hours { weekday: 1 open_minute: 540 close_minute: 1020 }";
  EXPECT_EQ("schedule.time_zone: is required: an IANA time zone name such as Europe/Berlin",
            OnlyViolation(Validate(hours)));
  for (const char* bad : {"Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "localtime",
                          "Europe/Berlin ", "zone.tab"}) {
    EXPECT_EQ("schedule.time_zone: must be an IANA time zone name such as Europe/Berlin",
              OnlyViolation(Validate(absl::StrCat("time_zone: \"", bad, "\"", hours))))
        << bad;
  }
  for (const char* good :
       {"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata"}) {
    EXPECT_TRUE(Validate(absl::StrCat("time_zone: \"", good, "\"", hours)).ok()) << good;
  }
}

TEST(BusinessScheduleFromProto, HolidayRules) {
  const std::string base = R"pb(time_zone: "UTC"
                                hours { weekday: 1 open_minute: 540 close_minute: 1020 })pb";
  for (const char* bad : {"2026-02-30", "2026-1-5", "tomorrow", "2026-01-05T00:00", ""}) {
    EXPECT_EQ("schedule.holidays[1]: must be a date YYYY-MM-DD such as 2026-12-25",
              OnlyViolation(Validate(
                  absl::StrCat(base, " holidays: \"2026-01-01\" holidays: \"", bad, "\""))))
        << bad;
  }
  std::string many = base;
  for (int i = 0; i < 367; ++i) {
    absl::StrAppend(&many, " holidays: \"", absl::FormatCivilTime(absl::CivilDay(2026, 1, 1) + i),
                    "\"");
  }
  EXPECT_EQ("schedule.holidays: at most 366 dates", OnlyViolation(Validate(many)));
  // Duplicates are harmless.
  EXPECT_TRUE(
      Validate(absl::StrCat(base, R"pb(holidays: "2026-01-05" holidays: "2026-01-05")pb")).ok());
}

TEST(BusinessScheduleFromProto, AtMost28Intervals) {
  std::string text = R"pb(time_zone: "UTC")pb";
  for (int i = 0; i < 29; ++i) {
    absl::StrAppend(&text, " hours { weekday: ", i % 7 + 1, " open_minute: ", i / 7 * 60,
                    " close_minute: ", i / 7 * 60 + 30, " }");
  }
  EXPECT_EQ("schedule.hours: at most 28 intervals", OnlyViolation(Validate(text)));
}

TEST(BusinessScheduleFromProto, ReportsEveryViolationUnderTheGivenPath) {
  absl::Status status = Validate(R"pb(
                                   time_zone: "Nowhere/Land"
                                   hours { weekday: 9 open_minute: 540 close_minute: 1020 }
                                   hours { weekday: 1 open_minute: 600 close_minute: 500 }
                                   holidays: "2026-13-01"
                                 )pb",
                                 "policy.schedule");
  ASSERT_EQ(absl::StatusCode::kInvalidArgument, status.code());
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(status)) fields.push_back(v.field);
  EXPECT_EQ((std::vector<std::string>{
                "policy.schedule.time_zone", "policy.schedule.hours[0].weekday",
                "policy.schedule.hours[1].close_minute", "policy.schedule.holidays[0]"}),
            fields);
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "policy.schedule.hours[1].close_minute: must be > open_minute"))
      << status;
}

}  // namespace
}  // namespace marketplace::common
