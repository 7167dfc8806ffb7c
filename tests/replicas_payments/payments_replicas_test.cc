// The multi-replica proof of payments' background workers (issue 21): two payments_server
// processes on one MariaDB, every worker on with short intervals (release every 1 s in
// batches of 20, completion every 1 s, the outbox relay delivering "payments." to one
// consumer), over mutual TLS, with an in-test identity stand-in.
//
// The work is a backlog, due all at once, so both replicas race for the same rows from their
// first pass: a "loader" payments_server (release worker asleep, no relay, hold period 1 s)
// takes 1,000 payments through the API and stops; 8,000 more outbox events are written into
// the same database with common/outbox's Outbox (as payments writes its own, source
// "payments", 500 keys of 16 events numbered in enqueue order). Then the two replicas start
// together and, afterwards:
//   - automatic release: every payment RELEASED, one `release` ledger transaction and one
//     AUTO_RELEASED history entry each, VerifyLedger consistent, no release failure, and
//     `payments_auto_released_total` > 0 on BOTH processes, summing to 1,000;
//   - outbox relay: the consumer got the 10,000 events (1,000 payments.payment_held, 1,000
//     payments.payment_released, 8,000 probes) each exactly once -- deliveries counted
//     against distinct event ids: the relay promises at least once, with a second delivery
//     only after a relay died or failed to mark a delivery (common/outbox/README.md), and
//     nothing fails here, so a duplicate is a failure; each key's events in enqueue order
//     (a payment's held before its released, each probe key 0..15); no delivery failure or
//     dead letter; `outbox_delivered_total{subscriber="sink"}` > 0 on BOTH, summing to
//     10,000.
// "Both did part" comes from each process's own /metrics, never from timing. The counts are
// the (1,000 payments, 10,000 events); the throughput figures are in
// bench/replicas_payments_bench.sh.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/mariadb_server.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/replicas_payments/replicas_stack.h"
#include "tests/support/subprocess.h"

namespace marketplace::payments::replicas {
namespace {

constexpr int kPayments = 1000;
constexpr int kSellers = 100;
constexpr int kProbeEvents = 8000;
constexpr int kProbeKeys = 500;
constexpr int kEvents = 2 * kPayments + kProbeEvents;  // held + released + probes = 10,000

class PaymentsReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(common::testing::MariaDbServer * server,
                         common::testing::MariaDbServer::Shared());
    (void)server;
    ASSERT_OK_AND_ASSIGN(database_, common::testing::CreateTestDatabase("replicas_payments"));
    StackOptions options;
    options.tls = true;
    options.server_binary =
        marketplace::testing::RunfilePath("services/payments/payments_server");
    options.db = database_.options;
    stack_ = std::make_unique<ReplicaStack>(options);
    ASSERT_OK(stack_->Init());
  }
  void TearDown() override {
    stack_.reset();
    (void)common::testing::DropTestDatabase(database_.name);
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = stack_->Count(sql);
    EXPECT_TRUE(n.ok()) << sql << ": " << n.status();
    return n.ok() ? *n : -1;
  }

  common::testing::TestDatabase database_;
  std::unique_ptr<ReplicaStack> stack_;
};

