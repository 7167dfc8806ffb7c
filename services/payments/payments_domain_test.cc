// The payments domain through PaymentsApi on MariaDB, where the order of two concurrent calls
// or a stored state decides the answer: a late CreatePayment retry racing the completion
// worker's settlement of its intent, order ids that differ only in trailing spaces, a refund
// retry after its owed refund was settled, owed refunds without payment found and settled,
// and when a dispute's outcome sets released_at.
#include "services/payments/payments_domain.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_service.h"
#include "services/payments/sandbox_processor.h"

namespace marketplace::payments {
namespace {

using common::ReasonOf;

constexpr char kBuyer[] = "b0b0b000000000000000000000000001";
constexpr char kSeller[] = "5e11e700000000000000000000000001";

Actor Buyer() { return Actor{kBuyer, false, true, false, false}; }
Actor Staff() { return Actor{"agent-1", true, false, false, false}; }
Actor CheckoutCaller() { return Actor{"svc-checkout", true, false, false, true}; }

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

// A point where a test holds the next thread that reaches it: Arm(), then that thread's
// Pass() waits until Open(); AwaitReached() tells the test it is there.
class Gate {
 public:
  void Arm() {
    absl::MutexLock lock(&mu_);
    armed_ = true;
    reached_ = false;
    open_ = false;
  }
  void Pass() {
    absl::MutexLock lock(&mu_);
    if (!armed_) return;
    armed_ = false;
    reached_ = true;
    mu_.Await(absl::Condition(&open_));
  }
  bool AwaitReached() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&reached_), absl::Seconds(60));
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    armed_ = false;
    open_ = true;
  }

 private:
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  bool reached_ ABSL_GUARDED_BY(mu_) = false;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
};

// The sandbox, counting the money it moved (each idempotency key once, as a processor does):
// authorisations can fail transiently first, a thread can be held at its authorisation or
// capture, a capture's answer can be lost after the money moved, and refunds refused.
class CountingProcessor final : public PaymentProcessor {
 public:
  absl::StatusOr<ProcessorResult> Authorize(const std::string& key, const std::string& token,
                                            const common::Money& amount,
                                            const common::CallOrigin& origin) override {
    if (authorize_outages > 0) {
      --authorize_outages;
      return absl::UnavailableError("processor unreachable (test)");
    }
    authorize_gate.Pass();
    return sandbox_.Authorize(key, token, amount, origin);
  }
  absl::StatusOr<ProcessorResult> Capture(const std::string& key, const std::string& ref,
                                          const common::Money& amount,
                                          const common::CallOrigin& origin) override {
    capture_gate.Pass();
    absl::StatusOr<ProcessorResult> captured = sandbox_.Capture(key, ref, amount, origin);
    if (captured.ok() && captured->accepted) {
      absl::MutexLock lock(&mu_);
      captured_[key] = amount.amount_minor();
    }
    if (captured.ok() && lose_capture_answers > 0) {
      --lose_capture_answers;
      return absl::DeadlineExceededError("capture answer lost (test)");
    }
    return captured;
  }
  absl::StatusOr<ProcessorResult> Refund(const std::string& key, const std::string& ref,
                                         const common::Money& amount) override {
    if (refuse_refunds) return ProcessorResult{false, DeclineCode::kDeclined, ""};
    absl::StatusOr<ProcessorResult> refunded = sandbox_.Refund(key, ref, amount);
    if (refunded.ok() && refunded->accepted) {
      absl::MutexLock lock(&mu_);
      refunded_[key] = amount.amount_minor();
    }
    return refunded;
  }
  absl::StatusOr<ProcessorResult> Payout(const std::string& key, const std::string& account,
                                         const common::Money& amount) override {
    return sandbox_.Payout(key, account, amount);
  }

  int64_t CapturedMinor() {
    absl::MutexLock lock(&mu_);
    int64_t sum = 0;
    for (const auto& [key, minor] : captured_) sum += minor;
    return sum;
  }
  int64_t RefundedMinor() {
    absl::MutexLock lock(&mu_);
    int64_t sum = 0;
    for (const auto& [key, minor] : refunded_) sum += minor;
    return sum;
  }

