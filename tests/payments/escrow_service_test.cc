#include "tests/payments/fake_processor.h"
#include "tests/payments/payments_harness.h"

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/sandbox_processor.h"
#include "common/identity_client/fake_seller_directory.h"

namespace marketplace::payments {
namespace {

using testing::TestPayments;
using testing::ScriptedProcessor;

using common::ReasonOf;

Actor Buyer(const std::string& id = "b0b0b000000000000000000000000001") { return Actor{id, false, true, false, false}; }
Actor Seller(const std::string& id = "5e11e700000000000000000000000001") { return Actor{id, false, false, true, false}; }
Actor Staff() { return Actor{"agent-1", true, false, false, false}; }
Actor CheckoutCaller() { return Actor{"svc-checkout", true, false, false, true}; }

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

std::string DeclineCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload("type.googleapis.com/google.rpc.ErrorInfo");
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  info.ParseFromString(std::string(*payload));
  auto it = info.metadata().find("decline_code");
  return it == info.metadata().end() ? "" : it->second;
}


class EscrowServiceTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    sellers_.Set("5e11e700000000000000000000000001", true);
    sellers_.Set("5e11e700000000000000000000000002", true);
    sellers_.Set("5e11e7000000000000000000000000ff", false);
    service_ = std::make_unique<TestPayments>(&pool(), &processor_, &sellers_, &clock_);
  }

  pb::CreatePaymentRequest CreateRequest(const std::string& order, int64_t minor,
                                         const std::string& seller = "5e11e700000000000000000000000001",
                                         const std::string& token = "tok_sandbox_success") {
    pb::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id(seller);
    *req.mutable_amount() = Eur(minor);
    req.set_payment_method_token(token);
    return req;
  }

  pb::Payment MustCreate(const std::string& order, int64_t minor,
                         const std::string& seller = "5e11e700000000000000000000000001") {
    auto p = service_->CreatePayment(CheckoutCaller(), CreateRequest(order, minor, seller));
    EXPECT_OK(p.status());
    return p.ok() ? *p : pb::Payment();
  }

  absl::StatusOr<pb::Payment> Confirm(const std::string& payment_id, const Actor& actor = Buyer()) {
    pb::ConfirmDeliveryRequest req;
    req.set_request_id("confirm-" + payment_id);
    req.set_payment_id(payment_id);
    return service_->ConfirmDelivery(actor, req);
  }

  absl::StatusOr<pb::Payment> RefundOf(const std::string& payment_id, int64_t minor,
                                       const std::string& request_id,
                                       const Actor& actor = Staff()) {
    pb::RefundPaymentRequest req;
    req.set_request_id(request_id);
    req.set_payment_id(payment_id);
    *req.mutable_amount() = Eur(minor);
    req.set_reason("customer changed their mind");
    return service_->RefundPayment(actor, req);
  }

  absl::StatusOr<pb::Payment> Dispute(const std::string& payment_id) {
    pb::OpenDisputeRequest req;
    req.set_request_id("dispute-" + payment_id);
    req.set_payment_id(payment_id);
    req.set_reason_code("NOT_RECEIVED");
    req.set_description("nothing arrived");
    return service_->OpenDispute(Buyer(), req);
  }

  absl::StatusOr<pb::Payment> ResolveAs(const std::string& payment_id, pb::DisputeOutcome o,
                                        std::optional<int64_t> share = std::nullopt) {
    pb::ResolveDisputeRequest req;
    req.set_request_id("resolve-" + payment_id);
    req.set_payment_id(payment_id);
    req.set_outcome(o);
    if (share) *req.mutable_buyer_share() = Eur(*share);
    req.set_explanation("decided");
    return service_->ResolveDispute(Staff(), req);
  }

  absl::StatusOr<pb::Payout> PayoutOf(int64_t minor, const std::string& request_id,
                                      const std::string& seller = "5e11e700000000000000000000000001") {
    pb::CreatePayoutRequest req;
    req.set_request_id(request_id);
    req.set_seller_id(seller);
    *req.mutable_amount() = Eur(minor);
    return service_->CreatePayout(Seller(seller), req);
  }

  pb::CurrencyBalance Balance(const std::string& seller = "5e11e700000000000000000000000001") {
    pb::GetSellerBalanceRequest req;
    req.set_seller_id(seller);
    auto b = service_->GetSellerBalance(Staff(), req);
    EXPECT_OK(b.status());
    if (!b.ok() || b->balances_size() == 0) return pb::CurrencyBalance();
    return b->balances(0);
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  void ExpectConsistent() {
    auto v = service_->VerifyLedger();
    ASSERT_OK(v.status());
    EXPECT_TRUE(v->consistent()) << v->DebugString();
  }

  common::ManualClock clock_;
  SandboxProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
  std::unique_ptr<TestPayments> service_;
};

