#include "common/outbox/outbox_relay.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/db/transaction.h"
#include "common/outbox/outbox.h"
#include "common/outbox/publisher.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "google/protobuf/util/time_util.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace marketplace::common::outbox {
namespace {

using ::marketplace::common::db::RunInTransaction;
using ::marketplace::common::db::Transaction;
using ::marketplace::common::testing::DatabaseTest;
using ::marketplace::events::v1::Event;

// A consumer that records what it accepted; it can be taken down and can stall.
class RecordingPublisher : public Publisher {
 public:
  absl::Status Publish(const Event& event) override {
    absl::Notification* release = nullptr;
    {
      absl::MutexLock lock(&mu_);
      std::swap(release, block_next_);
    }
    if (release != nullptr) {
      blocked_.Notify();
      release->WaitForNotification();
    }
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (down_) return absl::UnavailableError("consumer is down");
    if (refused_.count(event.event_id()) > 0) {
      return absl::InvalidArgumentError("payload: not a PaymentHeld");
    }
    delivered_.push_back(event);
    return absl::OkStatus();
  }

  // Refuses `event_id` with INVALID_ARGUMENT until Accept().
  void Refuse(const std::string& event_id) {
    absl::MutexLock lock(&mu_);
    refused_.insert(event_id);
  }
  void Accept(const std::string& event_id) {
    absl::MutexLock lock(&mu_);
    refused_.erase(event_id);
  }

  void set_down(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // The next Publish waits for `release`; blocked() is notified when it starts waiting.
  void BlockNext(absl::Notification* release) {
    absl::MutexLock lock(&mu_);
    block_next_ = release;
  }
  absl::Notification& blocked() { return blocked_; }

  std::vector<Event> delivered() {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> refused_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Event> delivered_ ABSL_GUARDED_BY(mu_);
  absl::Notification* block_next_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Notification blocked_;
};

// Each key's events in delivery order.
std::map<std::string, std::vector<std::string>> ByKey(const std::vector<Event>& events) {
  std::map<std::string, std::vector<std::string>> out;
  for (const Event& event : events) out[event.key()].push_back(event.event_id());
  return out;
}

class OutboxRelayTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(ApplyOutboxMigrations(pool()));
  }

  OutboxRelayOptions ManualOptions() {
    OutboxRelayOptions options;
    options.clock = &clock_;
    options.initial_backoff = absl::Seconds(1);
    options.max_backoff = absl::Seconds(4);
    options.registry = &registry();
    return options;
  }

  // Enqueues one event per key, in this order, in one committed transaction.
  std::vector<std::string> EnqueueAll(const Outbox& outbox, const std::vector<std::string>& keys) {
    std::vector<std::string> ids;
    absl::Status status = RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
      ids.clear();
      for (const std::string& key : keys) {
        google::protobuf::StringValue payload;
        payload.set_value(absl::StrCat("event ", ids.size(), " of ", key));
        ASSIGN_OR_RETURN(std::string id, outbox.Enqueue(tx, "payments.payment_held", key, payload));
        ids.push_back(id);
      }
      return absl::OkStatus();
    });
    EXPECT_OK(status);
    return ids;
  }

  int64_t Pending() {
    auto rows = pool().Query(
        "SELECT (SELECT COUNT(*) FROM outbox_deliveries) + "
        "(SELECT COUNT(*) FROM outbox_events WHERE fanned_out_at IS NULL) AS n");
    return rows.ok() ? rows->at(0).GetInt64("n").value_or(-1) : -1;
  }

  double Metric(const std::string& name) {
    double total = 0;
    for (const auto& family : registry().Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        total += family.type == prometheus::MetricType::Gauge ? metric.gauge.value
                                                              : metric.counter.value;
      }
    }
    return total;
  }

  ManualClock clock_;
  Outbox outbox_{"payments", &clock_};
  RecordingPublisher publisher_;
};

