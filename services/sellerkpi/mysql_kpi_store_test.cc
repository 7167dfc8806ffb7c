#include "services/sellerkpi/mysql_kpi_store.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/counters.h"
#include "services/sellerkpi/test_events.h"

namespace marketplace::sellerkpi {
namespace {

using namespace ::marketplace::sellerkpi::testing;  // NOLINT

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class MysqlKpiStoreTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySellerKpiMigrations(pool()));
    store_ = std::make_unique<MysqlKpiStore>(&pool());
  }

  // Every counter of every seller, as (seller/day/counter -> n).
  std::map<std::string, int64_t> AllCounters() {
    auto rows = pool().Query(
        "SELECT seller_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, counter, n "
        "FROM seller_day_counters WHERE n <> 0");
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::map<std::string, int64_t> out;
    for (const auto& row : *rows) {
      out[*row.GetString("seller_id") + "/" + *row.GetString("day") + "/" +
          *row.GetString("counter")] = *row.GetInt64("n");
    }
    return out;
  }

  int64_t Count(const std::string& table) {
    auto rows = pool().Query("SELECT COUNT(*) AS n FROM " + table);
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  std::unique_ptr<MysqlKpiStore> store_;
};

TEST_F(MysqlKpiStoreTest, RecordsOnceAndCountsDuplicates) {
  auto events = Records({Placed("p1", kNow, "o1"), Rated("r1", kNow, "o1", 1)});
  ASSERT_OK_AND_ASSIGN(RecordCounts first, store_->RecordEvents(events));
  EXPECT_EQ(first.recorded, 2);
  EXPECT_EQ(first.duplicates, 0);
  const auto counters = AllCounters();
  ASSERT_OK_AND_ASSIGN(RecordCounts again, store_->RecordEvents(events));
  EXPECT_EQ(again.recorded, 0);
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(AllCounters(), counters);
  const std::string day = absl::FormatCivilTime(DayOf(kNow));
  EXPECT_EQ(counters.at(std::string(kSeller) + "/" + day + "/orders"), 1);
  EXPECT_EQ(counters.at(std::string(kSeller) + "/" + day + "/odr_defects"), 1);
  EXPECT_EQ(counters.at(std::string(kSeller) + "/" + day + "/rating_stars"), 1);
  EXPECT_EQ(Count("seller_events"), 2);
}