TEST_F(EscrowServiceTest, CreateHoldsInEscrowWithCaptureEntriesHistoryAndEvent) {
  pb::Payment p = MustCreate("order-1", 10000);
  EXPECT_EQ(p.state(), pb::HELD);
  EXPECT_EQ(p.commission_bps(), 1000);
  EXPECT_FALSE(p.processor_reference().empty());
  EXPECT_EQ(p.release_due_at().seconds() - p.created_at().seconds(), 14 * 24 * 3600);
  pb::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  ASSERT_OK_AND_ASSIGN(pb::Payment full, service_->GetPayment(Buyer(), get));
  ASSERT_EQ(full.history_size(), 1);
  EXPECT_EQ(full.history(0).type(), "CREATED");
  ASSERT_EQ(full.ledger_entries_size(), 2);
  EXPECT_EQ(full.ledger_entries(0).transaction_kind(), "capture");
  EXPECT_EQ(Balance().pending_minor(), 10000);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                  "'payments.payment_held'"),
            1);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, ConfirmReleasesMinusCommissionThenPayoutsUpToAvailable) {
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK_AND_ASSIGN(pb::Payment released, Confirm(p.payment_id()));
  EXPECT_EQ(released.state(), pb::RELEASED);
  EXPECT_EQ(released.seller_net().amount_minor(), 9000);
  EXPECT_EQ(released.commission().amount_minor(), 1000);
  EXPECT_EQ(Balance().available_minor(), 9000);
  EXPECT_EQ(Balance().pending_minor(), 0);
  ASSERT_OK_AND_ASSIGN(pb::Payout po, PayoutOf(6000, "po-1"));
  EXPECT_FALSE(po.processor_reference().empty());
  auto too_much = PayoutOf(3001, "po-2");
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(too_much.status()), "INSUFFICIENT_AVAILABLE_BALANCE");
  ASSERT_OK(PayoutOf(3000, "po-3").status());
  EXPECT_EQ(Balance().available_minor(), 0);
  EXPECT_EQ(Balance().paid_out_minor(), 9000);
  // Confirming twice under a new request id is a state error.
  pb::ConfirmDeliveryRequest again;
  again.set_request_id("confirm-again");
  again.set_payment_id(p.payment_id());
  auto second = service_->ConfirmDelivery(Buyer(), again);
  EXPECT_EQ(ReasonOf(second.status()), "PAYMENT_NOT_HELD");
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, PayoutAfterAProcessorOutageCompletesOnTheRetry) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());
  processor.outages = 1;
  pb::CreatePayoutRequest req;
  req.set_request_id("po-1");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(4000);
  EXPECT_EQ(service.CreatePayout(Seller(), req).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Balance().available_minor(), 5000) << "reserved while the processor is asked";
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'PENDING'"), 1);
  ASSERT_OK_AND_ASSIGN(pb::Payout done, service.CreatePayout(Seller(), req));
  EXPECT_FALSE(done.processor_reference().empty());
  ASSERT_OK_AND_ASSIGN(pb::Payout replay, service.CreatePayout(Seller(), req));
  EXPECT_EQ(replay.processor_reference(), done.processor_reference());
  EXPECT_EQ(processor.payout_calls.load(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'PAID'"), 1);
  EXPECT_EQ(Balance().paid_out_minor(), 4000);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, PayoutRefusedByTheProcessorReturnsTheMoneyOnce) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());
  processor.decline = true;
  pb::CreatePayoutRequest req;
  req.set_request_id("po-1");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(4000);
  auto first = service.CreatePayout(Seller(), req);
  EXPECT_EQ(ReasonOf(first.status()), "PAYOUT_DECLINED");
  auto again = service.CreatePayout(Seller(), req);
  EXPECT_EQ(ReasonOf(again.status()), "PAYOUT_DECLINED");
  EXPECT_EQ(Balance().available_minor(), 9000);
  EXPECT_EQ(Balance().paid_out_minor(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'payout'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payouts WHERE state = 'FAILED'"), 1);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, ListPayoutsShowsEachPayoutsProcessorStateNewestFirst) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());
  auto payout = [&](int64_t minor, const std::string& request_id) {
    clock_.Advance(absl::Seconds(1));
    pb::CreatePayoutRequest req;
    req.set_request_id(request_id);
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(minor);
    return service.CreatePayout(Seller(), req);
  };
  ASSERT_OK_AND_ASSIGN(pb::Payout paid, payout(1000, "po-1"));
  EXPECT_EQ(paid.state(), pb::PAYOUT_PAID);
  processor.decline = true;
  EXPECT_EQ(ReasonOf(payout(2000, "po-2").status()), "PAYOUT_DECLINED");
  processor.decline = false;
  processor.outages = 1;
  EXPECT_EQ(payout(500, "po-3").status().code(), absl::StatusCode::kUnavailable);
  ASSERT_OK(payout(100, "po-4").status());

  auto list = [&](const Actor& actor, const std::string& seller, int size,
                  const std::string& token) {
    pb::ListPayoutsRequest req;
    req.set_seller_id(seller);
    req.set_page_size(size);
    req.set_page_token(token);
    return service.ListPayouts(actor, req);
  };
  ASSERT_OK_AND_ASSIGN(pb::ListPayoutsResponse first, list(Seller(), "5e11e700000000000000000000000001", 2, ""));
  ASSERT_EQ(first.payouts_size(), 2);
  EXPECT_EQ(first.payouts(0).amount().amount_minor(), 100);
  EXPECT_EQ(first.payouts(0).state(), pb::PAYOUT_PAID);
  EXPECT_FALSE(first.payouts(0).processor_reference().empty());
  EXPECT_EQ(first.payouts(1).amount().amount_minor(), 500);
  EXPECT_EQ(first.payouts(1).state(), pb::PAYOUT_PENDING);
  ASSERT_FALSE(first.next_page_token().empty());
  ASSERT_OK_AND_ASSIGN(pb::ListPayoutsResponse second,
                       list(Staff(), "5e11e700000000000000000000000001", 2, first.next_page_token()));
  ASSERT_EQ(second.payouts_size(), 2);
  EXPECT_EQ(second.payouts(0).amount().amount_minor(), 2000);
  EXPECT_EQ(second.payouts(0).state(), pb::PAYOUT_FAILED);
  EXPECT_EQ(second.payouts(1).payout_id(), paid.payout_id());
  EXPECT_EQ(second.payouts(1).state(), pb::PAYOUT_PAID);
  EXPECT_TRUE(second.next_page_token().empty());

  EXPECT_EQ(list(Seller("5e11e700000000000000000000000002"), "5e11e700000000000000000000000001", 2, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(list(Buyer(), "5e11e700000000000000000000000001", 2, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  auto wrong_token = list(Staff(), "5e11e700000000000000000000000002", 2, first.next_page_token());
  ASSERT_EQ(wrong_token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_token.status().message().find("page_token"), std::string::npos);
  auto bad = list(Staff(), "", 101, "");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("seller_id"), std::string::npos);
  EXPECT_NE(bad.status().message().find("page_size"), std::string::npos);
}

TEST_F(EscrowServiceTest, PartialAndFullRefundsBeforeRelease) {
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK_AND_ASSIGN(pb::Payment r1, RefundOf(p.payment_id(), 3000, "r1"));
  EXPECT_EQ(r1.state(), pb::HELD);
  EXPECT_EQ(r1.refunded().amount_minor(), 3000);
  auto over = RefundOf(p.payment_id(), 7001, "r2");
  EXPECT_EQ(ReasonOf(over.status()), "REFUND_EXCEEDS_REMAINING");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund'"), 1);
  ASSERT_OK_AND_ASSIGN(pb::Payment r3, RefundOf(p.payment_id(), 7000, "r3"));
  EXPECT_EQ(r3.state(), pb::REFUNDED);
  pb::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  ASSERT_OK_AND_ASSIGN(pb::Payment seen, service_->GetPayment(Buyer(), get));
  ASSERT_EQ(seen.refunds_size(), 2) << "the refused one (over the remaining) was never recorded";
  EXPECT_EQ(seen.refunds(0).amount().amount_minor() + seen.refunds(1).amount().amount_minor(),
            10000);
  for (const pb::Refund& r : seen.refunds()) {
    EXPECT_EQ(r.state(), pb::REFUND_DONE);
    EXPECT_EQ(r.refund_id().rfind("refund_", 0), 0u) << r.refund_id();
  }
  EXPECT_EQ(Balance().pending_minor(), 0);
  auto after = RefundOf(p.payment_id(), 1, "r4");
  EXPECT_EQ(ReasonOf(after.status()), "PAYMENT_REFUNDED");
  ExpectConsistent();
}

// A refund after release comes from the seller's available balance as far as it goes; staff
// (or support) refund the rest, which the platform's guarantee fund carries: no seller debt.
TEST_F(EscrowServiceTest, StaffRefundAfterPayoutIsCarriedByTheGuaranteeFund) {
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());
  ASSERT_OK(PayoutOf(9000, "po-all").status());
  ASSERT_OK_AND_ASSIGN(pb::Payment r, RefundOf(p.payment_id(), 5000, "r1"));
  EXPECT_EQ(r.state(), pb::RELEASED);
  EXPECT_EQ(r.commission().amount_minor(), 500);
  EXPECT_EQ(r.seller_net().amount_minor(), 9000);  // the seller paid nothing back
  EXPECT_EQ(r.guaranteed().amount_minor(), 4500);
  EXPECT_EQ(Balance().debt_minor(), 0);
  EXPECT_EQ(Balance().available_minor(), 0);
  ASSERT_OK_AND_ASSIGN(pb::Payment full, RefundOf(p.payment_id(), 5000, "r2"));
  EXPECT_EQ(full.state(), pb::REFUNDED);
  EXPECT_EQ(full.commission().amount_minor(), 0);
  EXPECT_EQ(full.guaranteed().amount_minor(), 9000);
  EXPECT_EQ(Balance().debt_minor(), 0);
  // The next release is the seller's in full.
  pb::Payment p2 = MustCreate("order-2", 20000);
  ASSERT_OK(Confirm(p2.payment_id()).status());
  EXPECT_EQ(Balance().available_minor(), 18000);
  ASSERT_OK_AND_ASSIGN(pb::VerifyLedgerResponse v, service_->VerifyLedger());
  EXPECT_TRUE(v.consistent()) << v.DebugString();
  std::map<std::string, int64_t> totals;
  for (const auto& t : v.totals()) totals[t.account_kind()] = t.balance().amount_minor();
  EXPECT_EQ(totals["guarantee_fund"], -9000);
  EXPECT_EQ(totals["refunds_out"], 10000);
}

// A seller may refund a HELD payment, or a RELEASED one up to its available balance; beyond
// that it is refused (nothing written) and only staff or support may refund it.
TEST_F(EscrowServiceTest, SellerRefundsAReleasedPaymentOnlyUpToItsAvailableBalance) {
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());
  ASSERT_OK(PayoutOf(8000, "po-1").status());  // 1000 left available
  // 2000 back would take 1800 from the seller (200 is commission): more than it has.
  auto refused = RefundOf(p.payment_id(), 2000, "s1", Seller());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(refused.status()), "REFUND_EXCEEDS_SELLER_BALANCE");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund'"), 0);
  EXPECT_EQ(Balance().available_minor(), 1000);
  // Within the balance it goes through, from the seller's money only.
  ASSERT_OK_AND_ASSIGN(pb::Payment r, RefundOf(p.payment_id(), 1000, "s2", Seller()));
  EXPECT_EQ(r.guaranteed().amount_minor(), 0);
  EXPECT_EQ(Balance().available_minor(), 100);
  // Staff may refund beyond it: the guarantee fund carries what the seller cannot.
  ASSERT_OK_AND_ASSIGN(pb::Payment staff, RefundOf(p.payment_id(), 5000, "st1"));
  EXPECT_EQ(staff.guaranteed().amount_minor(), 4500 - 100);
  EXPECT_EQ(Balance().available_minor(), 0);
  EXPECT_EQ(Balance().debt_minor(), 0);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, SellerRefundsOnlyItsOwnSale) {
  pb::Payment p = MustCreate("order-1", 10000);
  pb::Payment other = MustCreate("order-2", 10000, "5e11e700000000000000000000000002");
  ASSERT_OK(RefundOf(p.payment_id(), 100, "s1", Seller("5e11e700000000000000000000000001")).status());
  auto denied = RefundOf(other.payment_id(), 100, "s2", Seller("5e11e700000000000000000000000001"));
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kNotFound);
  pb::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  EXPECT_EQ(service_->GetPayment(Buyer("b0b0b000000000000000000000000002"), get).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EscrowServiceTest, DisputeFreezesAndEachOutcomeSettles) {
  struct Case {
    pb::DisputeOutcome outcome;
    std::optional<int64_t> share;
    pb::PaymentState state;
    int64_t refunded, seller_net, commission, guaranteed;
  };
  const Case cases[] = {
      {pb::BUYER_WINS, std::nullopt, pb::REFUNDED, 10000, 0, 0, 0},
      {pb::SELLER_WINS, std::nullopt, pb::RELEASED, 0, 9000, 1000, 0},
      {pb::SPLIT, 4000, pb::RELEASED, 4000, 5400, 600, 0},
      {pb::PLATFORM_GUARANTEE, std::nullopt, pb::GUARANTEED, 10000, 9000, 1000, 10000},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(pb::DisputeOutcome_Name(c.outcome));
    pb::Payment p = MustCreate(absl::StrCat("order-", ++n), 10000);
    ASSERT_OK_AND_ASSIGN(pb::Payment d, Dispute(p.payment_id()));
    EXPECT_EQ(d.state(), pb::DISPUTED);
    EXPECT_EQ(ReasonOf(Confirm(p.payment_id()).status()), "PAYMENT_DISPUTED");
    EXPECT_EQ(ReasonOf(RefundOf(p.payment_id(), 1, absl::StrCat("rf", n)).status()),
              "PAYMENT_DISPUTED");
    ASSERT_OK_AND_ASSIGN(pb::Payment r, ResolveAs(p.payment_id(), c.outcome, c.share));
    EXPECT_EQ(r.state(), c.state);
    EXPECT_EQ(r.refunded().amount_minor(), c.refunded);
    EXPECT_EQ(r.seller_net().amount_minor(), c.seller_net);
    EXPECT_EQ(r.commission().amount_minor(), c.commission);
    EXPECT_EQ(r.guaranteed().amount_minor(), c.guaranteed);
    EXPECT_EQ(ReasonOf(ResolveAs(p.payment_id(), c.outcome, c.share).status()), "")
        << "the replay returns the first result";
    pb::GetPaymentRequest get;
    get.set_payment_id(p.payment_id());
    ASSERT_OK_AND_ASSIGN(pb::Payment seen, service_->GetPayment(Staff(), get));
    if (c.refunded == 0) {
      EXPECT_EQ(seen.refunds_size(), 0);
    } else {
      ASSERT_EQ(seen.refunds_size(), 1) << "the buyer's share goes through the processor once";
      EXPECT_EQ(seen.refunds(0).amount().amount_minor(), c.refunded);
      EXPECT_EQ(seen.refunds(0).state(), pb::REFUND_DONE);
      EXPECT_FALSE(seen.refunds(0).processor_reference().empty());
    }
    ExpectConsistent();
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                  "'payments.dispute_resolved'"),
            4);
}