  std::atomic<int> authorize_outages{0};
  std::atomic<int> lose_capture_answers{0};
  std::atomic<bool> refuse_refunds{false};
  Gate authorize_gate;
  Gate capture_gate;

 private:
  SandboxProcessor sandbox_;
  absl::Mutex mu_;
  std::map<std::string, int64_t> captured_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> refunded_ ABSL_GUARDED_BY(mu_);
};

// The MySQL store, except that the completion worker can be held right after it claimed its
// intents (before it settles them): `after_claim`.
class PausingStore final : public PaymentStore {
 public:
  PausingStore(common::db::ConnectionPool* pool, const common::Clock* clock)
      : store_(pool, clock) {}

  Gate after_claim;

  using PaymentStore::RunInTransaction;
  absl::Status RunInTransaction(const TransactionBody& body,
                                StoreTransactionOptions options) override {
    return store_.RunInTransaction(body, options);
  }
  absl::StatusOr<std::string> RunIdempotent(const RequestKey& key,
                                            const RequestBody& effect) override {
    return store_.RunIdempotent(key, effect);
  }
  absl::Status KeepWrites(absl::Status refusal) const override {
    return store_.KeepWrites(std::move(refusal));
  }
  absl::StatusOr<std::optional<StoredAnswer>> FindAnswer(const RequestKey& key) override {
    return store_.FindAnswer(key);
  }
  absl::StatusOr<StoredAnswer> RecordError(const RequestKey& key,
                                           const absl::Status& error) override {
    return store_.RecordError(key, error);
  }
  std::vector<absl::StatusOr<CheckoutFacts>> ReadCheckouts(
      absl::Span<const CheckoutLookup> lookups) override {
    return store_.ReadCheckouts(lookups);
  }
  absl::StatusOr<int64_t> PurgeAnswers() override { return store_.PurgeAnswers(); }
  absl::StatusOr<int64_t> PurgeResolvedIntents(absl::Duration keep, int64_t batch_size) override {
    return store_.PurgeResolvedIntents(keep, batch_size);
  }
  absl::Status EnsureSellerAccounts(absl::string_view seller_id, absl::string_view currency,
                                    absl::Time now) override {
    return store_.EnsureSellerAccounts(seller_id, currency, now);
  }
  absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(
      absl::string_view operation_id) override {
    return store_.LoadOperation(operation_id);
  }
  absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(absl::string_view payout_id) override {
    return store_.LoadPayout(payout_id);
  }
  absl::StatusOr<std::vector<ProcessorOperation>> ClaimDueOperations(absl::Time now,
                                                                     absl::Time lease_until,
                                                                     int limit) override {
    return store_.ClaimDueOperations(now, lease_until, limit);
  }
  absl::Status RescheduleOperation(absl::string_view operation_id, absl::string_view error,
                                   absl::Time next_attempt_at, absl::Time now) override {
    return store_.RescheduleOperation(operation_id, error, next_attempt_at, now);
  }
  std::vector<absl::StatusOr<PaymentIntent>> BeginIntents(
      absl::Span<const PaymentIntent> intents) override {
    return store_.BeginIntents(intents);
  }
  absl::Status RecordIntentReferences(absl::string_view intent_id, absl::string_view authorization,
                                      absl::string_view capture) override {
    return store_.RecordIntentReferences(intent_id, authorization, capture);
  }
  std::vector<absl::StatusOr<std::string>> RecordAuthorizations(
      absl::Span<const std::pair<std::string, std::string>> intent_authorizations) override {
    return store_.RecordAuthorizations(intent_authorizations);
  }
  absl::StatusOr<std::vector<PaymentIntent>> ClaimOpenIntents(absl::Time created_before,
                                                              absl::Time now,
                                                              absl::Time lease_until,
                                                              int limit) override {
    absl::StatusOr<std::vector<PaymentIntent>> claimed =
        store_.ClaimOpenIntents(created_before, now, lease_until, limit);
    after_claim.Pass();
    return claimed;
  }
  absl::Status DeferRelease(absl::string_view payment_id, absl::Time now, absl::Duration initial,
                            absl::Duration max) override {
    return store_.DeferRelease(payment_id, now, initial, max);
  }
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> EscrowHeldByCurrency() override {
    return store_.EscrowHeldByCurrency();
  }
  absl::StatusOr<bool> ClaimLedgerVerification(absl::Time now, absl::Time lease_until,
                                               absl::string_view replica) override {
    return store_.ClaimLedgerVerification(now, lease_until, replica);
  }
  absl::Status RecordLedgerVerification(const LedgerVerificationRecord& result,
                                        absl::Time next_run_at) override {
    return store_.RecordLedgerVerification(result, next_run_at);
  }
  absl::StatusOr<std::optional<LedgerVerificationRecord>> LastLedgerVerification() override {
    return store_.LastLedgerVerification();
  }

