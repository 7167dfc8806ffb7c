#include "common/events/event_consumer.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/events/revocations.h"
#include "common/outbox/outbox.h"
#include "common/proto_time.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "protos/marketplace/events/v1/events.pb.h"

namespace marketplace::common::events {
namespace {

using ::marketplace::events::v1::AccountSuspended;
using ::marketplace::events::v1::Event;
using ::marketplace::events::v1::SessionsRevoked;

auth::Caller Service(std::vector<std::string> scopes) {
  auth::Caller caller;
  caller.subject = "relay";
  caller.roles = {"SERVICE"};
  caller.scopes = std::move(scopes);
  return caller;
}

class EventConsumerTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(outbox::ApplyOutboxMigrations(pool()));
    ASSERT_OK(ApplyRevocationMigrations(pool()));
    consumer_.emplace(&pool());
    view_.emplace(&pool());
    AddRevocationConsumer(*consumer_, *view_);
  }

  Event Suspension(const std::string& event_id, const std::string& account, absl::Time nb) {
    AccountSuspended payload;
    payload.set_account_id(account);
    *payload.mutable_not_before() = ToTimestamp(nb);
    payload.set_reason_code("FRAUD");
    Event event;
    event.set_event_id(event_id);
    event.set_topic("identity.account_suspended");
    event.set_source("identity");
    event.set_key(account);
    event.mutable_payload()->PackFrom(payload);
    return event;
  }

  int64_t Rows() {
    auto rows = pool().Query("SELECT COUNT(*) AS n FROM token_revocations");
    return rows.ok() && !rows->empty() ? *(*rows)[0].GetInt64("n") : -1;
  }

  auth::Caller OldTokenOf(const std::string& account, absl::Time iat) {
    auth::Caller caller;
    caller.subject = account;
    caller.issued_at = iat;
    return caller;
  }

  std::optional<EventConsumer> consumer_;
  std::optional<RevocationView> view_;
};

TEST_F(EventConsumerTest, OnlyTheSourcesPublishScopeMayDeliver) {
  const absl::Time nb = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  const Event event = Suspension("ev-1", "acct-1", nb);
  auth::Caller buyer;
  buyer.subject = "buyer";
  buyer.roles = {"BUYER"};
  buyer.scopes = {"identity.events.publish"};  // a scope on a non-service token counts for nothing

  EXPECT_EQ(consumer_->Deliver(std::nullopt, event).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(consumer_->Deliver(buyer, event).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(consumer_->Deliver(Service({}), event).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(consumer_->Deliver(Service({"payments.events.publish"}), event).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Rows(), 0);
  EXPECT_OK(view_->list().CheckNotRevoked(OldTokenOf("acct-1", nb - absl::Seconds(5))));

  EXPECT_OK(consumer_->Deliver(Service({"identity.events.publish"}), event));
  EXPECT_EQ(Rows(), 1);
  // The consuming replica refuses at once.
  absl::Status refused = view_->list().CheckNotRevoked(OldTokenOf("acct-1", nb - absl::Seconds(5)));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(refused), "TOKEN_REVOKED");
  EXPECT_OK(view_->list().CheckNotRevoked(OldTokenOf("acct-1", nb)));
}

TEST_F(EventConsumerTest, RepeatedEventIdIsAppliedOnce) {
  std::atomic<int> prepared{0};
  std::atomic<int> applied{0};
  consumer_->On("identity.account_suspended",
               TopicHandler{.prepare = [&](const Event&) { ++prepared; return absl::OkStatus(); },
                            .apply = [&](db::Transaction&, const Event&) {
                              ++applied;
                              return absl::OkStatus();
                            }});
  const absl::Time nb = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  const auth::Caller relay = Service({"identity.events.publish"});
  EXPECT_OK(consumer_->Deliver(relay, Suspension("ev-2", "acct-2", nb)));
  EXPECT_OK(consumer_->Deliver(relay, Suspension("ev-2", "acct-2", nb + absl::Hours(1))));
  EXPECT_EQ(prepared.load(), 1);
  EXPECT_EQ(applied.load(), 1);
  // The second delivery (a later not_before under the same id) changed nothing.
  EXPECT_OK(view_->list().CheckNotRevoked(OldTokenOf("acct-2", nb + absl::Seconds(1))));
}

TEST_F(EventConsumerTest, ConcurrentDeliveriesOfOneEventApplyItOnce) {
  std::atomic<int> applied{0};
  consumer_->On("identity.sessions_revoked",
                TopicHandler{.apply = [&](db::Transaction&, const Event&) {
                  ++applied;
                  return absl::OkStatus();
                }});
  SessionsRevoked payload;
  payload.set_account_id("acct-9");
  *payload.mutable_not_before() = ToTimestamp(absl::Now());
  payload.set_reason("LOGOUT_ALL");
  Event event;
  event.set_event_id("ev-concurrent");
  event.set_topic("identity.sessions_revoked");
  event.set_source("identity");
  event.set_key("acct-9");
  event.mutable_payload()->PackFrom(payload);
  const auth::Caller relay = Service({"identity.events.publish"});

  // Two relays (or a retry racing the first attempt) deliver the same event at once.
  constexpr int kSenders = 4;
  std::vector<absl::Status> results(kSenders);
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] { results[i] = consumer_->Deliver(relay, event); });
  }
  for (std::thread& t : senders) t.join();
  for (const absl::Status& status : results) EXPECT_OK(status);
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(Rows(), 1);
}

TEST_F(EventConsumerTest, MalformedEventsAreInvalidArgumentAndChangeNothing) {
  const auth::Caller relay = Service({"identity.events.publish"});
  Event wrong_type = Suspension("ev-3", "acct-3", absl::Now());
  SessionsRevoked other;
  other.set_account_id("acct-3");
  wrong_type.mutable_payload()->PackFrom(other);
  EXPECT_EQ(consumer_->Deliver(relay, wrong_type).code(), absl::StatusCode::kInvalidArgument);
  Event no_id = Suspension("", "acct-3", absl::Now());
  EXPECT_EQ(consumer_->Deliver(relay, no_id).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rows(), 0);
  // A topic nobody here handles is accepted and ignored.
  Event unknown = Suspension("ev-4", "acct-3", absl::Now());
  unknown.set_topic("identity.something_else");
  EXPECT_OK(consumer_->Deliver(relay, unknown));
}

TEST_F(EventConsumerTest, OtherReplicasSeeTheRevocationAfterARefresh) {
  const absl::Time nb = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  ASSERT_OK(consumer_->Deliver(Service({"identity.events.publish"}),
                              Suspension("ev-5", "acct-5", nb)));
  RevocationView other(&pool());
  EXPECT_OK(other.list().CheckNotRevoked(OldTokenOf("acct-5", nb - absl::Seconds(1))));
  ASSERT_OK(other.Refresh());
  EXPECT_EQ(other.list().CheckNotRevoked(OldTokenOf("acct-5", nb - absl::Seconds(1))).code(),
            absl::StatusCode::kUnauthenticated);
  // Revocations only move forward, in the table too.
  ASSERT_OK(db::RunInTransaction(pool(), [&](db::Transaction& tx) {
    return RecordRevocation(tx, "acct-5", nb - absl::Hours(1));
  }));
  RevocationView third(&pool());
  ASSERT_OK(third.Refresh());
  EXPECT_EQ(third.list().CheckNotRevoked(OldTokenOf("acct-5", nb - absl::Seconds(1))).code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace marketplace::common::events
