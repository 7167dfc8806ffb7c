#include "common/outbox/outbox_relay.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
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
    if (block_next_ != nullptr) {
      absl::Notification* release = block_next_;
      block_next_ = nullptr;
      blocked_.Notify();
      release->WaitForNotification();
    }
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (down_) return absl::UnavailableError("consumer is down");
    delivered_.push_back(event);
    return absl::OkStatus();
  }

  void set_down(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // The next Publish waits for `release`; blocked() is notified when it starts waiting.
  void BlockNext(absl::Notification* release) { block_next_ = release; }
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
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Event> delivered_ ABSL_GUARDED_BY(mu_);
  absl::Notification* block_next_ = nullptr;
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
    auto rows = pool().Query("SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL");
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

TEST_F(OutboxRelayTest, ConsumerDownForAWhileGetsEverythingInOrderPerKey) {
  const std::vector<std::string> ids = EnqueueAll(outbox_, {"a", "b", "a", "a", "b", "c"});
  ASSERT_OK_AND_ASSIGN(auto relay, OutboxRelay::Create(pool(), publisher_, ManualOptions()));
  publisher_.set_down(true);

  // Only the first event of each key is tried: the others wait behind it.
  ASSERT_OK_AND_ASSIGN(RelayRound round, relay->RunOnce());
  EXPECT_EQ(round.claimed, 3);
  EXPECT_EQ(round.failed, 3);
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT attempts, next_attempt_at, last_error FROM "
                                               "outbox_events WHERE event_id = ?",
                                               {ids[0]}));
  EXPECT_EQ(*rows[0].GetInt64("attempts"), 1);
  EXPECT_EQ(*rows[0].GetTime("next_attempt_at"), clock_.Now() + absl::Seconds(1));
  EXPECT_EQ(*rows[0].GetString("last_error"), "UNAVAILABLE: consumer is down");

  // Not due again before the backoff has passed.
  ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
  EXPECT_EQ(round.claimed, 0);

  // Backoff doubles, capped at max_backoff (4 s): 1, 2, 4, 4, ...
  const absl::Duration expected[] = {absl::Seconds(2), absl::Seconds(4), absl::Seconds(4)};
  for (absl::Duration next_wait : expected) {
    clock_.Advance(absl::Seconds(4));
    ASSERT_OK_AND_ASSIGN(round, relay->RunOnce());
    EXPECT_EQ(round.failed, 3);
    ASSERT_OK_AND_ASSIGN(rows, pool().Query("SELECT next_attempt_at FROM outbox_events "
                                            "WHERE event_id = ?",
                                            {ids[0]}));
    EXPECT_EQ(*rows[0].GetTime("next_attempt_at") - clock_.Now(), next_wait);
  }
  EXPECT_EQ(publisher_.delivered().size(), 0u);
  EXPECT_EQ(Metric("outbox_delivery_failures_total"), 12);
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

TEST_F(OutboxRelayTest, RejectsUnusableOptions) {
  OutboxRelayOptions options;
  options.batch_size = 0;
  EXPECT_EQ(OutboxRelay::Create(pool(), publisher_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = OutboxRelayOptions();
  options.max_backoff = absl::Milliseconds(1);
  EXPECT_EQ(OutboxRelay::Create(pool(), publisher_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::common::outbox