 private:
  MySqlPaymentStore store_;
};

class PaymentsDomainTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    sellers_.Set(kSeller, true);
    // The worker and a client run at once, each with its connections.
    ASSERT_OK_AND_ASSIGN(pool_, NewPool(8));
    store_ = std::make_unique<PausingStore>(pool_.get(), &clock_);
    domain_ = std::make_unique<PaymentsDomain>(store_.get(), &processor_, &sellers_, &clock_);
    api_ = std::make_unique<PaymentsApi>(domain_.get());
  }

  pb::CreatePaymentRequest CreateRequest(const std::string& order, int64_t minor) {
    pb::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id(kBuyer);
    req.set_seller_id(kSeller);
    *req.mutable_amount() = Eur(minor);
    req.set_payment_method_token("tok_sandbox_success");
    return req;
  }

  absl::StatusOr<pb::Payment> Get(const std::string& payment_id) {
    pb::GetPaymentRequest req;
    req.set_payment_id(payment_id);
    return api_->GetPayment(Staff(), req);
  }

  absl::StatusOr<pb::Payment> Dispute(const std::string& payment_id) {
    pb::OpenDisputeRequest req;
    req.set_request_id("dispute-" + payment_id);
    req.set_payment_id(payment_id);
    req.set_reason_code("NOT_RECEIVED");
    req.set_description("nothing arrived");
    return api_->OpenDispute(Buyer(), req);
  }

  absl::StatusOr<pb::Payment> Resolve(const std::string& payment_id, pb::DisputeOutcome outcome) {
    pb::ResolveDisputeRequest req;
    req.set_request_id("resolve-" + payment_id);
    req.set_payment_id(payment_id);
    req.set_outcome(outcome);
    req.set_explanation("decided");
    return api_->ResolveDispute(Staff(), req);
  }

  void ExpectLedgerConsistent() {
    absl::StatusOr<pb::VerifyLedgerResponse> v = api_->VerifyLedger();
    ASSERT_OK(v.status());
    EXPECT_TRUE(v->consistent()) << v->DebugString();
  }

  std::vector<pb::Payment> ByOrder(const std::string& order) {
    pb::ListPaymentsRequest req;
    req.set_order_id(order);
    absl::StatusOr<pb::ListPaymentsResponse> listed = api_->ListPayments(Staff(), req);
    EXPECT_OK(listed.status());
    if (!listed.ok()) return {};
    return {listed->payments().begin(), listed->payments().end()};
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  // The ledger's platform-wide totals per account kind, once it verified consistent.
  std::map<std::string, int64_t> Totals() {
    absl::StatusOr<pb::VerifyLedgerResponse> v = api_->VerifyLedger();
    EXPECT_OK(v.status());
    std::map<std::string, int64_t> totals;
    if (!v.ok()) return totals;
    EXPECT_TRUE(v->consistent()) << v->DebugString();
    for (const auto& t : v->totals()) totals[t.account_kind()] = t.balance().amount_minor();
    return totals;
  }

  absl::StatusOr<pb::Payment> Settle(const std::string& request_id, const std::string& payment_id,
                                     const std::string& refund_id, const Actor& actor = Staff()) {
    pb::SettleOwedRefundRequest req;
    req.set_request_id(request_id);
    req.set_payment_id(payment_id);
    req.set_refund_id(refund_id);
    req.set_settlement_reference("transfer-7");
    req.set_note("paid by bank transfer");
    return api_->SettleOwedRefund(actor, req);
  }

  // A refund without payment (a capture given back) refused for good and owed, found among the
  // refunds of its order's payment `payment_id` by staff, is settled with payment_id "-":
  // REFUND_SETTLED once, refunds_owed back to zero in one balanced transaction.
  void ExpectOwedRefundWithoutPaymentSettled(const std::string& payment_id,
                                             absl::string_view prefix, int64_t minor) {
    EXPECT_EQ(Totals()["refunds_owed"], minor);
    ASSERT_OK_AND_ASSIGN(pb::Payment order_payment, Get(payment_id));
    ASSERT_EQ(order_payment.refunds_size(), 1);
    const pb::Refund owed = order_payment.refunds(0);
    EXPECT_TRUE(absl::StartsWith(owed.refund_id(), prefix)) << owed.refund_id();
    EXPECT_EQ(owed.state(), pb::REFUND_FAILED);
    EXPECT_EQ(owed.amount().amount_minor(), minor);
    EXPECT_EQ(order_payment.refunded().amount_minor(), 0) << "not a refund of this payment";
    // Only staff and SERVICE callers see it; the payment's buyer does not.
    pb::GetPaymentRequest get;
    get.set_payment_id(payment_id);
    ASSERT_OK_AND_ASSIGN(pb::Payment as_buyer, api_->GetPayment(Buyer(), get));
    EXPECT_EQ(as_buyer.refunds_size(), 0);

    // It is no refund of the order's payment, and only staff settle it.
    EXPECT_EQ(ReasonOf(Settle("settle-0a", payment_id, owed.refund_id()).status()),
              "REFUND_NOT_FOUND");
    EXPECT_EQ(Settle("settle-0b", "-", owed.refund_id(), Buyer()).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ReasonOf(Settle("settle-0c", "-", "refund_unknown").status()), "REFUND_NOT_FOUND");
    EXPECT_EQ(Totals()["refunds_owed"], minor);

    ASSERT_OK_AND_ASSIGN(pb::Payment settled, Settle("settle-1", "-", owed.refund_id()));
    EXPECT_EQ(settled.payment_id(), "");
    EXPECT_EQ(settled.order_id(), order_payment.order_id());
    EXPECT_EQ(settled.buyer_id(), kBuyer);
    EXPECT_EQ(settled.seller_id(), kSeller);
    EXPECT_EQ(settled.amount().amount_minor(), minor);
    ASSERT_EQ(settled.refunds_size(), 1);
    EXPECT_EQ(settled.refunds(0).refund_id(), owed.refund_id());
    EXPECT_EQ(settled.refunds(0).state(), pb::REFUND_SETTLED);
    EXPECT_EQ(settled.refunds(0).settlement_reference(), "transfer-7");
    EXPECT_EQ(settled.refunds(0).settled_by(), "agent-1");
    // A retry answers the same; another request finds it settled.
    ASSERT_OK_AND_ASSIGN(pb::Payment again, Settle("settle-1", "-", owed.refund_id()));
    EXPECT_EQ(again.order_id(), settled.order_id());
    ASSERT_EQ(again.refunds_size(), 1);
    EXPECT_EQ(again.refunds(0).state(), pb::REFUND_SETTLED);
    EXPECT_EQ(ReasonOf(Settle("settle-2", "-", owed.refund_id()).status()),
              "REFUND_ALREADY_SETTLED");

    ASSERT_OK_AND_ASSIGN(pb::Payment after, Get(payment_id));
    ASSERT_EQ(after.refunds_size(), 1);
    EXPECT_EQ(after.refunds(0).state(), pb::REFUND_SETTLED);
    std::map<std::string, int64_t> totals = Totals();
    EXPECT_EQ(totals["refunds_owed"], 0);
    EXPECT_EQ(totals["refunds_out"], minor);
    // Captured in, given back, refused, paid by other means: no payment on any of them.
    EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund' AND "
                    "payment_id IS NULL"),
              3);
  }

  // What the processor captured is held in payments or went back to the buyer, all of it
  // (money never created or lost), and the ledger agrees.
  void ExpectEveryCaptureAccountedFor() {
    const int64_t held = Count("SELECT COALESCE(SUM(amount_minor), 0) AS n FROM payments");
    EXPECT_EQ(processor_.CapturedMinor(), held + processor_.RefundedMinor());
    absl::StatusOr<pb::VerifyLedgerResponse> v = api_->VerifyLedger();
    ASSERT_OK(v.status());
    EXPECT_TRUE(v->consistent()) << v->DebugString();
    std::map<std::string, int64_t> totals;
    for (const auto& t : v->totals()) totals[t.account_kind()] = t.balance().amount_minor();
    EXPECT_EQ(totals["buyer_funding"], -processor_.CapturedMinor());
    EXPECT_EQ(totals["refunds_out"], processor_.RefundedMinor());
  }

  common::ManualClock clock_;
  CountingProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
  std::unique_ptr<common::db::ConnectionPool> pool_;
  std::unique_ptr<PausingStore> store_;
  std::unique_ptr<PaymentsDomain> domain_;
  std::unique_ptr<PaymentsApi> api_;
};

