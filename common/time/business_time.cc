#include "common/time/business_time.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/errors.h"

namespace marketplace::common {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMaxTimeZoneNameLength = 64;

const char* const kWeekdayNames[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Names the loader accepts: tzdata names only ("Area/Location", "UTC"), never a path or the
// machine's own "localtime".
bool PlausibleZoneName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxTimeZoneNameLength) return false;
  if (name.front() == '/' || name.back() == '/' || absl::StrContains(name, "..") ||
      absl::StrContains(name, "//") || name == "localtime") {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
        c != '+') {
      return false;
    }
  }
  return true;
}

// The instant of the first UTC-offset change after `t`, if the zone has one.
bool NextOffsetChange(const absl::TimeZone& zone, absl::Time t, absl::Time* change) {
  absl::TimeZone::CivilTransition transition;
  if (!zone.NextTransition(t, &transition)) return false;
  *change = zone.At(transition.to).trans;
  // Defensive: a transition must lie after t, or the scan would not advance.
  return *change > t;
}

}  // namespace

absl::StatusOr<BusinessSchedule> BusinessSchedule::FromProto(
    const marketplace::support::v1::BusinessSchedule& proto, absl::string_view field) {
  Violations violations;
  BusinessSchedule schedule;

  const std::string zone_field = absl::StrCat(field, ".time_zone");
  if (proto.time_zone().empty()) {
    violations.Add(zone_field, "is required: an IANA time zone name such as Europe/Berlin");
  } else if (!PlausibleZoneName(proto.time_zone()) ||
             !absl::LoadTimeZone(proto.time_zone(), &schedule.zone_)) {
    violations.Add(zone_field, "must be an IANA time zone name such as Europe/Berlin");
  }

  const std::string hours_field = absl::StrCat(field, ".hours");
  if (proto.hours_size() == 0) {
    violations.Add(hours_field, "at least one interval is required");
  } else if (proto.hours_size() > kMaxIntervals) {
    violations.Add(hours_field, absl::StrCat("at most ", kMaxIntervals, " intervals"));
  } else {
    // The index each accepted interval came from, to name the earlier one in an overlap.
    std::array<std::vector<std::pair<Span, int>>, 7> by_day;
    for (int i = 0; i < proto.hours_size(); ++i) {
      const auto& h = proto.hours(i);
      const std::string at = absl::StrCat(hours_field, "[", i, "]");
      bool ok = true;
      if (h.weekday() < 1 || h.weekday() > 7) {
        violations.Add(absl::StrCat(at, ".weekday"), "must be 1 (Monday) to 7 (Sunday)");
        ok = false;
      }
      if (h.open_minute() < 0 || h.open_minute() >= kMinutesPerDay) {
        violations.Add(absl::StrCat(at, ".open_minute"), "must be 0 to 1439");
        ok = false;
      }
      if (h.close_minute() < 1 || h.close_minute() > kMinutesPerDay) {
        violations.Add(absl::StrCat(at, ".close_minute"), "must be 1 to 1440");
        ok = false;
      } else if (h.close_minute() <= h.open_minute()) {
        violations.Add(absl::StrCat(at, ".close_minute"), "must be > open_minute");
        ok = false;
      }
      if (!ok) continue;
      by_day[h.weekday() - 1].push_back(
          {{absl::Minutes(h.open_minute()), absl::Minutes(h.close_minute())}, i});
    }
    for (int d = 0; d < 7; ++d) {
      auto& list = by_day[d];
      std::stable_sort(list.begin(), list.end(),
                       [](const auto& a, const auto& b) { return a.first.open < b.first.open; });
      int previous = -1;  // proto index of the last accepted interval of this day
      for (const auto& [span, index] : list) {
        if (!schedule.days_[d].empty() && span.open < schedule.days_[d].back().close) {
          const int later = std::max(previous, index);
          const int earlier = std::min(previous, index);
          violations.Add(absl::StrCat(hours_field, "[", later, "]"),
                         absl::StrCat("overlaps ", hours_field, "[", earlier, "] on ",
                                      kWeekdayNames[d], " (intervals of a day must not overlap)"));
          continue;
        }
        schedule.days_[d].push_back(span);
        schedule.day_total_[d] += span.close - span.open;
        previous = index;
      }
      schedule.week_total_ += schedule.day_total_[d];
    }
  }

  const std::string holidays_field = absl::StrCat(field, ".holidays");
  if (proto.holidays_size() > kMaxHolidays) {
    violations.Add(holidays_field, absl::StrCat("at most ", kMaxHolidays, " dates"));
  } else {
    for (int i = 0; i < proto.holidays_size(); ++i) {
      const std::string& text = proto.holidays(i);
      absl::CivilDay day;
      // ParseCivilTime normalizes (2026-02-30 would become March 2): insist on a round trip.
      if (!absl::ParseCivilTime(text, &day) || absl::FormatCivilTime(day) != text) {
        violations.Add(absl::StrCat(holidays_field, "[", i, "]"),
                       "must be a date YYYY-MM-DD such as 2026-12-25");
        continue;
      }
      schedule.holidays_.push_back(day - absl::CivilDay(1970, 1, 1));
    }
  }

  if (!violations.empty()) return violations.Status();

  std::sort(schedule.holidays_.begin(), schedule.holidays_.end());
  schedule.holidays_.erase(std::unique(schedule.holidays_.begin(), schedule.holidays_.end()),
                           schedule.holidays_.end());
  schedule.holiday_prefix_.reserve(schedule.holidays_.size() + 1);
  schedule.holiday_prefix_.push_back(absl::ZeroDuration());
  for (int64_t day : schedule.holidays_) {
    schedule.holiday_prefix_.push_back(schedule.holiday_prefix_.back() +
                                       schedule.day_total_[WeekdayIndex(day)]);
  }
  return schedule;
}

