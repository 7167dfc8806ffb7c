// Refunds and payouts the processor did not confirm at once, completed by the completion
// worker on a real MariaDB, with a processor stand-in that fails each operation N times.
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/payments/fake_processor.h"
#include "tests/payments/payments_harness.h"
#include "services/payments/metrics.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/release_worker.h"
#include "services/payments/sandbox_processor.h"
#include "common/identity_client/fake_seller_directory.h"

namespace marketplace::payments {
namespace {

using testing::TestPayments;
using testing::FlakyProcessor;

using common::ReasonOf;


Actor Staff() { return Actor{"agent-1", true, false, false, false}; }
Actor CheckoutCaller() { return Actor{"svc-checkout", true, false, false, true}; }
Actor Seller() { return Actor{"5e11e700000000000000000000000001", false, false, true, false}; }

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

class CompletionWorkerTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    sellers_.Set("5e11e700000000000000000000000001", true);
    service_ = std::make_unique<TestPayments>(&pool(), &processor_, &sellers_, &clock_);
  }

  pb::Payment Pay(const std::string& order, int64_t minor) {
    pb::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(minor);
    req.set_payment_method_token("tok_sandbox_success");
    auto p = service_->CreatePayment(CheckoutCaller(), req);
    EXPECT_OK(p.status());
    return p.ok() ? *p : pb::Payment();
  }

  pb::RefundPaymentRequest RefundRequest(const std::string& payment_id, int64_t minor,
                                         const std::string& request_id) {
    pb::RefundPaymentRequest req;
    req.set_request_id(request_id);
    req.set_payment_id(payment_id);
    *req.mutable_amount() = Eur(minor);
    req.set_reason("returned");
    return req;
  }

  pb::CreatePayoutRequest PayoutRequest(int64_t minor, const std::string& request_id) {
    pb::CreatePayoutRequest req;
    req.set_request_id(request_id);
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(minor);
    return req;
  }

  void Release(const std::string& payment_id) {
    pb::ConfirmDeliveryRequest req;
    req.set_request_id("confirm-" + payment_id);
    req.set_payment_id(payment_id);
    ASSERT_OK(service_->ConfirmDelivery(CheckoutCaller(), req).status());
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  // The only operation's id, attempts and seconds until its next attempt.
  struct OpRow {
    std::string id;
    std::string state;
    int64_t attempts = -1;
    int64_t due_in_seconds = 0;
  };
  OpRow OnlyOperation() {
    auto rows = pool().Query(
        "SELECT operation_id, state, attempts, next_attempt_at FROM processor_operations");
    EXPECT_OK(rows.status());
    OpRow out;
    if (!rows.ok() || rows->size() != 1) {
      ADD_FAILURE() << "expected one processor operation";
      return out;
    }
    out.id = *(*rows)[0].GetString("operation_id");
    out.state = *(*rows)[0].GetString("state");
    out.attempts = *(*rows)[0].GetInt64("attempts");
    out.due_in_seconds =
        absl::ToInt64Seconds(*(*rows)[0].GetTime("next_attempt_at") - clock_.Now());
    return out;
  }

  std::map<std::string, int64_t> Totals() {
    auto v = service_->VerifyLedger();
    EXPECT_OK(v.status());
    std::map<std::string, int64_t> totals;
    if (!v.ok()) return totals;
    EXPECT_TRUE(v->consistent()) << v->DebugString();
    for (const auto& b : v->totals()) totals[b.account_kind()] = b.balance().amount_minor();
    return totals;
  }

  common::ManualClock clock_;
  FlakyProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
  std::unique_ptr<TestPayments> service_;
  prometheus::Registry registry_;
};

TEST_F(CompletionWorkerTest, RefundTheProcessorMissedIsCompletedWithBackoffAndSentOnce) {
  pb::Payment p = Pay("order-1", 10000);
  processor_.Script(/*failures=*/3, /*refuse=*/false);
  const auto req = RefundRequest(p.payment_id(), 2500, "refund-1");
  EXPECT_EQ(service_->RefundPayment(Staff(), req).status().code(), absl::StatusCode::kUnavailable);
  OpRow op = OnlyOperation();
  EXPECT_EQ(op.state, "PENDING");
  EXPECT_EQ(op.attempts, 1);
  EXPECT_EQ(op.due_in_seconds, 10);

  CompletionWorker worker(&service_->domain(), registry_);
  ASSERT_OK_AND_ASSIGN(CompletionCounts none, worker.RunOnce());
  EXPECT_EQ(none.claimed, 0) << "not due before its backoff";
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(CompletionCounts second, worker.RunOnce());
  EXPECT_EQ(second.retried, 1);
  EXPECT_EQ(OnlyOperation().due_in_seconds, 20) << "backoff doubles";
  clock_.Advance(absl::Seconds(20));
  ASSERT_OK_AND_ASSIGN(CompletionCounts third, worker.RunOnce());
  EXPECT_EQ(third.retried, 1);
  op = OnlyOperation();
  EXPECT_EQ(op.attempts, 3);
  EXPECT_EQ(op.due_in_seconds, 40);
  clock_.Advance(absl::Seconds(40));
  ASSERT_OK_AND_ASSIGN(CompletionCounts fourth, worker.RunOnce());
  EXPECT_EQ(fourth.done, 1);
  EXPECT_EQ(OnlyOperation().state, "DONE");
  EXPECT_EQ(processor_.Calls(op.id), 4);
  EXPECT_EQ(processor_.Moved(op.id), 1);

  // The client's retry answers the recorded refund without asking the processor again.
  ASSERT_OK_AND_ASSIGN(pb::Payment refunded, service_->RefundPayment(Staff(), req));
  EXPECT_EQ(refunded.refunded().amount_minor(), 2500);
  EXPECT_EQ(processor_.Calls(op.id), 4);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(CompletionCounts idle, worker.RunOnce());
  EXPECT_EQ(idle.claimed, 0);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_out"], 2500);
  EXPECT_EQ(totals["refunds_owed"], 0);
}

TEST_F(CompletionWorkerTest, PayoutTheProcessorMissedIsPaidByTheWorker) {
  pb::Payment p = Pay("order-1", 10000);
  Release(p.payment_id());
  processor_.Script(/*failures=*/2, /*refuse=*/false);
  const auto req = PayoutRequest(4000, "po-1");
  EXPECT_EQ(service_->CreatePayout(Seller(), req).status().code(), absl::StatusCode::kUnavailable);
  CompletionWorker worker(&service_->domain(), registry_);
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(CompletionCounts first, worker.RunOnce());
  EXPECT_EQ(first.retried, 1);
  clock_.Advance(absl::Seconds(20));
  ASSERT_OK_AND_ASSIGN(CompletionCounts second, worker.RunOnce());
  EXPECT_EQ(second.done, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'PAID' AND "
                  "processor_reference <> ''"),
            1);
  const std::string id = OnlyOperation().id;
  ASSERT_OK_AND_ASSIGN(pb::Payout paid, service_->CreatePayout(Seller(), req));
  EXPECT_EQ(paid.processor_reference(), "ref_" + id);
  EXPECT_EQ(processor_.Calls(id), 3);
  EXPECT_EQ(processor_.Moved(id), 1);
  auto totals = Totals();
  EXPECT_EQ(totals["seller_paid_out"], 4000);
  EXPECT_EQ(totals["seller_available"], 5000);
}