TEST_F(MysqlKpiStoreTest, SupportTicketsKeepTheirFirstRow) {
  ASSERT_OK_AND_ASSIGN(std::optional<SupportTicket> none, store_->FindTicket("tkt_1"));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK(store_->RememberTicket(
      {.ticket_id = "tkt_1", .seller_id = "0123456789abcdef0123456789abcdef", .order_id = "o/1"}));
  // A redelivered opening (or another seller claiming the id) changes nothing.
  ASSERT_OK(store_->RememberTicket(
      {.ticket_id = "tkt_1", .seller_id = "ffffffffffffffffffffffffffffffff", .order_id = "o/2"}));
  ASSERT_OK_AND_ASSIGN(std::optional<SupportTicket> found, store_->FindTicket("tkt_1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->seller_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(found->order_id, "o/1");
  ASSERT_OK_AND_ASSIGN(none, store_->FindTicket("TKT_1"));  // ids compare exactly
  EXPECT_FALSE(none.has_value());
}

// Producers' ids compare exactly: an order id with a trailing space is another order, and a
// ticket id another ticket (utf8mb4_bin would pad them equal: migration 0009).
TEST_F(MysqlKpiStoreTest, IdsDifferingByATrailingSpaceAreDifferent) {
  ASSERT_OK_AND_ASSIGN(
      RecordCounts counts,
      store_->RecordEvents(Records(
          {Placed("p1", kNow, "o-1"), Placed("p2", kNow, "o-1 "), Rated("r1", kNow, "o-1 ", 1)})));
  EXPECT_EQ(counts.recorded, 3);
  const std::string day = absl::FormatCivilTime(DayOf(kNow));
  const auto counters = AllCounters();
  EXPECT_EQ(counters.at(std::string(kSeller) + "/" + day + "/orders"), 2);
  EXPECT_EQ(counters.at(std::string(kSeller) + "/" + day + "/odr_defects"), 1);
  EXPECT_EQ(Count("seller_orders"), 2);

  ASSERT_OK(store_->RememberTicket(
      {.ticket_id = "tkt_1", .seller_id = "0123456789abcdef0123456789abcdef", .order_id = "o-1"}));
  ASSERT_OK_AND_ASSIGN(std::optional<SupportTicket> other, store_->FindTicket("tkt_1 "));
  EXPECT_FALSE(other.has_value());
}

TEST_F(MysqlKpiStoreTest, SameIdOtherContentRefusesTheWholeBatch) {
  ASSERT_OK(store_->RecordEvents(Records({Placed("p1", kNow, "o1")})).status());
  const auto before = AllCounters();
  auto result = store_->RecordEvents(
      Records({Placed("p2", kNow, "o2"), Placed("p1", kNow + absl::Seconds(1), "o1")}));
  ASSERT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(common::ReasonOf(result.status()), "EVENT_ID_CONFLICT");
  EXPECT_EQ(AllCounters(), before);
  EXPECT_EQ(Count("seller_events"), 1);
  EXPECT_EQ(Count("seller_orders"), 1);
}

TEST_F(MysqlKpiStoreTest, EveryEventTwiceAndShuffledGivesTheSameAggregates) {
  std::vector<pb::SellerEvent> events;
  for (int i = 0; i < 30; ++i) {
    const std::string order = "o" + std::to_string(i % 12);
    const std::string seller = i % 3 == 0 ? kOtherSeller : kSeller;
    const absl::Time t = kNow - absl::Hours(24 * (i % 7)) - absl::Minutes(i);
    switch (i % 5) {
      case 0: events.push_back(Placed("e" + std::to_string(i), t, order, seller)); break;
      case 1: events.push_back(Rated("e" + std::to_string(i), t, order, 1 + i % 5, seller)); break;
      case 2: events.push_back(Claim("e" + std::to_string(i), t, order, i % 2 == 0, seller)); break;
      case 3: events.push_back(Disputed("e" + std::to_string(i), t, order, seller)); break;
      case 4: events.push_back(Shipped("e" + std::to_string(i), t, order, true, false, seller)); break;
    }
  }
  ASSERT_OK(store_->RecordEvents(Records(events)).status());
  const auto in_order = AllCounters();
  ASSERT_FALSE(in_order.empty());

  // A fresh database: twice each, shuffled, from two threads at once, in batches of 7.
  ASSERT_OK(pool().Execute("DELETE FROM seller_events").status());
  ASSERT_OK(pool().Execute("DELETE FROM seller_day_counters").status());
  ASSERT_OK(pool().Execute("DELETE FROM seller_orders").status());
  std::vector<pb::SellerEvent> twice = events;
  twice.insert(twice.end(), events.begin(), events.end());
  std::mt19937 rng(7);
  std::shuffle(twice.begin(), twice.end(), rng);
  auto run = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; i += 7) {
      std::vector<pb::SellerEvent> batch(twice.begin() + i, twice.begin() + std::min(to, i + 7));
      EXPECT_OK(store_->RecordEvents(Records(batch)).status());
    }
  };
  std::thread a(run, 0, twice.size() / 2);
  std::thread b(run, twice.size() / 2, twice.size());
  a.join();
  b.join();
  EXPECT_EQ(AllCounters(), in_order);
  EXPECT_EQ(Count("seller_events"), 30);

  // The log replayed gives the live counters; a tampered counter is found.
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store_->ReplayCounters({}, 10));
  EXPECT_EQ(report.events_replayed, 30);
  EXPECT_EQ(report.sellers, 2);
  EXPECT_EQ(report.aggregate_differences, 0);
  ASSERT_OK(pool().Execute("UPDATE seller_day_counters SET n = n + 1 WHERE seller_id = ? "
                           "AND counter = 'orders' LIMIT 1",
                           {std::string(kSeller)})
                .status());
  ASSERT_OK_AND_ASSIGN(report, store_->ReplayCounters({kSeller}, 10));
  EXPECT_EQ(report.sellers, 1);
  EXPECT_EQ(report.aggregate_differences, 1);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_NE(report.examples[0].find("/orders: live "), std::string::npos) << report.examples[0];
  ASSERT_OK_AND_ASSIGN(report, store_->ReplayCounters({kOtherSeller}, 10));
  EXPECT_EQ(report.aggregate_differences, 0);
}

