// payments_server as a real process on a real MariaDB, killed (SIGKILL) in the middle of a
// stream of payments and refunds and restarted: the client retries every call with its
// request_id until it gets an answer, and afterwards nothing is lost or duplicated and the
// ledger verifies. Identity is a small in-test fake of the remote service (keys, service
// token, seller profiles).
#include <signal.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/clock.h"
#include "common/testing/mariadb_server.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "tests/support/subprocess.h"
#include "common/tls/test_tls.h"

namespace marketplace::payments {
namespace {

namespace idv1 = marketplace::identity::v1;
namespace auth = common::auth;
using marketplace::testing::PickFreePort;
using marketplace::testing::RunfilePath;
using marketplace::testing::Subprocess;
using marketplace::testing::TestChannelCredentials;
using marketplace::testing::TestTlsFlags;
using marketplace::testing::TestTransportSecurity;

std::string Sign(const auth::Ed25519KeyPair& keys, const std::string& subject,
                 std::vector<std::string> roles, std::vector<std::string> scopes) {
  static std::atomic<int> n{0};
  auth::JwtHeader header;
  header.kid = "k1";
  auth::JwtClaims claims;
  claims.issuer = "identity";
  claims.subject = subject;
  claims.audiences = {"payments", "identity"};
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + absl::Hours(1);
  claims.token_id = absl::StrCat("tok-", ++n);
  claims.roles = std::move(roles);
  claims.scopes = std::move(scopes);
  return *auth::SignJwt(header, claims, keys.private_key);
}

// Identity as payments uses it.
class FakeIdentity final : public idv1::Identity::Service {
 public:
  explicit FakeIdentity(auth::Ed25519KeyPair keys) : keys_(std::move(keys)) {}
  grpc::Status GetSigningKeys(grpc::ServerContext*, const idv1::GetSigningKeysRequest*,
                              idv1::GetSigningKeysResponse* resp) override {
    idv1::SigningKey* key = resp->add_keys();
    key->set_kid("k1");
    key->set_alg("EdDSA");
    key->set_public_key(keys_.public_key);
    key->set_state(idv1::SIGNING_KEY_ACTIVE);
    return grpc::Status::OK;
  }
  grpc::Status IssueServiceToken(grpc::ServerContext*, const idv1::IssueServiceTokenRequest* req,
                                 idv1::IssueServiceTokenResponse* resp) override {
    if (req->client_secret() != "payments-secret") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad secret");
    }
    resp->set_access_token(Sign(keys_, "svc-payments", {"SERVICE"}, {"identity.accounts.read"}));
    resp->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    resp->set_token_type("Bearer");
    return grpc::Status::OK;
  }
  grpc::Status GetSellerProfile(grpc::ServerContext*, const idv1::GetSellerProfileRequest* req,
                                idv1::SellerProfile* resp) override {
    absl::string_view name = req->name();
    if (!absl::ConsumePrefix(&name, "accounts/") || !absl::ConsumeSuffix(&name, "/sellerProfile") ||
        !absl::StartsWith(name, "5e11e7")) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such seller");
    }
    resp->set_name(req->name());
    resp->set_account_id(std::string(name));
    resp->set_status(idv1::APPROVED);
    resp->mutable_application()->set_payout_account_ref("acct_sandbox_1");
    return grpc::Status::OK;
  }

 private:
  auth::Ed25519KeyPair keys_;
};

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::INTERNAL;
}

class PaymentsCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = common::testing::MariaDbServer::Shared();
    ASSERT_OK(server.status());
    db_ = *server;
    ASSERT_OK_AND_ASSIGN(database_, common::testing::CreateTestDatabase("payments_crash"));
    ASSERT_OK_AND_ASSIGN(keys_, auth::GenerateEd25519KeyPair());
    identity_ = std::make_unique<FakeIdentity>(keys_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", common::ServerCredentials(TestTransportSecurity()),
                             &identity_port_);
    builder.RegisterService(identity_.get());
    identity_server_ = builder.BuildAndStart();
    ASSERT_NE(identity_server_, nullptr);
    port_ = PickFreePort();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), TestChannelCredentials());
    stub_ = v1::Payments::NewStub(channel_);
  }
  void TearDown() override {
    if (process_) {
      process_->Signal(SIGKILL);
      process_->WaitFor(absl::Seconds(10));
    }
    if (identity_server_) identity_server_->Shutdown();
    (void)common::testing::DropTestDatabase(database_.name);
  }

  void StartServer(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        absl::StrCat("--listen_address=127.0.0.1:", port_),
        "--metrics_address=127.0.0.1:0",
        "--db_host=127.0.0.1",
        absl::StrCat("--db_port=", db_->port()),
        absl::StrCat("--db_name=", database_.name),
        absl::StrCat("--db_user=", database_.options.user),
        absl::StrCat("--db_password=", database_.options.password),
        "--db_pool_size=8",
        absl::StrCat("--identity_address=127.0.0.1:", identity_port_),
        "--token_issuer=identity",
        "--service_client_id=payments",
        "--service_client_secret=payments-secret",
        "--event_subscribers=sellerkpi=127.0.0.1:1:payments.",
        "--log_level=warn",
    };
    for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = Subprocess::Start(RunfilePath("services/payments/payments_server"), args);
    ASSERT_OK(process.status());
    process_.emplace(*std::move(process));
  }

  // Calls `call` with a fresh context until it answers something that is not transient.
  template <typename Fn>
  grpc::Status Retry(const std::string& token, Fn call) {
    const absl::Time end = absl::Now() + absl::Seconds(90);
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      auth::AttachBearerToken(&ctx, token);
      grpc::Status s = call(&ctx);
      if (!Retryable(s.error_code()) || absl::Now() > end) return s;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  common::testing::MariaDbServer* db_ = nullptr;
  common::testing::TestDatabase database_;
  auth::Ed25519KeyPair keys_;
  std::unique_ptr<FakeIdentity> identity_;
  std::unique_ptr<grpc::Server> identity_server_;
  int identity_port_ = 0;
  int port_ = 0;
  std::optional<Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Payments::Stub> stub_;
};