TEST_F(EscrowServiceTest, SplitOutOfRangeAndMissingShareWriteNothing) {
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Dispute(p.payment_id()).status());
  EXPECT_EQ(ReasonOf(ResolveAs(p.payment_id(), pb::SPLIT, 10000).status()), "SPLIT_OUT_OF_RANGE");
  pb::ResolveDisputeRequest req;
  req.set_request_id("resolve-x");
  req.set_payment_id(p.payment_id());
  req.set_outcome(pb::SPLIT);
  req.set_explanation("x");
  EXPECT_EQ(service_->ResolveDispute(Staff(), req).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = "
                  "'dispute_resolution'"),
            0);
}

TEST_F(EscrowServiceTest, DeclinesHoldNothingAndReplayTheDecline) {
  for (auto [token, code] : std::vector<std::pair<std::string, std::string>>{
           {"tok_sandbox_decline", "DECLINED"},
           {"tok_sandbox_insufficient_funds", "INSUFFICIENT_FUNDS"},
           {"tok_unknown", "INVALID_PAYMENT_METHOD"}}) {
    auto req = CreateRequest("order-" + token, 5000, "5e11e700000000000000000000000001", token);
    auto r = service_->CreatePayment(CheckoutCaller(), req);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ReasonOf(r.status()), "PAYMENT_DECLINED");
    EXPECT_EQ(DeclineCodeOf(r.status()), code);
    auto again = service_->CreatePayment(CheckoutCaller(), req);
    EXPECT_EQ(DeclineCodeOf(again.status()), code);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_entries"), 0);
}

TEST_F(EscrowServiceTest, ProcessorFailureIsUnavailableAndNotRemembered) {
  auto req = CreateRequest("order-1", 5000, "5e11e700000000000000000000000001", "tok_sandbox_processor_error");
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), req).status().code(),
            absl::StatusCode::kUnavailable);
  auto timeout = CreateRequest("order-2", 5000, "5e11e700000000000000000000000001", "tok_sandbox_timeout");
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), timeout).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM idempotency_keys"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
}

TEST_F(EscrowServiceTest, SellerMustBeApprovedAndKnown) {
  auto pending = service_->CreatePayment(CheckoutCaller(), CreateRequest("o1", 100, "5e11e7000000000000000000000000ff"));
  EXPECT_EQ(ReasonOf(pending.status()), "SELLER_NOT_APPROVED");
  auto unknown = service_->CreatePayment(CheckoutCaller(), CreateRequest("o2", 100, "0000000000000000000000000000dead"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(unknown.status()), "SELLER_NOT_FOUND");
  sellers_.SetUnavailable(true);
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), CreateRequest("o3", 100)).status().code(),
            absl::StatusCode::kUnavailable);
  sellers_.SetUnavailable(false);
  // A suspended seller cannot be paid out.
  MustCreate("o4", 1000);
  sellers_.Set("5e11e700000000000000000000000001", false);
  EXPECT_EQ(ReasonOf(PayoutOf(1, "po").status()), "SELLER_NOT_APPROVED");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 1);
}