// A batch is first written as if all its events and (seller, order) rows were new; an event
// recorded already or a row created meanwhile makes it run again reading them first. Four
// writers at once, each sending, in its own order, the same 120 events and 30 of its own on
// the same new orders: every call succeeds, and the aggregates are those of one writer
// recording all of them alone.
TEST_F(MysqlKpiStoreTest, ConcurrentWritersOfTheSameNewOrdersCountEachOnce) {
  auto event = [](const std::string& id, int i) {
    const std::string order = "o" + std::to_string(i % 30);  // several events of two types
    const std::string seller = i % 2 == 0 ? kOtherSeller : kSeller;
    const absl::Time t = kNow - absl::Hours(24 * (i % 5)) - absl::Minutes(i);
    switch (i % 4) {
      case 0: return Placed(id, t, order, seller);
      case 1: return Claim(id, t, order, i % 3 == 0, seller);
      case 2: return Rated(id, t, order, 1 + i % 5, seller);
      default: return Shipped(id, t, order, i % 3 == 0, true, seller);
    }
  };
  constexpr int kWriters = 4;
  std::vector<pb::SellerEvent> shared;
  for (int i = 0; i < 120; ++i) shared.push_back(event("c" + std::to_string(i), i));
  std::vector<std::vector<pb::SellerEvent>> sent(kWriters, shared);
  std::vector<pb::SellerEvent> all = shared;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < 30; ++i) {
      sent[w].push_back(event("w" + std::to_string(w) + "-" + std::to_string(i), i + 7 * w));
      all.push_back(sent[w].back());
    }
  }
  const auto clear = [&] {
    ASSERT_OK(pool().Execute("DELETE FROM seller_events").status());
    ASSERT_OK(pool().Execute("DELETE FROM seller_day_counters").status());
    ASSERT_OK(pool().Execute("DELETE FROM seller_orders").status());
  };
  ASSERT_OK(store_->RecordEvents(Records(all)).status());
  const auto alone = AllCounters();
  ASSERT_FALSE(alone.empty());
  const int64_t order_rows = Count("seller_orders");
  ASSERT_GT(order_rows, 0);

  // The writes of a batch of 10 go with its COMMIT (the default), or each on its own (0): the
  // two ways a race shows (a duplicate key at the COMMIT, a short row count at once).
  for (int one_round_trip_up_to : {MysqlKpiStore::Options().one_round_trip_up_to, 0}) {
    SCOPED_TRACE(one_round_trip_up_to);
    ASSERT_GE(MysqlKpiStore::Options().one_round_trip_up_to, 10);
    clear();
    MysqlKpiStore store(&pool(), nullptr, {.one_round_trip_up_to = one_round_trip_up_to});
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        std::vector<pb::SellerEvent> mine = sent[w];
        std::mt19937 rng(100 + w);
        std::shuffle(mine.begin(), mine.end(), rng);
        for (size_t i = 0; i < mine.size(); i += 10) {
          std::vector<pb::SellerEvent> batch(mine.begin() + i,
                                             mine.begin() + std::min(mine.size(), i + 10));
          EXPECT_OK(store.RecordEvents(Records(batch)).status());
        }
      });
    }
    for (std::thread& t : writers) t.join();
    EXPECT_EQ(AllCounters(), alone);
    EXPECT_EQ(Count("seller_events"), static_cast<int64_t>(all.size()));
    EXPECT_EQ(Count("seller_orders"), order_rows);
    ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store.ReplayCounters({}, 10));
    EXPECT_EQ(report.aggregate_differences, 0);
  }
}

