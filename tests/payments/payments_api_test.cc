// The gRPC API in process, on a real MariaDB: authentication, the role/scope/ownership rules
// of payments.proto, and error details on the wire.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/executor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/server/unary_call.h"
#include "common/status_mapping.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_service.h"
#include "services/payments/sandbox_processor.h"
#include "tests/payments/fake_processor.h"
#include "tests/payments/payments_harness.h"

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
const Who kSupport{"svc-support", {"SERVICE"}, {"payments.refunds"}};

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

// The fields an INVALID_ARGUMENT names (its google.rpc.BadRequest), none for other codes.
std::set<std::string> FieldsOf(const grpc::Status& status) {
  std::set<std::string> fields;
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return fields;
  for (const auto& v : common::FieldViolationsOf(common::FromGrpcStatus(status))) {
    fields.insert(v.field);
  }
  return fields;
}

// `n` characters of two bytes each in UTF-8 ("é").
std::string TwoByteChars(size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) text += "\xC3\xA9";
  return text;
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

// CreatePayout's seller lookup carries the caller's deadline and x-request-id too.
TEST_F(PaymentsApiTest, CreatePayoutsSellerLookupCarriesTheCallersDeadlineAndRequestId) {
  v1::Payment p = MustCreate("o1");
  v1::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("c1");
  confirm.set_payment_id(p.payment_id());
  v1::Payment out;
  ASSERT_TRUE(stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out).ok());
  v1::CreatePayoutRequest req;
  req.set_request_id("po1");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(1000);
  grpc::ClientContext ctx;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  ctx.set_deadline(absl::ToChronoTime(deadline));
  ctx.AddMetadata("x-request-id", "req-payout-7");
  auth::AttachBearerToken(&ctx, Token(kSeller));
  v1::Payout payout;
  grpc::Status s = stub_->CreatePayout(&ctx, req, &payout);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const common::CallOrigin origin = sellers_.last_origin();
  EXPECT_EQ(origin.request_id, "req-payout-7");
  ASSERT_TRUE(origin.deadline.has_value());
  EXPECT_LE(absl::AbsDuration(*origin.deadline - deadline), absl::Seconds(1));
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

