#include "services/catalog/public_view_cache.h"

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/catalog/mysql_listing_store.h"

namespace marketplace::catalog {
namespace {

class PublicViewCacheTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyCatalogMigrations(pool()));
    store_ = std::make_unique<MysqlListingStore>(&pool(), &clock_, MysqlListingStore::Options());
    for (const char* id : {"lst_00000000000000000000000a", "lst_00000000000000000000000b",
                           "lst_00000000000000000000000c"})
      Insert(id);
  }

  void TearDown() override {
    store_.reset();  // its reader threads use the pool, which goes next
    DatabaseTest::TearDown();
  }

  // A fresh cache, polled by the test itself (Poll()), on the test's clock.
  std::unique_ptr<PublicViewCache> Make(size_t capacity = 100) {
    PublicViewCacheOptions o;
    o.ttl = absl::Minutes(1);
    o.overlap = absl::Seconds(30);
    o.max_poll_age = absl::Seconds(2);
    o.capacity = capacity;
    auto cache = std::make_unique<PublicViewCache>(store_.get(), &clock_, o);
    EXPECT_OK(cache->Poll());
    return cache;
  }

  void Insert(const std::string& id) {
    ASSERT_OK(pool()
                  .Execute("INSERT INTO listings (listing_id, seller_id, state, category_id, "
                           "title_folded, content, explanation, created_at, updated_at) "
                           "VALUES (?, '11111111111111111111111111111111', 'LIVE', "
                           "'toys-plush', ' t ', '', '', ?, ?)",
                           {id, clock_.Now(), clock_.Now()})
                  .status());
  }

  // What every write of a listing does: a new updated_at (`at`, the writer's clock).
  void Touch(const std::string& id, absl::Time at) {
    ASSERT_OK(pool()
                  .Execute("UPDATE listings SET updated_at = ? WHERE listing_id = ?", {at, id})
                  .status());
  }

  static v1::Listing View(const std::string& id, const std::string& title) {
    v1::Listing l;
    l.set_listing_id(id);
    l.set_title(title);
    return l;
  }

  static std::string TitleOf(PublicViewCache& cache, const std::string& id) {
    std::shared_ptr<const v1::Listing> v = cache.Find(id);
    return v == nullptr ? "<miss>" : v->title();
  }

  common::ManualClock clock_;
  std::unique_ptr<MysqlListingStore> store_;
};

TEST_F(PublicViewCacheTest, ServesStoredViewsByExactIdAndCounts) {
  auto cache = Make();
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "one"),
             cache->BeginRead());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "one");
  EXPECT_EQ(TitleOf(*cache, "LST_00000000000000000000000A"),
            "<miss>");  // ids compare exactly, as in the database
  cache->Put("lst_00000000000000000000000b", View("lst_00000000000000000000000b", "two"),
             cache->BeginRead());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000b"), "two");
  PublicViewCache::Totals t = cache->totals();
  EXPECT_EQ(t.hits, 2);
  EXPECT_EQ(t.misses, 2);
}

TEST_F(PublicViewCacheTest, AChangedRowIsEvictedByTheNextPollOnlyOnce) {
  auto cache = Make();
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "old"),
             cache->BeginRead());
  cache->Put("lst_00000000000000000000000b", View("lst_00000000000000000000000b", "other"),
             cache->BeginRead());
  clock_.Advance(absl::Milliseconds(100));
  Touch("lst_00000000000000000000000a", clock_.Now());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "old");  // not polled yet
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000b"), "other");  // untouched rows stay
  EXPECT_EQ(cache->totals().evictions, 1);
  // Read again after the change: stored, and later polls that see the same row again (it stays
  // in their overlap window) leave it.
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "new"),
             cache->BeginRead());
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_OK(cache->Poll());
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "new");
  EXPECT_EQ(cache->totals().evictions, 1);
}