TEST_F(EscrowServiceTest, BadInputsNameTheFieldAndWriteNothing) {
  auto zero = CreateRequest("o1", 0);
  auto r = service_->CreatePayment(CheckoutCaller(), zero);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(common::FieldViolationsOf(r.status())[0].field, "amount.amount_minor");
  auto negative = CreateRequest("o2", -5);
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), negative).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto currency = CreateRequest("o3", 100);
  currency.mutable_amount()->set_currency_code("XXX");
  auto c = service_->CreatePayment(CheckoutCaller(), currency);
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(common::FieldViolationsOf(c.status())[0].field, "amount.currency_code");
  auto no_request_id = CreateRequest("o4", 100);
  no_request_id.set_request_id("");
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), no_request_id).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto commission = CreateRequest("o5", 100);
  commission.set_commission_bps(10001);
  EXPECT_EQ(service_->CreatePayment(CheckoutCaller(), commission).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto buyer_commission = CreateRequest("o6", 100);
  buyer_commission.set_commission_bps(0);
  absl::Status buyer_set = service_->CreatePayment(Buyer(), buyer_commission).status();
  EXPECT_EQ(buyer_set.code(), absl::StatusCode::kPermissionDenied);
  // Only SERVICE with payments.checkout may set it (ADMIN cannot call CreatePayment at all).
  EXPECT_NE(buyer_set.message().find("SERVICE callers with payments.checkout"),
            absl::string_view::npos)
      << buyer_set.message();
  auto other_buyer = CreateRequest("o7", 100);
  EXPECT_EQ(service_->CreatePayment(Buyer("b0b0b000000000000000000000000002"), other_buyer).status().code(),
            absl::StatusCode::kPermissionDenied);

  pb::Payment p = MustCreate("o8", 1000);
  pb::RefundPaymentRequest usd;
  usd.set_request_id("usd");
  usd.set_payment_id(p.payment_id());
  usd.mutable_amount()->set_currency_code("USD");
  usd.mutable_amount()->set_amount_minor(10);
  usd.set_reason("x");
  EXPECT_EQ(ReasonOf(service_->RefundPayment(Staff(), usd).status()), "CURRENCY_MISMATCH");
  EXPECT_EQ(RefundOf("pay_000000000000000000000000", 1, "missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(PayoutOf(0, "po0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions"), 1);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, ReplayReturnsFirstResultAndDifferentBodyIsRefused) {
  auto req = CreateRequest("order-1", 10000);
  ASSERT_OK_AND_ASSIGN(pb::Payment first, service_->CreatePayment(CheckoutCaller(), req));
  ASSERT_OK_AND_ASSIGN(pb::Payment second, service_->CreatePayment(CheckoutCaller(), req));
  EXPECT_EQ(first.payment_id(), second.payment_id());
  auto changed = req;
  changed.mutable_amount()->set_amount_minor(9999);
  auto refused = service_->CreatePayment(CheckoutCaller(), changed);
  EXPECT_EQ(ReasonOf(refused.status()), "REQUEST_ID_REUSED");
  // Another request id for the same order.
  auto twin = req;
  twin.set_request_id("another");
  auto dup = service_->CreatePayment(CheckoutCaller(), twin);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(dup.status()), "ORDER_ALREADY_PAID");
  // A refund replayed does not refund twice.
  ASSERT_OK(RefundOf(first.payment_id(), 1000, "r1").status());
  ASSERT_OK_AND_ASSIGN(pb::Payment replay, RefundOf(first.payment_id(), 1000, "r1"));
  EXPECT_EQ(replay.refunded().amount_minor(), 1000);
  // An error after the work began is replayed even when the call would now succeed.
  ASSERT_OK(Dispute(first.payment_id()).status());
  pb::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("c1");
  confirm.set_payment_id(first.payment_id());
  EXPECT_EQ(ReasonOf(service_->ConfirmDelivery(Buyer(), confirm).status()), "PAYMENT_DISPUTED");
  ASSERT_OK(ResolveAs(first.payment_id(), pb::SELLER_WINS).status());
  EXPECT_EQ(ReasonOf(service_->ConfirmDelivery(Buyer(), confirm).status()), "PAYMENT_DISPUTED");
  ExpectConsistent();
}

// Two requests for one order both pass the first read; the second to be written was charged
// for an order the first paid: ORDER_ALREADY_PAID, and its capture goes back to the buyer.
TEST_F(EscrowServiceTest, ARequestThatLosesTheRaceForItsOrderGivesItsCaptureBack) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::CreatePaymentRequest first = CreateRequest("order-race", 4200);
  pb::CreatePaymentRequest second = first;
  second.set_request_id("create-order-race-again");
  absl::StatusOr<pb::Payment> paid = absl::UnknownError("not run");
  // While the second request is at the processor, the first one pays the order.
  processor.before_capture = [&] { paid = service.CreatePayment(CheckoutCaller(), first); };
  absl::StatusOr<pb::Payment> lost = service.CreatePayment(CheckoutCaller(), second);
  ASSERT_OK(paid.status());
  EXPECT_EQ(ReasonOf(lost.status()), "ORDER_ALREADY_PAID");
  EXPECT_EQ(processor.refund_calls.load(), 1);
  EXPECT_EQ(processor.refunded_minor.load(), 4200);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE kind = 'REFUND' AND "
                  "payment_id IS NULL AND state = 'DONE' AND amount_minor = 4200"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 1);
  // The retry answers the same and gives nothing back twice.
  absl::StatusOr<pb::Payment> again = service.CreatePayment(CheckoutCaller(), second);
  EXPECT_EQ(ReasonOf(again.status()), "ORDER_ALREADY_PAID");
  EXPECT_EQ(processor.refund_calls.load(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations"), 1);
  // The ledger: 4200 in for the payment, 4200 in and straight out for the returned capture.
  ASSERT_OK_AND_ASSIGN(pb::VerifyLedgerResponse v, service.VerifyLedger());
  EXPECT_TRUE(v.consistent()) << v.DebugString();
  std::map<std::string, int64_t> totals;
  for (const auto& t : v.totals()) totals[t.account_kind()] = t.balance().amount_minor();
  EXPECT_EQ(totals["buyer_funding"], -8400);
  EXPECT_EQ(totals["refunds_out"], 4200);
  EXPECT_EQ(totals["escrow"], 4200);
}

// The capture succeeded at the processor but its answer was lost: nothing was committed. A
// retry with the same request_id and another amount, seller or order is refused, even though
// no payment and no answer exist; the same request goes through with the first capture.
TEST_F(EscrowServiceTest, RetryWithAnotherPayloadAfterAnUncommittedCaptureIsRequestIdReused) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::CreatePaymentRequest req = CreateRequest("order-1", 10000);
  processor.lose_capture_answers = 1;
  EXPECT_EQ(service.CreatePayment(CheckoutCaller(), req).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
  pb::CreatePaymentRequest more = req;
  more.mutable_amount()->set_amount_minor(999999);
  pb::CreatePaymentRequest other_seller = req;
  other_seller.set_seller_id("5e11e700000000000000000000000002");
  pb::CreatePaymentRequest other_order = req;
  other_order.set_order_id("order-2");
  for (const pb::CreatePaymentRequest& changed : {more, other_seller, other_order}) {
    absl::StatusOr<pb::Payment> reused = service.CreatePayment(CheckoutCaller(), changed);
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kFailedPrecondition) << reused.status();
    EXPECT_EQ(ReasonOf(reused.status()), "REQUEST_ID_REUSED");
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
  ASSERT_OK_AND_ASSIGN(pb::Payment p, service.CreatePayment(CheckoutCaller(), req));
  EXPECT_EQ(p.amount().amount_minor(), 10000);
  EXPECT_EQ(p.order_id(), "order-1");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 1);
  // Committed: the worker leaves it alone, however late it looks.
  clock_.Advance(absl::Hours(26));
  ASSERT_OK_AND_ASSIGN(int refunded, service.RefundAbandonedCaptures());
  EXPECT_EQ(refunded, 0);
  // The worker's pass moved the closed intent out of its claim's range (next_check_at at the
  // end of time), so no later claim walks over it again.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_intents WHERE next_check_at < "
                  "'9999-12-31'"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_intents"), 1);
  EXPECT_EQ(processor.refund_calls.load(), 0);
  ASSERT_OK_AND_ASSIGN(pb::VerifyLedgerResponse v, service.VerifyLedger());
  EXPECT_TRUE(v.consistent()) << v.DebugString();
}

