#include "services/sellerkpi/group_commit.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/mysql_kpi_store.h"
#include "services/sellerkpi/test_events.h"

namespace marketplace::sellerkpi {
namespace {

using namespace ::marketplace::sellerkpi::testing;  // NOLINT

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class GroupCommitTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySellerKpiMigrations(pool()));
    store_ = std::make_unique<MysqlKpiStore>(&pool());
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  // The store, its first call held until Release(): the calls made meanwhile queue up.
  GroupCommit::RecordFn HeldStore() {
    return [this](const std::vector<EventRecord>& events) {
      {
        absl::MutexLock lock(&mu_);
        sizes_.push_back(events.size());
        if (sizes_.size() == 1) {
          mu_.Await(absl::Condition(&released_));
        }
      }
      return store_->RecordEvents(events);
    };
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }
  std::vector<size_t> Sizes() {
    absl::MutexLock lock(&mu_);
    return sizes_;
  }

  // Starts `call` on a thread and waits until `group` has one more waiting call than before.
  static std::thread Queue(GroupCommit& group, std::function<void()> call) {
    const size_t before = group.Waiting();
    std::thread t(std::move(call));
    while (group.Waiting() == before) absl::SleepFor(absl::Milliseconds(1));
    return t;
  }

  std::unique_ptr<MysqlKpiStore> store_;
  absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<size_t> sizes_ ABSL_GUARDED_BY(mu_);
};

TEST_F(GroupCommitTest, CallsWaitingTogetherShareOneTransactionAndEachGetsItsOwnCounts) {
  GroupCommit group(HeldStore(), {.max_events = 1000, .max_in_flight = 1, .alone_from = 1000});
  absl::StatusOr<RecordCounts> first;
  std::thread leader([&] { first = group.Record(Records({Placed("first", kNow, "o0")})); });
  while (Sizes().empty()) absl::SleepFor(absl::Milliseconds(1));
  // Five calls queue behind it; "shared" is sent by two of them.
  std::vector<absl::StatusOr<RecordCounts>> results(5);
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.push_back(Queue(group, [&, i] {
      std::vector<pb::SellerEvent> events = {Placed("c" + std::to_string(i), kNow,
                                                    "o" + std::to_string(i + 1))};
      if (i == 1 || i == 3) events.push_back(Rated("shared", kNow, "o9", 2));
      results[i] = group.Record(Records(events));
    }));
  }
  EXPECT_EQ(group.Waiting(), 5u);
  Release();
  leader.join();
  for (auto& t : threads) t.join();

  ASSERT_OK(first.status());
  EXPECT_EQ(first->recorded, 1);
  // The five calls went in one store call, in arrival order: "shared" is recorded by the
  // first that sent it and a duplicate for the second.
  EXPECT_EQ(Sizes(), (std::vector<size_t>{1, 7}));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << " " << results[i].status();
    EXPECT_EQ(results[i]->recorded, i == 3 ? 1 : (i == 1 ? 2 : 1)) << i;
    EXPECT_EQ(results[i]->duplicates, i == 3 ? 1 : 0) << i;
    EXPECT_EQ(results[i]->recorded_each.size(), (i == 1 || i == 3) ? 2u : 1u) << i;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events"), 7);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_orders"), 7);
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store_->ReplayCounters({}, 10));
  EXPECT_EQ(report.aggregate_differences, 0);
}

TEST_F(GroupCommitTest, AConflictInOneCallFailsThatCallAloneAndWritesNothingOfIt) {
  ASSERT_OK(store_->RecordEvents(Records({Rated("taken", kNow, "o1", 5)})).status());
  GroupCommit group(HeldStore(), {.max_events = 1000, .max_in_flight = 1, .alone_from = 1000});
  absl::StatusOr<RecordCounts> first;
  std::thread leader([&] { first = group.Record(Records({Placed("first", kNow, "o0")})); });
  while (Sizes().empty()) absl::SleepFor(absl::Milliseconds(1));
  absl::StatusOr<RecordCounts> before, bad, after;
  std::thread a = Queue(group, [&] { before = group.Record(Records({Placed("a", kNow, "oa")})); });
  // "taken" again with other stars: a conflict, so "b" must not be recorded either.
  std::thread b = Queue(group, [&] {
    bad = group.Record(Records({Placed("b", kNow, "ob"), Rated("taken", kNow, "o1", 1)}));
  });
  std::thread c = Queue(group, [&] { after = group.Record(Records({Placed("c", kNow, "oc")})); });
  Release();
  for (std::thread* t : {&leader, &a, &b, &c}) t->join();

  ASSERT_OK(first.status());
  ASSERT_OK(before.status());
  EXPECT_EQ(before->recorded, 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kAlreadyExists) << bad.status();
  ASSERT_OK(after.status());
  EXPECT_EQ(after->recorded, 1);
  // The shared transaction (4 events) failed and wrote nothing; then each call alone.
  EXPECT_EQ(Sizes(), (std::vector<size_t>{1, 4, 1, 2, 1}));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events WHERE event_id = 'b'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events"), 4);  // taken, first, a, c
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store_->ReplayCounters({}, 10));
  EXPECT_EQ(report.aggregate_differences, 0);
}

