#include "services/payments/mysql_payment_store.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/db/migrations.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/payments/events.h"
#include "services/payments/payments_migrations.h"
#include "services/payments/processor_operations.h"

namespace marketplace::payments {
namespace {

RequestKey Key(const std::string& request_id) {
  return {"svc-checkout", "/marketplace.payments.v1.Payments/CreatePayment", request_id,
          common::Sha256("body of " + request_id)};  // as RequestHash: 32 raw bytes
}

PaymentRecord NewPayment(const std::string& id, const std::string& order_id, absl::Time now) {
  PaymentRecord p;
  p.money.id = id;
  p.money.seller_id = "5e11e700000000000000000000000001";
  p.money.amount = common::Money::Of("EUR", 1000).value();
  p.money.commission_bps = 1000;
  p.order_id = order_id;
  p.buyer_id = "b0b0b000000000000000000000000001";
  p.processor_reference = "cap_" + id;
  p.created_at = now;
  p.release_due_at = now + absl::Hours(24);
  return p;
}

// The unit of work of MySqlPaymentStore on a real MariaDB: a change, its request's answer and
// its outbox event commit together or not at all.
class MySqlPaymentStoreTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    store_ = std::make_unique<MySqlPaymentStore>(&pool(), &clock_);
  }

  int64_t Count(const std::string& table) {
    auto rows = pool().Query("SELECT COUNT(*) AS n FROM " + table);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return -1;
    return (*rows)[0].GetInt64("n").value();
  }

  // What the checkout writes for one payment: the payment, its history, its event.
  absl::Status WritePayment(PaymentTransaction& tx, const PaymentRecord& p) {
    if (absl::Status s = tx.InsertPayment(p); !s.ok()) return s;
    if (absl::Status s =
            tx.AppendEvent(p.money.id, "EUR",
                           {"CREATED", p.money.state, "svc-checkout", 1000, "", "", p.created_at});
        !s.ok()) {
      return s;
    }
    absl::StatusOr<OutboxEvent> event = PaymentHeldEvent(p);
    if (!event.ok()) return event.status();
    return tx.Enqueue(*event);
  }

  common::ManualClock clock_;
  std::unique_ptr<MySqlPaymentStore> store_;
};

TEST_F(MySqlPaymentStoreTest, AnIdempotentEffectCommitsWithItsAnswerAndEvent) {
  const PaymentRecord p = NewPayment("pay_1", "order-1", clock_.Now());
  ASSERT_OK_AND_ASSIGN(
      std::string answer,
      store_->RunIdempotent(Key("r1"), [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        if (absl::Status s = WritePayment(tx, p); !s.ok()) return s;
        return std::string("answer-1");
      }));
  EXPECT_EQ(answer, "answer-1");
  EXPECT_EQ(Count("payments"), 1);
  EXPECT_EQ(Count("idempotency_keys"), 1);
  EXPECT_EQ(Count("outbox_events"), 1);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredAnswer> stored, store_->FindAnswer(Key("r1")));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->response, "answer-1");
}