// A capture whose payment never commits (the answer lost, the client gone) is refunded by the
// completion worker once the intent window (longer than the client's 24 h) has passed, once;
// a late retry of the request is told so and charges nothing more.
TEST_F(EscrowServiceTest, CaptureWhosePaymentNeverCommitsIsRefundedAfterTheWindow) {
  ScriptedProcessor processor;
  TestPayments service(&pool(), &processor, &sellers_, &clock_);
  pb::CreatePaymentRequest req = CreateRequest("order-1", 4200);
  processor.lose_capture_answers = 1;
  EXPECT_EQ(service.CreatePayment(CheckoutCaller(), req).status().code(),
            absl::StatusCode::kUnavailable);
  // Within the window a retry could still come: nothing is refunded.
  clock_.Advance(absl::Hours(24));
  ASSERT_OK_AND_ASSIGN(int early, service.RefundAbandonedCaptures());
  EXPECT_EQ(early, 0);
  EXPECT_EQ(processor.refund_calls.load(), 0);
  clock_.Advance(absl::Hours(1) + absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(int refunded, service.RefundAbandonedCaptures());
  EXPECT_EQ(refunded, 1);
  EXPECT_EQ(processor.refund_calls.load(), 1);
  EXPECT_EQ(processor.refunded_minor.load(), 4200);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM processor_operations WHERE kind = 'REFUND' AND "
                  "payment_id IS NULL AND state = 'DONE' AND amount_minor = 4200"),
            1);
  ASSERT_OK_AND_ASSIGN(int again, service.RefundAbandonedCaptures());
  EXPECT_EQ(again, 0);
  // Closed REFUNDED by the first pass (under its lease: next_check_at 2 minutes ahead), the
  // intent leaves the worker's range in the first pass after the lease.
  clock_.Advance(absl::Minutes(3));
  ASSERT_OK(service.RefundAbandonedCaptures().status());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_intents WHERE next_check_at < "
                  "'9999-12-31'"),
            0);
  absl::StatusOr<pb::Payment> late = service.CreatePayment(CheckoutCaller(), req);
  EXPECT_EQ(ReasonOf(late.status()), "PAYMENT_ABANDONED") << late.status();
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
  EXPECT_EQ(processor.refund_calls.load(), 1);
  ASSERT_OK_AND_ASSIGN(pb::VerifyLedgerResponse v, service.VerifyLedger());
  EXPECT_TRUE(v.consistent()) << v.DebugString();
  std::map<std::string, int64_t> totals;
  for (const auto& t : v.totals()) totals[t.account_kind()] = t.balance().amount_minor();
  EXPECT_EQ(totals["buyer_funding"], -4200);
  EXPECT_EQ(totals["refunds_out"], 4200);
}

// A late retry committing its payment and the worker refunding the same capture, at the same
// time: exactly one of them wins, never both and never neither.
TEST_F(EscrowServiceTest, LateRetryAndIntentRefundRacingEndInOnePaymentOrOneRefund) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(8));
  for (int round = 0; round < 6; ++round) {
    ScriptedProcessor processor;
    TestPayments service(pool2.get(), &processor, &sellers_, &clock_);
    pb::CreatePaymentRequest req = CreateRequest(absl::StrCat("order-race-", round), 1000);
    processor.lose_capture_answers = 1;
    ASSERT_EQ(service.CreatePayment(CheckoutCaller(), req).status().code(),
              absl::StatusCode::kUnavailable);
    clock_.Advance(absl::Hours(26));
    absl::StatusOr<pb::Payment> retried = absl::UnknownError("not run");
    absl::StatusOr<int> refunded = absl::UnknownError("not run");
    std::thread client([&] { retried = service.CreatePayment(CheckoutCaller(), req); });
    std::thread worker([&] { refunded = service.RefundAbandonedCaptures(); });
    client.join();
    worker.join();
    ASSERT_OK(refunded.status());
    const int64_t payments = Count(absl::StrCat(
        "SELECT COUNT(*) AS n FROM payments WHERE order_id = 'order-race-", round, "'"));
    EXPECT_EQ(payments + *refunded, 1) << "round " << round;
    if (retried.ok()) {
      EXPECT_EQ(payments, 1);
    } else {
      EXPECT_EQ(ReasonOf(retried.status()), "PAYMENT_ABANDONED") << retried.status();
    }
    EXPECT_EQ(processor.refund_calls.load(), *refunded);
  }
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, FiftyParallelIdenticalCreatesMakeOnePaymentAndOneCapture) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(50));
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_);
  auto req = CreateRequest("order-1", 10000);
  std::vector<absl::StatusOr<pb::Payment>> results(50, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] { results[i] = service.CreatePayment(CheckoutCaller(), req); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_OK(r.status());
    EXPECT_EQ(r->payment_id(), results[0]->payment_id());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'capture'"), 1);
  ExpectConsistent();
}

