// The gRPC API in process, on a real MariaDB: authentication, the role/scope/ownership rules
// of payments.proto, and error details on the wire.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/executor.h"
#include "common/server/unary_call.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "tests/payments/payments_harness.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_service.h"
#include "services/payments/sandbox_processor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "tests/payments/fake_processor.h"

namespace marketplace::payments {
namespace {

using testing::TestPayments;

// Identity as the tests script it, recording what each lookup made for a caller carried; it
// can hold a lookup until the caller's deadline has passed.
class RecordingSellerDirectory final : public common::identity_client::SellerDirectory {
 public:
  void Set(const std::string& seller_id, bool approved_active) {
    fake_.Set(seller_id, approved_active);
  }
  absl::StatusOr<common::identity_client::SellerStatus> GetSeller(
      const std::string& seller_id) override {
    return fake_.GetSeller(seller_id);
  }
  absl::StatusOr<common::identity_client::SellerStatus> GetSellerFor(
      const std::string& seller_id, const common::CallOrigin& origin) override {
    {
      absl::MutexLock lock(&mu_);
      last_origin_ = origin;
    }
    if (hold_past_deadline && origin.deadline) {
      while (absl::Now() <= *origin.deadline) absl::SleepFor(absl::Milliseconds(10));
    }
    return fake_.GetSeller(seller_id);
  }
  common::CallOrigin last_origin() {
    absl::MutexLock lock(&mu_);
    return last_origin_;
  }
  std::atomic<bool> hold_past_deadline{false};

 private:
  common::identity_client::FakeSellerDirectory fake_;
  absl::Mutex mu_;
  common::CallOrigin last_origin_ ABSL_GUARDED_BY(mu_);
};

namespace auth = common::auth;

struct Who {
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
};

const Who kBuyer{"b0b0b000000000000000000000000001", {"BUYER"}, {}};
const Who kOtherBuyer{"b0b0b000000000000000000000000002", {"BUYER"}, {}};
const Who kSeller{"5e11e700000000000000000000000001", {"SELLER"}, {}};
const Who kOtherSeller{"5e11e700000000000000000000000002", {"SELLER"}, {}};
const Who kAgent{"agent-1", {"SUPPORT_AGENT"}, {}};
const Who kAdmin{"admin-1", {"ADMIN"}, {}};
const Who kModerator{"mod-1", {"MODERATOR"}, {}};
const Who kCheckout{"svc-checkout", {"SERVICE"}, {"payments.checkout"}};
const Who kKpi{"svc-kpi", {"SERVICE"}, {"payments.policy", "payments.read"}};
const Who kBareService{"svc-other", {"SERVICE"}, {}};

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

class PaymentsApiTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    sellers_.Set("5e11e700000000000000000000000001", true);
    sellers_.Set("5e11e700000000000000000000000002", true);
    ASSERT_OK_AND_ASSIGN(keys_, auth::GenerateEd25519KeyPair());
    fetcher_.SetKeys({{"k1", "EdDSA", keys_.public_key}});
    verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "payments"},
        common::SystemClock::Get());
    authenticator_ =
        std::make_unique<auth::Authenticator>(verifier_.get(), std::set<std::string>{});
    executor_ = std::make_unique<common::BoundedExecutor>(4, 64);
    runner_ = std::make_unique<common::UnaryRunner>(executor_.get(), authenticator_.get());
    escrow_ = std::make_unique<TestPayments>(&pool(), &processor_, &sellers_,
                                              common::SystemClock::Get());
    service_ = std::make_unique<PaymentsService>(runner_.get(), escrow_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Payments::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (executor_) executor_->Shutdown();
    DatabaseTest::TearDown();
  }

  std::string Token(const Who& who) {
    auth::JwtHeader header;
    header.kid = "k1";
    auth::JwtClaims claims;
    claims.issuer = "identity";
    claims.subject = who.subject;
    claims.audiences = {"payments"};
    claims.issued_at = absl::Now();
    claims.expires_at = absl::Now() + absl::Minutes(15);
    claims.token_id = absl::StrCat("t-", ++token_counter_);
    claims.roles = who.roles;
    claims.scopes = who.scopes;
    auto token = auth::SignJwt(header, claims, keys_.private_key);
    EXPECT_OK(token.status());
    return token.ok() ? *token : "";
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::optional<Who>& who) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (who) auth::AttachBearerToken(ctx.get(), Token(*who));
    return ctx;
  }

  grpc::Status Create(const Who& who, const std::string& order, v1::Payment* out,
                      const std::string& buyer = "b0b0b000000000000000000000000001",
                      const std::string& token = "tok_sandbox_success") {
    v1::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id(buyer);
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(10000);
    req.set_payment_method_token(token);
    return stub_->CreatePayment(Ctx(who).get(), req, out);
  }

  v1::Payment MustCreate(const std::string& order) {
    v1::Payment p;
    grpc::Status s = Create(kCheckout, order, &p);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return p;
  }

  grpc::StatusCode Refund(const Who& who, const std::string& payment_id, const std::string& rid) {
    v1::RefundPaymentRequest req;
    req.set_request_id(rid);
    req.set_payment_id(payment_id);
    *req.mutable_amount() = Eur(100);
    req.set_reason("test");
    v1::Payment out;
    return stub_->RefundPayment(Ctx(who).get(), req, &out).error_code();
  }

  grpc::StatusCode Get(const Who& who, const std::string& payment_id) {
    v1::GetPaymentRequest req;
    req.set_payment_id(payment_id);
    v1::Payment out;
    return stub_->GetPayment(Ctx(who).get(), req, &out).error_code();
  }

  testing::ScriptedProcessor processor_;
  RecordingSellerDirectory sellers_;
  auth::Ed25519KeyPair keys_;
  auth::FakeKeyFetcher fetcher_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<common::BoundedExecutor> executor_;
  std::unique_ptr<common::UnaryRunner> runner_;
  std::unique_ptr<TestPayments> escrow_;
  std::unique_ptr<PaymentsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Payments::Stub> stub_;
  int token_counter_ = 0;
};

