#include "services/sellerkpi/seller_event.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/sellerkpi/counters.h"
#include "services/sellerkpi/test_events.h"

namespace marketplace::sellerkpi {
namespace {

using namespace ::marketplace::sellerkpi::testing;  // NOLINT

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::vector<std::string> BadFields(const pb::SellerEvent& e, bool from_api = true) {
  common::Violations v;
  CheckEvent(e, "events[0]", kNow, from_api, v);
  std::vector<std::string> fields;
  for (const auto& f : common::FieldViolationsOf(v.Status())) fields.push_back(f.field);
  return fields;
}

TEST(CheckEventTest, AcceptsAWellFormedEvent) {
  EXPECT_TRUE(BadFields(Placed("e1", kNow, "o1")).empty());
  EXPECT_TRUE(BadFields(Placed("e1", kNow + absl::Minutes(5), "o1")).empty());
}

TEST(CheckEventTest, NamesEachBrokenRule) {
  using Fields = std::vector<std::string>;
  EXPECT_EQ(BadFields(Placed("", kNow, "o1")), Fields{"events[0].event_id"});
  EXPECT_EQ(BadFields(Placed("bad id", kNow, "o1")), Fields{"events[0].event_id"});
  // The exclusions' ids are ExcludeSellerEvent's: a producer taking one first would make
  // that exclusion impossible.
  EXPECT_EQ(BadFields(Placed("excluded:0123456789abcdef0123456789abcdef01234567", kNow, "o1")),
            Fields{"events[0].event_id"});
  EXPECT_TRUE(BadFields(Placed("not-excluded:1", kNow, "o1")).empty());
  EXPECT_EQ(BadFields(Placed("e1", kNow, "o1", "ABC")), Fields{"events[0].seller_id"});
  EXPECT_EQ(BadFields(Placed("e1", kNow + absl::Minutes(5) + absl::Seconds(1), "o1")),
            Fields{"events[0].occurred_at"});
  EXPECT_EQ(BadFields(Placed("e1", kNow - absl::Hours(24 * 401), "o1")),
            Fields{"events[0].occurred_at"});
  EXPECT_EQ(BadFields(Placed("e1", kNow, "")), Fields{"events[0].links.order_id"});
  EXPECT_EQ(BadFields(EventAt("e1", kNow, "o1")), Fields{"events[0].payload"});
  EXPECT_EQ(BadFields(Rated("e1", kNow, "o1", 0)), Fields{"events[0].rating.stars"});
  EXPECT_EQ(BadFields(Rated("e1", kNow, "o1", 6)), Fields{"events[0].rating.stars"});
  EXPECT_EQ(BadFields(Cancelled("e1", kNow, "o1", pb::CANCELLED_BY_UNSPECIFIED)),
            Fields{"events[0].order_cancelled.by"});
  pb::SellerEvent excluded = EventAt("e1", kNow);
  excluded.mutable_event_excluded()->set_excluded_event_id("x");
  EXPECT_EQ(BadFields(excluded), Fields{"events[0].payload"});
  EXPECT_TRUE(BadFields(excluded, /*from_api=*/false).empty());
  // Listing review reasons: 1-64 characters each, counted as characters, not bytes.
  pb::SellerEvent reviewed = EventAt("e1", kNow);
  reviewed.mutable_links()->set_listing_id("lst_1");
  std::string accented;
  for (int i = 0; i < 64; ++i) accented += "\u00e9";  // 64 characters, 128 bytes
  reviewed.mutable_listing_reviewed()->add_reasons(accented);
  EXPECT_TRUE(BadFields(reviewed).empty());
  reviewed.mutable_listing_reviewed()->add_reasons(accented + "e");
  reviewed.mutable_listing_reviewed()->add_reasons("");
  EXPECT_EQ(BadFields(reviewed), (Fields{"events[0].listing_reviewed.reasons[1]",
                                         "events[0].listing_reviewed.reasons[2]"}));
  pb::SellerEvent no_time = Placed("e1", kNow, "o1");
  no_time.clear_occurred_at();
  EXPECT_EQ(BadFields(no_time), Fields{"events[0].occurred_at"});
}

TEST(MakeRecordTest, HashIgnoresTheSourceButNotTheContent) {
  auto a = MakeRecord(Placed("e1", kNow, "o1"), "api");
  auto b = MakeRecord(Placed("e1", kNow, "o1"), "payments");
  auto c = MakeRecord(Placed("e1", kNow + absl::Seconds(1), "o1"), "api");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->content_hash, b->content_hash);
  EXPECT_NE(a->content_hash, c->content_hash);
  EXPECT_EQ(a->type, "ORDER_PLACED");
  EXPECT_EQ(b->event.source(), "payments");
}

// Applies `events` in order to fresh state; the counters by (day, counter).
std::map<std::pair<absl::CivilDay, std::string>, int64_t> Replay(
    const std::vector<pb::SellerEvent>& events) {
  std::map<std::string, OrderState> orders;
  std::map<std::pair<absl::CivilDay, std::string>, int64_t> out;
  for (const pb::SellerEvent& e : events) {
    auto r = MakeRecord(e, "api");
    EXPECT_TRUE(r.ok());
    OrderState* order = TouchesOrder(*r) ? &orders[e.links().order_id()] : nullptr;
    for (const CounterDelta& d : ApplyEvent(*r, order)) out[{d.day, d.counter}] += d.delta;
  }
  for (auto it = out.begin(); it != out.end();) {
    it = it->second == 0 ? out.erase(it) : std::next(it);
  }
  return out;
}

TEST(ApplyEventTest, AnOrderWithTwoDefectsCountsOnceOnItsOrderDay) {
  const absl::Time placed = kNow - absl::Hours(24 * 3);
  auto c = Replay({Placed("p", placed, "o1"), Rated("r", kNow, "o1", 1),
                   Disputed("d", kNow, "o1"), Claim("c", kNow, "o1", true)});
  const absl::CivilDay day = DayOf(placed);
  auto at = [&c](absl::CivilDay d, absl::string_view name) {
    auto it = c.find({d, std::string(name)});
    return it == c.end() ? int64_t{0} : it->second;
  };
  EXPECT_EQ(at(day, counters::kOrders), 1);
  EXPECT_EQ(at(day, counters::kOdrDefects), 1);
  EXPECT_EQ(at(day, counters::kIncidents), 1);
  EXPECT_EQ(at(day, counters::kDisputedOrders), 1);
  EXPECT_EQ(at(DayOf(kNow), counters::kOdrDefects), 0);
}

TEST(ApplyEventTest, AnyArrivalOrderGivesTheSameCounters) {
  const absl::Time t0 = kNow - absl::Hours(24 * 5);
  std::vector<pb::SellerEvent> events = {
      Placed("p1", t0, "o1"),
      Placed("p1b", t0 + absl::Hours(30), "o1"),  // a second source, a later day
      Claim("c1", t0 + absl::Hours(40), "o1", true),
      ClaimDecision("c2", t0 + absl::Hours(50), "o1", pb::FAVOURS_SELLER, false),
      Placed("p2", t0 + absl::Hours(1), "o2"),
      Rated("r2", t0 + absl::Hours(60), "o2", 2),
      Cancelled("x2", t0 + absl::Hours(61), "o2", pb::SELLER_CANCELLED),
      Shipped("s2", t0 + absl::Hours(10), "o2", true, false),
      FirstResponse("f1", t0 + absl::Hours(11), 600, true),
  };
  const auto expected = Replay(events);
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.event_id() < b.event_id(); });
  int permutations = 0;
  do {
    ASSERT_EQ(Replay(events), expected);
  } while (std::next_permutation(events.begin(), events.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.event_id() < b.event_id();
                                 }) &&
           ++permutations < 3000);
  // The claim decided for the seller is the latest: o1 is not defective; o1 is on t0's day.
  EXPECT_EQ(expected.count({DayOf(t0), std::string(counters::kOdrDefects)}), 1u);  // o2
  EXPECT_EQ(expected.at({DayOf(t0), std::string(counters::kOrders)}), 2);
  EXPECT_EQ(expected.count({DayOf(t0), std::string(counters::kIncidents)}), 0u);
}

}  // namespace
}  // namespace marketplace::sellerkpi