// Concurrent CreatePayment and ConfirmDelivery calls are written in shared transactions (group
// commit); each call still gets its own answer, and a refused or repeated call in a batch does
// not fail the others.
TEST_F(EscrowServiceTest, GroupCommitAnswersEachCallOfABatchOnItsOwn) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(24));
  PaymentsOptions options;
  options.write_batch_max = 8;
  options.write_batches_in_flight = 1;  // the others queue: batches form
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_, options);

  // 16 new orders, 4 retries of the first 4 (same request), 2 new requests for paid orders.
  std::vector<pb::CreatePaymentRequest> creates;
  for (int i = 0; i < 16; ++i) {
    creates.push_back(CreateRequest(absl::StrCat("order-", i), 1000 + i,
                                    i % 2 == 0 ? "5e11e700000000000000000000000001" : "5e11e700000000000000000000000002"));
  }
  for (int i = 0; i < 4; ++i) creates.push_back(creates[i]);
  for (int i = 0; i < 2; ++i) {
    pb::CreatePaymentRequest again = creates[i];
    again.set_request_id(absl::StrCat("create-again-", i));
    creates.push_back(again);
  }
  std::vector<absl::StatusOr<pb::Payment>> created(creates.size(),
                                                   absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < creates.size(); ++i) {
      threads.emplace_back([&, i] { created[i] = service.CreatePayment(CheckoutCaller(), creates[i]); });
    }
    for (auto& t : threads) t.join();
  }
  // Orders 0 and 1 got two requests at once: one of them made the payment, the other was
  // refused; a retry answers what its first request got.
  std::vector<pb::Payment> made(16);
  for (int i = 0; i < 16; ++i) {
    const bool twice = i < 2;
    const bool first_won = created[i].ok();
    if (twice) {
      ASSERT_NE(first_won, created[20 + i].ok()) << i;
      EXPECT_EQ(ReasonOf((first_won ? created[20 + i] : created[i]).status()),
                "ORDER_ALREADY_PAID");
    } else {
      ASSERT_OK(created[i].status());
    }
    made[i] = first_won ? *created[i] : *created[20 + i];
    EXPECT_EQ(made[i].amount().amount_minor(), 1000 + i);
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(created[16 + i].status(), created[i].status());
    if (created[i].ok()) {
      ASSERT_OK(created[16 + i].status());
      EXPECT_EQ(created[16 + i]->payment_id(), created[i]->payment_id());
    }
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 16);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'capture'"), 16);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events"), 16);

  // Confirmations: 12 by the buyer, one by another buyer, one of an unknown payment, a second
  // request for an already confirmed payment, and retries of the first 2.
  struct Call {
    Actor actor;
    std::string request_id;
    std::string payment_id;
  };
  std::vector<Call> calls;
  for (int i = 0; i < 12; ++i) {
    calls.push_back({Buyer(), absl::StrCat("confirm-", i), made[i].payment_id()});
  }
  calls.push_back({Buyer("b0b0b000000000000000000000000002"), "confirm-stranger", made[12].payment_id()});
  calls.push_back({Buyer(), "confirm-unknown", "pay_00000000000000000000ffff"});
  calls.push_back({Buyer(), "confirm-second", made[0].payment_id()});
  calls.push_back(calls[0]);
  calls.push_back(calls[1]);
  std::vector<absl::StatusOr<pb::Payment>> confirmed(calls.size(),
                                                     absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < calls.size(); ++i) {
      threads.emplace_back([&, i] {
        pb::ConfirmDeliveryRequest req;
        req.set_request_id(calls[i].request_id);
        req.set_payment_id(calls[i].payment_id);
        confirmed[i] = service.ConfirmDelivery(calls[i].actor, req);
      });
    }
    for (auto& t : threads) t.join();
  }
  // Payment 0 got two requests at once: one released it, the other found it released.
  ASSERT_NE(confirmed[0].ok(), confirmed[14].ok());
  EXPECT_EQ(ReasonOf((confirmed[0].ok() ? confirmed[14] : confirmed[0]).status()),
            "PAYMENT_NOT_HELD");
  EXPECT_EQ((confirmed[0].ok() ? confirmed[0] : confirmed[14])->state(), pb::RELEASED);
  for (int i = 1; i < 12; ++i) {
    ASSERT_OK(confirmed[i].status());
    EXPECT_EQ(confirmed[i]->state(), pb::RELEASED);
  }
  EXPECT_EQ(confirmed[12].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(confirmed[13].status().code(), absl::StatusCode::kNotFound);
  // Retries answer what their first request got.
  EXPECT_EQ(confirmed[15].status(), confirmed[0].status());
  if (confirmed[0].ok()) {
    ASSERT_OK(confirmed[15].status());
    EXPECT_EQ(confirmed[15]->payment_id(), confirmed[0]->payment_id());
  }
  ASSERT_OK(confirmed[16].status());
  EXPECT_EQ(confirmed[16]->payment_id(), confirmed[1]->payment_id());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'release'"), 12);

  // Every payment made went through the group commit (a retry may find its stored result
  // before); seller-1 had orders 0, 2, ... 14.
  EXPECT_GE(service.CreateBatchTotals().second, 16);
  EXPECT_GE(service.ConfirmBatchTotals().second, 12);
  int64_t net_1 = 0, escrow_1 = 0;
  for (int i = 0; i < 16; i += 2) {
    const int64_t amount = 1000 + i;
    if (i < 12) {
      net_1 += amount - (amount * 1000 + 5000) / 10000;
    } else {
      escrow_1 += amount;
    }
  }
  EXPECT_EQ(Balance("5e11e700000000000000000000000001").available_minor(), net_1);
  EXPECT_EQ(Balance("5e11e700000000000000000000000001").pending_minor(), escrow_1);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, ParallelRefundsNeverExceedThePayment) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(16));
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_);
  pb::Payment held = MustCreate("order-held", 10000);
  pb::Payment released = MustCreate("order-released", 10000);
  ASSERT_OK(Confirm(released.payment_id()).status());
  for (const pb::Payment* p : {&held, &released}) {
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&, i] {
        pb::RefundPaymentRequest req;
        req.set_request_id(absl::StrCat("r-", p->payment_id(), "-", i));
        req.set_payment_id(p->payment_id());
        *req.mutable_amount() = Eur(1500);
        req.set_reason("parallel");
        auto r = service.RefundPayment(Staff(), req);
        if (r.ok()) {
          ++ok;
        } else {
          EXPECT_EQ(ReasonOf(r.status()), "REFUND_EXCEEDS_REMAINING") << r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 6);  // 6 x 1500 <= 10000 < 7 x 1500
    EXPECT_EQ(*(*pool().Query("SELECT refunded_minor AS n FROM payments WHERE payment_id = ?",
                              {p->payment_id()}))[0]
                   .GetInt64("n"),
              9000);
  }
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, ParallelPayoutsNeverExceedAvailable) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(16));
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_);
  pb::Payment p = MustCreate("order-1", 10000);
  ASSERT_OK(Confirm(p.payment_id()).status());  // 9000 available
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      pb::CreatePayoutRequest req;
      req.set_request_id(absl::StrCat("po-", i));
      req.set_seller_id("5e11e700000000000000000000000001");
      *req.mutable_amount() = Eur(2000);
      auto r = service.CreatePayout(Seller(), req);
      if (r.ok()) {
        ++ok;
      } else {
        EXPECT_EQ(ReasonOf(r.status()), "INSUFFICIENT_AVAILABLE_BALANCE") << r.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(Balance().available_minor(), 1000);
  EXPECT_EQ(Balance().paid_out_minor(), 8000);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, AutoReleaseByTwoWorkersReleasesEachOnceAndSkipsDisputes) {
  ASSERT_OK_AND_ASSIGN(auto pool_a, NewPool(4));
  ASSERT_OK_AND_ASSIGN(auto pool_b, NewPool(4));
  TestPayments worker_a(pool_a.get(), &processor_, &sellers_, &clock_);
  TestPayments worker_b(pool_b.get(), &processor_, &sellers_, &clock_);
  std::vector<pb::Payment> payments;
  for (int i = 0; i < 30; ++i) payments.push_back(MustCreate(absl::StrCat("o", i), 1000));
  ASSERT_OK(Dispute(payments[0].payment_id()).status());
  ASSERT_OK_AND_ASSIGN(int early, worker_a.ReleaseDuePayments(50));
  EXPECT_EQ(early, 0) << "nothing is due before the hold period";
  clock_.Advance(absl::Hours(14 * 24) + absl::Seconds(1));
  std::atomic<int> released{0};
  auto run = [&released](TestPayments* w) {
    for (int round = 0; round < 10; ++round) {
      auto n = w->ReleaseDuePayments(5);
      EXPECT_OK(n.status());
      if (n.ok()) released += *n;
    }
  };
  std::thread a(run, &worker_a);
  std::thread b(run, &worker_b);
  a.join();
  b.join();
  EXPECT_EQ(released.load(), 29);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'release'"), 29);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments WHERE state = 'DISPUTED'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_events WHERE type = 'AUTO_RELEASED'"), 29);
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, HoldPolicyAppliesToNewPayments) {
  pb::SetSellerHoldPolicyRequest req;
  req.set_seller_id("5e11e700000000000000000000000001");
  req.mutable_hold_period()->set_seconds(3 * 24 * 3600);
  req.set_reason("seller health GOOD");
  ASSERT_OK_AND_ASSIGN(pb::SellerHoldPolicy policy, service_->SetSellerHoldPolicy(Staff(), req));
  EXPECT_EQ(policy.updated_by(), "agent-1");
  pb::Payment p = MustCreate("order-1", 100);
  EXPECT_EQ(p.release_due_at().seconds() - p.created_at().seconds(), 3 * 24 * 3600);
  req.mutable_hold_period()->set_seconds(60);
  EXPECT_EQ(service_->SetSellerHoldPolicy(Staff(), req).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EscrowServiceTest, GetSellerHoldPolicyReadsTheStoredPolicyOrTheDefault) {
  pb::GetSellerHoldPolicyRequest get;
  get.set_seller_id("5e11e700000000000000000000000001");
  // None stored: the platform default, without author or time.
  ASSERT_OK_AND_ASSIGN(pb::SellerHoldPolicy fresh, service_->GetSellerHoldPolicy(Staff(), get));
  EXPECT_EQ(fresh.seller_id(), "5e11e700000000000000000000000001");
  EXPECT_EQ(fresh.hold_period().seconds(), 14 * 24 * 3600);
  EXPECT_EQ(fresh.reason(), "");
  EXPECT_EQ(fresh.updated_by(), "");
  EXPECT_FALSE(fresh.has_updated_at());

  pb::SetSellerHoldPolicyRequest set;
  set.set_seller_id("5e11e700000000000000000000000001");
  set.mutable_hold_period()->set_seconds(21 * 24 * 3600);
  set.set_reason("seller health AT_RISK");
  clock_.Advance(absl::Seconds(7));
  ASSERT_OK(service_->SetSellerHoldPolicy(CheckoutCaller(), set).status());
  ASSERT_OK_AND_ASSIGN(pb::SellerHoldPolicy read, service_->GetSellerHoldPolicy(Staff(), get));
  EXPECT_EQ(read.hold_period().seconds(), 21 * 24 * 3600);
  EXPECT_EQ(read.reason(), "seller health AT_RISK");
  EXPECT_EQ(read.updated_by(), "svc-checkout");
  EXPECT_EQ(read.updated_at().seconds(), absl::ToUnixSeconds(clock_.Now()));

  // Another seller keeps the default; a malformed id is named; a seller may not read it.
  get.set_seller_id("5e11e700000000000000000000000002");
  ASSERT_OK_AND_ASSIGN(pb::SellerHoldPolicy other, service_->GetSellerHoldPolicy(Staff(), get));
  EXPECT_EQ(other.hold_period().seconds(), 14 * 24 * 3600);
  get.set_seller_id("5E11E700000000000000000000000001");
  EXPECT_EQ(service_->GetSellerHoldPolicy(Staff(), get).status().code(),
            absl::StatusCode::kInvalidArgument);
  get.set_seller_id("5e11e700000000000000000000000001");
  EXPECT_EQ(service_->GetSellerHoldPolicy(Seller(), get).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(EscrowServiceTest, ListPaymentsPaginatesAndRestrictsToOwn) {
  for (int i = 0; i < 5; ++i) {
    MustCreate(absl::StrCat("o", i), 100 + i);
    clock_.Advance(absl::Seconds(1));
  }
  MustCreate("other-seller", 100, "5e11e700000000000000000000000002");
  pb::ListPaymentsRequest req;
  req.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    ASSERT_OK_AND_ASSIGN(auto r, service_->ListPayments(Seller("5e11e700000000000000000000000001"), req));
    for (const auto& p : r.payments()) {
      EXPECT_EQ(p.seller_id(), "5e11e700000000000000000000000001");
      seen.push_back(p.order_id());
    }
    if (r.next_page_token().empty()) break;
    req.set_page_token(r.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"o4", "o3", "o2", "o1", "o0"}));
  pb::ListPaymentsRequest others;
  others.set_seller_id("5e11e700000000000000000000000002");
  EXPECT_EQ(service_->ListPayments(Seller("5e11e700000000000000000000000001"), others).status().code(),
            absl::StatusCode::kPermissionDenied);
  pb::ListPaymentsRequest all;
  all.set_page_size(100);
  ASSERT_OK_AND_ASSIGN(auto staff, service_->ListPayments(Staff(), all));
  EXPECT_EQ(staff.payments_size(), 6);
}

TEST_F(EscrowServiceTest, PageTokenIsBoundToTheFiltersItWasIssuedWith) {
  for (int i = 0; i < 3; ++i) {
    MustCreate(absl::StrCat("o", i), 100 + i);
    clock_.Advance(absl::Seconds(1));
  }
  MustCreate("other", 100, "5e11e700000000000000000000000002");
  pb::ListPaymentsRequest first;
  first.set_seller_id("5e11e700000000000000000000000001");
  first.set_state(pb::HELD);
  first.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(auto page1, service_->ListPayments(Staff(), first));
  ASSERT_FALSE(page1.next_page_token().empty());
  auto field_of = [](const absl::Status& s) {
    auto v = common::FieldViolationsOf(s);
    return v.size() == 1 ? v[0].field : std::string();
  };
  // Other filters with the token: refused, naming page_token.
  for (int variant = 0; variant < 4; ++variant) {
    pb::ListPaymentsRequest next = first;
    next.set_page_token(page1.next_page_token());
    if (variant == 0) next.set_seller_id("5e11e700000000000000000000000002");
    if (variant == 1) next.clear_seller_id();
    if (variant == 2) next.set_state(pb::RELEASED);
    if (variant == 3) next.set_buyer_id("b0b0b000000000000000000000000001");
    auto r = service_->ListPayments(Staff(), next);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << variant;
    EXPECT_EQ(field_of(r.status()), "page_token") << variant;
  }
  pb::ListPaymentsRequest garbage = first;
  garbage.set_page_token("not-a-token");
  EXPECT_EQ(field_of(service_->ListPayments(Staff(), garbage).status()), "page_token");
  // The same filters (another page size is fine) continue where the first page ended.
  pb::ListPaymentsRequest next = first;
  next.set_page_size(10);
  next.set_page_token(page1.next_page_token());
  ASSERT_OK_AND_ASSIGN(auto page2, service_->ListPayments(Staff(), next));
  ASSERT_EQ(page2.payments_size(), 1);
  EXPECT_EQ(page2.payments(0).order_id(), "o0");
  EXPECT_TRUE(page2.next_page_token().empty());
  // A seller's token is bound to the seller filter the service applied for it.
  pb::ListPaymentsRequest own;
  own.set_page_size(1);
  ASSERT_OK_AND_ASSIGN(auto mine, service_->ListPayments(Seller("5e11e700000000000000000000000001"), own));
  own.set_page_token(mine.next_page_token());
  ASSERT_OK(service_->ListPayments(Seller("5e11e700000000000000000000000001"), own).status());
  EXPECT_EQ(field_of(service_->ListPayments(Seller("5e11e700000000000000000000000002"), own).status()), "page_token");
}

// A random mixed workload from several threads (8 x 300 operations on 4 sellers), each call
// sometimes retried with the same request id; afterwards the ledger verifies, and every
// payment, every seller balance and every platform account equals what the successful calls
// imply.
TEST_F(EscrowServiceTest, RandomConcurrentWorkloadKeepsTheLedgerConsistent) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(16));
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_);
  constexpr int kThreads = 8;
  constexpr int kOps = 300;
  const std::vector<std::string> kSellers = {"5e11e700000000000000000000000001", "5e11e700000000000000000000000002", "5e11e700000000000000000000000003", "5e11e700000000000000000000000004"};
  for (const std::string& s : kSellers) sellers_.Set(s, true);

  // What the successful calls said, per payment and per seller.
  struct Calls {
    std::string seller;
    int64_t amount = 0;
    int64_t refunds_ok = 0;  // explicit refunds that succeeded
    bool confirmed = false;
    std::optional<int64_t> refunded_at_open;  // OpenDispute's answer
    std::optional<pb::Payment> resolved;      // ResolveDispute's answer
  };
  absl::Mutex mu;
  std::map<std::string, Calls> calls;       // by payment id
  std::map<std::string, int64_t> paid_out;  // by seller
  std::map<std::string, int64_t> captured;  // by seller
  std::vector<std::string> payment_ids;
  std::atomic<int> retries_made{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      const std::string seller = kSellers[t % kSellers.size()];
      for (int i = 0; i < kOps; ++i) {
        const std::string rid = absl::StrCat("t", t, "-", i);
        const int retries = 1 + static_cast<int>(rng() % 2);
        retries_made += retries - 1;
        std::string pick;
        {
          absl::MutexLock lock(&mu);
          if (!payment_ids.empty()) pick = payment_ids[rng() % payment_ids.size()];
        }
        switch (rng() % 6) {
          case 0:
          case 1: {
            pb::CreatePaymentRequest req;
            req.set_request_id(rid);
            req.set_order_id(rid);
            req.set_buyer_id("b0b0b000000000000000000000000001");
            req.set_seller_id(seller);
            *req.mutable_amount() = Eur(1000 + rng() % 9000);
            req.set_payment_method_token("tok_sandbox_success");
            absl::StatusOr<pb::Payment> r;
            for (int k = 0; k < retries; ++k) r = service.CreatePayment(CheckoutCaller(), req);
            if (!r.ok()) {
              ++failures;
              break;
            }
            absl::MutexLock lock(&mu);
            captured[seller] += r->amount().amount_minor();
            Calls& c = calls[r->payment_id()];
            c.seller = seller;
            c.amount = r->amount().amount_minor();
            payment_ids.push_back(r->payment_id());
            break;
          }
          case 2: {
            if (pick.empty()) break;
            pb::ConfirmDeliveryRequest req;
            req.set_request_id(rid);
            req.set_payment_id(pick);
            absl::StatusOr<pb::Payment> r;
            for (int k = 0; k < retries; ++k) r = service.ConfirmDelivery(CheckoutCaller(), req);
            if (r.ok()) {
              absl::MutexLock lock(&mu);
              calls[pick].confirmed = true;
            }
            break;
          }
          case 3: {
            if (pick.empty()) break;
            pb::RefundPaymentRequest req;
            req.set_request_id(rid);
            req.set_payment_id(pick);
            *req.mutable_amount() = Eur(1 + rng() % 3000);
            req.set_reason("random");
            absl::StatusOr<pb::Payment> r;
            for (int k = 0; k < retries; ++k) r = service.RefundPayment(Staff(), req);
            if (r.ok()) {
              absl::MutexLock lock(&mu);
              calls[pick].refunds_ok += req.amount().amount_minor();
            }
            break;
          }
          case 4: {
            if (pick.empty()) break;
            pb::OpenDisputeRequest open;
            open.set_request_id(rid + "o");
            open.set_payment_id(pick);
            open.set_reason_code("DAMAGED");
            open.set_description("random");
            absl::StatusOr<pb::Payment> opened;
            for (int k = 0; k < retries; ++k) opened = service.OpenDispute(Staff(), open);
            if (opened.ok()) {
              absl::MutexLock lock(&mu);
              calls[pick].refunded_at_open = opened->refunded().amount_minor();
            }
            pb::ResolveDisputeRequest res;
            res.set_request_id(rid + "r");
            res.set_payment_id(pick);
            res.set_outcome(static_cast<pb::DisputeOutcome>(1 + rng() % 4));
            if (res.outcome() == pb::SPLIT) *res.mutable_buyer_share() = Eur(1);
            res.set_explanation("random");
            absl::StatusOr<pb::Payment> resolved;
            for (int k = 0; k < retries; ++k) resolved = service.ResolveDispute(Staff(), res);
            if (resolved.ok()) {
              absl::MutexLock lock(&mu);
              calls[pick].resolved = *resolved;
            }
            break;
          }
          case 5: {
            pb::CreatePayoutRequest req;
            req.set_request_id(rid);
            req.set_seller_id(seller);
            *req.mutable_amount() = Eur(1 + rng() % 5000);
            absl::StatusOr<pb::Payout> r;
            for (int k = 0; k < retries; ++k) r = service.CreatePayout(Seller(seller), req);
            if (r.ok()) {
              absl::MutexLock lock(&mu);
              paid_out[seller] += req.amount().amount_minor();
            }
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << "CreatePayment on the sandbox always succeeds";
  EXPECT_GT(retries_made.load(), 500) << "the workload retried calls";
  ASSERT_GT(payment_ids.size(), 400u) << "the workload made payments";
  ASSERT_OK_AND_ASSIGN(auto v, service.VerifyLedger());
  EXPECT_TRUE(v.consistent()) << v.DebugString();
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), static_cast<int64_t>(payment_ids.size()));

  // Each payment as the calls made it: what was refunded (explicit refunds plus the buyer's
  // part of a dispute outcome) and in which state it ended.
  struct SellerFigures {
    int64_t captured = 0, held = 0, net = 0;
  };
  std::map<std::string, SellerFigures> by_seller;
  int64_t refunded_total = 0, commission = 0, guaranteed = 0, all_captured = 0;
  int disputes_resolved = 0;
  for (const auto& [id, c] : calls) {
    pb::GetPaymentRequest get;
    get.set_payment_id(id);
    ASSERT_OK_AND_ASSIGN(pb::Payment p, service.GetPayment(Staff(), get));
    int64_t want_refunded = c.refunds_ok;
    if (c.resolved) {
      ++disputes_resolved;
      ASSERT_TRUE(c.refunded_at_open.has_value()) << id << ": resolved without an open";
      want_refunded += c.resolved->refunded().amount_minor() - *c.refunded_at_open;
    }
    EXPECT_EQ(p.refunded().amount_minor(), want_refunded) << id;
    EXPECT_EQ(p.amount().amount_minor(), c.amount) << id;
    EXPECT_EQ(p.seller_id(), c.seller) << id;
    // The state the successful calls allow.
    if (c.resolved) {
      // A released outcome may be refunded afterwards; the others are final.
      if (c.resolved->state() == pb::RELEASED) {
        EXPECT_TRUE(p.state() == pb::RELEASED || p.state() == pb::REFUNDED) << id;
      } else {
        EXPECT_EQ(p.state(), c.resolved->state()) << id;
      }
    } else if (c.refunded_at_open) {
      EXPECT_EQ(p.state(), pb::DISPUTED) << id;
    } else if (c.confirmed) {
      EXPECT_TRUE(p.state() == pb::RELEASED || p.state() == pb::REFUNDED) << id;
    } else if (want_refunded == c.amount) {
      EXPECT_EQ(p.state(), pb::REFUNDED) << id;
    } else {
      EXPECT_EQ(p.state(), pb::HELD) << id;
    }
    SellerFigures& f = by_seller[c.seller];
    f.captured += c.amount;
    if (p.state() == pb::HELD || p.state() == pb::DISPUTED) f.held += c.amount - want_refunded;
    f.net += p.seller_net().amount_minor();
    refunded_total += want_refunded;
    commission += p.commission().amount_minor();
    guaranteed += p.guaranteed().amount_minor();
    all_captured += c.amount;
  }
  EXPECT_GT(disputes_resolved, 0);

  // Every seller's balance, through the API and in the ledger.
  std::map<std::pair<std::string, std::string>, int64_t> ledger;
  ASSERT_OK_AND_ASSIGN(auto rows,
                       pool2->Query("SELECT account_kind, account_owner, SUM(amount_minor) AS s "
                                    "FROM ledger_entries GROUP BY account_kind, account_owner"));
  for (const auto& row : rows) {
    ledger[{*row.GetString("account_kind"), *row.GetString("account_owner")}] = *row.GetInt64("s");
  }
  auto account = [&ledger](const std::string& kind, const std::string& owner) {
    return ledger[{kind, owner}];
  };
  for (const std::string& seller : kSellers) {
    const SellerFigures& f = by_seller[seller];
    EXPECT_EQ(f.captured, captured[seller]) << seller;
    const pb::CurrencyBalance b = Balance(seller);
    EXPECT_EQ(b.pending_minor(), f.held) << seller;
    EXPECT_EQ(b.available_minor() - b.debt_minor(), f.net - paid_out[seller]) << seller;
    EXPECT_EQ(b.paid_out_minor(), paid_out[seller]) << seller;
    EXPECT_EQ(account("escrow", seller), f.held) << seller;
    EXPECT_EQ(account("seller_available", seller), f.net - paid_out[seller]) << seller;
    EXPECT_EQ(account("seller_paid_out", seller), paid_out[seller]) << seller;
  }
  // The platform's accounts.
  EXPECT_EQ(account("buyer_funding", ""), -all_captured);
  EXPECT_EQ(account("refunds_out", ""), refunded_total);
  EXPECT_EQ(account("platform_commission", ""), commission);
  EXPECT_EQ(account("guarantee_fund", ""), -guaranteed);
  EXPECT_EQ(account("refunds_owed", ""), 0);
}

TEST_F(EscrowServiceTest, ReleaseAndDisputeRacingEndInOneState) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(8));
  TestPayments service(pool2.get(), &processor_, &sellers_, &clock_);
  for (int i = 0; i < 20; ++i) {
    pb::Payment p = MustCreate(absl::StrCat("o", i), 1000);
    absl::Status confirmed, disputed;
    std::thread a([&] { confirmed = Confirm(p.payment_id()).status(); });
    std::thread b([&] {
      pb::OpenDisputeRequest req;
      req.set_request_id(absl::StrCat("race-", i));
      req.set_payment_id(p.payment_id());
      req.set_reason_code("DAMAGED");
      req.set_description("broken");
      disputed = service.OpenDispute(Buyer(), req).status();
    });
    a.join();
    b.join();
    EXPECT_NE(confirmed.ok(), disputed.ok()) << confirmed << " / " << disputed;
    pb::GetPaymentRequest get;
    get.set_payment_id(p.payment_id());
    ASSERT_OK_AND_ASSIGN(pb::Payment after, service.GetPayment(Staff(), get));
    EXPECT_EQ(after.state(), confirmed.ok() ? pb::RELEASED : pb::DISPUTED);
  }
  ExpectConsistent();
}