TEST_F(CompletionWorkerTest, PayoutRefusedAfterOutagesReturnsTheMoneyOnce) {
  pb::Payment p = Pay("order-1", 10000);
  Release(p.payment_id());
  processor_.Script(/*failures=*/1, /*refuse=*/true);
  const auto req = PayoutRequest(4000, "po-1");
  EXPECT_EQ(service_->CreatePayout(Seller(), req).status().code(), absl::StatusCode::kUnavailable);
  CompletionWorker worker(&service_->domain(), registry_);
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(CompletionCounts first, worker.RunOnce());
  EXPECT_EQ(first.failed, 1);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(CompletionCounts again, worker.RunOnce());
  EXPECT_EQ(again.claimed, 0) << "a FAILED operation is never retried";
  EXPECT_EQ(ReasonOf(service_->CreatePayout(Seller(), req).status()), "PAYOUT_DECLINED");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'payout'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'FAILED'"), 1);
  auto totals = Totals();
  EXPECT_EQ(totals["seller_paid_out"], 0);
  EXPECT_EQ(totals["seller_available"], 9000);
}

TEST_F(CompletionWorkerTest, RefundRefusedForGoodIsOwedToTheBuyerOnce) {
  pb::Payment p = Pay("order-1", 10000);
  processor_.Script(/*failures=*/0, /*refuse=*/true);
  const auto req = RefundRequest(p.payment_id(), 3000, "refund-1");
  auto first = service_->RefundPayment(Staff(), req);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(first.status()), "REFUND_DECLINED");
  EXPECT_EQ(ReasonOf(service_->RefundPayment(Staff(), req).status()), "REFUND_DECLINED");
  CompletionWorker worker(&service_->domain(), registry_);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(CompletionCounts idle, worker.RunOnce());
  EXPECT_EQ(idle.claimed, 0);
  EXPECT_EQ(processor_.Calls(OnlyOperation().id), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_events WHERE type = 'REFUND_FAILED'"), 1);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_out"], 0);
  EXPECT_EQ(totals["refunds_owed"], 3000);
  EXPECT_EQ(totals["escrow"], 7000);
}