// The first attempt failed at the authorisation (nothing recorded but the intent). A retry
// 26 hours later finds the intent still open and asks the processor to authorise; meanwhile
// the completion worker settles the intent as ABANDONED (no authorisation recorded). The
// retry must then capture nothing: PAYMENT_ABANDONED, no payment, no money taken.
TEST_F(PaymentsDomainTest, LateRetryAuthorisingWhileTheWorkerAbandonsItsIntentCapturesNothing) {
  const pb::CreatePaymentRequest req = CreateRequest("order-late", 1000);
  processor_.authorize_outages = 1;
  ASSERT_EQ(api_->CreatePayment(CheckoutCaller(), req).status().code(),
            absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Hours(26));

  processor_.authorize_gate.Arm();
  absl::StatusOr<pb::Payment> retried = absl::UnknownError("not run");
  std::thread client([&] { retried = api_->CreatePayment(CheckoutCaller(), req); });
  // The retry has its (open) intent and is at the processor.
  const bool authorising = processor_.authorize_gate.AwaitReached();
  absl::StatusOr<int> refunded = absl::UnknownError("not run");
  std::thread worker([&] { refunded = domain_->RefundAbandonedCaptures(); });
  worker.join();
  processor_.authorize_gate.Open();
  client.join();
  ASSERT_TRUE(authorising);

  ASSERT_OK(refunded.status());
  EXPECT_EQ(*refunded, 0);
  EXPECT_EQ(ReasonOf(retried.status()), "PAYMENT_ABANDONED") << retried.status();
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 0);
  EXPECT_EQ(processor_.CapturedMinor(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_intent_outcomes WHERE outcome = "
                  "'ABANDONED'"),
            1);
  // No authorisation is recorded on the abandoned intent.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payment_intents WHERE authorization_reference <> "
                  "''"),
            0);
  ExpectEveryCaptureAccountedFor();
  // And a retry after that is told the same, still charging nothing.
  EXPECT_EQ(ReasonOf(api_->CreatePayment(CheckoutCaller(), req).status()), "PAYMENT_ABANDONED");
  EXPECT_EQ(processor_.CapturedMinor(), 0);
}