TEST_F(MysqlKpiStoreTest, ThresholdsSeedOnceAndUpdateByVersion) {
  pb::Thresholds seed;
  seed.set_recovery_share(0.8);
  ASSERT_OK(store_->SeedThresholds(seed, kNow));
  pb::Thresholds other;
  other.set_recovery_share(0.5);
  ASSERT_OK(store_->SeedThresholds(other, kNow));  // a second replica: no effect
  ASSERT_OK_AND_ASSIGN(pb::Thresholds current, store_->CurrentThresholds());
  EXPECT_EQ(current.version(), 1);
  EXPECT_DOUBLE_EQ(current.recovery_share(), 0.8);

  auto stale = store_->UpdateThresholds(2, other, "admin", kNow);
  EXPECT_EQ(common::ReasonOf(stale.status()), "THRESHOLDS_VERSION_MISMATCH");
  ASSERT_OK_AND_ASSIGN(pb::Thresholds updated, store_->UpdateThresholds(1, other, "admin", kNow));
  EXPECT_EQ(updated.version(), 2);
  ASSERT_OK_AND_ASSIGN(current, store_->CurrentThresholds());
  EXPECT_EQ(current.version(), 2);
  EXPECT_EQ(current.updated_by(), "admin");
  EXPECT_DOUBLE_EQ(current.recovery_share(), 0.5);
}

TEST_F(MysqlKpiStoreTest, ConcurrentThresholdUpdatesOneWins) {
  ASSERT_OK(store_->SeedThresholds(pb::Thresholds(), kNow));
  std::atomic<int> ok{0}, mismatch{0};
  auto update = [&] {
    auto r = store_->UpdateThresholds(1, pb::Thresholds(), "admin", kNow);
    if (r.ok()) ++ok;
    if (common::ReasonOf(r.status()) == "THRESHOLDS_VERSION_MISMATCH") ++mismatch;
  };
  std::thread a(update), b(update);
  a.join();
  b.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(mismatch.load(), 1);
}

EvaluationResult Judged(const SellerSnapshot& s, pb::HealthLevel level, absl::Time as_of = kNow) {
  EvaluationResult r;
  r.scorecard.set_seller_id(s.seller_id);
  common::ToTimestamp(as_of, r.scorecard.mutable_as_of());
  r.scorecard.set_health(level);
  r.state.health = level;
  return r;
}