// Support's refund worker may retry a refund for longer than the 24 h idempotency window
// while the processor is down. Once the request's idempotency record is purged, a retry with
// the same request_id and body is still that refund (its processor operation, keyed by the
// request, is kept for good): UNAVAILABLE while it is PENDING, then the refunded payment --
// never PAYMENT_REFUNDED, the operation's duplicate key (ALREADY_EXISTS) or a second refund.
TEST_F(CompletionWorkerTest, RefundRetryAfterTheIdempotencyWindowAnswersTheSameRefund) {
  pb::Payment full = Pay("order-1", 10000);
  pb::Payment part = Pay("order-2", 10000);
  processor_.Script(/*failures=*/1000, /*refuse=*/false);
  const std::vector<pb::RefundPaymentRequest> requests = {
      RefundRequest(full.payment_id(), 10000, "refund-whole"),
      RefundRequest(part.payment_id(), 2500, "refund-part")};
  for (const pb::RefundPaymentRequest& req : requests) {
    EXPECT_EQ(service_->RefundPayment(Staff(), req).status().code(),
              absl::StatusCode::kUnavailable);
  }
  clock_.Advance(absl::Hours(25));
  ASSERT_OK_AND_ASSIGN(int64_t purged, service_->PurgeIdempotencyKeys());
  EXPECT_GE(purged, 2);
  for (const pb::RefundPaymentRequest& req : requests) {
    absl::StatusOr<pb::Payment> retried = service_->RefundPayment(Staff(), req);
    EXPECT_EQ(retried.status().code(), absl::StatusCode::kUnavailable)
        << req.request_id() << ": " << retried.status();
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE state = 'PENDING'"), 2);

  // The processor is back: the completion worker sends both; the retries answer the refunds,
  // within the new record's window and after it was purged too.
  processor_.Script(/*failures=*/0, /*refuse=*/false);
  CompletionWorker worker(&service_->domain(), registry_);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(CompletionCounts sent, worker.RunOnce());
  EXPECT_EQ(sent.done, 2);
  for (int purge = 0; purge < 2; ++purge) {
    if (purge == 1) {
      clock_.Advance(absl::Hours(25));
      ASSERT_OK(service_->PurgeIdempotencyKeys().status());
    }
    for (const pb::RefundPaymentRequest& req : requests) {
      absl::StatusOr<pb::Payment> retried = service_->RefundPayment(Staff(), req);
      ASSERT_TRUE(retried.ok()) << req.request_id() << " (purge " << purge
                                << "): " << retried.status();
      EXPECT_EQ(retried->refunded().amount_minor(), req.amount().amount_minor());
      ASSERT_EQ(retried->refunds_size(), 1);
      EXPECT_EQ(retried->refunds(0).state(), pb::REFUND_DONE);
    }
  }
  // Each refund recorded and sent once.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund'"), 2);
  EXPECT_EQ(processor_.MovedMinor(), 12500);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_out"], 12500);
  EXPECT_EQ(totals["escrow"], 20000 - 12500);
}

// A seller or an ops script may retry a payout for longer than the 24 h idempotency window
// while the processor is down. Once the request's idempotency record is purged, a retry with
// the same request_id and body is still that payout (its payout id, and so its processor
// operation, derive from the request): UNAVAILABLE while it is PENDING, then the PAID payout,
// PAYOUT_DECLINED once refused -- never a second payout (the balance would have allowed it),
// and no seller lookup (a seller suspended meanwhile still gets its payout's answer).
TEST_F(CompletionWorkerTest, PayoutRetryAfterTheIdempotencyWindowAnswersTheSamePayout) {
  Release(Pay("order-1", 10000).payment_id());
  Release(Pay("order-2", 10000).payment_id());
  ASSERT_EQ(Totals()["seller_available"], 18000);
  processor_.Script(/*failures=*/1000, /*refuse=*/false);
  const pb::CreatePayoutRequest paid = PayoutRequest(4000, "payout-paid");
  const pb::CreatePayoutRequest refused = PayoutRequest(3000, "payout-refused");
  for (const pb::CreatePayoutRequest& req : {paid, refused}) {
    EXPECT_EQ(service_->CreatePayout(Seller(), req).status().code(),
              absl::StatusCode::kUnavailable);
  }
  clock_.Advance(absl::Hours(25));
  ASSERT_OK_AND_ASSIGN(int64_t purged, service_->PurgeIdempotencyKeys());
  EXPECT_GE(purged, 2);
  for (const pb::CreatePayoutRequest& req : {paid, refused}) {
    absl::StatusOr<pb::Payout> retried = service_->CreatePayout(Seller(), req);
    EXPECT_EQ(retried.status().code(), absl::StatusCode::kUnavailable)
        << req.request_id() << ": " << retried.status();
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts"), 2) << "a retry paid out again";
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE state = 'PENDING'"), 2);
  EXPECT_EQ(Totals()["seller_available"], 11000);

  // The processor is back: it pays one and refuses the other; their retries answer them.
  processor_.Script(/*failures=*/0, /*refuse=*/false);
  ASSERT_OK_AND_ASSIGN(pb::Payout done, service_->CreatePayout(Seller(), paid));
  EXPECT_EQ(done.state(), pb::PAYOUT_PAID);
  processor_.Script(/*failures=*/0, /*refuse=*/true);
  EXPECT_EQ(ReasonOf(service_->CreatePayout(Seller(), refused).status()), "PAYOUT_DECLINED");
  // After the window again, with the seller suspended meanwhile: the same answers.
  clock_.Advance(absl::Hours(25));
  ASSERT_OK(service_->PurgeIdempotencyKeys().status());
  sellers_.Set("5e11e700000000000000000000000001", false);
  ASSERT_OK_AND_ASSIGN(pb::Payout again, service_->CreatePayout(Seller(), paid));
  EXPECT_EQ(again.payout_id(), done.payout_id());
  EXPECT_EQ(again.state(), pb::PAYOUT_PAID);
  EXPECT_EQ(again.amount().amount_minor(), 4000);
  EXPECT_EQ(again.processor_reference(), done.processor_reference());
  EXPECT_EQ(ReasonOf(service_->CreatePayout(Seller(), refused).status()), "PAYOUT_DECLINED");

  // Each payout recorded and sent once; the refused one's amount is available again, once.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'payout'"), 3);
  EXPECT_EQ(processor_.MovedMinor(), 4000);
  auto totals = Totals();
  EXPECT_EQ(totals["seller_paid_out"], 4000);
  EXPECT_EQ(totals["seller_available"], 14000);
}

// Support or an ops script may retry a dispute's resolution after the 24 h idempotency window.
// Once the request's idempotency record is purged, a retry with the same request_id and body
// of an outcome that refunded the buyer (BUYER_WINS, SPLIT, PLATFORM_GUARANTEE) is still that
// resolution (its refund's processor operation, keyed by the request, is kept for good): it
// answers the resolved payment like the first call, sends the refund while it is PENDING and
// records nothing again -- not PAYMENT_NOT_DISPUTED. A SELLER_WINS resolution made no
// operation: its retry after the window is PAYMENT_NOT_DISPUTED, and nothing moves either.
TEST_F(CompletionWorkerTest, DisputeResolutionRetryAfterTheIdempotencyWindowAnswersIt) {
  struct Case {
    std::string order;
    pb::DisputeOutcome outcome;
    std::optional<int64_t> share;
    pb::PaymentState state;
    int64_t refund_minor;
  };
  const std::vector<Case> cases = {
      {"order-1", pb::BUYER_WINS, std::nullopt, pb::REFUNDED, 10000},
      {"order-2", pb::SPLIT, 4000, pb::RELEASED, 4000},
      {"order-3", pb::PLATFORM_GUARANTEE, std::nullopt, pb::GUARANTEED, 10000},
      {"order-4", pb::SELLER_WINS, std::nullopt, pb::RELEASED, 0}};
  auto refunds_of = [&](const std::string& payment_id) {
    pb::GetPaymentRequest get;
    get.set_payment_id(payment_id);
    auto p = service_->GetPayment(Staff(), get);
    EXPECT_OK(p.status());
    return p.ok() ? p->refunds() : google::protobuf::RepeatedPtrField<pb::Refund>();
  };
  processor_.Script(/*failures=*/1000, /*refuse=*/false);
  std::vector<pb::ResolveDisputeRequest> requests;
  for (const Case& c : cases) {
    const std::string payment_id = Pay(c.order, 10000).payment_id();
    pb::OpenDisputeRequest open;
    open.set_request_id("dispute-" + c.order);
    open.set_payment_id(payment_id);
    open.set_reason_code("NOT_RECEIVED");
    open.set_description("nothing arrived");
    ASSERT_OK(service_->OpenDispute(Staff(), open).status());
    pb::ResolveDisputeRequest resolve;
    resolve.set_request_id("resolve-" + c.order);
    resolve.set_payment_id(payment_id);
    resolve.set_outcome(c.outcome);
    if (c.share) *resolve.mutable_buyer_share() = Eur(*c.share);
    resolve.set_explanation("decided");
    ASSERT_OK_AND_ASSIGN(pb::Payment resolved, service_->ResolveDispute(Staff(), resolve));
    EXPECT_EQ(resolved.state(), c.state);
    requests.push_back(resolve);
  }
  const int64_t transactions = Count("SELECT COUNT(*) AS n FROM ledger_transactions");
  const int64_t history = Count("SELECT COUNT(*) AS n FROM payment_events");

  // Twice after the window: the processor still down, then back.
  for (int round = 0; round < 2; ++round) {
    if (round == 1) processor_.Script(/*failures=*/0, /*refuse=*/false);
    clock_.Advance(absl::Hours(25));
    ASSERT_OK_AND_ASSIGN(int64_t purged, service_->PurgeIdempotencyKeys());
    EXPECT_GE(purged, 3);
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      absl::StatusOr<pb::Payment> retried = service_->ResolveDispute(Staff(), requests[i]);
      if (c.refund_minor == 0) {
        EXPECT_EQ(ReasonOf(retried.status()), "PAYMENT_NOT_DISPUTED") << retried.status();
        EXPECT_EQ(refunds_of(requests[i].payment_id()).size(), 0);
        continue;
      }
      ASSERT_TRUE(retried.ok()) << c.order << " (round " << round << "): " << retried.status();
      EXPECT_EQ(retried->state(), c.state);
      EXPECT_EQ(retried->refunded().amount_minor(), c.refund_minor);
      auto refunds = refunds_of(requests[i].payment_id());
      ASSERT_EQ(refunds.size(), 1) << c.order;
      EXPECT_EQ(refunds[0].amount().amount_minor(), c.refund_minor);
      EXPECT_EQ(refunds[0].state(), round == 0 ? pb::REFUND_PENDING : pb::REFUND_DONE);
    }
  }
  // Each resolution and its refund recorded once, each refund sent once.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions"), transactions);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_events"), history);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations"), 3);
  EXPECT_EQ(processor_.MovedMinor(), 24000);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_out"], 24000);
  EXPECT_EQ(totals["refunds_owed"], 0);
  EXPECT_EQ(totals["escrow"], 0);
}

// A refused refund, owed to the buyer, is settled once by support with the reference of the
// other means; the ledger shows it paid out again and nothing else changes.
TEST_F(CompletionWorkerTest, OwedRefundIsSettledOnceByStaff) {
  pb::Payment p = Pay("order-1", 10000);
  pb::Payment other = Pay("order-2", 10000);
  processor_.Script(/*failures=*/0, /*refuse=*/true);
  EXPECT_EQ(ReasonOf(service_->RefundPayment(Staff(), RefundRequest(p.payment_id(), 3000, "r1"))
                         .status()),
            "REFUND_DECLINED");
  processor_.Script(/*failures=*/0, /*refuse=*/false);
  ASSERT_OK(service_->RefundPayment(Staff(), RefundRequest(p.payment_id(), 1000, "r2")).status());
  pb::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  ASSERT_OK_AND_ASSIGN(pb::Payment before, service_->GetPayment(Staff(), get));
  ASSERT_EQ(before.refunds_size(), 2);
  const pb::Refund refused = before.refunds(0).state() == pb::REFUND_FAILED ? before.refunds(0)
                                                                             : before.refunds(1);
  const pb::Refund done = before.refunds(0).state() == pb::REFUND_DONE ? before.refunds(0)
                                                                        : before.refunds(1);
  ASSERT_EQ(refused.state(), pb::REFUND_FAILED);
  ASSERT_EQ(done.state(), pb::REFUND_DONE);

  auto settle = [&](const std::string& request_id, const std::string& payment_id,
                    const std::string& refund_id, const std::string& reference,
                    const Actor& actor) {
    pb::SettleOwedRefundRequest req;
    req.set_request_id(request_id);
    req.set_payment_id(payment_id);
    req.set_refund_id(refund_id);
    req.set_settlement_reference(reference);
    req.set_note("paid by bank transfer");
    return service_->SettleOwedRefund(actor, req);
  };
  // Bad input, wrong caller, wrong refund: refused, nothing written.
  auto bad = settle("s0", p.payment_id(), refused.refund_id(), "", Staff());
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("settlement_reference"), std::string::npos);
  EXPECT_EQ(settle("s0", p.payment_id(), refused.refund_id(), "TRX-1", Seller()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(settle("s0b", other.payment_id(), refused.refund_id(), "TRX-1", Staff()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(settle("s0c", p.payment_id(), done.refund_id(), "TRX-1", Staff()).status()),
            "REFUND_NOT_OWED");
  EXPECT_EQ(Totals()["refunds_owed"], 3000);

  ASSERT_OK(settle("s1", p.payment_id(), refused.refund_id(), "TRX-1", Staff()).status());
  // A retry answers the first result.
  ASSERT_OK(settle("s1", p.payment_id(), refused.refund_id(), "TRX-1", Staff()).status());
  EXPECT_EQ(ReasonOf(settle("s2", p.payment_id(), refused.refund_id(), "TRX-2", Staff()).status()),
            "REFUND_ALREADY_SETTLED");
  ASSERT_OK_AND_ASSIGN(pb::Payment after, service_->GetPayment(Staff(), get));
  for (const pb::Refund& r : after.refunds()) {
    if (r.refund_id() != refused.refund_id()) continue;
    EXPECT_EQ(r.state(), pb::REFUND_SETTLED);
    EXPECT_EQ(r.settlement_reference(), "TRX-1");
    EXPECT_EQ(r.settled_by(), "agent-1");
    EXPECT_TRUE(r.has_settled_at());
  }
  EXPECT_EQ(after.history(after.history_size() - 1).type(), "REFUND_SETTLED");
  EXPECT_EQ(after.history(after.history_size() - 1).amount().amount_minor(), 3000);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_owed"], 0);
  EXPECT_EQ(totals["refunds_out"], 4000);
  EXPECT_EQ(totals["escrow"], 20000 - 4000);
}

// The buyer's share of a dispute outcome goes back through the processor like a refund: the
// resolution stands whatever the processor answers, an unreachable processor leaves the refund
// PENDING for the worker, a refusal makes it owed, and nothing is sent twice.
TEST_F(CompletionWorkerTest, DisputeRefundsReachTheProcessorOnceWhateverItAnswers) {
  auto dispute_and_resolve = [&](const std::string& payment_id, pb::DisputeOutcome outcome,
                                 std::optional<int64_t> share) {
    pb::OpenDisputeRequest open;
    open.set_request_id("dispute-" + payment_id);
    open.set_payment_id(payment_id);
    open.set_reason_code("NOT_RECEIVED");
    open.set_description("nothing arrived");
    EXPECT_OK(service_->OpenDispute(Staff(), open).status());
    pb::ResolveDisputeRequest resolve;
    resolve.set_request_id("resolve-" + payment_id);
    resolve.set_payment_id(payment_id);
    resolve.set_outcome(outcome);
    if (share) *resolve.mutable_buyer_share() = Eur(*share);
    resolve.set_explanation("decided");
    return service_->ResolveDispute(Staff(), resolve);
  };
  auto refunds_of = [&](const std::string& payment_id) {
    pb::GetPaymentRequest get;
    get.set_payment_id(payment_id);
    auto p = service_->GetPayment(Staff(), get);
    EXPECT_OK(p.status());
    return p.ok() ? p->refunds() : google::protobuf::RepeatedPtrField<pb::Refund>();
  };

  // Processor unreachable once: the resolution is answered, the refund waits for the worker.
  pb::Payment won = Pay("order-1", 10000);
  processor_.Script(/*failures=*/1, /*refuse=*/false);
  ASSERT_OK_AND_ASSIGN(pb::Payment resolved,
                       dispute_and_resolve(won.payment_id(), pb::BUYER_WINS, std::nullopt));
  EXPECT_EQ(resolved.state(), pb::REFUNDED);
  auto pending = refunds_of(won.payment_id());
  ASSERT_EQ(pending.size(), 1);
  EXPECT_EQ(pending[0].state(), pb::REFUND_PENDING);
  EXPECT_EQ(pending[0].amount().amount_minor(), 10000);
  EXPECT_EQ(pending[0].failed_attempts(), 1);
  EXPECT_TRUE(pending[0].has_next_attempt_at());
  EXPECT_EQ(pending[0].refund_id().rfind("dispute_refund_", 0), 0u) << pending[0].refund_id();
  CompletionWorker worker(&service_->domain(), registry_);
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(CompletionCounts done, worker.RunOnce());
  EXPECT_EQ(done.claimed, 1);
  auto sent = refunds_of(won.payment_id());
  ASSERT_EQ(sent.size(), 1);
  EXPECT_EQ(sent[0].state(), pb::REFUND_DONE);
  EXPECT_EQ(sent[0].processor_reference(), "ref_" + sent[0].refund_id());
  EXPECT_EQ(processor_.Moved(sent[0].refund_id()), 1);
  // A retry of the resolution answers the same and sends nothing more.
  const int calls = processor_.TotalCalls();
  ASSERT_OK(dispute_and_resolve(won.payment_id(), pb::BUYER_WINS, std::nullopt).status());
  EXPECT_EQ(processor_.TotalCalls(), calls);

  // Refused for good: the buyer's share is owed, the resolution still answered.
  pb::Payment split = Pay("order-2", 10000);
  processor_.Script(/*failures=*/0, /*refuse=*/true);
  ASSERT_OK_AND_ASSIGN(pb::Payment after_split,
                       dispute_and_resolve(split.payment_id(), pb::SPLIT, 4000));
  EXPECT_EQ(after_split.state(), pb::RELEASED);
  auto refused = refunds_of(split.payment_id());
  ASSERT_EQ(refused.size(), 1);
  EXPECT_EQ(refused[0].state(), pb::REFUND_FAILED);
  EXPECT_EQ(refused[0].amount().amount_minor(), 4000);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_events WHERE type = 'REFUND_FAILED'"), 1);

  // Seller wins: nothing goes to the buyer.
  pb::Payment kept = Pay("order-3", 10000);
  ASSERT_OK(dispute_and_resolve(kept.payment_id(), pb::SELLER_WINS, std::nullopt).status());
  EXPECT_EQ(refunds_of(kept.payment_id()).size(), 0);

  EXPECT_EQ(processor_.MovedMinor(), 10000);
  auto totals = Totals();
  EXPECT_EQ(totals["refunds_out"], 10000);
  EXPECT_EQ(totals["refunds_owed"], 4000);
}

// Two workers (two replicas: own service, own pool) complete 40 pending operations at once;
// each is claimed by one of them per round, and each moves money exactly once.
TEST_F(CompletionWorkerTest, TwoWorkersCompleteEveryOperationOnce) {
  constexpr int kPayments = 20;
  std::vector<std::string> payments;
  for (int i = 0; i < kPayments; ++i) {
    payments.push_back(Pay(absl::StrCat("o", i), 10000).payment_id());
  }
  for (int i = 0; i < kPayments / 2; ++i) Release(payments[i]);
  processor_.Script(/*failures=*/3, /*refuse=*/false);
  int64_t expected_minor = 0;
  for (int i = 0; i < kPayments; ++i) {
    EXPECT_EQ(
        service_->RefundPayment(Staff(), RefundRequest(payments[i], 100 + i, absl::StrCat("r", i)))
            .status()
            .code(),
        absl::StatusCode::kUnavailable);
    expected_minor += 100 + i;
  }
  for (int i = 0; i < kPayments; ++i) {
    EXPECT_EQ(
        service_->CreatePayout(Seller(), PayoutRequest(200, absl::StrCat("p", i))).status().code(),
        absl::StatusCode::kUnavailable);
    expected_minor += 200;
  }
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE state = 'PENDING'"),
            2 * kPayments);

  ASSERT_OK_AND_ASSIGN(auto pool_a, NewPool(4));
  ASSERT_OK_AND_ASSIGN(auto pool_b, NewPool(4));
  TestPayments replica_a(pool_a.get(), &processor_, &sellers_, &clock_);
  TestPayments replica_b(pool_b.get(), &processor_, &sellers_, &clock_);
  prometheus::Registry registry_b;
  CompletionWorker worker_a(&replica_a.domain(), registry_, {.batch_size = 7});
  CompletionWorker worker_b(&replica_b.domain(), registry_b, {.batch_size = 7});
  std::atomic<int> done{0}, claimed{0};
  for (int round = 0; round < 4; ++round) {
    clock_.Advance(absl::Hours(2));  // every operation due again
    const int calls_before = processor_.TotalCalls();
    std::vector<std::thread> threads;
    for (CompletionWorker* w : {&worker_a, &worker_b}) {
      threads.emplace_back([&, w] {
        absl::StatusOr<CompletionCounts> n = w->RunOnce();
        EXPECT_OK(n.status());
        if (n.ok()) {
          done += n->done;
          claimed += n->claimed;
        }
      });
    }
    for (auto& t : threads) t.join();
    const int pending =
        static_cast<int>(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE state = "
                               "'PENDING'"));
    // Each operation still open at the round's start was asked exactly once in the round.
    EXPECT_EQ(processor_.TotalCalls() - calls_before, round < 3 ? 2 * kPayments : 0)
        << "round " << round;
    if (round >= 2) {
      EXPECT_EQ(pending, 0);
    }
  }
  EXPECT_EQ(done.load(), 2 * kPayments);
  EXPECT_EQ(claimed.load(), 3 * 2 * kPayments);
  auto rows = pool().Query("SELECT operation_id FROM processor_operations WHERE state = 'DONE'");
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), static_cast<size_t>(2 * kPayments));
  for (const auto& row : *rows) {
    const std::string id = *row.GetString("operation_id");
    EXPECT_EQ(processor_.Calls(id), 4) << id;
    EXPECT_EQ(processor_.Moved(id), 1) << id;
  }
  EXPECT_EQ(processor_.MovedMinor(), expected_minor);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'PAID'"), kPayments);
  auto totals = Totals();
  EXPECT_EQ(totals["seller_paid_out"], 200 * kPayments);
}