int64_t BusinessSchedule::DayOf(absl::Time wall) {
  return FloorDiv(absl::ToUnixSeconds(wall), 24 * 60 * 60);
}

absl::Time BusinessSchedule::StartOfDay(int64_t day) {
  return absl::FromUnixSeconds(day * 24 * 60 * 60);
}

int BusinessSchedule::WeekdayIndex(int64_t day) {
  // 1970-01-01 was a Thursday (index 3).
  int64_t r = (day + 3) % 7;
  return static_cast<int>(r < 0 ? r + 7 : r);
}

bool BusinessSchedule::IsHoliday(int64_t day) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), day);
}

absl::Duration BusinessSchedule::DayBusiness(int64_t day, absl::Duration from,
                                             absl::Duration to) const {
  if (from >= to || IsHoliday(day)) return absl::ZeroDuration();
  absl::Duration total;
  for (const Span& span : days_[WeekdayIndex(day)]) {
    const absl::Duration lo = std::max(from, span.open);
    const absl::Duration hi = std::min(to, span.close);
    if (lo < hi) total += hi - lo;
  }
  return total;
}

absl::Duration BusinessSchedule::WholeDaysBusiness(int64_t first, int64_t last) const {
  if (first >= last) return absl::ZeroDuration();
  const int64_t days = last - first;
  absl::Duration total = week_total_ * (days / 7);
  for (int64_t d = first + days / 7 * 7; d < last; ++d) total += day_total_[WeekdayIndex(d)];
  const auto lo = std::lower_bound(holidays_.begin(), holidays_.end(), first);
  const auto hi = std::lower_bound(holidays_.begin(), holidays_.end(), last);
  total -= holiday_prefix_[hi - holidays_.begin()] - holiday_prefix_[lo - holidays_.begin()];
  return total;
}

absl::Duration BusinessSchedule::WallBusiness(absl::Time from, absl::Time to) const {
  const int64_t d1 = DayOf(from);
  const int64_t d2 = DayOf(to);
  if (d1 == d2) return DayBusiness(d1, from - StartOfDay(d1), to - StartOfDay(d1));
  return DayBusiness(d1, from - StartOfDay(d1), absl::Hours(24)) + WholeDaysBusiness(d1 + 1, d2) +
         DayBusiness(d2, absl::ZeroDuration(), to - StartOfDay(d2));
}

absl::Time BusinessSchedule::WallAdvance(absl::Time from, absl::Duration amount) const {
  int64_t day = DayOf(from);
  absl::Duration offset = from - StartOfDay(day);  // where to start within `day`
  while (true) {
    if (offset == absl::ZeroDuration() && amount > week_total_) {
      // Skip k whole weeks whose nominal time stays below `amount`; holidays only make them
      // shorter, so the deadline still lies beyond them.
      absl::Duration rest;
      int64_t weeks = absl::IDivDuration(amount, week_total_, &rest);
      if (rest == absl::ZeroDuration()) --weeks;
      amount -= WholeDaysBusiness(day, day + 7 * weeks);
      day += 7 * weeks;
      continue;
    }
    if (!IsHoliday(day)) {
      for (const Span& span : days_[WeekdayIndex(day)]) {
        if (span.close <= offset) continue;
        const absl::Duration lo = std::max(offset, span.open);
        const absl::Duration available = span.close - lo;
        if (amount <= available) return StartOfDay(day) + lo + amount;
        amount -= available;
      }
    }
    ++day;
    offset = absl::ZeroDuration();
  }
}

bool BusinessSchedule::IsBusinessTime(absl::Time t) const {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return false;
  const absl::Time wall = t + absl::Seconds(zone_.At(t).offset);
  const int64_t day = DayOf(wall);
  const absl::Duration offset = wall - StartOfDay(day);
  return DayBusiness(day, offset, offset + absl::Nanoseconds(1)) > absl::ZeroDuration();
}

absl::Time AddBusinessTime(absl::Time start, absl::Duration d, const BusinessSchedule& schedule) {
  if (d <= absl::ZeroDuration() || start == absl::InfiniteFuture() ||
      start == absl::InfinitePast()) {
    return start;
  }
  if (d == absl::InfiniteDuration()) return absl::InfiniteFuture();
  absl::Time t = start;
  absl::Duration remaining = d;
  while (true) {
    const absl::Duration offset = absl::Seconds(schedule.zone_.At(t).offset);
    absl::Time change;
    if (!NextOffsetChange(schedule.zone_, t, &change)) {
      return schedule.WallAdvance(t + offset, remaining) - offset;
    }
    const absl::Duration available = schedule.WallBusiness(t + offset, change + offset);
    if (remaining <= available) return schedule.WallAdvance(t + offset, remaining) - offset;
    remaining -= available;
    t = change;
  }
}

absl::Duration BusinessTimeBetween(absl::Time a, absl::Time b, const BusinessSchedule& schedule) {
  if (a == b) return absl::ZeroDuration();
  if (b < a) return -BusinessTimeBetween(b, a, schedule);
  if (a == absl::InfinitePast() || b == absl::InfiniteFuture()) return absl::InfiniteDuration();
  absl::Duration total;
  absl::Time t = a;
  while (true) {
    const absl::Duration offset = absl::Seconds(schedule.zone_.At(t).offset);
    absl::Time change;
    const bool has_change = NextOffsetChange(schedule.zone_, t, &change);
    const absl::Time end = has_change ? std::min(change, b) : b;
    total += schedule.WallBusiness(t + offset, end + offset);
    if (end == b) return total;
    t = end;
  }
}

}  // namespace marketplace::common