// "N characters" counts characters (code points), not bytes: N two-byte characters are
// accepted, N+1 refused naming the field, for every text field with a limit.
TEST_F(PaymentsApiTest, TextLimitsCountCharactersNotBytes) {
  auto create = [&](const std::string& rid, const std::string& order, const std::string& token,
                    v1::Payment* out) {
    v1::CreatePaymentRequest req;
    req.set_request_id(rid);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(10000);
    req.set_payment_method_token(token);
    return stub_->CreatePayment(Ctx(kCheckout).get(), req, out);
  };
  v1::Payment p;
  grpc::Status s = create("c-128", TwoByteChars(128), "tok_sandbox_success", &p);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(p.order_id(), TwoByteChars(128));
  v1::Payment none;
  EXPECT_EQ(FieldsOf(create("c-129", TwoByteChars(129), "tok_sandbox_success", &none)),
            std::set<std::string>{"order_id"});
  // An unknown token of 256 characters reaches the processor (which declines it).
  EXPECT_EQ(create("c-t256", "o-t256", TwoByteChars(256), &none).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(FieldsOf(create("c-t257", "o-t257", TwoByteChars(257), &none)),
            std::set<std::string>{"payment_method_token"});

  v1::ListPaymentsRequest list;
  list.set_order_id(TwoByteChars(128));
  v1::ListPaymentsResponse listed;
  ASSERT_TRUE(stub_->ListPayments(Ctx(kAdmin).get(), list, &listed).ok());
  ASSERT_EQ(listed.payments_size(), 1);
  EXPECT_EQ(listed.payments(0).payment_id(), p.payment_id());
  list.set_order_id(TwoByteChars(129));
  EXPECT_EQ(FieldsOf(stub_->ListPayments(Ctx(kAdmin).get(), list, &listed)),
            std::set<std::string>{"order_id"});

  v1::Payment out;
  v1::RefundPaymentRequest refund;
  refund.set_request_id("r-1001");
  refund.set_payment_id(p.payment_id());
  *refund.mutable_amount() = Eur(100);
  refund.set_reason(TwoByteChars(1001));
  EXPECT_EQ(FieldsOf(stub_->RefundPayment(Ctx(kAgent).get(), refund, &out)),
            std::set<std::string>{"reason"});
  refund.set_request_id("r-1000");
  refund.set_reason(TwoByteChars(1000));
  s = stub_->RefundPayment(Ctx(kAgent).get(), refund, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();

  v1::OpenDisputeRequest open;
  open.set_request_id("d-4001");
  open.set_payment_id(p.payment_id());
  open.set_reason_code("NOT_RECEIVED");
  open.set_description(TwoByteChars(4001));
  EXPECT_EQ(FieldsOf(stub_->OpenDispute(Ctx(kBuyer).get(), open, &out)),
            std::set<std::string>{"description"});
  open.set_request_id("d-4000");
  open.set_description(TwoByteChars(4000));
  s = stub_->OpenDispute(Ctx(kBuyer).get(), open, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();

  v1::ResolveDisputeRequest resolve;
  resolve.set_request_id("x-4001");
  resolve.set_payment_id(p.payment_id());
  resolve.set_outcome(v1::BUYER_WINS);
  resolve.set_explanation(TwoByteChars(4001));
  EXPECT_EQ(FieldsOf(stub_->ResolveDispute(Ctx(kAgent).get(), resolve, &out)),
            std::set<std::string>{"explanation"});
  resolve.set_request_id("x-4000");
  resolve.set_explanation(TwoByteChars(4000));
  s = stub_->ResolveDispute(Ctx(kAgent).get(), resolve, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // Within the limits the refund is looked up (and not found); beyond them nothing is.
  v1::Payment other = MustCreate("o-other");
  v1::ChargeSellerForRefundRequest charge;
  charge.set_request_id("ch-1000");
  charge.set_payment_id(other.payment_id());
  charge.set_refund_id("refund_nope");
  charge.set_reason(TwoByteChars(1000));
  EXPECT_EQ(stub_->ChargeSellerForRefund(Ctx(kAgent).get(), charge, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  charge.set_request_id("ch-1001");
  charge.set_reason(TwoByteChars(1001));
  EXPECT_EQ(FieldsOf(stub_->ChargeSellerForRefund(Ctx(kAgent).get(), charge, &out)),
            std::set<std::string>{"reason"});
  v1::SettleOwedRefundRequest settle;
  settle.set_request_id("st-ok");
  settle.set_payment_id(other.payment_id());
  settle.set_refund_id("refund_nope");
  settle.set_settlement_reference(TwoByteChars(255));
  settle.set_note(TwoByteChars(1000));
  EXPECT_EQ(stub_->SettleOwedRefund(Ctx(kAgent).get(), settle, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  settle.set_request_id("st-long");
  settle.set_settlement_reference(TwoByteChars(256));
  settle.set_note(TwoByteChars(1001));
  EXPECT_EQ(FieldsOf(stub_->SettleOwedRefund(Ctx(kAgent).get(), settle, &out)),
            (std::set<std::string>{"settlement_reference", "note"}));

  v1::SetSellerHoldPolicyRequest policy;
  policy.set_seller_id("5e11e700000000000000000000000001");
  policy.mutable_hold_period()->set_seconds(7 * 24 * 3600);
  policy.set_reason(TwoByteChars(501));
  v1::SellerHoldPolicy set;
  EXPECT_EQ(FieldsOf(stub_->SetSellerHoldPolicy(Ctx(kKpi).get(), policy, &set)),
            std::set<std::string>{"reason"});
  policy.set_reason(TwoByteChars(500));
  s = stub_->SetSellerHoldPolicy(Ctx(kKpi).get(), policy, &set);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(set.reason(), TwoByteChars(500));
}

// INVALID_ARGUMENT names every offending field of the request, not only the first.
TEST_F(PaymentsApiTest, EveryBadFieldIsNamedAtOnce) {
  v1::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("");
  confirm.set_payment_id("PAY_X");
  v1::Payment out;
  EXPECT_EQ(FieldsOf(stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out)),
            (std::set<std::string>{"request_id", "payment_id"}));

  v1::ListPaymentsRequest list;
  list.set_page_size(101);
  list.set_state(static_cast<v1::PaymentState>(99));
  list.set_buyer_id("B0B0");
  list.set_seller_id("seller-1");
  list.set_order_id("");
  v1::ListPaymentsResponse listed;
  EXPECT_EQ(FieldsOf(stub_->ListPayments(Ctx(kAdmin).get(), list, &listed)),
            (std::set<std::string>{"page_size", "state", "buyer_id", "seller_id", "order_id"}));
  list.set_page_size(-1);
  list.clear_state();
  list.clear_seller_id();
  list.clear_order_id();
  EXPECT_EQ(FieldsOf(stub_->ListPayments(Ctx(kAdmin).get(), list, &listed)),
            (std::set<std::string>{"page_size", "buyer_id"}));
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

// --- Who pays a refund: on_behalf_of_seller, funded_by, ChargeSellerForRefund -------------

class RefundFundingTest : public PaymentsApiTest {
 protected:
  static constexpr char kSellerId[] = "5e11e700000000000000000000000001";

  // A payment of 100.00 EUR (commission 10 %) released to the seller: +90.00 available.
  v1::Payment Released(const std::string& order) {
    v1::Payment p = MustCreate(order);
    v1::ConfirmDeliveryRequest confirm;
    confirm.set_request_id("confirm-" + order);
    confirm.set_payment_id(p.payment_id());
    v1::Payment out;
    grpc::Status s = stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status RefundWith(const Who& who, const std::string& payment_id, const std::string& rid,
                          int64_t minor, bool on_behalf, v1::RefundFunding funded_by,
                          v1::Payment* out) {
    v1::RefundPaymentRequest req;
    req.set_request_id(rid);
    req.set_payment_id(payment_id);
    *req.mutable_amount() = Eur(minor);
    req.set_reason("test refund");
    req.set_on_behalf_of_seller(on_behalf);
    req.set_funded_by(funded_by);
    return stub_->RefundPayment(Ctx(who).get(), req, out);
  }

  grpc::Status Charge(const Who& who, const std::string& payment_id, const std::string& refund_id,
                      const std::string& rid, v1::Payment* out) {
    v1::ChargeSellerForRefundRequest req;
    req.set_request_id(rid);
    req.set_payment_id(payment_id);
    req.set_refund_id(refund_id);
    req.set_reason("agent found the seller at fault");
    return stub_->ChargeSellerForRefund(Ctx(who).get(), req, out);
  }

  v1::Payment Fetch(const std::string& payment_id) {
    v1::GetPaymentRequest get;
    get.set_payment_id(payment_id);
    v1::Payment out;
    grpc::Status s = stub_->GetPayment(Ctx(kAdmin).get(), get, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  int64_t Available() {
    v1::GetSellerBalanceRequest req;
    req.set_seller_id(kSellerId);
    v1::SellerBalance b;
    grpc::Status s = stub_->GetSellerBalance(Ctx(kAdmin).get(), req, &b);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return b.balances_size() == 1 ? b.balances(0).available_minor() : -1;
  }

  grpc::Status Payout(const std::string& rid, int64_t minor) {
    v1::CreatePayoutRequest req;
    req.set_request_id(rid);
    req.set_seller_id(kSellerId);
    *req.mutable_amount() = Eur(minor);
    v1::Payout out;
    return stub_->CreatePayout(Ctx(kSeller).get(), req, &out);
  }

  void ExpectLedgerConsistent() {
    v1::VerifyLedgerRequest verify;
    v1::VerifyLedgerResponse vr;
    ASSERT_TRUE(stub_->VerifyLedger(Ctx(kAdmin).get(), verify, &vr).ok());
    EXPECT_TRUE(vr.consistent()) << (vr.violations_size() ? vr.violations(0) : "");
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }
  // Rows that a refused call must not have written.
  int64_t Writes() {
    return Count(
        "SELECT (SELECT COUNT(*) FROM ledger_transactions) + (SELECT COUNT(*) FROM "
        "processor_operations) + (SELECT COUNT(*) FROM payment_events) + (SELECT COUNT(*) FROM "
        "processor_operations WHERE charged_at IS NOT NULL) AS n");
  }
};

TEST_F(RefundFundingTest, OnlyTheRightCallersSetTheNewFieldsAndBadInputWritesNothing) {
  v1::Payment p = MustCreate("o1");
  v1::Payment out;
  const int64_t before = Writes();
  // on_behalf_of_seller: SERVICE with payments.refunds only.
  for (const Who& who : {kAgent, kAdmin, kSeller}) {
    grpc::Status s = RefundWith(who, p.payment_id(), "ob-" + who.subject, 100, true,
                                v1::REFUND_FUNDING_UNSPECIFIED, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who.subject;
  }
  for (const Who& who : {kCheckout, kKpi, kBareService, kBuyer, kModerator}) {
    EXPECT_EQ(RefundWith(who, p.payment_id(), "ob2-" + who.subject, 100, true,
                         v1::REFUND_FUNDING_UNSPECIFIED, &out)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who.subject;
  }
  // funded_by: staff and SERVICE with payments.refunds; the seller may not choose.
  EXPECT_EQ(RefundWith(kSeller, p.payment_id(), "fb-seller", 100, false, v1::GUARANTEE_FUND, &out)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(RefundWith(kSeller, p.payment_id(), "fb-seller2", 100, false, v1::SELLER_BALANCE, &out)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Both together, or a value outside the enum: INVALID_ARGUMENT naming funded_by.
  for (auto [on_behalf, funding] :
       {std::pair<bool, v1::RefundFunding>{true, v1::GUARANTEE_FUND},
        {true, v1::SELLER_BALANCE},
        {false, static_cast<v1::RefundFunding>(7)}}) {
    grpc::Status s = RefundWith(kSupport, p.payment_id(), "bad", 100, on_behalf, funding, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    auto violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "funded_by");
  }
  EXPECT_EQ(Writes(), before);
  EXPECT_EQ(Fetch(p.payment_id()).refunded().amount_minor(), 0);

  // The allowed ones, each recorded with who paid.
  ASSERT_TRUE(RefundWith(kSupport, p.payment_id(), "ok-ob", 100, true,
                         v1::REFUND_FUNDING_UNSPECIFIED, &out).ok());
  ASSERT_EQ(out.refunds_size(), 1);
  EXPECT_TRUE(out.refunds(0).on_behalf_of_seller());
  EXPECT_EQ(out.refunds(0).funded_by(), v1::SELLER_BALANCE);
  EXPECT_EQ(out.refunds(0).paid_by_seller().amount_minor(), 100);  // escrow of a HELD payment
  int n = 1;
  for (const Who& who : {kAgent, kAdmin, kSupport}) {
    for (v1::RefundFunding f : {v1::SELLER_BALANCE, v1::GUARANTEE_FUND}) {
      grpc::Status s = RefundWith(who, p.payment_id(), absl::StrCat("ok-", who.subject, static_cast<int>(f)), 100,
                                  false, f, &out);
      ASSERT_TRUE(s.ok()) << who.subject << " " << s.error_message();
      ++n;
      ASSERT_EQ(out.refunds_size(), n);
      EXPECT_EQ(out.refunds(n - 1).funded_by(), f);
      EXPECT_FALSE(out.refunds(n - 1).on_behalf_of_seller());
    }
  }
  EXPECT_EQ(Fetch(p.payment_id()).refunded().amount_minor(), 100 * n);
  // The funding is part of the request: the same request_id with another is refused.
  grpc::Status reused = RefundWith(kAgent, p.payment_id(),
                                   absl::StrCat("ok-", kAgent.subject,
                                                static_cast<int>(v1::SELLER_BALANCE)),
                                   100, false, v1::GUARANTEE_FUND, &out);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(reused)), "REQUEST_ID_REUSED");
  EXPECT_EQ(Fetch(p.payment_id()).refunded().amount_minor(), 100 * n);
  ExpectLedgerConsistent();
}

// on_behalf_of_seller is the seller's own rule: up to its available balance, nothing
// recorded beyond it; the same refund without it (support's own) is carried by the fund.
TEST_F(RefundFundingTest, OnBehalfOfSellerIsLimitedExactlyLikeTheSellersOwnRefund) {
  v1::Payment p = Released("o1");
  ASSERT_TRUE(Payout("po1", 8500).ok());
  ASSERT_EQ(Available(), 500);
  v1::Payment out;
  const int64_t before = Writes();
  for (const Who& who : {kSeller, kSupport}) {
    grpc::Status s = RefundWith(who, p.payment_id(), "r1", 5000, who.subject == kSupport.subject,
                                v1::REFUND_FUNDING_UNSPECIFIED, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << who.subject;
    EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(s)), "REFUND_EXCEEDS_SELLER_BALANCE");
  }
  EXPECT_EQ(Writes(), before);
  EXPECT_EQ(Available(), 500);
  // Within the balance (seller share 450 of 500) it goes through, paid by the seller.
  ASSERT_TRUE(RefundWith(kSupport, p.payment_id(), "r2", 500, true,
                         v1::REFUND_FUNDING_UNSPECIFIED, &out).ok());
  EXPECT_EQ(Available(), 50);
  ASSERT_EQ(out.refunds_size(), 1);
  EXPECT_EQ(out.refunds(0).paid_by_seller().amount_minor(), 450);
  EXPECT_EQ(out.refunds(0).paid_by_guarantee_fund().amount_minor(), 0);
  // Support's own refund (SELLER_BALANCE, today's staff rule): seller first, fund the rest.
  ASSERT_TRUE(RefundWith(kSupport, p.payment_id(), "r3", 5000, false, v1::SELLER_BALANCE, &out).ok());
  EXPECT_EQ(Available(), 0);
  ASSERT_EQ(out.refunds_size(), 2);
  EXPECT_EQ(out.refunds(1).paid_by_seller().amount_minor(), 50);
  EXPECT_EQ(out.refunds(1).paid_by_guarantee_fund().amount_minor(), 4450);
  ExpectLedgerConsistent();
}

// GUARANTEE_FUND leaves the seller's money alone, released or held; the ledger names the
// account that paid and the refund.
TEST_F(RefundFundingTest, GuaranteeFundPaysAndTheLedgerShowsIt) {
  v1::Payment released = Released("o1");
  v1::Payment out;
  ASSERT_TRUE(RefundWith(kAgent, released.payment_id(), "g1", 2000, false, v1::GUARANTEE_FUND,
                         &out).ok());
  EXPECT_EQ(Available(), 9000);  // untouched
  ASSERT_EQ(out.refunds_size(), 1);
  const v1::Refund refund = out.refunds(0);
  EXPECT_EQ(refund.funded_by(), v1::GUARANTEE_FUND);
  EXPECT_EQ(refund.paid_by_seller().amount_minor(), 0);
  EXPECT_EQ(refund.paid_by_guarantee_fund().amount_minor(), 1800);  // 200 commission returned
  EXPECT_FALSE(refund.has_charged_at());
  v1::Payment full = Fetch(released.payment_id());
  EXPECT_EQ(full.guaranteed().amount_minor(), 1800);
  std::map<std::string, int64_t> by_account;
  for (const v1::LedgerEntry& e : full.ledger_entries()) {
    if (e.transaction_kind() != "refund") continue;
    EXPECT_EQ(e.refund_id(), refund.refund_id());
    by_account[e.account_kind()] += e.amount().amount_minor();
  }
  EXPECT_EQ(by_account["guarantee_fund"], -1800);
  EXPECT_EQ(by_account["platform_commission"], -200);
  EXPECT_EQ(by_account["refunds_out"], 2000);
  EXPECT_EQ(by_account.count("seller_available"), 0u);
  // The outbox event says who paid too.
  {
    auto rows = pool().Query(
        "SELECT payload FROM outbox_events WHERE topic = 'payments.payment_refunded' "
        "ORDER BY id DESC LIMIT 1");
    ASSERT_OK(rows.status());
    ASSERT_EQ(rows->size(), 1u);
    auto payload = (*rows)[0].GetString("payload");
    ASSERT_OK(payload.status());
    v1::PaymentRefunded event;
    ASSERT_TRUE(event.ParseFromString(*payload));
    EXPECT_EQ(event.refund_id(), refund.refund_id());
    EXPECT_EQ(event.funded_by(), v1::GUARANTEE_FUND);
    EXPECT_EQ(event.paid_by_guarantee_fund().amount_minor(), 1800);
    EXPECT_EQ(event.paid_by_seller().amount_minor(), 0);
    EXPECT_FALSE(event.on_behalf_of_seller());
  }

  // HELD: the buyer is paid from escrow and the fund pays the seller that part's net.
  v1::Payment held = MustCreate("o2");
  ASSERT_TRUE(RefundWith(kSupport, held.payment_id(), "g2", 2000, false, v1::GUARANTEE_FUND,
                         &out).ok());
  EXPECT_EQ(Available(), 9000 + 1800);
  ASSERT_EQ(out.refunds_size(), 1);
  EXPECT_EQ(out.refunds(0).paid_by_guarantee_fund().amount_minor(), 1800);
  EXPECT_EQ(out.refunds(0).paid_by_seller().amount_minor(), 0);
  v1::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("confirm-o2");
  confirm.set_payment_id(held.payment_id());
  ASSERT_TRUE(stub_->ConfirmDelivery(Ctx(kBuyer).get(), confirm, &out).ok());
  EXPECT_EQ(Available(), 9000 + 9000);  // the seller nets what a full sale nets it
  EXPECT_EQ(out.seller_net().amount_minor(), 9000);
  // Unspecified on a HELD payment by staff: today's rule, out of escrow.
  v1::Payment held2 = MustCreate("o3");
  ASSERT_TRUE(RefundWith(kAgent, held2.payment_id(), "g3", 2000, false,
                         v1::REFUND_FUNDING_UNSPECIFIED, &out).ok());
  EXPECT_EQ(out.refunds(0).funded_by(), v1::SELLER_BALANCE);
  EXPECT_EQ(out.refunds(0).paid_by_seller().amount_minor(), 2000);
  EXPECT_EQ(Available(), 18000);
  ExpectLedgerConsistent();
}

TEST_F(RefundFundingTest, ChargeSellerForRefundMovesTheFundsShareOnceAndNeverIntoDebt) {
  v1::Payment p = Released("o1");
  v1::Payment out;
  ASSERT_TRUE(RefundWith(kAgent, p.payment_id(), "g1", 2000, false, v1::GUARANTEE_FUND, &out).ok());
  const std::string refund_id = out.refunds(0).refund_id();
  ASSERT_TRUE(RefundWith(kAgent, p.payment_id(), "s1", 1000, false, v1::SELLER_BALANCE, &out).ok());
  const std::string seller_paid_id = out.refunds(1).refund_id();
  ASSERT_EQ(Available(), 9000 - 900);

  v1::Payment other = MustCreate("o-other");
  // Roles: staff and SERVICE with payments.refunds only.
  const int64_t before = Writes();
  for (const Who& who : {kSeller, kBuyer, kOtherSeller, kCheckout, kKpi, kBareService,
                         kModerator}) {
    EXPECT_EQ(Charge(who, p.payment_id(), refund_id, "c-" + who.subject, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who.subject;
  }
  // Bad input and wrong state: their codes, nothing written.
  auto field = [](const grpc::Status& s) {
    auto v = common::FieldViolationsOf(common::FromGrpcStatus(s));
    return v.size() == 1 ? v[0].field : std::string("?");
  };
  EXPECT_EQ(field(Charge(kAgent, p.payment_id(), "", "c-bad1", &out)), "refund_id");
  EXPECT_EQ(field(Charge(kAgent, p.payment_id(), std::string(65, 'r'), "c-bad2", &out)),
            "refund_id");
  EXPECT_EQ(field(Charge(kAgent, "PAY_X", refund_id, "c-bad3", &out)), "payment_id");
  EXPECT_EQ(field(Charge(kAgent, p.payment_id(), refund_id, "", &out)), "request_id");
  {
    v1::ChargeSellerForRefundRequest req;
    req.set_request_id("c-bad4");
    req.set_payment_id(p.payment_id());
    req.set_refund_id(refund_id);
    grpc::Status s = stub_->ChargeSellerForRefund(Ctx(kAgent).get(), req, &out);
    EXPECT_EQ(field(s), "reason");
  }
  grpc::Status unknown = Charge(kAgent, p.payment_id(), "refund_nope", "c-nf", &out);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(unknown)), "REFUND_NOT_FOUND");
  EXPECT_EQ(Charge(kAgent, other.payment_id(), refund_id, "c-wrong-payment", &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status not_funded = Charge(kAgent, p.payment_id(), seller_paid_id, "c-nfund", &out);
  EXPECT_EQ(not_funded.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(not_funded)), "REFUND_NOT_GUARANTEE_FUNDED");
  EXPECT_EQ(Writes(), before);

  // The charge: guarantee fund <- seller balance, once.
  ASSERT_TRUE(Charge(kSupport, p.payment_id(), refund_id, "c1", &out).ok());
  EXPECT_EQ(Available(), 8100 - 1800);
  const v1::Refund* charged = nullptr;
  for (const v1::Refund& r : out.refunds()) {
    if (r.refund_id() == refund_id) charged = &r;
  }
  ASSERT_NE(charged, nullptr);
  EXPECT_EQ(charged->charged_to_seller().amount_minor(), 1800);
  EXPECT_EQ(charged->charge_shortfall().amount_minor(), 0);
  EXPECT_EQ(charged->charged_by(), kSupport.subject);
  EXPECT_TRUE(charged->has_charged_at());
  EXPECT_EQ(out.guaranteed().amount_minor(), 0);
  v1::Payment again;
  ASSERT_TRUE(Charge(kSupport, p.payment_id(), refund_id, "c1", &again).ok());  // stored answer
  EXPECT_EQ(Available(), 6300);
  grpc::Status second = Charge(kAdmin, p.payment_id(), refund_id, "c2", &out);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(second)), "REFUND_ALREADY_CHARGED");
  EXPECT_EQ(Available(), 6300);
  v1::Payment full = Fetch(p.payment_id());
  std::map<std::string, int64_t> charge_entries;
  for (const v1::LedgerEntry& e : full.ledger_entries()) {
    if (e.transaction_kind() != "refund_charge") continue;
    EXPECT_EQ(e.refund_id(), refund_id);
    charge_entries[e.account_kind()] += e.amount().amount_minor();
  }
  EXPECT_EQ(charge_entries["seller_available"], -1800);
  EXPECT_EQ(charge_entries["guarantee_fund"], 1800);
  bool history = false;
  for (const v1::PaymentEvent& e : full.history()) {
    if (e.type() == "REFUND_CHARGED_TO_SELLER") history = e.amount().amount_minor() == 1800;
  }
  EXPECT_TRUE(history);
  ExpectLedgerConsistent();
}

TEST_F(RefundFundingTest, ChargeTakesWhatIsAvailableAndLeavesTheRestWithTheFund) {
  v1::Payment p = Released("o1");
  v1::Payment out;
  ASSERT_TRUE(RefundWith(kAgent, p.payment_id(), "g1", 5000, false, v1::GUARANTEE_FUND, &out).ok());
  const std::string refund_id = out.refunds(0).refund_id();  // fund paid 4500
  ASSERT_TRUE(Payout("po1", 9000).ok());
  ASSERT_EQ(Available(), 0);
  const int64_t before = Writes();
  grpc::Status empty = Charge(kAgent, p.payment_id(), refund_id, "c0", &out);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(empty)), "INSUFFICIENT_AVAILABLE_BALANCE");
  EXPECT_EQ(Writes(), before);
  Released("o2");  // +9000 available
  ASSERT_TRUE(Payout("po2", 7000).ok());
  ASSERT_EQ(Available(), 2000);
  ASSERT_TRUE(Charge(kAgent, p.payment_id(), refund_id, "c1", &out).ok());
  EXPECT_EQ(Available(), 0);
  EXPECT_EQ(out.refunds(0).charged_to_seller().amount_minor(), 2000);
  EXPECT_EQ(out.refunds(0).charge_shortfall().amount_minor(), 2500);
  EXPECT_EQ(out.guaranteed().amount_minor(), 2500);
  v1::GetSellerBalanceRequest req;
  req.set_seller_id(kSellerId);
  v1::SellerBalance b;
  ASSERT_TRUE(stub_->GetSellerBalance(Ctx(kAdmin).get(), req, &b).ok());
  EXPECT_EQ(b.balances(0).debt_minor(), 0);
  ExpectLedgerConsistent();
}

// Ten concurrent charges of one refund (different request ids, different callers): one.
TEST_F(RefundFundingTest, ConcurrentChargesOfOneRefundChargeOnce) {
  v1::Payment p = Released("o1");
  v1::Payment out;
  ASSERT_TRUE(RefundWith(kAgent, p.payment_id(), "g1", 2000, false, v1::GUARANTEE_FUND, &out).ok());
  const std::string refund_id = out.refunds(0).refund_id();
  std::atomic<int> ok{0}, already{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      v1::Payment answer;
      const Who& who = i % 3 == 0 ? kAgent : (i % 3 == 1 ? kAdmin : kSupport);
      grpc::Status s = Charge(who, p.payment_id(), refund_id, absl::StrCat("cc-", i), &answer);
      if (s.ok()) {
        ++ok;
      } else if (common::ReasonOf(common::FromGrpcStatus(s)) == "REFUND_ALREADY_CHARGED") {
        ++already;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(already.load(), 9);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Available(), 9000 - 1800);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund_charge'"), 1);
  ExpectLedgerConsistent();
}

// Refunds on the seller's behalf racing the seller's payout: together they never take the
// seller's available balance below zero, and the fund pays nothing of them.
TEST_F(RefundFundingTest, OnBehalfRefundsRacingAPayoutNeverTakeTheSellerBelowTheLimit) {
  std::vector<std::string> payments;
  for (int i = 0; i < 5; ++i) payments.push_back(Released(absl::StrCat("o", i)).payment_id());
  ASSERT_EQ(Available(), 45000);
  std::atomic<int> refunds_ok{0}, refused{0}, other{0};
  std::atomic<bool> payout_ok{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { payout_ok = Payout("po-race", 30000).ok(); });
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      v1::Payment answer;
      grpc::Status s = RefundWith(kSupport, payments[i % 5], absl::StrCat("race-", i), 5000, true,
                                  v1::REFUND_FUNDING_UNSPECIFIED, &answer);
      if (s.ok()) {
        ++refunds_ok;
      } else if (common::ReasonOf(common::FromGrpcStatus(s)) == "REFUND_EXCEEDS_SELLER_BALANCE") {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(refunds_ok.load() + refused.load(), 10);
  // 45000 available; each refund takes 4500 of the seller's, the payout 30000.
  const int64_t taken = refunds_ok.load() * 4500 + (payout_ok ? 30000 : 0);
  EXPECT_LE(taken, 45000);
  EXPECT_EQ(Available(), 45000 - taken);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ledger_entries WHERE account_kind = "
                  "'guarantee_fund'"),
            0);
  EXPECT_EQ(Count("SELECT CAST(COALESCE(SUM(paid_by_guarantee_minor), 0) AS SIGNED) AS n "
                  "FROM processor_operations"),
            0);
  ExpectLedgerConsistent();
}

TEST(ActorForTest, UnknownMethodAndRoleWithoutRightsAreDenied) {
  auth::Caller admin{"a", {"ADMIN"}, {}, "t", absl::Now()};
  EXPECT_EQ(ActorFor(admin, "NoSuchMethod").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ActorFor(std::nullopt, "GetPayment").status().code(),
            absl::StatusCode::kUnauthenticated);
  auth::Caller moderator{"m", {"MODERATOR"}, {}, "t", absl::Now()};
  for (const char* m : {"CreatePayment", "GetPayment", "ListPayments", "ConfirmDelivery",
                        "RefundPayment", "SettleOwedRefund", "ChargeSellerForRefund",
                        "OpenDispute", "ResolveDispute",
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