TEST_F(OutboxRelayTest, DeliversTheWholeEvent) {
  google::protobuf::StringValue payload;
  payload.set_value("12.50 EUR");
  ASSERT_OK_AND_ASSIGN(std::string id, RunInTransaction(pool(), [&](Transaction& tx) {
                         return outbox_.Enqueue(tx, "payments.payment_held", "seller-7", payload);
                       }));
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  ASSERT_OK_AND_ASSIGN(RelayRound round, relay->RunOnce());
  EXPECT_EQ(round.delivered, 1);

  ASSERT_EQ(publisher_.delivered().size(), 1u);
  const Event event = publisher_.delivered()[0];
  EXPECT_EQ(event.event_id(), id);
  EXPECT_EQ(event.topic(), "payments.payment_held");
  EXPECT_EQ(event.source(), "payments");
  EXPECT_EQ(event.key(), "seller-7");
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMicroseconds(event.occurred_at()),
            absl::ToUnixMicros(clock_.Now()));
  google::protobuf::StringValue unpacked;
  ASSERT_TRUE(event.payload().UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.value(), "12.50 EUR");

  // Delivered once: the next round has nothing to do.
  ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
  EXPECT_EQ(round.claimed, 0);
  EXPECT_EQ(Pending(), 0);
  EXPECT_EQ(Metric("outbox_delivered_total"), 1);
  EXPECT_EQ(Metric("outbox_pending"), 0);
}

TEST_F(OutboxRelayTest, RolledBackEventsAreNeverDelivered) {
  absl::Status rolled_back = RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(
        outbox_.Enqueue(tx, "payments.payment_held", "s1", google::protobuf::StringValue())
            .status());
    return absl::FailedPreconditionError("the payment itself failed");
  });
  ASSERT_EQ(rolled_back.code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<std::string> committed = EnqueueAll(outbox_, {"s2"});

  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(relay->RunOnce());
    clock_.Advance(absl::Minutes(1));
  }
  ASSERT_EQ(publisher_.delivered().size(), 1u);
  EXPECT_EQ(publisher_.delivered()[0].event_id(), committed[0]);
}

// A service transaction that stays open after enqueueing an event (a frozen replica's) holds
// back the fan-out of that event and the later ones, not the deliveries already fanned out,
// and delays a round by about a second, not by the retries of a whole lock wait timeout.
TEST_F(OutboxRelayTest, AnOpenWritingTransactionDoesNotHoldBackFannedOutDeliveries) {
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(absl::StrCat("k", i));
  EnqueueAll(outbox_, keys);
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  publisher_.set_down(true);
  ASSERT_OK(relay->RunOnce());  // fanned out, not delivered
  publisher_.set_down(false);
  clock_.Advance(absl::Minutes(1));

  absl::Notification enqueued, release;
  std::thread writer([&] {
    absl::Status status = RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
      RETURN_IF_ERROR(
          outbox_.Enqueue(tx, "payments.payment_held", "late", google::protobuf::StringValue())
              .status());
      if (!enqueued.HasBeenNotified()) enqueued.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    });
    EXPECT_OK(status);
  });
  enqueued.WaitForNotification();
  const absl::Time start = absl::Now();
  absl::StatusOr<RelayRound> round = relay->RunOnce();
  const absl::Duration took = absl::Now() - start;
  release.Notify();
  writer.join();
  ASSERT_OK(round);
  EXPECT_EQ(round->delivered, 20);
  EXPECT_LT(took, absl::Seconds(5));

  ASSERT_OK_AND_ASSIGN(RelayRound after, relay->RunOnce());  // the late event, once committed
  EXPECT_EQ(after.delivered, 1);
  EXPECT_EQ(publisher_.delivered().size(), 21u);
}