TEST_F(MysqlKpiStoreTest, QueuedSellersAreEvaluatedOnceUntilNewEvents) {
  ASSERT_OK(store_->RecordEvents(Records({Placed("p1", kNow, "o1"),
                                          Placed("p2", kNow, "o2", kOtherSeller)}))
                .status());
  const absl::CivilDay day = DayOf(kNow);
  int judged = 0;
  Judge judge = [&](const SellerSnapshot& s) -> absl::StatusOr<EvaluationResult> {
    ++judged;
    EXPECT_FALSE(s.counters.empty());
    return Judged(s, pb::AT_RISK);
  };
  ASSERT_OK_AND_ASSIGN(EvaluationCounts counts,
                       store_->EvaluateQueued(10, kNow - absl::Hours(1), day - 90, day, judge));
  EXPECT_EQ(counts.evaluated, 2);
  EXPECT_EQ(counts.changed, 2);
  ASSERT_OK_AND_ASSIGN(counts,
                       store_->EvaluateQueued(10, kNow - absl::Hours(1), day - 90, day, judge));
  EXPECT_EQ(counts.evaluated, 0);
  ASSERT_OK(store_->RecordEvents(Records({Placed("p3", kNow, "o3")})).status());
  ASSERT_OK_AND_ASSIGN(counts,
                       store_->EvaluateQueued(10, kNow - absl::Hours(1), day - 90, day, judge));
  EXPECT_EQ(counts.evaluated, 1);
  EXPECT_EQ(counts.changed, 0);
  // Daily: evaluated before `stale_before` comes back (the evaluator's as_of is later).
  Judge later = [&](const SellerSnapshot& s) -> absl::StatusOr<EvaluationResult> {
    ++judged;
    return Judged(s, pb::AT_RISK, kNow + absl::Hours(2));
  };
  ASSERT_OK_AND_ASSIGN(counts,
                       store_->EvaluateQueued(10, kNow + absl::Hours(1), day - 90, day, later));
  EXPECT_EQ(counts.evaluated, 2);
  EXPECT_EQ(judged, 5);
  ASSERT_OK_AND_ASSIGN(auto card, store_->LatestScorecard(kSeller));
  ASSERT_TRUE(card.has_value());
  EXPECT_EQ(card->health(), pb::AT_RISK);
  ASSERT_OK_AND_ASSIGN(HealthPage page, store_->ListByHealth({pb::AT_RISK}, std::nullopt, 1));
  ASSERT_EQ(page.sellers.size(), 1u);
  ASSERT_TRUE(page.next.has_value());
  ASSERT_OK_AND_ASSIGN(HealthPage rest, store_->ListByHealth({pb::AT_RISK}, page.next, 1));
  ASSERT_EQ(rest.sellers.size(), 1u);
  EXPECT_NE(rest.sellers[0].seller_id(), page.sellers[0].seller_id());
  EXPECT_FALSE(rest.next.has_value());
}

TEST_F(MysqlKpiStoreTest, TwoEvaluatorsShareTheQueueWithoutOverlap) {
  std::vector<pb::SellerEvent> events;
  for (int i = 0; i < 40; ++i) {
    char seller[33];
    snprintf(seller, sizeof(seller), "%032x", i + 1);
    events.push_back(Placed("p" + std::to_string(i), kNow, "o1", seller));
  }
  ASSERT_OK(store_->RecordEvents(Records(events)).status());
  const absl::CivilDay day = DayOf(kNow);
  absl::Mutex mu;
  std::map<std::string, int> seen;
  Judge judge = [&](const SellerSnapshot& s) -> absl::StatusOr<EvaluationResult> {
    {
      absl::MutexLock lock(&mu);
      ++seen[s.seller_id];
    }
    return Judged(s, pb::GOOD);
  };
  auto second_pool = NewPool(4);
  ASSERT_OK(second_pool.status());
  MysqlKpiStore other(second_pool->get());
  int a_count = 0, b_count = 0;
  std::thread a([&] {
    auto c = store_->EvaluateQueued(100, kNow - absl::Hours(1), day - 90, day, judge);
    a_count = c.ok() ? c->evaluated : -1;
  });
  std::thread b([&] {
    auto c = other.EvaluateQueued(100, kNow - absl::Hours(1), day - 90, day, judge);
    b_count = c.ok() ? c->evaluated : -1;
  });
  a.join();
  b.join();
  EXPECT_EQ(a_count + b_count, 40);
  EXPECT_EQ(seen.size(), 40u);
  for (const auto& [seller, n] : seen) EXPECT_EQ(n, 1) << seller;
}

