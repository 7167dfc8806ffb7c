#include "common/group_commit.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

// The sizes of the batches run, recorded from the batch functions' threads.
class BatchSizes {
 public:
  void Record(size_t n) {
    absl::MutexLock lock(&mu_);
    sizes_.push_back(n);
  }
  std::vector<size_t> All() const {
    absl::MutexLock lock(&mu_);
    return sizes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<size_t> sizes_ ABSL_GUARDED_BY(mu_);
};

TEST(GroupCommitterTest, OneCallerRunsAloneAndGetsItsResult) {
  std::vector<size_t> sizes;
  GroupCommitter<int, int> committer(
      [&](std::vector<int>& items) {
        sizes.push_back(items.size());
        std::vector<int> out;
        for (int i : items) out.push_back(i * 10);
        return out;
      },
      {});
  EXPECT_EQ(committer.Submit(4), 40);
  EXPECT_EQ(committer.Submit(5), 50);
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 1}));
}

TEST(GroupCommitterTest, CallersArrivingDuringABatchShareTheNextOneInPowerOfTwoSizes) {
  absl::Notification first_running, release_first;
  std::atomic<int> runs{0};
  BatchSizes sizes;
  GroupCommitter<int, int> committer(
      [&](std::vector<int>& items) {
        sizes.Record(items.size());
        if (runs++ == 0) {
          first_running.Notify();
          release_first.WaitForNotification();
        }
        std::vector<int> out;
        for (int i : items) out.push_back(i + 1000);
        return out;
      },
      {/*max_batch=*/8, /*max_batches_in_flight=*/1});
  std::vector<std::thread> threads;
  std::vector<int> results(13, -1);
  threads.emplace_back([&] { results[0] = committer.Submit(0); });
  first_running.WaitForNotification();
  for (int i = 1; i < 13; ++i) {
    threads.emplace_back([&, i] { results[i] = committer.Submit(i); });
  }
  // Let the 12 later callers queue behind the first batch.
  absl::SleepFor(absl::Milliseconds(200));
  release_first.Notify();
  for (auto& t : threads) t.join();
  for (int i = 0; i < 13; ++i) EXPECT_EQ(results[i], i + 1000) << i;
  // 1 (the first), then 12 queued: 8 and 4.
  EXPECT_EQ(sizes.All(), (std::vector<size_t>{1, 8, 4}));
  EXPECT_EQ(committer.Totals(), (std::pair<int64_t, int64_t>{3, 13}));
}

TEST(GroupCommitterTest, ASecondBatchStartsBesideTheFirstOnlyWhenEnoughWait) {
  absl::Notification first_running, release_first, second_running;
  std::atomic<int> runs{0};
  BatchSizes sizes;
  GroupCommitter<int, int> committer(
      [&](std::vector<int>& items) {
        sizes.Record(items.size());
        const int run = runs++;
        if (run == 0) {
          first_running.Notify();
          release_first.WaitForNotification();
        } else if (run == 1) {
          second_running.Notify();
        }
        return std::vector<int>(items.begin(), items.end());
      },
      {/*max_batch=*/8, /*max_batches_in_flight=*/2, /*min_items_to_overlap=*/3});
  std::vector<std::thread> threads;
  threads.emplace_back([&] { committer.Submit(0); });
  first_running.WaitForNotification();
  // Two waiting are too few to run beside the first batch.
  threads.emplace_back([&] { committer.Submit(1); });
  threads.emplace_back([&] { committer.Submit(2); });
  EXPECT_FALSE(second_running.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  // The third makes the batch worth running while the first is still at the database.
  threads.emplace_back([&] { committer.Submit(3); });
  EXPECT_TRUE(second_running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release_first.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(sizes.All(), (std::vector<size_t>{1, 3}));
}

TEST(GroupCommitterTest, WeightedItemsGoTogetherUpToTheWeightLimitAndAHeavyOneAlone) {
  absl::Notification first_running, release_first;
  std::atomic<int> runs{0};
  absl::Mutex mu;
  std::vector<std::vector<int>> batches;
  GroupCommitter<int, int>::Options options;
  options.max_batch = 100;
  options.max_batches_in_flight = 1;
  options.weight = [](const int& i) { return static_cast<size_t>(i); };
  options.max_weight = 10;
  options.sizes_in_series = false;
  GroupCommitter<int, int> committer(
      [&](std::vector<int>& items) {
        {
          absl::MutexLock lock(&mu);
          batches.push_back(items);
        }
        if (runs++ == 0) {
          first_running.Notify();
          release_first.WaitForNotification();
        }
        return std::vector<int>(items.begin(), items.end());
      },
      options);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { committer.Submit(1); });
  first_running.WaitForNotification();
  // Queued in this order behind the first batch: 4, 5 (9 together), 3 (12: too much), 20
  // (heavier than the limit: alone), 2, 2, 2.
  for (int w : {4, 5, 3, 20, 2, 2, 2}) {
    const size_t before = committer.Waiting();
    threads.emplace_back([&, w] { EXPECT_EQ(committer.Submit(w), w); });
    while (committer.Waiting() == before) absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(committer.Waiting(), 7u);
  release_first.Notify();
  for (auto& t : threads) t.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}, {4, 5}, {3}, {20}, {2, 2, 2}}));
  EXPECT_EQ(committer.Waiting(), 0u);
}

TEST(GroupCommitterTest, BatchSizesArePowersOfTwoAndOneAndAHalfTimesThem) {
  using Committer = GroupCommitter<int, int>;
  std::vector<size_t> sizes;
  for (size_t waiting = 0; waiting <= 25; ++waiting) {
    sizes.push_back(Committer::BatchSize(waiting, 16));
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 1, 2, 3, 4, 4, 6, 6, 8, 8, 8, 8, 12, 12, 12, 12, 16,
                                        16, 16, 16, 16, 16, 16, 16, 16, 16}));
  EXPECT_EQ(Committer::BatchSize(100, 20), 16u);
  EXPECT_EQ(Committer::BatchSize(100, 24), 24u);
  EXPECT_EQ(Committer::BatchSize(5, 1), 1u);
}

TEST(GroupCommitterTest, ManyCallersEachGetTheirOwnResult) {
  GroupCommitter<int, int> committer(
      [](std::vector<int>& items) {
        std::vector<int> out;
        for (int i : items) out.push_back(-i);
        return out;
      },
      {16, 2});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const int v = t * 100000 + i;
        if (committer.Submit(v) != -v) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(committer.Totals().second, 16000);
}

}  // namespace
}  // namespace marketplace::common