TEST_F(OutboxRelayTest, ConsumerDownForAWhileGetsEverythingInOrderPerKey) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"a", "b", "a", "a", "b", "c"});
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  publisher_.set_down(true);

  // Only the first event of each key is claimed: the others wait behind it. The first
  // UNAVAILABLE takes the consumer as down: the other claimed ones wait as long, untried.
  ASSERT_OK_AND_ASSIGN(RelayRound round, relay->RunOnce());
  EXPECT_EQ(round.claimed, 3);
  EXPECT_EQ(round.failed, 1);
  EXPECT_EQ(publisher_.calls(), 1);
  const std::string kDelivery =
      "SELECT d.attempts, d.next_attempt_at, d.last_error, d.lease_owner FROM outbox_deliveries d "
      "JOIN outbox_events e ON e.id = d.event_row WHERE e.event_id = ?";
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query(kDelivery, {ids[0]}));
  EXPECT_EQ(*rows[0].GetInt64("attempts"), 1);
  EXPECT_EQ(*rows[0].GetTime("next_attempt_at"), clock_.Now() + absl::Seconds(1));
  EXPECT_EQ(*rows[0].GetString("last_error"), "UNAVAILABLE: consumer is down");
  EXPECT_TRUE(rows[0].IsNull("lease_owner"));
  ASSERT_OK_AND_ASSIGN(rows, pool().Query(kDelivery, {ids[1]}));
  EXPECT_EQ(*rows[0].GetInt64("attempts"), 0);
  EXPECT_EQ(*rows[0].GetTime("next_attempt_at"), clock_.Now() + absl::Seconds(1));

  // Not due again before the backoff has passed.
  ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
  EXPECT_EQ(round.claimed, 0);

  // Backoff doubles, capped at max_backoff (4 s): 1, 2, 4, 4, ...
  const absl::Duration expected[] = {absl::Seconds(2), absl::Seconds(4), absl::Seconds(4)};
  for (absl::Duration next_wait : expected) {
    clock_.Advance(absl::Seconds(4));
    ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
    EXPECT_EQ(round.failed, 1);
    ASSERT_OK_AND_ASSIGN(rows, pool().Query(kDelivery, {ids[0]}));
    EXPECT_EQ(*rows[0].GetTime("next_attempt_at") - clock_.Now(), next_wait);
  }
  EXPECT_EQ(publisher_.delivered().size(), 0u);
  EXPECT_EQ(Metric("outbox_delivery_failures_total"), 4);
  EXPECT_EQ(Metric("outbox_pending"), 6);

  // The consumer is back.
  publisher_.set_down(false);
  for (int i = 0; i < 10 && Pending() > 0; ++i) {
    clock_.Advance(absl::Seconds(4));
    ASSERT_OK(relay->RunOnce());
  }
  EXPECT_EQ(Pending(), 0);
  const std::vector<Event> delivered = publisher_.delivered();
  ASSERT_EQ(delivered.size(), 6u);
  std::set<std::string> unique;
  for (const Event& event : delivered) unique.insert(event.event_id());
  EXPECT_EQ(unique.size(), 6u);
  const auto by_key = ByKey(delivered);
  EXPECT_EQ(by_key.at("a"), (std::vector<std::string>{ids[0], ids[2], ids[3]}));
  EXPECT_EQ(by_key.at("b"), (std::vector<std::string>{ids[1], ids[4]}));
  EXPECT_EQ(by_key.at("c"), (std::vector<std::string>{ids[5]}));
  EXPECT_EQ(Metric("outbox_delivered_total"), 6);
  EXPECT_EQ(Metric("outbox_pending"), 0);
}

// While one relay is still publishing the first event of a key, another relay must not
// deliver that key's next event, nor take the events the first one holds.
TEST_F(OutboxRelayTest, ASecondRelayNeverOvertakesWithinAKey) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"k", "k", "other"});
  ASSERT_OK_AND_ASSIGN(auto second_pool, NewPool(2));
  RecordingPublisher other_publisher;
  ASSERT_OK_AND_ASSIGN(auto first, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  ASSERT_OK_AND_ASSIGN(auto second,
                       OutboxRelay::Create(*second_pool, other_publisher, ManualOptions()));

  absl::Notification release;
  publisher_.BlockNext(&release);
  absl::StatusOr<RelayRound> first_round;
  std::thread first_thread([&] { first_round = first->RunOnce(); });
  publisher_.blocked().WaitForNotification();  // holds ids[0] and ids[2]

  ASSERT_OK_AND_ASSIGN(RelayRound round, second->RunOnce());
  EXPECT_EQ(round.claimed, 0);
  release.Notify();
  first_thread.join();
  ASSERT_OK(first_round);
  EXPECT_EQ(first_round->delivered, 2);

  ASSERT_OK_AND_ASSIGN(round, second->RunOnce());
  EXPECT_EQ(round.delivered, 1);
  ASSERT_EQ(other_publisher.delivered().size(), 1u);
  EXPECT_EQ(other_publisher.delivered()[0].event_id(), ids[1]);
}

