#ifndef MARKETPLACE_COMMON_TIME_BUSINESS_TIME_H_
#define MARKETPLACE_COMMON_TIME_BUSINESS_TIME_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protos/marketplace/support/v1/sla.pb.h"

namespace marketplace::common {

// A business calendar: an IANA time zone, weekly opening hours per ISO weekday (several
// [open, close) intervals of local minutes per day) and holidays (whole local dates).
//
// An instant is *business time* when the wall clock of the zone at that instant shows a
// weekday and minute inside one of that weekday's intervals, and its local date is not a
// holiday. Daylight-saving changes follow from that: 09:00-17:00 is 09:00-17:00 local time
// on both sides of a change; an interval covering the skipped hour (Europe/Berlin, last
// Sunday of March, 02:00-03:00) is one hour shorter that day, one covering the repeated hour
// (last Sunday of October) one hour longer, because the wall clock shows those minutes twice.
// A 24/7 schedule therefore counts exactly wall time.
//
// Immutable once built: safe to use from many threads at once; copy or keep by const reference.
class BusinessSchedule {
 public:
  // Upper bounds the proto documents.
  static constexpr int kMaxIntervals = 7 * 4;
  static constexpr int kMaxHolidays = 366;

  // Validates `proto` and builds the schedule. Each violation is INVALID_ARGUMENT naming the
  // field below `field` ("schedule.time_zone", "schedule.hours[2].close_minute",
  // "schedule.holidays[0]") with the rule, all violations in one status:
  //  - time_zone: an IANA name Debian's tzdata knows (e.g. "Europe/Berlin", "UTC");
  //  - hours: 1 to 28 intervals; weekday 1 (Monday) to 7 (Sunday);
  //    0 <= open_minute < close_minute <= 1440; intervals of one weekday do not overlap
  //    (touching, 09:00-12:00 and 12:00-17:00, is allowed);
  //  - holidays: at most 366, each a real date "YYYY-MM-DD" (duplicates are harmless).
  static absl::StatusOr<BusinessSchedule> FromProto(
      const marketplace::support::v1::BusinessSchedule& proto,
      absl::string_view field = "schedule");

  const absl::TimeZone& zone() const { return zone_; }

  // Sum of every weekday's intervals: the business time of a week without holidays or
  // daylight-saving changes. Always > 0.
  absl::Duration nominal_week() const { return week_total_; }

  // Whether `t` is business time (see the class comment).
  bool IsBusinessTime(absl::Time t) const;

 private:
  friend absl::Time AddBusinessTime(absl::Time, absl::Duration, const BusinessSchedule&);
  friend absl::Duration BusinessTimeBetween(absl::Time, absl::Time, const BusinessSchedule&);

  // An interval of one day, as offsets from local midnight.
  struct Span {
    absl::Duration open;
    absl::Duration close;
  };

  BusinessSchedule() = default;

  // "Wall" times are instants shifted by the zone's UTC offset, valid inside one stretch of
  // constant offset: there every local day is exactly 24 h and the calendar is a plain
  // weekly pattern minus holidays. Days are counted from 1970-01-01 (local).
  static int64_t DayOf(absl::Time wall);
  static absl::Time StartOfDay(int64_t day);
  static int WeekdayIndex(int64_t day);  // 0 = Monday ... 6 = Sunday
  bool IsHoliday(int64_t day) const;
  // Business time of day `day` within [from, to) (offsets from its midnight).
  absl::Duration DayBusiness(int64_t day, absl::Duration from, absl::Duration to) const;
  // Business time of the whole days [first, last).
  absl::Duration WholeDaysBusiness(int64_t first, int64_t last) const;
  // Business time between two wall times, from <= to.
  absl::Duration WallBusiness(absl::Time from, absl::Time to) const;
  // The earliest wall time y >= from with WallBusiness(from, y) == amount; amount > 0.
  absl::Time WallAdvance(absl::Time from, absl::Duration amount) const;

  absl::TimeZone zone_;
  std::array<std::vector<Span>, 7> days_;  // sorted by open, non-overlapping
  std::array<absl::Duration, 7> day_total_{};
  absl::Duration week_total_;
  std::vector<int64_t> holidays_;               // local day numbers, sorted, unique
  std::vector<absl::Duration> holiday_prefix_;  // [i] = nominal business time of holidays_[0..i)
};

// The instant at which `d` of business time has elapsed after `start`: the earliest t >= start
// with BusinessTimeBetween(start, t, schedule) == d. A deadline lands on a closing time rather
// than the next opening (16:00 Friday + 1 h with hours 09:00-17:00 is 17:00 Friday). d <= 0
// returns `start` unchanged (even outside hours); InfiniteDuration() returns InfiniteFuture();
// an infinite `start` is returned as is. Keeps `start`'s precision.
//
// Cost: O(daylight-saving changes crossed + holidays crossed + 7 days); whole weeks are skipped
// arithmetically, so a 90-day target costs about as much as a 1-hour one.
//
// Calendar mode (wall time) needs no schedule: it is plain `start + d`.
absl::Time AddBusinessTime(absl::Time start, absl::Duration d, const BusinessSchedule& schedule);

// Business time in [a, b) (see BusinessSchedule); the inverse of AddBusinessTime:
// BusinessTimeBetween(a, AddBusinessTime(a, d)) == d for every d >= 0, and
// AddBusinessTime(a, BusinessTimeBetween(a, b)) == b whenever b is business time.
// Antisymmetric: b < a gives -BusinessTimeBetween(b, a). InfiniteDuration() when a or b is
// infinite (and not equal).
absl::Duration BusinessTimeBetween(absl::Time a, absl::Time b, const BusinessSchedule& schedule);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_TIME_BUSINESS_TIME_H_
