#include "bench/loadgen.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
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

TEST(LoadgenTest, FixedRateIssuesAtTheRateNotAtTheCompletions) {
  RateOptions options;
  options.calls_per_second = 200;
  options.max_in_flight = 8;
  options.warmup = absl::Milliseconds(100);
  options.duration = absl::Milliseconds(500);
  // Each call takes ~20 ms: a closed loop of 8 slots would make ~400 calls/s; at a fixed rate
  // of 200/s about 4 are in flight and the rate, not the completions, sets the pace.
  IssueFn issue = [](int, std::function<void(bool)> done) {
    std::thread([done] {
      absl::SleepFor(absl::Milliseconds(20));
      done(true);
    }).detach();
  };
  LoadResult r = RunFixedRate(options, issue);
  EXPECT_GT(r.qps, 150);
  EXPECT_LT(r.qps, 250);
  EXPECT_GE(r.p50, absl::Milliseconds(20));
  EXPECT_EQ(r.errors, 0);
}

TEST(LoadgenTest, FixedRateNeverExceedsMaxInFlightAndCountsLateCalls) {
  RateOptions options;
  options.calls_per_second = 1000;
  options.max_in_flight = 2;
  options.warmup = absl::ZeroDuration();
  options.duration = absl::Milliseconds(300);
  std::atomic<int> in_flight{0}, most{0};
  std::atomic<bool> slot_shared{false};
  std::atomic<int> slot_busy[2] = {0, 0};
  // Calls of 20 ms with 2 slots: at most ~100 calls/s, far below the 1000/s asked.
  IssueFn issue = [&](int slot, std::function<void(bool)> done) {
    if (slot < 0 || slot >= 2 || slot_busy[slot].exchange(1) != 0) slot_shared = true;
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::thread([&, slot, done] {
      absl::SleepFor(absl::Milliseconds(20));
      --in_flight;
      slot_busy[slot] = 0;
      done(slot % 2 == 0);
    }).detach();
  };
  LoadResult r = RunFixedRate(options, issue);
  EXPECT_LE(most.load(), 2);
  EXPECT_FALSE(slot_shared.load());
  EXPECT_LT(r.qps, 200);
  EXPECT_GT(r.late, 0);
  EXPECT_GT(r.errors, 0);  // the calls of slot 1 fail: errors, not throughput
  EXPECT_GT(r.calls, 0);
}

// A call's objects, counted while alive (a ClientContext and its messages, in a real tool).
struct Tracked {
  explicit Tracked(std::atomic<int>* live) : live(live) { ++*live; }
  ~Tracked() { --*live; }
  std::atomic<int>* live;
};

// Each call's thread reports, then lingers 20 ms still holding `done` and the call's objects,
// as gRPC does while it finishes a call after its callback: a run returns only once they are
// all gone (before, it returned at the last report, and a tool exiting then tore gRPC down
// under its threads).
IssueFn LingeringCalls(std::atomic<int>* live, std::atomic<int>* issued, bool report_ok) {
  return [=](int, std::function<void(bool)> done) {
    ++*issued;
    auto call = std::make_shared<Tracked>(live);
    std::thread([call, done, report_ok] {
      absl::SleepFor(absl::Milliseconds(2));
      done(report_ok);
      absl::SleepFor(absl::Milliseconds(20));
    }).detach();
  };
}

TEST(LoadgenTest, RunsReturnOnlyWhenNoCallHoldsAnythingOfThem) {
  std::atomic<int> live{0}, issued{0};
  LoadOptions closed;
  closed.concurrency = 4;
  closed.warmup = absl::ZeroDuration();
  closed.duration = absl::Milliseconds(100);
  LoadResult r = RunClosedLoop(closed, LingeringCalls(&live, &issued, true));
  EXPECT_EQ(live.load(), 0);
  EXPECT_GT(r.calls, 0);

  RateOptions rate;
  rate.calls_per_second = 200;
  rate.max_in_flight = 8;
  rate.warmup = absl::ZeroDuration();
  rate.duration = absl::Milliseconds(100);
  r = RunFixedRate(rate, LingeringCalls(&live, &issued, true));
  EXPECT_EQ(live.load(), 0);
  EXPECT_GT(r.calls, 0);

  issued = 0;
  EXPECT_EQ(RunCalls(3, 20, LingeringCalls(&live, &issued, true)), 20);
  EXPECT_EQ(live.load(), 0);
  EXPECT_EQ(issued.load(), 20);
  EXPECT_EQ(RunCalls(3, 5, LingeringCalls(&live, &issued, false)), 0);
  EXPECT_EQ(live.load(), 0);
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
