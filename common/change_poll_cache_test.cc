#include "common/change_poll_cache.h"

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

// The rows a source reports as changed: key -> change time; `from` of each poll is kept.
class FakeSource {
 public:
  void Change(const std::string& key, absl::Time at) {
    absl::MutexLock lock(&mu_);
    rows_[key] = at;
  }
  void Fail(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }
  std::vector<absl::Time> froms() {
    absl::MutexLock lock(&mu_);
    return froms_;
  }
  ChangePollCacheCore::ChangedSinceFn Fn() {
    return
        [this](absl::Time from) -> absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> {
          absl::MutexLock lock(&mu_);
          froms_.push_back(from);
          if (fail_) return absl::UnavailableError("database down");
          std::vector<std::pair<std::string, absl::Time>> out;
          for (const auto& [key, at] : rows_) {
            if (at >= from) out.emplace_back(key, at);
          }
          return out;
        };
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, absl::Time> rows_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> froms_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

class CountingObserver : public ChangePollCacheObserver {
 public:
  void OnHit() override { ++hits; }
  void OnMiss() override { ++misses; }
  void OnEvictions(int64_t count) override { evictions += count; }
  void OnPollFailure() override { ++poll_failures; }
  std::atomic<int64_t> hits{0}, misses{0}, evictions{0}, poll_failures{0};
};

ChangePollCacheOptions Enabled() {
  ChangePollCacheOptions o;
  o.ttl = absl::Minutes(1);
  return o;
}

class ChangePollCacheTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  FakeSource source_;
  CountingObserver observer_;
};

TEST_F(ChangePollCacheTest, DisabledKeepsNothing) {
  ChangePollCache<std::string> cache(source_.Fn(), &clock_, ChangePollCacheOptions(), &observer_);
  EXPECT_FALSE(cache.enabled());
  ASSERT_OK(cache.Poll());
  cache.Put("a", "value", cache.BeginRead());
  EXPECT_EQ(cache.Find("a"), nullptr);
}

TEST_F(ChangePollCacheTest, ServesWhatWasPutWhilePollsAreRecent) {
  ChangePollCache<std::string> cache(source_.Fn(), &clock_, Enabled(), &observer_);
  cache.Put("a", "value", cache.BeginRead());
  // No successful poll yet: nothing is served (changes from elsewhere would go unseen).
  EXPECT_EQ(cache.Find("a"), nullptr);
  ASSERT_OK(cache.Poll());
  cache.Put("a", "value", cache.BeginRead());
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(*cache.Find("a"), "value");
  EXPECT_EQ(cache.Find("A"), nullptr);  // keys compare byte for byte
  // Polls stop succeeding: once the last good one is older than max_poll_age, no hits.
  source_.Fail(true);
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(cache.Poll().ok());
  EXPECT_NE(cache.Find("a"), nullptr);
  clock_.Advance(absl::Seconds(1) + absl::Milliseconds(1));
  EXPECT_EQ(cache.Find("a"), nullptr);
  source_.Fail(false);
  ASSERT_OK(cache.Poll());
  EXPECT_NE(cache.Find("a"), nullptr);
  // The ttl ends a value whatever the polls say.
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(cache.Poll());
  EXPECT_EQ(cache.Find("a"), nullptr);
  const ChangePollCacheCore::Totals t = cache.totals();
  EXPECT_EQ(t.hits, 4);
  EXPECT_EQ(t.misses, 4);
  EXPECT_EQ(t.poll_failures, 1);
  EXPECT_EQ(t.polls, 3);
  EXPECT_EQ(observer_.hits, 4);
  EXPECT_EQ(observer_.misses, 4);
  EXPECT_EQ(observer_.poll_failures, 1);
}

TEST_F(ChangePollCacheTest, APollEvictsWhatChangedOnceAndItsWindowOverlaps) {
  ChangePollCacheOptions o = Enabled();
  ChangePollCache<std::string> cache(source_.Fn(), &clock_, o, &observer_);
  const absl::Time t0 = clock_.Now();
  ASSERT_OK(cache.Poll());
  cache.Put("a", "old", cache.BeginRead());
  cache.Put("b", "kept", cache.BeginRead());
  source_.Change("a", clock_.Now());
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_OK(cache.Poll());
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_NE(cache.Find("b"), nullptr);
  EXPECT_EQ(cache.totals().evictions, 1);
  // The same change seen again by the overlapping window evicts nothing more.
  cache.Put("a", "new", cache.BeginRead());
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_OK(cache.Poll());
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(*cache.Find("a"), "new");
  // A later change of it does.
  source_.Change("a", clock_.Now());
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_OK(cache.Poll());
  EXPECT_EQ(cache.Find("a"), nullptr);
  // Windows: each poll goes back recent_overlap before the previous poll's start; once
  // full_poll_interval has passed, overlap before the previous full poll.
  clock_.Advance(o.full_poll_interval);
  ASSERT_OK(cache.Poll());
  const std::vector<absl::Time> froms = source_.froms();
  ASSERT_EQ(froms.size(), 5u);
  EXPECT_EQ(froms[1], t0 - o.recent_overlap);
  EXPECT_EQ(froms[2], t0 + absl::Milliseconds(200) - o.recent_overlap);
  EXPECT_EQ(froms[4], t0 - o.overlap);
}

TEST_F(ChangePollCacheTest, AReadOlderThanAnEvictionIsNotStored) {
  ChangePollCache<std::string> cache(source_.Fn(), &clock_, Enabled(), &observer_);
  ASSERT_OK(cache.Poll());
  // Read begun, then the row changes (seen by a poll), then the read's old value arrives.
  const ChangePollCacheCore::Ticket before_poll = cache.BeginRead();
  source_.Change("a", clock_.Now());
  ASSERT_OK(cache.Poll());
  cache.Put("a", "stale", before_poll);
  EXPECT_EQ(cache.Find("a"), nullptr);
  // The same with this replica's own write.
  const ChangePollCacheCore::Ticket before_write = cache.BeginRead();
  cache.Evict("b");
  cache.Put("b", "stale", before_write);
  EXPECT_EQ(cache.Find("b"), nullptr);
  // A read begun after the eviction is stored, and Evict removes it at once.
  cache.Put("b", "fresh", cache.BeginRead());
  ASSERT_NE(cache.Find("b"), nullptr);
  cache.Evict("b");
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(observer_.evictions, 1);  // the poll's "a" was not cached: only "b" counted
}

TEST_F(ChangePollCacheTest, AFullCacheStartsAgainEmpty) {
  ChangePollCacheOptions o = Enabled();
  o.capacity = 2;
  ChangePollCache<std::string> cache(source_.Fn(), &clock_, o, &observer_);
  ASSERT_OK(cache.Poll());
  cache.Put("a", "1", cache.BeginRead());
  cache.Put("b", "2", cache.BeginRead());
  cache.Put("b", "2 again", cache.BeginRead());  // replacing keeps the others
  EXPECT_NE(cache.Find("a"), nullptr);
  cache.Put("c", "3", cache.BeginRead());
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
}

}  // namespace
}  // namespace marketplace::common