// Two replicas' relays run side by side while events keep arriving: every event is delivered
// exactly once and each key's events arrive in the order they were written.
TEST_F(OutboxRelayTest, TwoRelaysDeliverEveryEventOnceInOrderPerKey) {
  Outbox outbox("payments");  // system clock, like the relays below
  OutboxRelayOptions options;
  options.poll_interval = absl::Milliseconds(5);
  options.batch_size = 20;
  ASSERT_OK_AND_ASSIGN(auto second_pool, NewPool(2));
  ASSERT_OK_AND_ASSIGN(auto first, OutboxRelay::Create(pool(), publisher_, options));
  ASSERT_OK_AND_ASSIGN(auto second, OutboxRelay::Create(*second_pool, publisher_, options));
  first->Start();
  second->Start();

  std::map<std::string, std::vector<std::string>> written;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<std::string> keys;
    for (int i = 0; i < 10; ++i) keys.push_back(absl::StrCat("key-", (batch * 7 + i * 3) % 8));
    const std::vector<std::string> ids = EnqueueAll(outbox, keys);
    for (size_t i = 0; i < ids.size(); ++i) written[keys[i]].push_back(ids[i]);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (Pending() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  first->Stop();
  second->Stop();

  EXPECT_EQ(Pending(), 0);
  const std::vector<Event> delivered = publisher_.delivered();
  EXPECT_EQ(delivered.size(), 300u);
  std::set<std::string> unique;
  for (const Event& event : delivered) unique.insert(event.event_id());
  EXPECT_EQ(unique.size(), delivered.size()) << "an event was delivered twice";
  EXPECT_EQ(ByKey(delivered), written);
}

// Publishing happens outside any transaction: while a Publish call blocks, the event's row is
// not locked (another transaction updates it at once) and the relay holds no pooled connection.
TEST_F(OutboxRelayTest, NoRowLockNorConnectionIsHeldWhilePublishing) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"k"});
  ASSERT_OK_AND_ASSIGN(auto relay_pool, NewPool(1));
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(*relay_pool, publisher_, ManualOptions()));
  absl::Notification release;
  publisher_.BlockNext(&release);
  absl::StatusOr<RelayRound> round;
  std::thread relay_thread([&] { round = relay->RunOnce(); });
  publisher_.blocked().WaitForNotification();

  db::TransactionOptions no_retry;
  no_retry.max_attempts = 1;
  const absl::Status updated = RunInTransaction(
      pool(),
      [&](Transaction& tx) -> absl::Status {
        RETURN_IF_ERROR(tx.Execute("SET SESSION innodb_lock_wait_timeout = 1").status());
        RETURN_IF_ERROR(
            tx.Execute("UPDATE outbox_events SET source = source WHERE event_id = ?", {ids[0]})
                .status());
        return tx
            .Execute("UPDATE outbox_deliveries SET last_error = last_error WHERE event_row = "
                     "(SELECT id FROM outbox_events WHERE event_id = ?)",
                     {ids[0]})
            .status();
      },
      no_retry);
  // The relay's only connection is free for other work meanwhile.
  const absl::Status pool_free = relay_pool->Query("SELECT 1 AS one").status();
  release.Notify();
  relay_thread.join();
  EXPECT_OK(updated);
  EXPECT_OK(pool_free);
  ASSERT_OK(round);
  EXPECT_EQ(round->delivered, 1);
  ASSERT_EQ(publisher_.delivered().size(), 1u);
}