TEST_F(GroupCommitTest, AGroupStaysUnderMaxEventsAndABigCallGoesAlone) {
  GroupCommit group(HeldStore(), {.max_events = 3, .max_in_flight = 1, .alone_from = 1000});
  auto batch = [](const std::string& prefix, int n) {
    std::vector<pb::SellerEvent> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(Placed(prefix + std::to_string(i), kNow, prefix + std::to_string(i)));
    }
    return Records(events);
  };
  std::thread leader([&] { EXPECT_OK(group.Record(batch("first", 1)).status()); });
  while (Sizes().empty()) absl::SleepFor(absl::Milliseconds(1));
  std::vector<std::thread> threads;
  // 2 + 1 fit one group; 2 more start the next; 5 is over the limit and goes alone.
  for (auto [prefix, n] : std::vector<std::pair<std::string, int>>{
           {"p", 2}, {"q", 1}, {"r", 2}, {"s", 5}}) {
    threads.push_back(Queue(group, [&group, &batch, prefix = prefix, n = n] {
      ASSERT_OK_AND_ASSIGN(RecordCounts counts, group.Record(batch(prefix, n)));
      EXPECT_EQ(counts.recorded, n);
    }));
  }
  Release();
  leader.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(Sizes(), (std::vector<size_t>{1, 3, 2, 5}));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events"), 11);
}

TEST_F(GroupCommitTest, ALargeCallGoesAtOnceBesideTheGroups) {
  GroupCommit group(HeldStore(), {.max_events = 200, .max_in_flight = 1, .alone_from = 3});
  std::thread leader([&] { EXPECT_OK(group.Record(Records({Placed("first", kNow, "o0")})).status()); });
  while (Sizes().empty()) absl::SleepFor(absl::Milliseconds(1));
  // The store is held by the first call: a 3-event call does not wait for it.
  ASSERT_OK_AND_ASSIGN(RecordCounts counts,
                       group.Record(Records({Placed("l1", kNow, "l1"), Placed("l2", kNow, "l2"),
                                             Placed("l3", kNow, "l3")})));
  EXPECT_EQ(counts.recorded, 3);
  EXPECT_EQ(group.Waiting(), 0u);
  Release();
  leader.join();
  EXPECT_EQ(Sizes(), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events"), 4);
}

TEST_F(GroupCommitTest, ManyConcurrentCallersRecordEveryEventOnce) {
  GroupCommit group([this](const std::vector<EventRecord>& events) {
    return store_->RecordEvents(events);
  });
  // 12 threads x 20 calls of 3 events; neighbouring threads send the same ids.
  std::atomic<int> recorded{0}, duplicates{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      for (int call = 0; call < 20; ++call) {
        std::vector<pb::SellerEvent> events;
        for (int k = 0; k < 3; ++k) {
          const int id = ((t / 2) * 20 + call) * 3 + k;  // threads 2i and 2i+1 share ids
          const std::string seller = id % 2 == 0 ? kSeller : kOtherSeller;
          events.push_back(Placed("m" + std::to_string(id), kNow - absl::Hours(id % 48),
                                  "o" + std::to_string(id / 2), seller));
        }
        absl::StatusOr<RecordCounts> counts = group.Record(Records(events));
        if (!counts.ok()) {
          ++failed;
          continue;
        }
        recorded += counts->recorded;
        duplicates += counts->duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(recorded.load(), 360);    // 6 pairs x 20 calls x 3 ids
  EXPECT_EQ(duplicates.load(), 360);  // each sent twice
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM seller_events"), 360);
  ASSERT_OK_AND_ASSIGN(KpiStore::ReplayReport report, store_->ReplayCounters({}, 10));
  EXPECT_EQ(report.events_replayed, 360);
  EXPECT_EQ(report.aggregate_differences, 0);
}

}  // namespace
}  // namespace marketplace::sellerkpi