TEST_F(PaymentsCrashTest, KillAndRestartLosesAndDuplicatesNothing) {
  StartServer();
  const std::string checkout =
      Sign(keys_, "svc-checkout", {"SERVICE"}, {"payments.checkout", "payments.refunds"});
  const std::string admin = Sign(keys_, "admin-1", {"ADMIN"}, {});
  constexpr int kPayments = 80;
  std::atomic<int> progress{0};
  std::vector<std::string> ids(kPayments);
  std::vector<grpc::Status> results(kPayments);
  std::thread client([&] {
    for (int i = 0; i < kPayments; ++i) {
      v1::CreatePaymentRequest req;
      req.set_request_id(absl::StrCat("create-", i));
      req.set_order_id(absl::StrCat("order-", i));
      req.set_buyer_id("b0b0b000000000000000000000000001");
      req.set_seller_id(i % 2 == 0 ? "5e11e700000000000000000000000001" : "5e11e700000000000000000000000002");
      req.mutable_amount()->set_currency_code("EUR");
      req.mutable_amount()->set_amount_minor(1000 + i);
      req.set_payment_method_token("tok_sandbox_success");
      v1::Payment p;
      results[i] = Retry(
          checkout, [&](grpc::ClientContext* ctx) { return stub_->CreatePayment(ctx, req, &p); });
      if (!results[i].ok()) break;
      ids[i] = p.payment_id();
      if (i % 3 == 0) {
        v1::RefundPaymentRequest refund;
        refund.set_request_id(absl::StrCat("refund-", i));
        refund.set_payment_id(p.payment_id());
        refund.mutable_amount()->set_currency_code("EUR");
        refund.mutable_amount()->set_amount_minor(100);
        refund.set_reason("partial");
        v1::Payment r;
        results[i] = Retry(checkout, [&](grpc::ClientContext* ctx) {
          return stub_->RefundPayment(ctx, refund, &r);
        });
        if (!results[i].ok()) break;
      }
      ++progress;
    }
  });
  // Kill it mid-stream, without warning, then start it again on the same port.
  const absl::Time end = absl::Now() + absl::Seconds(120);
  while (progress.load() < 25 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(5));
  const int killed_at = progress.load();
  process_->Signal(SIGKILL);
  ASSERT_TRUE(process_->WaitFor(absl::Seconds(10)).has_value());
  process_.reset();
  StartServer();
  client.join();
  EXPECT_GT(killed_at, 0);
  EXPECT_LT(killed_at, kPayments) << "the kill must land in the middle of the stream";
  for (int i = 0; i < kPayments; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error_message();
  }

  // Replays after the restart return the first results.
  for (int i : {0, killed_at, kPayments - 1}) {
    v1::CreatePaymentRequest req;
    req.set_request_id(absl::StrCat("create-", i));
    req.set_order_id(absl::StrCat("order-", i));
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id(i % 2 == 0 ? "5e11e700000000000000000000000001" : "5e11e700000000000000000000000002");
    req.mutable_amount()->set_currency_code("EUR");
    req.mutable_amount()->set_amount_minor(1000 + i);
    req.set_payment_method_token("tok_sandbox_success");
    v1::Payment p;
    ASSERT_TRUE(Retry(checkout, [&](grpc::ClientContext* ctx) {
                  return stub_->CreatePayment(ctx, req, &p);
                }).ok());
    EXPECT_EQ(p.payment_id(), ids[i]);
  }

  ASSERT_OK_AND_ASSIGN(auto pool, common::db::ConnectionPool::Create(database_.options));
  auto count = [&](const std::string& sql) -> int64_t {
    auto rows = pool->Query(sql);
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  };
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments"), kPayments);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'capture'"),
            kPayments);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund'"),
            (kPayments + 2) / 3);
  EXPECT_EQ(count("SELECT COALESCE(SUM(refunded_minor), 0) AS n FROM payments"),
            100 * ((kPayments + 2) / 3));

  v1::VerifyLedgerRequest verify;
  v1::VerifyLedgerResponse vr;
  ASSERT_TRUE(Retry(admin, [&](grpc::ClientContext* ctx) {
                return stub_->VerifyLedger(ctx, verify, &vr);
              }).ok());
  EXPECT_TRUE(vr.consistent()) << vr.DebugString();
  EXPECT_EQ(vr.transactions_checked(), kPayments + (kPayments + 2) / 3);
}