TEST_F(MySqlPaymentStoreTest, AFailureAfterTheWritesLeavesNoPaymentNoAnswerNoEvent) {
  const PaymentRecord p = NewPayment("pay_1", "order-1", clock_.Now());
  // A transient failure after every write of the effect: nothing of it may remain, and the
  // answer is not recorded, so a retry does the work.
  auto failed =
      store_->RunIdempotent(Key("r1"), [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        if (absl::Status s = WritePayment(tx, p); !s.ok()) return s;
        return absl::UnavailableError("injected after the writes");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("payments"), 0);
  EXPECT_EQ(Count("payment_events"), 0);
  EXPECT_EQ(Count("idempotency_keys"), 0);
  EXPECT_EQ(Count("outbox_events"), 0);

  // A definitive refusal after the writes: the refusal is the request's answer, the writes
  // are gone.
  auto refused =
      store_->RunIdempotent(Key("r2"), [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        if (absl::Status s = WritePayment(tx, p); !s.ok()) return s;
        return common::FailedPrecondition("INJECTED", "refused after the writes");
      });
  EXPECT_EQ(common::ReasonOf(refused.status()), "INJECTED");
  EXPECT_EQ(Count("payments"), 0);
  EXPECT_EQ(Count("outbox_events"), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredAnswer> stored, store_->FindAnswer(Key("r2")));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(common::ReasonOf(stored->status), "INJECTED");
}

TEST_F(MySqlPaymentStoreTest, AFailingOutboxEnqueueRollsBackThePaymentAndTheAnswer) {
  const PaymentRecord p = NewPayment("pay_1", "order-1", clock_.Now());
  auto failed =
      store_->RunIdempotent(Key("r1"), [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        if (absl::Status s = tx.InsertPayment(p); !s.ok()) return s;
        OutboxEvent bad{"not a topic!", p.money.seller_id, {}};
        if (absl::Status s = tx.Enqueue(bad); !s.ok()) return s;
        return std::string("answer");
      });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(Count("payments"), 0);
  EXPECT_EQ(Count("outbox_events"), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredAnswer> stored, store_->FindAnswer(Key("r1")));
  if (stored) EXPECT_FALSE(stored->status.ok()) << "never a success without its payment";
}

TEST_F(MySqlPaymentStoreTest, AGroupCommitBatchCommitsWholeOrNotAtAll) {
  const std::vector<PaymentRecord> payments = {NewPayment("pay_1", "order-1", clock_.Now()),
                                               NewPayment("pay_2", "order-2", clock_.Now())};
  std::vector<CompletedRequest> answers = {{Key("r1"), {absl::OkStatus(), "a1"}},
                                           {Key("r2"), {absl::OkStatus(), "a2"}}};
  std::vector<OutboxEvent> events;
  for (const PaymentRecord& p : payments) events.push_back(PaymentHeldEvent(p).value());
  const StoreTransactionOptions deferred{.read_only = false, .defer_writes = true};

  absl::Status failed = store_->RunInTransaction(
      [&](PaymentTransaction& tx) -> absl::Status {
        if (absl::Status s = tx.CompleteRequests(answers); !s.ok()) return s;
        if (absl::Status s = tx.InsertPayments(payments); !s.ok()) return s;
        if (absl::Status s = tx.Enqueue(events); !s.ok()) return s;
        return absl::AbortedError("injected before the commit");
      },
      deferred);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(Count("payments"), 0);
  EXPECT_EQ(Count("idempotency_keys"), 0);
  EXPECT_EQ(Count("outbox_events"), 0);

  ASSERT_OK(store_->RunInTransaction(
      [&](PaymentTransaction& tx) -> absl::Status {
        if (absl::Status s = tx.CompleteRequests(answers); !s.ok()) return s;
        if (absl::Status s = tx.InsertPayments(payments); !s.ok()) return s;
        return tx.Enqueue(events);
      },
      deferred));
  EXPECT_EQ(Count("payments"), 2);
  EXPECT_EQ(Count("idempotency_keys"), 2);
  EXPECT_EQ(Count("outbox_events"), 2);
}

TEST_F(MySqlPaymentStoreTest, ASecondPaymentOfAnOrderIsOrderAlreadyPaid) {
  ASSERT_OK(store_->RunInTransaction([&](PaymentTransaction& tx) {
    return tx.InsertPayment(NewPayment("pay_1", "order-1", clock_.Now()));
  }));
  absl::Status again = store_->RunInTransaction([&](PaymentTransaction& tx) {
    return tx.InsertPayment(NewPayment("pay_2", "order-1", clock_.Now()));
  });
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(common::ReasonOf(again), "ORDER_ALREADY_PAID");
}

TEST_F(MySqlPaymentStoreTest, CheckoutReadsSeeTheOrdersPaymentAndTheSellersHoldPolicy) {
  ASSERT_OK(store_->RunInTransaction([&](PaymentTransaction& tx) -> absl::Status {
    if (absl::Status s = tx.InsertPayment(NewPayment("pay_1", "order-1", clock_.Now())); !s.ok()) {
      return s;
    }
    return tx.UpsertHoldPolicy({"5e11e700000000000000000000000001", absl::Hours(48), "trusted", "admin-1", clock_.Now()});
  }));
  std::vector<CheckoutLookup> lookups = {{Key("r1"), "order-1", "5e11e700000000000000000000000001"},
                                         {Key("r2"), "order-2", "5e11e700000000000000000000000002"}};
  std::vector<absl::StatusOr<CheckoutFacts>> facts = store_->ReadCheckouts(lookups);
  ASSERT_EQ(facts.size(), 2u);
  ASSERT_OK(facts[0].status());
  EXPECT_EQ(facts[0]->order_payment_id, "pay_1");
  EXPECT_EQ(facts[0]->hold, absl::Hours(48));
  EXPECT_FALSE(facts[0]->stored.has_value());
  ASSERT_OK(facts[1].status());
  EXPECT_FALSE(facts[1]->order_payment_id.has_value());
  EXPECT_FALSE(facts[1]->hold.has_value());
}

// Migration 0015 names the order and buyer of the refunds without payment written before it,
// as far as their intents are kept: a returned capture's operation is found by
// ProcessorKey("return", its request's key), an abandoned capture's by its intent's id.
TEST_F(MySqlPaymentStoreTest, Migration15NamesTheOrderOfEarlierRefundsWithoutPayment) {
  struct Case {
    RequestKey key;
    std::string order_id;
    std::string outcome;
    std::string operation_id;
  };
  const RequestKey returned = Key("r-returned");
  const RequestKey abandoned = Key("r-abandoned");
  const std::vector<Case> cases = {
      {returned, "order-returned", "RETURNED", ProcessorKey("return", returned)},
      {abandoned, "order-abandoned ", "REFUNDED",
       absl::StrCat("capture_refund_", IntentId(abandoned).substr(4))}};
  const absl::Time now = clock_.Now();
  for (const Case& c : cases) {
    ASSERT_OK(pool()
                  .Execute("INSERT INTO payment_intents (intent_id, caller, method, request_id, "
                           "request_hash, payment_id, order_id, buyer_id, seller_id, currency, "
                           "amount_minor, created_at, next_check_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'EUR', 1000, ?, ?)",
                           {IntentId(c.key), c.key.caller, c.key.method, c.key.request_id,
                            c.key.request_hash, common::NewId("pay_"), c.order_id,
                            std::string("b0b0b000000000000000000000000001"),
                            std::string("5e11e700000000000000000000000001"), now, now})
                  .status());
    ASSERT_OK(pool()
                  .Execute("INSERT INTO payment_intent_outcomes (intent_id, outcome, closed_at) "
                           "VALUES (?, ?, ?)",
                           {IntentId(c.key), c.outcome, now})
                  .status());
    ProcessorOperation op;
    op.operation_id = c.operation_id;
    op.kind = "REFUND";
    op.seller_id = "5e11e700000000000000000000000001";
    op.currency = "EUR";
    op.amount_minor = 1000;
    op.target_reference = "cap_1";
    op.next_attempt_at = now;
    op.created_at = now;
    ASSERT_OK(
        store_->RunInTransaction([&](PaymentTransaction& tx) { return tx.InsertOperation(op); }));
  }
  // As written before the migration: no order, no buyer. Then its statements once more.
  ASSERT_OK(
      pool().Execute("UPDATE processor_operations SET order_id = NULL, buyer_id = NULL").status());
  int statements = 0;
  for (const auto& [name, sql] : PaymentsMigrations()) {
    if (!absl::StartsWith(name, "0015_")) continue;
    for (const std::string& statement : common::db::SplitSqlStatements(sql)) {
      absl::StatusOr<int64_t> ran = pool().Execute(statement);
      ASSERT_TRUE(ran.ok()) << statement << ": " << ran.status();
      ++statements;
    }
  }
  EXPECT_EQ(statements, 3);
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(
        std::vector<ProcessorOperation> found,
        store_->RunInTransaction<std::vector<ProcessorOperation>>(
            [&](PaymentTransaction& tx) { return tx.LoadRefundsWithoutPayment(c.order_id); }));
    ASSERT_EQ(found.size(), 1u) << c.order_id;
    EXPECT_EQ(found[0].operation_id, c.operation_id);
    EXPECT_EQ(found[0].order_id, c.order_id);
    EXPECT_EQ(found[0].buyer_id, "b0b0b000000000000000000000000001");
  }
}