TEST_F(PaymentsReplicasTest, TwoReplicasReleaseAndRelayEachItemOnceAndBothWork) {
  // The backlog: payments due a second after they are taken, events waiting in the outbox.
  ASSERT_OK_AND_ASSIGN(int loader, stack_->StartLoader());
  ASSERT_OK(stack_->WaitServing(loader));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> payment_ids,
                       stack_->CreatePayments(loader, kPayments, kSellers, /*threads=*/8, "r"));
  stack_->Stop(loader);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> probe_ids,
                       stack_->EnqueueProbeEvents(kProbeEvents, kProbeKeys, "probe"));
  ASSERT_EQ(probe_ids.size(), static_cast<size_t>(kProbeEvents));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments WHERE state = 'HELD'"), kPayments);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE fanned_out_at IS NULL"),
            kPayments + kProbeEvents);
  absl::SleepFor(absl::Seconds(1));  // the last payment's hold ends

  // Two replicas, started together, every worker on.
  ASSERT_OK_AND_ASSIGN(int a, stack_->StartReplica(/*relay=*/true));
  ASSERT_OK_AND_ASSIGN(int b, stack_->StartReplica(/*relay=*/true));
  ASSERT_OK(stack_->WaitServing(a));
  ASSERT_OK(stack_->WaitServing(b));

  const absl::Time end = absl::Now() + absl::Seconds(150);
  while (absl::Now() < end &&
         (Count("SELECT COUNT(*) AS n FROM payments WHERE state = 'HELD'") > 0 ||
          stack_->sink().distinct() < kEvents ||
          Count("SELECT COUNT(*) AS n FROM outbox_deliveries") > 0 ||
          Count("SELECT COUNT(*) AS n FROM outbox_events WHERE fanned_out_at IS NULL") > 0)) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  // Anything late (a second delivery) would show within a relay round or two.
  absl::SleepFor(absl::Seconds(2));

  // Automatic release: each payment once.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments WHERE state = 'RELEASED'"), kPayments);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'release'"),
            kPayments);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT payment_id) AS n FROM ledger_transactions "
                  "WHERE kind = 'release'"),
            kPayments);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM (SELECT payment_id FROM ledger_transactions "
                  "WHERE kind = 'release' GROUP BY payment_id HAVING COUNT(*) > 1) t"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_events WHERE type = 'AUTO_RELEASED'"),
            kPayments);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT payment_id) AS n FROM payment_events "
                  "WHERE type = 'AUTO_RELEASED'"),
            kPayments);
  ASSERT_OK_AND_ASSIGN(auto verified, stack_->VerifyLedger(a));
  EXPECT_TRUE(verified.consistent()) << verified.DebugString();
  // Captures and releases.
  EXPECT_EQ(verified.transactions_checked(), 2 * kPayments);

  // The outbox: each event delivered once, each key in order.
  const std::vector<Delivery> deliveries = stack_->sink().deliveries();
  std::map<std::string, int> times;
  std::map<std::string, std::string> topic_of;
  for (const Delivery& d : deliveries) {
    ++times[d.event_id];
    topic_of[d.event_id] = d.topic;
  }
  int duplicates = 0;
  for (const auto& [id, n] : times) duplicates += n - 1;
  EXPECT_EQ(stack_->sink().refused(), 0) << "the relays' tokens were refused";
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kEvents))
      << duplicates << " duplicate deliveries";
  EXPECT_EQ(times.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(duplicates, 0);
  for (const std::string& id : probe_ids) {
    EXPECT_EQ(times[id], 1) << "probe event " << id;
    if (times[id] != 1) break;
  }
  std::map<std::string, int> held, released;      // payment id -> deliveries
  std::map<std::string, size_t> held_at;          // payment id -> position of its held event
  std::map<std::string, int64_t> next_sequence;   // probe key -> next expected number
  int out_of_order = 0;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const Delivery& d = deliveries[i];
    if (d.topic == "payments.payment_held") {
      ++held[d.subject];
      held_at[d.subject] = i;
    } else if (d.topic == "payments.payment_released") {
      ++released[d.subject];
      if (held_at.find(d.subject) == held_at.end()) ++out_of_order;
    } else if (d.topic == kProbeTopic) {
      if (d.sequence != next_sequence[d.key]) ++out_of_order;
      next_sequence[d.key] = d.sequence + 1;
    } else {
      ADD_FAILURE() << "unexpected topic " << d.topic;
    }
  }
  EXPECT_EQ(out_of_order, 0) << "events of one key delivered out of enqueue order";
  EXPECT_EQ(next_sequence.size(), static_cast<size_t>(kProbeKeys));
  for (const auto& [key, next] : next_sequence) {
    EXPECT_EQ(next, kProbeEvents / kProbeKeys) << key;
  }
  for (const std::string& id : payment_ids) {
    EXPECT_EQ(held[id], 1) << "payment_held of " << id;
    EXPECT_EQ(released[id], 1) << "payment_released of " << id;
    if (held[id] != 1 || released[id] != 1) break;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_dead_letters"), 0);

  // Both processes did part of each worker's work: their own counters.
  const ReplicaCounters ca = stack_->Counters(a);
  const ReplicaCounters cb = stack_->Counters(b);
  std::printf(
      "replica A: released %.0f, delivered %.0f; replica B: released %.0f, delivered %.0f; "
      "%zu deliveries of %zu distinct events\n",
      ca.auto_released, ca.relay_delivered, cb.auto_released, cb.relay_delivered,
      deliveries.size(), times.size());
  EXPECT_GT(ca.auto_released, 0) << stack_->ScrapeMetrics(a);
  EXPECT_GT(cb.auto_released, 0) << stack_->ScrapeMetrics(b);
  EXPECT_EQ(ca.auto_released + cb.auto_released, kPayments);
  EXPECT_EQ(ca.release_failures, 0);
  EXPECT_EQ(cb.release_failures, 0);
  EXPECT_GT(ca.relay_delivered, 0);
  EXPECT_GT(cb.relay_delivered, 0);
  EXPECT_EQ(ca.relay_delivered + cb.relay_delivered, kEvents);
  EXPECT_EQ(ca.relay_failures + cb.relay_failures, 0);
  EXPECT_EQ(ca.dead_lettered + cb.dead_lettered, 0);
}

}  // namespace
}  // namespace marketplace::payments::replicas