// The server dies between the processor's capture and the commit of the payment
// (--test_abort_after_capture_order, a test-only fault hook that aborts right after the
// capture). Afterwards there is exactly one payment (the client retried in time) or one
// refund of the capture (nobody did), never a charge with neither.
TEST_F(PaymentsCrashTest, CrashBetweenCaptureAndCommitEndsInOnePaymentOrOneRefund) {
  const std::vector<std::string> window = {"--abandoned_capture_refund_after=3s",
                                           "--completion_interval=1s",
                                           "--processor_retry_initial_backoff=1s"};
  auto with = [&](const std::string& flag) {
    std::vector<std::string> args = window;
    if (!flag.empty()) args.push_back(flag);
    return args;
  };
  const std::string checkout = Sign(keys_, "svc-checkout", {"SERVICE"}, {"payments.checkout"});
  const std::string admin = Sign(keys_, "admin-1", {"ADMIN"}, {});
  auto request = [](const std::string& order) {
    v1::CreatePaymentRequest req;
    req.set_request_id("create-" + order);
    req.set_order_id(order);
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id("5e11e700000000000000000000000001");
    req.mutable_amount()->set_currency_code("EUR");
    req.mutable_amount()->set_amount_minor(5000);
    req.set_payment_method_token("tok_sandbox_success");
    return req;
  };
  // Calls until the server dies capturing `order` (a call may fail before it gets there
  // while the server is starting, e.g. its first seller lookup).
  auto crash_on = [&](const std::string& order) {
    std::optional<int> exited;
    grpc::Status s;
    for (int attempt = 0; attempt < 20 && !exited; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      ctx.set_wait_for_ready(true);  // the server is starting: wait for it
      auth::AttachBearerToken(&ctx, checkout);
      v1::Payment p;
      s = stub_->CreatePayment(&ctx, request(order), &p);
      ASSERT_FALSE(s.ok()) << "the server should have died after capturing " << order;
      exited = process_->WaitFor(absl::Seconds(5));
    }
    ASSERT_TRUE(exited.has_value()) << "still running; last answer: " << s.error_message();
    process_.reset();
  };
  // Order A: the client gives up after the crash.
  StartServer(with("--test_abort_after_capture_order=order-crash-a"));
  crash_on("order-crash-a");
  // Order B: the client retries with its request_id until it gets an answer.
  StartServer(with("--test_abort_after_capture_order=order-crash-b"));
  crash_on("order-crash-b");
  StartServer(with(""));
  v1::Payment b;
  grpc::Status retried = Retry(checkout, [&](grpc::ClientContext* ctx) {
    return stub_->CreatePayment(ctx, request("order-crash-b"), &b);
  });
  EXPECT_TRUE(retried.ok() || retried.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
      << retried.error_message();

  ASSERT_OK_AND_ASSIGN(auto pool, common::db::ConnectionPool::Create(database_.options));
  auto count = [&](const std::string& sql) -> int64_t {
    auto rows = pool->Query(sql);
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  };
  auto payments = [&](const std::string& order) {
    return count(absl::StrCat("SELECT COUNT(*) AS n FROM payments WHERE order_id = '", order, "'"));
  };
  auto refunds = [&](const std::string& order) {
    return count(absl::StrCat(
        "SELECT COUNT(*) AS n FROM processor_operations o JOIN payment_intents i ON "
        "o.operation_id = CONCAT('capture_refund_', SUBSTRING(i.intent_id, 5)) WHERE "
        "o.kind = 'REFUND' AND o.state = 'DONE' AND i.order_id = '",
        order, "'"));
  };
  const absl::Time end = absl::Now() + absl::Seconds(90);
  while ((refunds("order-crash-a") < 1 || payments("order-crash-b") + refunds("order-crash-b") < 1) &&
         absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(payments("order-crash-a"), 0);
  EXPECT_EQ(refunds("order-crash-a"), 1);
  EXPECT_EQ(payments("order-crash-b") + refunds("order-crash-b"), 1);
  if (retried.ok()) {
    EXPECT_EQ(payments("order-crash-b"), 1);
  }

  v1::VerifyLedgerRequest verify;
  v1::VerifyLedgerResponse vr;
  ASSERT_TRUE(Retry(admin, [&](grpc::ClientContext* ctx) {
                return stub_->VerifyLedger(ctx, verify, &vr);
              }).ok());
  EXPECT_TRUE(vr.consistent()) << vr.DebugString();
}

}  // namespace
}  // namespace marketplace::payments
