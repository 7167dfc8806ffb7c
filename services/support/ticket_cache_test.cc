// MySqlTicketStore's cache of ticket rows (ReadTicket) against a real MariaDB, with two stores
// on one database as two replicas: a change made through either shows in the other's reads
// after its poll, and in the writer's own reads at once.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/change_poll_cache.h"
#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/support/mysql_ticket_store.h"

namespace marketplace::support {
namespace {

class TicketCacheTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySupportMigrations(pool()));
    ASSERT_OK_AND_ASSIGN(other_pool_, NewPool());
    common::ChangePollCacheOptions cache;
    cache.ttl = absl::Minutes(1);
    cache.poll_interval = absl::Milliseconds(20);
    cached_ = std::make_unique<MySqlTicketStore>(&pool(), &clock_, 2, cache);
    other_ = std::make_unique<MySqlTicketStore>(other_pool_.get(), &clock_, 2, cache);
    uncached_ = std::make_unique<MySqlTicketStore>(other_pool_.get(), &clock_);
  }

  void TearDown() override {
    // The stores (their pollers and readers) before the pools they use.
    cached_.reset();
    other_.reset();
    uncached_.reset();
    other_pool_.reset();
    DatabaseTest::TearDown();
  }

  static TicketRecord NewTicket(const std::string& id) {
    TicketRecord t;
    t.ticket_id = id;
    t.buyer_id = "b0000000000000000000000000000001";
    t.seller_id = "5000000000000000000000000000000a";
    t.order_id = "order-1";
    t.category = pb::QUESTION;
    t.channel = v1::EMAIL;
    t.created_at = t.updated_at = clock_.Now();
    return t;
  }

  // ReadTicket, waited for.
  static std::optional<TicketRecord> Read(MySqlTicketStore& store, const std::string& id) {
    absl::Notification done;
    absl::StatusOr<std::optional<TicketRecord>> out;
    store.ReadTicket(id, [&](absl::StatusOr<std::optional<TicketRecord>> t) {
      out = std::move(t);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_OK(out.status());
    return out.ok() ? *out : std::nullopt;
  }

  static void Save(MySqlTicketStore& store, const TicketRecord& t) {
    ASSERT_OK(store.RunUnit([&](TicketTransaction& tx) { return tx.SaveTicket(t); }));
  }

  // Waits (at most 10 s) until `store` has polled `n` more times than `before`.
  static void WaitForPolls(MySqlTicketStore& store, int64_t n) {
    const int64_t target = store.ticket_cache_totals().polls + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (store.ticket_cache_totals().polls < target && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_GE(store.ticket_cache_totals().polls, target);
  }

  static common::ManualClock clock_;
  std::unique_ptr<common::db::ConnectionPool> other_pool_;
  std::unique_ptr<MySqlTicketStore> cached_, other_, uncached_;
};

common::ManualClock TicketCacheTest::clock_;

TEST_F(TicketCacheTest, AChangeThroughAnotherReplicaShowsAfterItsPollAndOwnChangesAtOnce) {
  TicketRecord t = NewTicket("tkt_000000000000000000000001");
  ASSERT_OK(other_->RunUnit([&](TicketTransaction& tx) { return tx.InsertTicket(t); }));
  WaitForPolls(*cached_, 1);

  // First read from the database, the second from the cache.
  ASSERT_EQ(Read(*cached_, t.ticket_id)->status, pb::OPEN);
  EXPECT_EQ(cached_->ticket_cache_totals().misses, 1);
  ASSERT_EQ(Read(*cached_, t.ticket_id)->status, pb::OPEN);
  EXPECT_EQ(cached_->ticket_cache_totals().hits, 1);

  // Another replica solves it: the next polls drop the row, the read after them sees it.
  t.status = pb::SOLVED;
  Save(*other_, t);
  WaitForPolls(*cached_, 2);
  EXPECT_EQ(Read(*cached_, t.ticket_id)->status, pb::SOLVED);
  EXPECT_GE(cached_->ticket_cache_totals().evictions, 1);

  // So does a replica without the cache (or a version without it): the database stamps the
  // change time, not the writer.
  ASSERT_EQ(Read(*cached_, t.ticket_id)->status, pb::SOLVED);  // cached again
  t.status = pb::CLOSED;
  Save(*uncached_, t);
  WaitForPolls(*cached_, 2);
  EXPECT_EQ(Read(*cached_, t.ticket_id)->status, pb::CLOSED);

  // This replica's own change: its next read sees it without waiting for a poll.
  ASSERT_EQ(Read(*cached_, t.ticket_id)->status, pb::CLOSED);  // cached again
  t.subject = "renamed";
  Save(*cached_, t);
  EXPECT_EQ(Read(*cached_, t.ticket_id)->subject, "renamed");
}

TEST_F(TicketCacheTest, UnknownTicketsAreNotCachedAndADisabledCacheReadsEveryTime) {
  WaitForPolls(*cached_, 1);
  EXPECT_FALSE(Read(*cached_, "tkt_00000000000000000000000f").has_value());
  TicketRecord t = NewTicket("tkt_00000000000000000000000f");
  ASSERT_OK(uncached_->RunUnit([&](TicketTransaction& tx) { return tx.InsertTicket(t); }));
  // The id was read as missing a moment ago; the insert is seen at once (nothing was kept).
  EXPECT_TRUE(Read(*cached_, t.ticket_id).has_value());

  EXPECT_TRUE(Read(*uncached_, t.ticket_id).has_value());
  EXPECT_TRUE(Read(*uncached_, t.ticket_id).has_value());
  EXPECT_EQ(uncached_->ticket_cache_totals().hits, 0);
  EXPECT_EQ(uncached_->ticket_cache_totals().polls, 0);
}

}  // namespace
}  // namespace marketplace::support