// The other order: the worker claims the open intent (no authorisation yet), then the late
// retry records its authorisation and is about to capture, then the worker closes the intent.
// The worker must see the authorisation and leave the intent: the retry's payment commits
// (first round), or, when the retry never learns its capture (second round), a later pass
// refunds it. Either way exactly one of a payment or a refund of what was captured.
TEST_F(PaymentsDomainTest, WorkerClosingAfterALateRetryAuthorisedLeavesTheIntentToIt) {
  for (const bool answer_lost : {false, true}) {
    SCOPED_TRACE(answer_lost ? "capture answer lost" : "retry commits");
    const std::string order = answer_lost ? "order-lost" : "order-commits";
    const pb::CreatePaymentRequest req = CreateRequest(order, 1000);
    processor_.authorize_outages = 1;
    ASSERT_EQ(api_->CreatePayment(CheckoutCaller(), req).status().code(),
              absl::StatusCode::kUnavailable);
    clock_.Advance(absl::Hours(26));

    store_->after_claim.Arm();
    absl::StatusOr<int> refunded = absl::UnknownError("not run");
    std::thread worker([&] { refunded = domain_->RefundAbandonedCaptures(); });
    const bool claimed = store_->after_claim.AwaitReached();

    processor_.capture_gate.Arm();
    processor_.lose_capture_answers = answer_lost ? 1 : 0;
    absl::StatusOr<pb::Payment> retried = absl::UnknownError("not run");
    std::thread client([&] { retried = api_->CreatePayment(CheckoutCaller(), req); });
    // The retry recorded its authorisation and is at the capture.
    const bool capturing = processor_.capture_gate.AwaitReached();
    store_->after_claim.Open();
    worker.join();
    processor_.capture_gate.Open();
    client.join();
    ASSERT_TRUE(claimed);
    ASSERT_TRUE(capturing);

    ASSERT_OK(refunded.status());
    EXPECT_EQ(*refunded, 0);
    const std::string in_payments =
        absl::StrCat("SELECT COUNT(*) AS n FROM payments WHERE order_id = '", order, "'");
    if (!answer_lost) {
      EXPECT_OK(retried.status());
      if (retried.ok()) EXPECT_EQ(retried->order_id(), order);
      EXPECT_EQ(Count(in_payments), 1);
    } else {
      EXPECT_EQ(retried.status().code(), absl::StatusCode::kUnavailable) << retried.status();
      EXPECT_EQ(Count(in_payments), 0);
      // Once the claim's lease has passed, the next pass finds the authorisation, learns the
      // capture under the same key and refunds it.
      clock_.Advance(absl::Minutes(3));
      ASSERT_OK_AND_ASSIGN(int later, domain_->RefundAbandonedCaptures());
      EXPECT_EQ(later, 1);
      EXPECT_EQ(Count(in_payments), 0);
      EXPECT_EQ(ReasonOf(api_->CreatePayment(CheckoutCaller(), req).status()), "PAYMENT_ABANDONED");
    }
    ExpectEveryCaptureAccountedFor();
  }
  EXPECT_EQ(processor_.CapturedMinor(), 2000);
  EXPECT_EQ(processor_.RefundedMinor(), 1000);
}