TEST_F(PublicViewCacheTest, AViewReadWhileItsListingChangedIsNotStored) {
  auto cache = Make();
  // A reader takes its ticket and reads the old row; the write commits and a poll sees it
  // before the reader stores what it read.
  PublicViewCache::Ticket ticket = cache->BeginRead();
  clock_.Advance(absl::Milliseconds(100));
  Touch("lst_00000000000000000000000a", clock_.Now());
  ASSERT_OK(cache->Poll());
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "stale"), ticket);
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  // Other listings read with the same ticket are stored.
  cache->Put("lst_00000000000000000000000b", View("lst_00000000000000000000000b", "fine"), ticket);
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000b"), "fine");
  // A read that began after that poll is stored.
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "fresh"),
             cache->BeginRead());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "fresh");
}

TEST_F(PublicViewCacheTest, WritesCommittedLateAreSeenWithinTheOverlaps) {
  auto cache = Make();
  cache->Put("lst_00000000000000000000000b", View("lst_00000000000000000000000b", "old"),
             cache->BeginRead());
  cache->Put("lst_00000000000000000000000c", View("lst_00000000000000000000000c", "old"),
             cache->BeginRead());
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(cache->Poll());
  // A write stamped 1.5 s ago commits after that poll: the next poll looks back 2 s.
  Touch("lst_00000000000000000000000b", clock_.Now() - absl::Milliseconds(1500));
  clock_.Advance(absl::Milliseconds(500));
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000b"), "<miss>");
  // A transaction that began 20 s ago commits only now: recent polls do not look back that
  // far, the next full poll (every 5 s, 30 s back) does.
  Touch("lst_00000000000000000000000c", clock_.Now() - absl::Seconds(20));
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000c"), "old");
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000c"), "<miss>");
}

TEST_F(PublicViewCacheTest, ViewsExpireAfterTheTtlAndAreNotServedWhilePollsLag) {
  auto cache = Make();
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "v"),
             cache->BeginRead());
  // No successful poll for longer than max_poll_age: the database is asked instead.
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "v");
  clock_.Advance(absl::Seconds(58));
  ASSERT_OK(cache->Poll());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"),
            "<miss>");  // older than the one-minute TTL
}

TEST_F(PublicViewCacheTest, FailedPollsStopServingUntilAPollSucceeds) {
  auto cache = Make();
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "v"),
             cache->BeginRead());
  ASSERT_OK(server().Stop());
  clock_.Advance(absl::Seconds(3));
  EXPECT_FALSE(cache->Poll().ok());
  EXPECT_EQ(cache->totals().poll_failures, 1);
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  ASSERT_OK(server().Start());
  // Writes made while this replica could not poll are still seen: the next poll starts where
  // the last successful one did.
  Touch("lst_00000000000000000000000a", clock_.Now());
  absl::Status polled;
  for (int i = 0; i < 50; ++i) {  // the pool reconnects on demand
    polled = cache->Poll();
    if (polled.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_OK(polled);
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
}

TEST_F(PublicViewCacheTest, ReadsTooSlowToBeCheckedAreNotStoredAndAFullCacheEmpties) {
  auto cache = Make(/*capacity=*/2);
  PublicViewCache::Ticket slow = cache->BeginRead();
  clock_.Advance(absl::Seconds(6));
  ASSERT_OK(cache->Poll());
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "slow"), slow);
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  cache->Put("lst_00000000000000000000000a", View("lst_00000000000000000000000a", "a"),
             cache->BeginRead());
  cache->Put("lst_00000000000000000000000b", View("lst_00000000000000000000000b", "b"),
             cache->BeginRead());
  cache->Put("lst_00000000000000000000000c", View("lst_00000000000000000000000c", "c"),
             cache->BeginRead());
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000a"), "<miss>");
  EXPECT_EQ(TitleOf(*cache, "lst_00000000000000000000000c"), "c");
}

TEST_F(PublicViewCacheTest, DisabledWithAZeroTtl) {
  PublicViewCacheOptions o;
  PublicViewCache cache(store_.get(), &clock_, o);
  EXPECT_FALSE(cache.enabled());
  cache.StartPolling();  // does nothing
  EXPECT_EQ(cache.totals().polls, 0);
}

}  // namespace
}  // namespace marketplace::catalog