TEST_F(EscrowServiceTest, WrongStatesAreRefusedWithTheirReason) {
  pb::Payment p = MustCreate("o1", 1000);
  EXPECT_EQ(ReasonOf(ResolveAs(p.payment_id(), pb::BUYER_WINS).status()), "PAYMENT_NOT_DISPUTED");
  ASSERT_OK(Confirm(p.payment_id()).status());
  EXPECT_EQ(ReasonOf(Dispute(p.payment_id()).status()), "PAYMENT_NOT_HELD");
  pb::Payment q = MustCreate("o2", 1000);
  ASSERT_OK(Dispute(q.payment_id()).status());
  pb::OpenDisputeRequest again;
  again.set_request_id("again");
  again.set_payment_id(q.payment_id());
  again.set_reason_code("OTHER");
  again.set_description("x");
  EXPECT_EQ(ReasonOf(service_->OpenDispute(Buyer(), again).status()), "PAYMENT_DISPUTED");
  ASSERT_OK(ResolveAs(q.payment_id(), pb::PLATFORM_GUARANTEE).status());
  EXPECT_EQ(ReasonOf(RefundOf(q.payment_id(), 1, "late").status()), "PAYMENT_GUARANTEED");
  // Money of a disputed payment is never available for a payout.
  pb::Payment r = MustCreate("o3", 5000);
  ASSERT_OK(Dispute(r.payment_id()).status());
  const int64_t available = Balance().available_minor();
  EXPECT_EQ(ReasonOf(PayoutOf(available + 1, "po-frozen").status()),
            "INSUFFICIENT_AVAILABLE_BALANCE");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM disputes WHERE outcome IS NULL"), 1);
  ExpectConsistent();
}

}  // namespace
}  // namespace marketplace::payments