// The business metrics count each effect once (not the retries answered from the stored
// result), and the escrow gauge follows the database.
TEST_F(CompletionWorkerTest, BusinessMetricsCountEachEffectOnce) {
  prometheus::Registry registry;
  PaymentsMetrics metrics(registry);
  PaymentsOptions options;
  options.observer = &metrics;
  TestPayments service(&pool(), &processor_, &sellers_, &clock_, options);
  auto pay = [&](const std::string& order, const std::string& token) {
    pb::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(10000);
    req.set_payment_method_token(token);
    auto first = service.CreatePayment(CheckoutCaller(), req);
    auto again = service.CreatePayment(CheckoutCaller(), req);
    EXPECT_EQ(first.status().code(), again.status().code());
    return first;
  };
  ASSERT_OK_AND_ASSIGN(pb::Payment a, pay("o1", "tok_sandbox_success"));
  ASSERT_OK_AND_ASSIGN(pb::Payment b, pay("o2", "tok_sandbox_success"));
  EXPECT_FALSE(pay("o3", "tok_sandbox_decline").ok());
  auto refund = RefundRequest(a.payment_id(), 1000, "refund-1");
  refund.set_funded_by(pb::GUARANTEE_FUND);
  ASSERT_OK(service.RefundPayment(Staff(), refund).status());
  ASSERT_OK_AND_ASSIGN(pb::Payment refunded, service.RefundPayment(Staff(), refund));
  ASSERT_EQ(refunded.refunds_size(), 1);
  pb::ChargeSellerForRefundRequest charge;
  charge.set_request_id("charge-1");
  charge.set_payment_id(a.payment_id());
  charge.set_refund_id(refunded.refunds(0).refund_id());
  charge.set_reason("seller at fault");
  ASSERT_OK(service.ChargeSellerForRefund(Staff(), charge).status());
  ASSERT_OK(service.ChargeSellerForRefund(Staff(), charge).status());
  charge.set_request_id("charge-2");
  EXPECT_EQ(common::ReasonOf(service.ChargeSellerForRefund(Staff(), charge).status()),
            "REFUND_ALREADY_CHARGED");
  pb::OpenDisputeRequest open;
  open.set_request_id("open-1");
  open.set_payment_id(b.payment_id());
  open.set_reason_code("NOT_RECEIVED");
  open.set_description("nothing came");
  ASSERT_OK(service.OpenDispute(Staff(), open).status());
  ASSERT_OK(service.OpenDispute(Staff(), open).status());
  pb::ResolveDisputeRequest resolve;
  resolve.set_request_id("resolve-1");
  resolve.set_payment_id(b.payment_id());
  resolve.set_outcome(pb::SELLER_WINS);
  resolve.set_explanation("delivered");
  ASSERT_OK(service.ResolveDispute(Staff(), resolve).status());
  ASSERT_OK(service.ResolveDispute(Staff(), resolve).status());
  const auto payout = PayoutRequest(500, "po-1");
  ASSERT_OK(service.CreatePayout(Seller(), payout).status());
  ASSERT_OK(service.CreatePayout(Seller(), payout).status());
  ASSERT_OK_AND_ASSIGN(auto verified, service.VerifyLedger());
  EXPECT_TRUE(verified.consistent());
  ASSERT_OK(service.RefreshEscrowMetrics());

  std::map<std::string, double> values;
  for (const auto& family : registry.Collect()) {
    for (const auto& m : family.metric) {
      std::string key = family.name;
      for (const auto& label : m.label) key += "{" + label.name + "=" + label.value + "}";
      values[key] = family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    }
  }
  EXPECT_EQ(values["payments_created_total{outcome=held}"], 2);
  EXPECT_EQ(values["payments_created_total{outcome=declined}"], 1);
  EXPECT_EQ(values["payments_refunds_total"], 1);
  EXPECT_EQ(values["payments_refund_charges_total"], 1);
  EXPECT_EQ(values["payments_disputes_opened_total"], 1);
  EXPECT_EQ(values["payments_disputes_resolved_total{outcome=SELLER_WINS}"], 1);
  EXPECT_EQ(values["payments_payouts_total"], 1);
  EXPECT_EQ(values["payments_ledger_verification_failures_total"], 0);
  EXPECT_EQ(values["payments_escrow_held_minor{currency=EUR}"], 9000) << "a: 10000 - 1000";
}

}  // namespace
}  // namespace marketplace::payments
