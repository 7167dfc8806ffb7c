#include "common/outbox/outbox.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/db/transaction.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common::outbox {
namespace {

using ::marketplace::common::db::RunInTransaction;
using ::marketplace::common::db::Transaction;
using ::marketplace::common::testing::DatabaseTest;

class OutboxTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(ApplyOutboxMigrations(pool()));
  }

  absl::StatusOr<bool> Mark(const std::string& event_id) {
    return RunInTransaction(pool(),
                            [&](Transaction& tx) { return MarkEventProcessed(tx, event_id); });
  }

  ManualClock clock_;
  Outbox outbox_{"payments", &clock_};
};

TEST_F(OutboxTest, MigrationsAreIdempotentAndRecorded) {
  ASSERT_OK(ApplyOutboxMigrations(pool()));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT name FROM schema_migrations WHERE "
                                               "component = 'outbox'"));
  EXPECT_EQ(rows.size(), 2u);  // 0001_outbox, 0002_outbox_deliveries
}

TEST_F(OutboxTest, EnqueueWritesTheEventInTheTransaction) {
  google::protobuf::StringValue payload;
  payload.set_value("held 12.50 EUR");
  ASSERT_OK_AND_ASSIGN(std::string id, RunInTransaction(pool(), [&](Transaction& tx) {
                         return outbox_.Enqueue(tx, "payments.payment_held", "seller-1", payload);
                       }));
  EXPECT_EQ(id.size(), 36u);
  ASSERT_OK_AND_ASSIGN(auto rows,
                       pool().Query("SELECT * FROM outbox_events WHERE event_id = ?", {id}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("topic"), "payments.payment_held");
  EXPECT_EQ(*rows[0].GetString("source"), "payments");
  EXPECT_EQ(*rows[0].GetString("event_key"), "seller-1");
  EXPECT_EQ(*rows[0].GetTime("occurred_at"), clock_.Now());
  EXPECT_TRUE(rows[0].IsNull("delivered_at"));
  google::protobuf::Any stored;
  stored.set_type_url(*rows[0].GetString("payload_type_url"));
  stored.set_value(*rows[0].GetString("payload"));
  google::protobuf::StringValue unpacked;
  ASSERT_TRUE(stored.UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.value(), "held 12.50 EUR");
}

TEST_F(OutboxTest, EventIdsAreUnique) {
  ASSERT_OK(RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
    for (int i = 0; i < 200; ++i) {
      RETURN_IF_ERROR(outbox_.Enqueue(tx, "t.x", "k", google::protobuf::StringValue()).status());
    }
    return absl::OkStatus();
  }));
  ASSERT_OK_AND_ASSIGN(auto rows,
                       pool().Query("SELECT COUNT(DISTINCT event_id) AS n FROM outbox_events"));
  EXPECT_EQ(*rows[0].GetInt64("n"), 200);
}

TEST_F(OutboxTest, AnAnyPayloadIsNotWrappedTwice) {
  google::protobuf::Any raw;
  raw.set_type_url("type.example/raw.Bytes");
  raw.set_value(std::string("\x00\x01\x02", 3));
  const google::protobuf::Message& as_message = raw;
  ASSERT_OK_AND_ASSIGN(std::string id, RunInTransaction(pool(), [&](Transaction& tx) {
                         return outbox_.Enqueue(tx, "t.raw", "k", as_message);
                       }));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT payload_type_url, payload FROM "
                                               "outbox_events WHERE event_id = ?",
                                               {id}));
  EXPECT_EQ(*rows[0].GetString("payload_type_url"), "type.example/raw.Bytes");
  EXPECT_EQ(*rows[0].GetString("payload"), std::string("\x00\x01\x02", 3));
}

TEST_F(OutboxTest, EnqueueAllWritesEveryEventInOrderOrNoneWhenOneIsBad) {
  std::vector<Outbox::Event> events;
  for (int i = 0; i < 5; ++i) {
    google::protobuf::StringValue v;
    v.set_value(absl::StrCat("event ", i));
    ASSERT_OK_AND_ASSIGN(google::protobuf::Any any, Outbox::Pack(v));
    events.push_back({"payments.payment_held", i % 2 == 0 ? "seller-1" : "seller-2", any});
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> ids, RunInTransaction(pool(), [&](Transaction& tx) {
                         return outbox_.EnqueueAll(tx, events);
                       }));
  ASSERT_EQ(ids.size(), 5u);
  // Stored in the order given (the delivery order of one key follows it).
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT event_id, event_key FROM outbox_events "
                                               "ORDER BY id"));
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(*rows[i].GetString("event_id"), ids[i]);
  EXPECT_EQ(*rows[1].GetString("event_key"), "seller-2");
  events[3].topic = "Bad Topic";
  absl::Status bad = RunInTransaction(pool(), [&](Transaction& tx) {
    return outbox_.EnqueueAll(tx, events).status();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto count, pool().Query("SELECT COUNT(*) AS n FROM outbox_events"));
  EXPECT_EQ(*count[0].GetInt64("n"), 5);
}

TEST_F(OutboxTest, BadTopicOrKeyIsInvalidArgument) {
  const google::protobuf::StringValue payload;
  absl::Status status = RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
    EXPECT_EQ(outbox_.Enqueue(tx, "Payments Held", "k", payload).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(outbox_.Enqueue(tx, "", "k", payload).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(outbox_.Enqueue(tx, "t.ok", "", payload).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(outbox_.Enqueue(tx, "t.ok", std::string(256, 'k'), payload).status().code(),
              absl::StatusCode::kInvalidArgument);
    return absl::OkStatus();
  });
  EXPECT_OK(status);
}

TEST_F(OutboxTest, MarkEventProcessedIsTrueOnlyTheFirstTime) {
  EXPECT_EQ(Mark("event-1").value_or(false), true);
  EXPECT_EQ(Mark("event-1").value_or(true), false);
  EXPECT_EQ(Mark("event-2").value_or(false), true);
}

TEST_F(OutboxTest, MarkInARolledBackTransactionDoesNotCount) {
  absl::Status status = RunInTransaction(pool(), [](Transaction& tx) -> absl::Status {
    absl::StatusOr<bool> first = MarkEventProcessed(tx, "event-9");
    EXPECT_TRUE(first.ok() && *first);
    return absl::InternalError("applying the event failed");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Mark("event-9").value_or(false), true);
}

TEST_F(OutboxTest, ConsumerAppliesAnEventOnceInItsTransaction) {
  ASSERT_OK(pool().Execute("CREATE TABLE balances (seller VARCHAR(16) PRIMARY KEY, n BIGINT)"));
  ASSERT_OK(pool().Execute("INSERT INTO balances VALUES ('s1', 0)"));
  auto apply = [&](const std::string& event_id) {
    return RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(bool first, MarkEventProcessed(tx, event_id));
      if (!first) return absl::OkStatus();  // a redelivery
      return tx.Execute("UPDATE balances SET n = n + 10 WHERE seller = 's1'").status();
    });
  };
  ASSERT_OK(apply("e-1"));
  ASSERT_OK(apply("e-1"));
  ASSERT_OK(apply("e-2"));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT n FROM balances"));
  EXPECT_EQ(*rows[0].GetInt64("n"), 20);
}

TEST_F(OutboxTest, MarkRejectsBadIds) {
  EXPECT_EQ(Mark("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Mark(std::string(65, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Mark("caf\xc3\xa9").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::common::outbox