// An authorisation batch whose statement waits for an intent's row lock held by the completion
// worker's closing transaction sees the outcome that transaction commits, whatever isolation
// level the pooled connection was left at (READ COMMITTED here, as the outbox relay leaves its
// connections): the closed intent gets no authorisation and answers its outcome.
TEST_F(MySqlPaymentStoreTest, AnAuthorisationWaitingForTheWorkersCloseSeesItsOutcome) {
  auto intent = [&](const std::string& n) {
    PaymentIntent i;
    i.intent_id = absl::StrCat("int_0123456789abcdef0123456789abcde", n);
    i.caller = "svc";
    i.method = "CreatePayment";
    i.request_id = n;
    i.request_hash = std::string(32, 'h');
    i.payment_id = absl::StrCat("pay_", n);
    i.order_id = absl::StrCat("o-", n);
    i.buyer_id = "b0b0b000000000000000000000000001";
    i.seller_id = "5e11e700000000000000000000000001";
    i.currency = "EUR";
    i.amount_minor = 500;
    i.created_at = clock_.Now();
    return i;
  };
  const PaymentIntent a = intent("a"), b = intent("b");
  for (const auto& begun : store_->BeginIntents({a, b})) ASSERT_OK(begun.status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> single, NewPool(1));
  ASSERT_OK(single->Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").status());
  MySqlPaymentStore authorising(single.get(), &clock_);

  absl::Notification locked, release;
  std::thread worker([&] {
    EXPECT_OK(store_->RunInTransaction([&](PaymentTransaction& tx) -> absl::Status {
      absl::StatusOr<std::optional<PaymentIntent>> held = tx.LockIntent(b.intent_id);
      if (!held.ok()) return held.status();
      if (!locked.HasBeenNotified()) locked.Notify();
      release.WaitForNotification();
      return tx.CloseIntent(b.intent_id, "ABANDONED", clock_.Now()).status();
    }));
  });
  locked.WaitForNotification();
  std::vector<absl::StatusOr<std::string>> results;
  std::thread recorder([&] {
    results = authorising.RecordAuthorizations({{a.intent_id, "auth-a"}, {b.intent_id, "auth-b"}});
  });
  EXPECT_OK(WaitForLockWaits());  // the recorder now waits for b's lock
  release.Notify();
  worker.join();
  recorder.join();
  ASSERT_EQ(results.size(), 2u);
  ASSERT_OK(results[0].status());
  ASSERT_OK(results[1].status());
  EXPECT_EQ(*results[0], "");
  EXPECT_EQ(*results[1], "ABANDONED");
  auto rows = pool().Query(
      "SELECT intent_id, authorization_reference FROM payment_intents ORDER BY intent_id");
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(*(*rows)[0].GetString("authorization_reference"), "auth-a");
  EXPECT_EQ(*(*rows)[1].GetString("authorization_reference"), "");
}

}  // namespace
}  // namespace marketplace::payments