TEST_F(PaymentsApiTest, EveryMethodNeedsAToken) {
  v1::Payment p;
  EXPECT_EQ(Create(kCheckout, "o1", &p).error_code(), grpc::StatusCode::OK);
  v1::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  v1::Payment out;
  EXPECT_EQ(stub_->GetPayment(Ctx(std::nullopt).get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::VerifyLedgerRequest verify;
  v1::VerifyLedgerResponse vr;
  EXPECT_EQ(stub_->VerifyLedger(Ctx(std::nullopt).get(), verify, &vr).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PaymentsApiTest, BuyerPaysForItselfAndReadsOnlyItsOwnPayments) {
  v1::Payment p;
  ASSERT_TRUE(Create(kBuyer, "o1", &p).ok());
  EXPECT_EQ(Create(kBuyer, "o2", &p, "b0b0b000000000000000000000000002").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kBuyer, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kSeller, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kOtherBuyer, p.payment_id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(kOtherSeller, p.payment_id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(kModerator, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kAgent, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kKpi, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kBareService, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create(kBareService, "o3", &p).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create(kSeller, "o4", &p, "5e11e700000000000000000000000001").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PaymentsApiTest, RefundsByStaffServiceAndTheSellerOfTheSaleOnly) {
  v1::Payment p = MustCreate("o1");
  EXPECT_EQ(Refund(kSeller, p.payment_id(), "r1"), grpc::StatusCode::OK);
  EXPECT_EQ(Refund(kOtherSeller, p.payment_id(), "r2"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Refund(kBuyer, p.payment_id(), "r3"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Refund(kCheckout, p.payment_id(), "r4"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Refund(kAgent, p.payment_id(), "r5"), grpc::StatusCode::OK);
  EXPECT_EQ(Refund(kAdmin, p.payment_id(), "r6"), grpc::StatusCode::OK);
  v1::Payment after;
  v1::GetPaymentRequest get;
  get.set_payment_id(p.payment_id());
  ASSERT_TRUE(stub_->GetPayment(Ctx(kAdmin).get(), get, &after).ok());
  EXPECT_EQ(after.refunded().amount_minor(), 300);
}

TEST_F(PaymentsApiTest, ConfirmDisputeAndResolveFollowTheRoles) {
  v1::Payment p = MustCreate("o1");
  v1::Payment out;
  v1::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("c1");
  confirm.set_payment_id(p.payment_id());
  EXPECT_EQ(stub_->ConfirmDelivery(Ctx(kSeller).get(), confirm, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->ConfirmDelivery(Ctx(kOtherBuyer).get(), confirm, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::OpenDisputeRequest open;
  open.set_request_id("d1");
  open.set_payment_id(p.payment_id());
  open.set_reason_code("NOT_RECEIVED");
  open.set_description("nothing came");
  EXPECT_EQ(stub_->OpenDispute(Ctx(kSeller).get(), open, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->OpenDispute(Ctx(kBuyer).get(), open, &out).ok());
  EXPECT_EQ(out.state(), v1::DISPUTED);
  v1::ResolveDisputeRequest resolve;
  resolve.set_request_id("x1");
  resolve.set_payment_id(p.payment_id());
  resolve.set_outcome(v1::BUYER_WINS);
  resolve.set_explanation("refund");
  EXPECT_EQ(stub_->ResolveDispute(Ctx(kBuyer).get(), resolve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->ResolveDispute(Ctx(kAgent).get(), resolve, &out).ok());
  EXPECT_EQ(out.state(), v1::REFUNDED);
  // A confirm now is a state error with its reason on the wire.
  grpc::Status late = stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(late)), "PAYMENT_REFUNDED");
}

TEST_F(PaymentsApiTest, BalancesPayoutsPoliciesAndVerification) {
  v1::Payment p = MustCreate("o1");
  v1::Payment out;
  v1::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("c1");
  confirm.set_payment_id(p.payment_id());
  ASSERT_TRUE(stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out).ok());

  v1::GetSellerBalanceRequest balance;
  balance.set_seller_id("5e11e700000000000000000000000001");
  v1::SellerBalance b;
  ASSERT_TRUE(stub_->GetSellerBalance(Ctx(kSeller).get(), balance, &b).ok());
  ASSERT_EQ(b.balances_size(), 1);
  EXPECT_EQ(b.balances(0).available_minor(), 9000);
  EXPECT_EQ(stub_->GetSellerBalance(Ctx(kOtherSeller).get(), balance, &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetSellerBalance(Ctx(kBuyer).get(), balance, &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::CreatePayoutRequest payout;
  payout.set_request_id("po1");
  payout.set_seller_id("5e11e700000000000000000000000001");
  *payout.mutable_amount() = Eur(1000);
  v1::Payout po;
  EXPECT_EQ(stub_->CreatePayout(Ctx(kOtherSeller).get(), payout, &po).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->CreatePayout(Ctx(kAgent).get(), payout, &po).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->CreatePayout(Ctx(kSeller).get(), payout, &po).ok());
  payout.set_request_id("po2");
  ASSERT_TRUE(stub_->CreatePayout(Ctx(kAdmin).get(), payout, &po).ok());
  payout.set_request_id("po3");
  *payout.mutable_amount() = Eur(100000);
  grpc::Status too_much = stub_->CreatePayout(Ctx(kSeller).get(), payout, &po);
  EXPECT_EQ(too_much.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(too_much)), "INSUFFICIENT_AVAILABLE_BALANCE");

  v1::SetSellerHoldPolicyRequest policy;
  policy.set_seller_id("5e11e700000000000000000000000001");
  policy.mutable_hold_period()->set_seconds(7 * 24 * 3600);
  policy.set_reason("seller health GOOD");
  v1::SellerHoldPolicy set;
  EXPECT_EQ(stub_->SetSellerHoldPolicy(Ctx(kAgent).get(), policy, &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->SetSellerHoldPolicy(Ctx(kSeller).get(), policy, &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->SetSellerHoldPolicy(Ctx(kKpi).get(), policy, &set).ok());
  EXPECT_EQ(set.updated_by(), "svc-kpi");

  v1::VerifyLedgerRequest verify;
  v1::VerifyLedgerResponse vr;
  EXPECT_EQ(stub_->VerifyLedger(Ctx(kAgent).get(), verify, &vr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->VerifyLedger(Ctx(kAdmin).get(), verify, &vr).ok());
  EXPECT_TRUE(vr.consistent());
  EXPECT_EQ(vr.transactions_checked(), 4);  // capture, release, two payouts
}

// AIP-193: someone else's payment answers exactly like an id that does not exist, on every
// method that names a payment; PERMISSION_DENIED only when the caller may see the payment
// (it is a party to it) but its part does not allow the method.
TEST_F(PaymentsApiTest, SomeoneElsesPaymentAnswersLikeOneThatDoesNotExist) {
  v1::Payment p = MustCreate("o1");
  const std::string missing = "pay_0123456789abcdef01234567";
  const Who kBuyerAndSeller{"b0b0b000000000000000000000000001", {"BUYER", "SELLER"}, {}};
  auto same = [](const grpc::Status& a, const grpc::Status& b) {
    EXPECT_EQ(a.error_code(), grpc::StatusCode::NOT_FOUND) << a.error_message();
    EXPECT_EQ(b.error_code(), grpc::StatusCode::NOT_FOUND) << b.error_message();
    EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(a)),
              common::ReasonOf(common::FromGrpcStatus(b)));
  };
  v1::Payment out;
  auto get = [&](const Who& who, const std::string& id) {
    v1::GetPaymentRequest req;
    req.set_payment_id(id);
    return stub_->GetPayment(Ctx(who).get(), req, &out);
  };
  auto confirm = [&](const Who& who, const std::string& id) {
    v1::ConfirmDeliveryRequest req;
    req.set_request_id(absl::StrCat("c-", id));
    req.set_payment_id(id);
    return stub_->ConfirmDelivery(Ctx(who).get(), req, &out);
  };
  auto dispute = [&](const Who& who, const std::string& id) {
    v1::OpenDisputeRequest req;
    req.set_request_id(absl::StrCat("d-", id));
    req.set_payment_id(id);
    req.set_reason_code("NOT_RECEIVED");
    req.set_description("nothing came");
    return stub_->OpenDispute(Ctx(who).get(), req, &out);
  };
  auto refund = [&](const Who& who, const std::string& id) {
    v1::RefundPaymentRequest req;
    req.set_request_id(absl::StrCat("r-", id));
    req.set_payment_id(id);
    *req.mutable_amount() = Eur(100);
    req.set_reason("test");
    return stub_->RefundPayment(Ctx(who).get(), req, &out);
  };
  same(get(kOtherBuyer, p.payment_id()), get(kOtherBuyer, missing));
  same(get(kOtherSeller, p.payment_id()), get(kOtherSeller, missing));
  same(confirm(kOtherBuyer, p.payment_id()), confirm(kOtherBuyer, missing));
  same(dispute(kOtherBuyer, p.payment_id()), dispute(kOtherBuyer, missing));
  same(refund(kOtherSeller, p.payment_id()), refund(kOtherSeller, missing));
  // The buyer of the payment sees it but may not refund it as a seller would.
  EXPECT_EQ(refund(kBuyerAndSeller, p.payment_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nothing changed.
  ASSERT_TRUE(get(kAdmin, p.payment_id()).ok());
  EXPECT_EQ(out.state(), v1::HELD);
  EXPECT_EQ(out.refunded().amount_minor(), 0);
}

// Ids are compared exactly: an id that is not in the form its issuer makes (upper case,
// surrounding spaces) is INVALID_ARGUMENT naming the field, never another spelling of an id.
TEST_F(PaymentsApiTest, IdsAreCanonicalAndComparedExactly) {
  v1::Payment p = MustCreate("o1");
  auto create_with_seller = [&](const std::string& seller, const std::string& order) {
    v1::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id(seller);
    *req.mutable_amount() = Eur(100);
    req.set_payment_method_token("tok_sandbox_success");
    v1::Payment out;
    return stub_->CreatePayment(Ctx(kCheckout).get(), req, &out);
  };
  for (const std::string& seller :
       {std::string("5E11E700000000000000000000000001"),
        std::string(" 5e11e700000000000000000000000001 "), std::string("seller-1")}) {
    grpc::Status s = create_with_seller(seller, "o-" + seller);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << seller;
    EXPECT_NE(s.error_message().find("seller_id"), std::string::npos) << s.error_message();
  }
  std::string upper = p.payment_id();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  v1::GetPaymentRequest get;
  get.set_payment_id(upper);
  v1::Payment out;
  grpc::Status s = stub_->GetPayment(Ctx(kAdmin).get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("payment_id"), std::string::npos) << s.error_message();
  // The columns compare exactly too (binary collations).
  auto rows = pool().Query(absl::StrCat(
      "SELECT COUNT(*) AS n FROM payments WHERE payment_id = '", upper,
      "' OR seller_id = '5E11E700000000000000000000000001'"));
  ASSERT_OK(rows.status());
  EXPECT_EQ(*(*rows)[0].GetInt64("n"), 0);
  // Order ids come from outside and are taken as given: another spelling is another order.
  v1::Payment other;
  EXPECT_TRUE(Create(kCheckout, "O1", &other).ok());
}

// The calls CreatePayment makes for its caller (identity's seller lookup, the processor's
// authorisation and capture) carry the caller's deadline and x-request-id.
TEST_F(PaymentsApiTest, CallsMadeForTheCallerCarryItsDeadlineAndRequestId) {
  v1::CreatePaymentRequest req;
  req.set_request_id("create-o1");
  req.set_order_id("o1");
  req.set_buyer_id("b0b0b000000000000000000000000001");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(10000);
  req.set_payment_method_token("tok_sandbox_success");
  grpc::ClientContext ctx;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  ctx.set_deadline(absl::ToChronoTime(deadline));
  ctx.AddMetadata("x-request-id", "req-pay-42");
  auth::AttachBearerToken(&ctx, Token(kCheckout));
  v1::Payment p;
  grpc::Status s = stub_->CreatePayment(&ctx, req, &p);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (const common::CallOrigin& origin : {sellers_.last_origin(), processor_.last_origin}) {
    EXPECT_EQ(origin.request_id, "req-pay-42");
    ASSERT_TRUE(origin.deadline.has_value());
    EXPECT_LE(absl::AbsDuration(*origin.deadline - deadline), absl::Seconds(1));
  }
  EXPECT_EQ(processor_.authorize_calls.load(), 1);
  EXPECT_EQ(processor_.capture_calls.load(), 1);
}

// Once the caller's deadline has passed (here during the seller lookup), CreatePayment stops:
// the processor is never asked and nothing is written.
TEST_F(PaymentsApiTest, NoProcessorCallOnceTheCallersDeadlineHasPassed) {
  sellers_.hold_past_deadline = true;
  v1::CreatePaymentRequest req;
  req.set_request_id("create-o1");
  req.set_order_id("o1");
  req.set_buyer_id("b0b0b000000000000000000000000001");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(10000);
  req.set_payment_method_token("tok_sandbox_success");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1500));
  auth::AttachBearerToken(&ctx, Token(kCheckout));
  v1::Payment p;
  EXPECT_EQ(stub_->CreatePayment(&ctx, req, &p).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // Wait for the server's handler to finish its work.
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while ((executor_->Busy() > 0 || executor_->QueueDepth() > 0) && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(executor_->Busy(), 0);
  EXPECT_EQ(processor_.authorize_calls.load(), 0);
  EXPECT_EQ(processor_.capture_calls.load(), 0);
  auto rows = pool().Query("SELECT (SELECT COUNT(*) FROM payments) + (SELECT COUNT(*) FROM "
                           "payment_intents) AS n");
  ASSERT_OK(rows.status());
  EXPECT_EQ(*(*rows)[0].GetInt64("n"), 0);
}

TEST_F(PaymentsApiTest, DeclineAndBadInputCarryDetails) {
  v1::Payment p;
  grpc::Status declined = Create(kCheckout, "o1", &p, "b0b0b000000000000000000000000001", "tok_sandbox_decline");
  EXPECT_EQ(declined.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(declined)), "PAYMENT_DECLINED");
  v1::CreatePaymentRequest bad;
  bad.set_request_id("bad");
  bad.set_order_id("o2");
  bad.set_buyer_id("b0b0b000000000000000000000000001");
  bad.set_seller_id("5e11e700000000000000000000000001");
  *bad.mutable_amount() = Eur(-1);
  bad.set_payment_method_token("tok_sandbox_success");
  grpc::Status invalid = stub_->CreatePayment(Ctx(kCheckout).get(), bad, &p);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = common::FieldViolationsOf(common::FromGrpcStatus(invalid));
  ASSERT_FALSE(violations.empty());
  EXPECT_EQ(violations[0].field, "amount.amount_minor");
}

// ListPayments by order_id: an exact match, within what the caller sees, under the order-id
// rule; the page token is bound to it.
TEST_F(PaymentsApiTest, ListPaymentsByOrderIdIsExactAndWithinWhatTheCallerSees) {
  v1::Payment mine = MustCreate("order-A");
  v1::Payment other;
  ASSERT_TRUE(Create(kCheckout, "order-B", &other, "b0b0b000000000000000000000000002").ok());
  v1::Payment upper;
  ASSERT_TRUE(Create(kCheckout, "ORDER-A", &upper).ok());
  auto list = [&](const Who& who, const std::string& order, v1::ListPaymentsResponse* out,
                  const std::string& token = "", int page_size = 0) {
    v1::ListPaymentsRequest req;
    req.set_order_id(order);
    req.set_page_token(token);
    req.set_page_size(page_size);
    return stub_->ListPayments(Ctx(who).get(), req, out);
  };
  v1::ListPaymentsResponse r;
  for (const Who& who : {kBuyer, kSeller, kAgent, kAdmin, kKpi}) {
    ASSERT_TRUE(list(who, "order-A", &r).ok()) << who.subject;
    ASSERT_EQ(r.payments_size(), 1) << who.subject;
    EXPECT_EQ(r.payments(0).payment_id(), mine.payment_id()) << who.subject;
    EXPECT_EQ(r.payments(0).order_id(), "order-A");
  }
  // Exact: another spelling is another order.
  ASSERT_TRUE(list(kAdmin, "ORDER-A", &r).ok());
  ASSERT_EQ(r.payments_size(), 1);
  EXPECT_EQ(r.payments(0).payment_id(), upper.payment_id());
  ASSERT_TRUE(list(kAdmin, "order-a", &r).ok());
  EXPECT_EQ(r.payments_size(), 0);
  ASSERT_TRUE(list(kAdmin, "order-", &r).ok());
  EXPECT_EQ(r.payments_size(), 0);
  // Another buyer's order answers like an order without a payment; another seller sees none.
  ASSERT_TRUE(list(kBuyer, "order-B", &r).ok());
  EXPECT_EQ(r.payments_size(), 0);
  ASSERT_TRUE(list(kBuyer, "no-such-order", &r).ok());
  EXPECT_EQ(r.payments_size(), 0);
  ASSERT_TRUE(list(kOtherSeller, "order-A", &r).ok());
  EXPECT_EQ(r.payments_size(), 0);
  ASSERT_TRUE(list(kOtherBuyer, "order-B", &r).ok());
  EXPECT_EQ(r.payments_size(), 1);
  // Outside the order-id rule: INVALID_ARGUMENT naming order_id.
  for (const std::string& bad : {std::string(), std::string(129, 'x')}) {
    grpc::Status s = list(kAdmin, bad, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.size();
    auto violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "order_id");
  }
  ASSERT_TRUE(list(kAdmin, std::string(128, 'x'), &r).ok());
  // The page token is bound to the order_id filter.
  v1::ListPaymentsRequest all;
  all.set_page_size(1);
  v1::ListPaymentsResponse first;
  ASSERT_TRUE(stub_->ListPayments(Ctx(kAdmin).get(), all, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  grpc::Status s = list(kAdmin, "order-A", &r, first.next_page_token());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "page_token");
  v1::ListPaymentsRequest next = all;
  next.set_page_token(first.next_page_token());
  EXPECT_TRUE(stub_->ListPayments(Ctx(kAdmin).get(), next, &r).ok());
}

TEST(ActorForTest, UnknownMethodAndRoleWithoutRightsAreDenied) {
  auth::Caller admin{"a", {"ADMIN"}, {}, "t", absl::Now()};
  EXPECT_EQ(ActorFor(admin, "NoSuchMethod").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ActorFor(std::nullopt, "GetPayment").status().code(),
            absl::StatusCode::kUnauthenticated);
  auth::Caller moderator{"m", {"MODERATOR"}, {}, "t", absl::Now()};
  for (const char* m : {"CreatePayment", "GetPayment", "ListPayments", "ConfirmDelivery",
                        "RefundPayment", "SettleOwedRefund", "OpenDispute", "ResolveDispute",
                        "SetSellerHoldPolicy", "GetSellerBalance", "CreatePayout",
                        "ListPayouts", "VerifyLedger"}) {
    EXPECT_EQ(ActorFor(moderator, m).status().code(), absl::StatusCode::kPermissionDenied) << m;
  }
}

TEST(ActorForTest, OnlyStaffAndRefundServicesSettleOwedRefunds) {
  auth::Caller agent{"s", {"SUPPORT_AGENT"}, {}, "t", absl::Now()};
  auth::Caller refunds{"svc", {"SERVICE"}, {"payments.refunds"}, "t", absl::Now()};
  auth::Caller reader{"svc", {"SERVICE"}, {"payments.read"}, "t", absl::Now()};
  auth::Caller buyer{"b", {"BUYER"}, {}, "t", absl::Now()};
  auth::Caller seller{"s", {"SELLER"}, {}, "t", absl::Now()};
  EXPECT_TRUE(ActorFor(agent, "SettleOwedRefund")->any_payment);
  EXPECT_TRUE(ActorFor(refunds, "SettleOwedRefund")->any_payment);
  for (const auth::Caller& c : {reader, buyer, seller}) {
    EXPECT_EQ(ActorFor(c, "SettleOwedRefund").status().code(),
              absl::StatusCode::kPermissionDenied)
        << c.subject;
  }
}

}  // namespace
}  // namespace marketplace::payments
