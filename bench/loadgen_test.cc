#include "bench/loadgen.h"

#include <unistd.h>

#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketplace::bench {
namespace {

TEST(LoadgenTest, CountsOnlyTheMeasuredWindowAndKeepsConcurrency) {
  LoadOptions options;
  options.concurrency = 4;
  options.warmup = absl::Milliseconds(100);
  options.duration = absl::Milliseconds(500);
  // Each call takes ~10 ms on its own thread: 4 slots → about 400 calls/s.
  IssueFn issue = [](int, std::function<void(bool)> done) {
    std::thread([done] {
      absl::SleepFor(absl::Milliseconds(10));
      done(true);
    }).detach();
  };
  LoadResult r = RunClosedLoop(options, issue);
  EXPECT_GT(r.qps, 150);
  EXPECT_LT(r.qps, 450);
  EXPECT_GE(r.p50, absl::Milliseconds(10));
  EXPECT_GE(r.p999, r.p99);
  EXPECT_EQ(r.errors, 0);
}

TEST(LoadgenTest, FailedCallsAreErrorsNotThroughput) {
  LoadOptions options;
  options.concurrency = 1;
  options.warmup = absl::ZeroDuration();
  options.duration = absl::Milliseconds(100);
  IssueFn issue = [](int, std::function<void(bool)> done) {
    std::thread([done] {
      absl::SleepFor(absl::Milliseconds(1));
      done(false);
    }).detach();
  };
  LoadResult r = RunClosedLoop(options, issue);
  EXPECT_GT(r.errors, 0);
  EXPECT_EQ(r.calls, 0);
  EXPECT_EQ(r.qps, 0);
}

TEST(LoadgenTest, ReadsItsOwnProcessStats) {
  auto stats = ReadProcessStats(getpid());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->rss_bytes, 0);
  EXPECT_GE(stats->peak_rss_bytes, stats->rss_bytes);
  EXPECT_FALSE(ReadProcessStats(999999999).ok());
}

}  // namespace
}  // namespace marketplace::bench