// Order ids are taken as given and compared byte for byte: "O-1 " (trailing space) is
// another order than "O-1", for the one-payment-per-order rule and for ListPayments.
TEST_F(PaymentsDomainTest, OrderIdsDifferingOnlyInTrailingSpacesAreDifferentOrders) {
  ASSERT_OK_AND_ASSIGN(pb::Payment plain,
                       api_->CreatePayment(CheckoutCaller(), CreateRequest("O-1", 1000)));
  pb::CreatePaymentRequest spaced_request = CreateRequest("O-1 ", 2000);
  spaced_request.set_request_id("create-O-1-spaced");
  ASSERT_OK_AND_ASSIGN(pb::Payment spaced, api_->CreatePayment(CheckoutCaller(), spaced_request));
  EXPECT_NE(spaced.payment_id(), plain.payment_id());
  EXPECT_EQ(spaced.order_id(), "O-1 ");
  // The order "O-1 " now has its payment: a second one is refused, its retry is answered.
  pb::CreatePaymentRequest again = CreateRequest("O-1 ", 3000);
  again.set_request_id("create-O-1-spaced-again");
  EXPECT_EQ(ReasonOf(api_->CreatePayment(CheckoutCaller(), again).status()), "ORDER_ALREADY_PAID");
  ASSERT_OK_AND_ASSIGN(pb::Payment retried, api_->CreatePayment(CheckoutCaller(), spaced_request));
  EXPECT_EQ(retried.payment_id(), spaced.payment_id());

  std::vector<pb::Payment> listed = ByOrder("O-1");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].payment_id(), plain.payment_id());
  listed = ByOrder("O-1 ");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].payment_id(), spaced.payment_id());
  EXPECT_TRUE(ByOrder("O-1  ").empty());
  pb::CreatePaymentRequest other = CreateRequest("O-2", 1000);
  ASSERT_OK(api_->CreatePayment(CheckoutCaller(), other).status());
  EXPECT_TRUE(ByOrder("O-2 ").empty());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM payments"), 3);
  ExpectEveryCaptureAccountedFor();
}

