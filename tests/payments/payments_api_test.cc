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

namespace marketplace::payments {
namespace {

using testing::TestPayments;

namespace auth = common::auth;

struct Who {
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
};

const Who kBuyer{"buyer-1", {"BUYER"}, {}};
const Who kOtherBuyer{"buyer-2", {"BUYER"}, {}};
const Who kSeller{"seller-1", {"SELLER"}, {}};
const Who kOtherSeller{"seller-2", {"SELLER"}, {}};
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
    sellers_.Set("seller-1", true);
    sellers_.Set("seller-2", true);
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
                      const std::string& buyer = "buyer-1",
                      const std::string& token = "tok_sandbox_success") {
    v1::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id(buyer);
    req.set_seller_id("seller-1");
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

  SandboxProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
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
  EXPECT_EQ(Create(kBuyer, "o2", &p, "buyer-2").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kBuyer, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kSeller, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kOtherBuyer, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kOtherSeller, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kModerator, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(kAgent, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kKpi, p.payment_id()), grpc::StatusCode::OK);
  EXPECT_EQ(Get(kBareService, p.payment_id()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create(kBareService, "o3", &p).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create(kSeller, "o4", &p, "seller-1").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PaymentsApiTest, RefundsByStaffServiceAndTheSellerOfTheSaleOnly) {
  v1::Payment p = MustCreate("o1");
  EXPECT_EQ(Refund(kSeller, p.payment_id(), "r1"), grpc::StatusCode::OK);
  EXPECT_EQ(Refund(kOtherSeller, p.payment_id(), "r2"), grpc::StatusCode::PERMISSION_DENIED);
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
            grpc::StatusCode::PERMISSION_DENIED);
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
  balance.set_seller_id("seller-1");
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
  payout.set_seller_id("seller-1");
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
  policy.set_seller_id("seller-1");
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

TEST_F(PaymentsApiTest, DeclineAndBadInputCarryDetails) {
  v1::Payment p;
  grpc::Status declined = Create(kCheckout, "o1", &p, "buyer-1", "tok_sandbox_decline");
  EXPECT_EQ(declined.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(declined)), "PAYMENT_DECLINED");
  v1::CreatePaymentRequest bad;
  bad.set_request_id("bad");
  bad.set_order_id("o2");
  bad.set_buyer_id("buyer-1");
  bad.set_seller_id("seller-1");
  *bad.mutable_amount() = Eur(-1);
  bad.set_payment_method_token("tok_sandbox_success");
  grpc::Status invalid = stub_->CreatePayment(Ctx(kCheckout).get(), bad, &p);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = common::FieldViolationsOf(common::FromGrpcStatus(invalid));
  ASSERT_FALSE(violations.empty());
  EXPECT_EQ(violations[0].field, "amount.amount_minor");
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
