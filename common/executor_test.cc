#include "common/executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(BoundedExecutorTest, RunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  {
    BoundedExecutor executor(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(executor.TrySubmit([&] { ++ran; }));
  }  // the destructor drains the queue
  EXPECT_EQ(ran.load(), 50);
}

TEST(BoundedExecutorTest, RefusesWhenQueueIsFull) {
  BoundedExecutor executor(1, 2);
  absl::Notification release;
  absl::Notification started;
  ASSERT_TRUE(executor.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_TRUE(executor.TrySubmit([] {}));
  EXPECT_FALSE(executor.TrySubmit([] {})) << "a third queued task exceeds max_queue = 2";
  EXPECT_EQ(executor.QueueDepth(), 2);
  release.Notify();
}

TEST(BoundedExecutorTest, RefusesAfterShutdown) {
  BoundedExecutor executor(1, 10);
  executor.Shutdown();
  EXPECT_FALSE(executor.TrySubmit([] {}));
  executor.Shutdown();  // idempotent
}

TEST(BoundedExecutorTest, UsesAllThreads) {
  BoundedExecutor executor(4, 10);
  std::atomic<int> concurrent{0};
  std::atomic<int> peak{0};
  absl::Notification go;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(executor.TrySubmit([&] {
      int now = ++concurrent;
      int prev = peak.load();
      while (now > prev && !peak.compare_exchange_weak(prev, now)) {
      }
      go.WaitForNotificationWithTimeout(absl::Seconds(2));
      --concurrent;
    }));
  }
  absl::SleepFor(absl::Milliseconds(200));
  go.Notify();
  executor.Shutdown();
  EXPECT_EQ(peak.load(), 4);
}

}  // namespace
}  // namespace marketplace::common