// A refund the processor refused for good answers REFUND_DECLINED, and so does every retry of
// the request, also after support settled the owed refund by other means.
TEST_F(PaymentsDomainTest, RefundRetryAfterItsOwedRefundWasSettledStillAnswersRefundDeclined) {
  ASSERT_OK_AND_ASSIGN(pb::Payment p,
                       api_->CreatePayment(CheckoutCaller(), CreateRequest("order-owed", 5000)));
  processor_.refuse_refunds = true;
  pb::RefundPaymentRequest refund;
  refund.set_request_id("refund-1");
  refund.set_payment_id(p.payment_id());
  *refund.mutable_amount() = Eur(2000);
  refund.set_reason("customer changed their mind");
  EXPECT_EQ(ReasonOf(api_->RefundPayment(Staff(), refund).status()), "REFUND_DECLINED");
  EXPECT_EQ(ReasonOf(api_->RefundPayment(Staff(), refund).status()), "REFUND_DECLINED");
  ASSERT_OK_AND_ASSIGN(pb::Payment failed, Get(p.payment_id()));
  ASSERT_EQ(failed.refunds_size(), 1);
  EXPECT_EQ(failed.refunds(0).state(), pb::REFUND_FAILED);

  pb::SettleOwedRefundRequest settle;
  settle.set_request_id("settle-1");
  settle.set_payment_id(p.payment_id());
  settle.set_refund_id(failed.refunds(0).refund_id());
  settle.set_settlement_reference("transfer-42");
  ASSERT_OK(api_->SettleOwedRefund(Staff(), settle).status());

  absl::StatusOr<pb::Payment> retried = api_->RefundPayment(Staff(), refund);
  EXPECT_EQ(retried.status().code(), absl::StatusCode::kFailedPrecondition) << retried.status();
  EXPECT_EQ(ReasonOf(retried.status()), "REFUND_DECLINED");
  ASSERT_OK_AND_ASSIGN(pb::Payment settled, Get(p.payment_id()));
  ASSERT_EQ(settled.refunds_size(), 1);
  EXPECT_EQ(settled.refunds(0).state(), pb::REFUND_SETTLED);
  EXPECT_EQ(settled.refunded().amount_minor(), 2000);
  ExpectLedgerConsistent();
}

// Two CreatePayments race for one order: the one refused ORDER_ALREADY_PAID after the
// processor captured gives its capture back (a refund without payment), and the processor
// refuses that refund for good, so it is owed to the buyer. Support finds it and settles it.
TEST_F(PaymentsDomainTest, OwedReturnOfARacingCaptureIsFoundAndSettledWithoutPayment) {
  processor_.refuse_refunds = true;
  const pb::CreatePaymentRequest first = CreateRequest("order-twice", 3000);
  pb::CreatePaymentRequest second = first;
  second.set_request_id("create-order-twice-again");
  // The second request is held at its capture while the first pays the order.
  processor_.capture_gate.Arm();
  absl::StatusOr<pb::Payment> lost = absl::UnknownError("not run");
  std::thread late([&] { lost = api_->CreatePayment(CheckoutCaller(), second); });
  const bool capturing = processor_.capture_gate.AwaitReached();
  absl::StatusOr<pb::Payment> paid = api_->CreatePayment(CheckoutCaller(), first);
  processor_.capture_gate.Open();
  late.join();
  ASSERT_TRUE(capturing);
  ASSERT_OK(paid.status());
  EXPECT_EQ(ReasonOf(lost.status()), "ORDER_ALREADY_PAID") << lost.status();
  ExpectOwedRefundWithoutPaymentSettled(paid->payment_id(), "return_", 3000);
}