TEST_F(OutboxRelayTest, DeliveredEventsArePurgedAfterRetention) {
  EnqueueAll(outbox_, {"a", "b"});
  OutboxRelayOptions options = ManualOptions();
  options.delivered_retention = absl::Hours(24);
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, options));
  ASSERT_OK(relay->RunOnce());
  EnqueueAll(outbox_, {"c"});
  clock_.Advance(absl::Hours(25));
  ASSERT_OK(relay->RunOnce());  // delivers c, purges a and b
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT event_key FROM outbox_events"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("event_key"), "c");
}

// A relay that dies while publishing leaves its claimed deliveries leased: another relay
// takes them once the lease has expired, not before.
TEST_F(OutboxRelayTest, AnExpiredLeaseIsClaimedAgain) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"k"});
  ASSERT_OK_AND_ASSIGN(auto second_pool, NewPool(2));
  RecordingPublisher other_publisher;
  OutboxRelayOptions options = ManualOptions();
  options.lease_duration = absl::Minutes(2);
  ASSERT_OK_AND_ASSIGN(auto dying, OutboxRelay::Create(pool(), publisher_, options));
  ASSERT_OK_AND_ASSIGN(auto second, OutboxRelay::Create(*second_pool, other_publisher, options));
  absl::Notification release;
  publisher_.BlockNext(&release);
  std::thread dying_thread([&] { (void)dying->RunOnce(); });
  publisher_.blocked().WaitForNotification();

  ASSERT_OK_AND_ASSIGN(RelayRound round, second->RunOnce());
  EXPECT_EQ(round.claimed, 0);
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK_AND_ASSIGN(round, second->RunOnce());
  EXPECT_EQ(round.delivered, 1);
  ASSERT_EQ(other_publisher.delivered().size(), 1u);
  EXPECT_EQ(other_publisher.delivered()[0].event_id(), ids[0]);
  release.Notify();
  dying_thread.join();
  EXPECT_EQ(Pending(), 0);
}

// Every subscriber whose prefix matches gets the event; the others do not.
TEST_F(OutboxRelayTest, FansOutByTopicPrefix) {
  std::vector<std::string> ids;
  ASSERT_OK(RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
    ids.clear();
    for (const char* topic : {"payments.payment_held", "payments.refunded", "catalog.listed"}) {
      ASSIGN_OR_RETURN(std::string id,
                       outbox_.Enqueue(tx, topic, "k", google::protobuf::StringValue()));
      ids.push_back(id);
    }
    return absl::OkStatus();
  }));
  RecordingPublisher kpi, support;
  ASSERT_OK_AND_ASSIGN(auto relay,
                       OutboxRelay::Create(pool(),
                                           {{"sellerkpi", {"payments."}, &kpi},
                                            {"support", {"payments.payment_held"}, &support},
                                            {"all", {"*"}, &publisher_}},
                                           ManualOptions()));
  for (int i = 0; i < 5; ++i) ASSERT_OK(relay->RunOnce());
  auto ids_of = [](RecordingPublisher& p) {
    std::vector<std::string> out;
    for (const Event& event : p.delivered()) out.push_back(event.event_id());
    return out;
  };
  EXPECT_EQ(ids_of(kpi), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(ids_of(support), (std::vector<std::string>{ids[0]}));
  EXPECT_EQ(ids_of(publisher_), ids);
  EXPECT_EQ(Pending(), 0);
}

// A subscriber whose Publish never returns delays nobody else: the other subscriber gets
// every event, in order per key, while the first one is still stuck on the first event.
TEST_F(OutboxRelayTest, ADeadSubscriberDoesNotDelayAnother) {
  Outbox outbox("payments");  // system clock, like the relay below
  const std::vector<std::string> ids = EnqueueAll(outbox, {"k", "k", "j"});
  RecordingPublisher stuck, live;
  absl::Notification release;
  stuck.BlockNext(&release);
  OutboxRelayOptions options;
  options.poll_interval = absl::Milliseconds(5);
  options.registry = &registry();
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(),
                                                       {{"stuck", {"payments."}, &stuck},
                                                        {"live", {"payments."}, &live}},
                                                       options));
  relay->Start();
  stuck.blocked().WaitForNotification();
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (live.delivered().size() < 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const std::vector<Event> delivered = live.delivered();
  EXPECT_EQ(stuck.calls(), 0) << "the stuck subscriber's first Publish has not returned";
  release.Notify();
  relay->Stop();
  ASSERT_EQ(delivered.size(), 3u);
  EXPECT_EQ(ByKey(delivered).at("k"), (std::vector<std::string>{ids[0], ids[1]}));
}