TEST_F(MysqlKpiStoreTest, EvidenceFollowsTheOrdersThatCount) {
  const absl::Time t = kNow - absl::Hours(24);
  ASSERT_OK(store_->RecordEvents(Records({
                                    Placed("p1", t, "o1"),
                                    Claim("c1", t + absl::Hours(1), "o1", true),
                                    Placed("p2", t, "o2"),
                                    Claim("c2", t + absl::Hours(1), "o2", true),
                                    ClaimDecision("d2", t + absl::Hours(2), "o2",
                                                  pb::FAVOURS_SELLER, false),
                                    Shipped("s1", t, "o1", true, true),
                                })).status());
  const absl::CivilDay day = DayOf(kNow);
  ASSERT_OK_AND_ASSIGN(auto odr, store_->ListEvidence(kSeller, pb::ORDER_DEFECT_RATE, day - 59,
                                                      day, std::nullopt, 10));
  ASSERT_EQ(odr.size(), 1u);
  EXPECT_EQ(odr[0].event_id(), "c1");
  EXPECT_EQ(odr[0].source(), "api");
  ASSERT_OK_AND_ASSIGN(auto late, store_->ListEvidence(kSeller, pb::LATE_SHIPMENT_RATE, day - 29,
                                                       day, std::nullopt, 10));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].event_id(), "s1");
  ASSERT_OK_AND_ASSIGN(auto outside, store_->ListEvidence(kSeller, pb::LATE_SHIPMENT_RATE,
                                                          day - 29, day - 5, std::nullopt, 10));
  EXPECT_TRUE(outside.empty());
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

TEST_F(MysqlKpiStoreTest, ExcludingAnEventTakesItOutAsIfItHadNeverCome) {
  const absl::Time t = kNow - absl::Hours(24);
  const std::vector<pb::SellerEvent> kept = {Placed("p1", t, "o1"), Rated("r1", kNow, "o1", 5),
                                             Placed("p2", t, "o2"), Shipped("s2", t, "o2", true, true)};
  const std::vector<pb::SellerEvent> excluded = {Claim("c1", kNow, "o1", true),
                                                 Rated("r2", kNow, "o2", 1)};
  // What the counters are without the excluded events.
  ASSERT_OK(store_->RecordEvents(Records(kept)).status());
  const auto without = AllCounters();
  ASSERT_OK(pool().Execute("DELETE FROM seller_events").status());
  ASSERT_OK(pool().Execute("DELETE FROM seller_day_counters").status());
  ASSERT_OK(pool().Execute("DELETE FROM seller_orders").status());

  std::vector<pb::SellerEvent> all = kept;
  all.insert(all.end(), excluded.begin(), excluded.end());
  ASSERT_OK(store_->RecordEvents(Records(all)).status());
  EXPECT_NE(AllCounters(), without);
  for (const auto& e : excluded) {
    ASSERT_OK_AND_ASSIGN(pb::SellerEvent out, store_->ExcludeEvent(e.event_id(), Exclusion(e.event_id())));
    EXPECT_TRUE(out.excluded());
  }
  EXPECT_EQ(AllCounters(), without);
  // Again: no effect.
  ASSERT_OK(store_->ExcludeEvent("c1", Exclusion("c1")).status());
  EXPECT_EQ(AllCounters(), without);
  // Excluded events are evidence of nothing; a redelivery is a duplicate.
  const absl::CivilDay day = DayOf(kNow);
  ASSERT_OK_AND_ASSIGN(auto odr, store_->ListEvidence(kSeller, pb::ORDER_DEFECT_RATE, day - 59,
                                                      day, std::nullopt, 10));
  EXPECT_TRUE(odr.empty());
  ASSERT_OK_AND_ASSIGN(RecordCounts again, store_->RecordEvents(Records(excluded)));
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(AllCounters(), without);
  EXPECT_EQ(store_->ExcludeEvent("nope", Exclusion("nope")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("seller_events"), 8);  // 6 events and 2 exclusions
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store_->ReplayCounters({}, 10));
  EXPECT_EQ(report.aggregate_differences, 0);  // the replay honours the exclusions
}

}  // namespace
}  // namespace marketplace::sellerkpi
