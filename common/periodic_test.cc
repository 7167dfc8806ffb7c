#include "common/periodic.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(PeriodicThreadTest, RunsAtStartThenEveryIntervalUntilStoppedAndStartsAgain) {
  std::atomic<int> passes{0};
  absl::Notification third;
  PeriodicThread t(absl::Milliseconds(5), [&] {
    if (++passes == 3) third.Notify();
    return false;
  });
  EXPECT_EQ(passes.load(), 0);  // nothing before Start()
  t.Start();
  t.Start();  // a second call does nothing
  ASSERT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(10)));
  t.Stop();
  const int after_stop = passes.load();
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_EQ(passes.load(), after_stop);
  t.Start();  // again: the first pass at once
  for (int i = 0; i < 1000 && passes.load() == after_stop; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_GT(passes.load(), after_stop);
}

TEST(PeriodicThreadTest, PassReturningTrueRunsAgainWithoutWaiting) {
  std::atomic<int> passes{0};
  absl::Notification done;
  // An hour between passes: only "more is due" can make the five passes happen.
  PeriodicThread t(absl::Hours(1), [&] {
    const int n = ++passes;
    if (n == 5) done.Notify();
    return n < 5;
  });
  t.Start();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  t.Stop();  // returns at once although the thread waits for an hour
  EXPECT_EQ(passes.load(), 5);
}

TEST(PeriodicThreadTest, StopWithoutStartAndDestructionAreSafe) {
  PeriodicThread never(absl::Seconds(1), [] { return false; });
  never.Stop();
  PeriodicThread running(absl::Milliseconds(1), [] { return false; });
  running.Start();
}

}  // namespace
}  // namespace marketplace::common