// An event its subscriber refuses max_refusals times goes to outbox_dead_letters (gauge
// outbox_dead_letters) and the next event of its key proceeds; ops can replay it.
TEST_F(OutboxRelayTest, APoisonEventIsDeadLetteredAndTheKeyProceeds) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"k", "k"});
  publisher_.Refuse(ids[0]);
  OutboxRelayOptions options = ManualOptions();
  options.max_refusals = 3;
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, options));
  for (int refusal = 1; refusal <= 2; ++refusal) {
    ASSERT_OK_AND_ASSIGN(RelayRound round, relay->RunOnce());
    EXPECT_EQ(round.failed, 1);
    EXPECT_EQ(round.dead_lettered, 0);
    clock_.Advance(absl::Seconds(4));
  }
  EXPECT_TRUE(publisher_.delivered().empty()) << "ids[1] waits behind ids[0] until then";
  ASSERT_OK_AND_ASSIGN(RelayRound round, relay->RunOnce());
  EXPECT_EQ(round.dead_lettered, 1);
  ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
  EXPECT_EQ(round.delivered, 1);
  ASSERT_EQ(publisher_.delivered().size(), 1u);
  EXPECT_EQ(publisher_.delivered()[0].event_id(), ids[1]);

  ASSERT_OK_AND_ASSIGN(auto rows,
                       pool().Query("SELECT subscriber, event_id, topic, event_key, attempts, "
                                    "last_error FROM outbox_dead_letters"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("subscriber"), "default");
  EXPECT_EQ(*rows[0].GetString("event_id"), ids[0]);
  EXPECT_EQ(*rows[0].GetString("event_key"), "k");
  EXPECT_EQ(*rows[0].GetInt64("attempts"), 3);
  EXPECT_EQ(*rows[0].GetString("last_error"), "INVALID_ARGUMENT: payload: not a PaymentHeld");
  EXPECT_EQ(Metric("outbox_dead_letters"), 1);
  EXPECT_EQ(Metric("outbox_dead_lettered_total"), 1);
  EXPECT_EQ(Pending(), 0);

  // Retention never purges a dead letter's event.
  clock_.Advance(absl::Hours(24 * 8));
  ASSERT_OK(relay->RunOnce());
  // Replayed once the subscriber accepts it.
  publisher_.Accept(ids[0]);
  EXPECT_EQ(relay->ReplayDeadLetter("default", "nope").code(), absl::StatusCode::kNotFound);
  ASSERT_OK(relay->ReplayDeadLetter("default", ids[0]));
  ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
  EXPECT_EQ(round.delivered, 1);
  ASSERT_EQ(publisher_.delivered().size(), 2u);
  EXPECT_EQ(publisher_.delivered()[1].event_id(), ids[0]);
  EXPECT_EQ(*relay->DeadLetterCount(), 0);
  EXPECT_EQ(Metric("outbox_dead_letters"), 0);
}

TEST_F(OutboxRelayTest, RejectsUnusableOptions) {
  OutboxRelayOptions options;
  options.batch_size = 0;
  EXPECT_EQ(OutboxRelay::Create(pool(), publisher_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = OutboxRelayOptions();
  options.max_backoff = absl::Milliseconds(1);
  EXPECT_EQ(OutboxRelay::Create(pool(), publisher_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = OutboxRelayOptions();
  options.max_refusals = 0;
  EXPECT_EQ(OutboxRelay::Create(pool(), publisher_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OutboxRelay::Create(pool(), {{"a", {"payments."}, &publisher_},
                                         {"a", {"catalog."}, &publisher_}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OutboxRelay::Create(pool(), {{"a", {"Payments"}, &publisher_}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::common::outbox