// A capture whose payment never committed is refunded by the completion worker after the
// intent window (a refund without payment); the processor refuses it for good. Once the order
// is paid by a new request, support finds the owed refund with that payment and settles it.
TEST_F(PaymentsDomainTest, OwedRefundOfAnAbandonedCaptureIsFoundAndSettledWithoutPayment) {
  const pb::CreatePaymentRequest gone = CreateRequest("order-gone", 2500);
  processor_.lose_capture_answers = 1;
  ASSERT_EQ(api_->CreatePayment(CheckoutCaller(), gone).status().code(),
            absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Hours(26));
  processor_.refuse_refunds = true;
  ASSERT_OK_AND_ASSIGN(int refunded, domain_->RefundAbandonedCaptures());
  EXPECT_EQ(refunded, 1);
  pb::CreatePaymentRequest again = CreateRequest("order-gone", 2500);
  again.set_request_id("create-order-gone-again");
  ASSERT_OK_AND_ASSIGN(pb::Payment paid, api_->CreatePayment(CheckoutCaller(), again));
  ExpectOwedRefundWithoutPaymentSettled(paid.payment_id(), "capture_refund_", 2500);
}

// released_at follows the state a dispute's outcome leaves: set when it releases the money to
// the seller (RELEASED, even when the commission takes all of it), never when it refunds the
// buyer (REFUNDED, even after a guarantee-funded refund credited the seller).
TEST_F(PaymentsDomainTest, ADisputeOutcomeSetsReleasedAtExactlyWhenItReleases) {
  pb::CreatePaymentRequest all_commission = CreateRequest("order-commission", 3000);
  all_commission.set_commission_bps(10000);
  ASSERT_OK_AND_ASSIGN(pb::Payment kept, api_->CreatePayment(CheckoutCaller(), all_commission));
  ASSERT_OK(Dispute(kept.payment_id()).status());
  ASSERT_OK_AND_ASSIGN(pb::Payment released, Resolve(kept.payment_id(), pb::SELLER_WINS));
  EXPECT_EQ(released.state(), pb::RELEASED);
  EXPECT_EQ(released.seller_net().amount_minor(), 0);
  EXPECT_TRUE(released.has_released_at());
  ASSERT_OK_AND_ASSIGN(pb::Payment stored, Get(kept.payment_id()));
  EXPECT_TRUE(stored.has_released_at());

  ASSERT_OK_AND_ASSIGN(pb::Payment p, api_->CreatePayment(CheckoutCaller(),
                                                          CreateRequest("order-guarantee", 10000)));
  pb::RefundPaymentRequest refund;
  refund.set_request_id("refund-guaranteed");
  refund.set_payment_id(p.payment_id());
  *refund.mutable_amount() = Eur(2000);
  refund.set_reason("goodwill");
  refund.set_funded_by(pb::GUARANTEE_FUND);
  ASSERT_OK_AND_ASSIGN(pb::Payment partly, api_->RefundPayment(Staff(), refund));
  EXPECT_EQ(partly.state(), pb::HELD);
  EXPECT_GT(partly.seller_net().amount_minor(), 0);
  ASSERT_OK(Dispute(p.payment_id()).status());
  ASSERT_OK_AND_ASSIGN(pb::Payment refunded, Resolve(p.payment_id(), pb::BUYER_WINS));
  EXPECT_EQ(refunded.state(), pb::REFUNDED);
  EXPECT_FALSE(refunded.has_released_at());
  ASSERT_OK_AND_ASSIGN(stored, Get(p.payment_id()));
  EXPECT_FALSE(stored.has_released_at());
  ExpectLedgerConsistent();
}

}  // namespace
}  // namespace marketplace::payments
