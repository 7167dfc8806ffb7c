// support_server and payments_server as real processes on a real MariaDB (one database each),
// identity as a small in-test fake (keys, service tokens): a ticket about a paid order, a
// refund decided by the seller, support killed (SIGKILL) before its refund worker ran and
// started again -- the recorded refund command reaches payments once.
#include <signal.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/testing/mariadb_server.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace marketplace::support {
namespace {

namespace idv1 = marketplace::identity::v1;
namespace ppb = marketplace::payments::v1;
namespace auth = common::auth;
using marketplace::testing::PickFreePort;
using marketplace::testing::RunfilePath;
using marketplace::testing::Subprocess;

constexpr char kBuyer[] = "b0b0b000000000000000000000000001";
constexpr char kSeller[] = "5e11e700000000000000000000000001";

std::string Sign(const auth::Ed25519KeyPair& keys, const std::string& subject,
                 std::vector<std::string> roles, std::vector<std::string> scopes) {
  static std::atomic<int> n{0};
  auth::JwtHeader header;
  header.kid = "k1";
  auth::JwtClaims claims;
  claims.issuer = "identity";
  claims.subject = subject;
  claims.audiences = {"payments", "support", "identity", "sellerkpi"};
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + absl::Hours(1);
  claims.token_id = absl::StrCat("tok-", ++n);
  claims.roles = std::move(roles);
  claims.scopes = std::move(scopes);
  return *auth::SignJwt(header, claims, keys.private_key);
}

// Identity as payments and support use it: keys, each service's own token, seller profiles.
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
    if (req->client_secret() == "payments-secret") {
      resp->set_access_token(Sign(keys_, "5e7c0000000000000000000000000001", {"SERVICE"},
                                  {"identity.accounts.read", "payments.events.publish"}));
    } else if (req->client_secret() == "support-secret") {
      resp->set_access_token(Sign(keys_, "5e7c0000000000000000000000000002", {"SERVICE"},
                                  {"payments.read", "payments.refunds",
                                   "support.events.publish"}));
    } else {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad secret");
    }
    resp->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    resp->set_token_type("Bearer");
    return grpc::Status::OK;
  }
  grpc::Status GetSellerProfile(grpc::ServerContext*, const idv1::GetSellerProfileRequest* req,
                                idv1::SellerProfile* resp) override {
    const std::string name = req->name();
    const std::string id = name.substr(9, 32);  // "accounts/<id>/sellerProfile"
    resp->set_name(name);
    resp->set_account_id(id);
    resp->set_status(idv1::APPROVED);
    resp->mutable_application()->set_payout_account_ref("acct_sandbox_1");
    return grpc::Status::OK;
  }

 private:
  auth::Ed25519KeyPair keys_;
};

class SupportProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = common::testing::MariaDbServer::Shared();
    ASSERT_OK(server.status());
    db_ = *server;
    ASSERT_OK_AND_ASSIGN(payments_db_, common::testing::CreateTestDatabase("sup_payments"));
    ASSERT_OK_AND_ASSIGN(support_db_, common::testing::CreateTestDatabase("sup_support"));
    ASSERT_OK_AND_ASSIGN(keys_, auth::GenerateEd25519KeyPair());
    identity_ = std::make_unique<FakeIdentity>(keys_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &identity_port_);
    builder.RegisterService(identity_.get());
    identity_server_ = builder.BuildAndStart();
    ASSERT_NE(identity_server_, nullptr);
    payments_port_ = PickFreePort();
    support_port_ = PickFreePort();
    payments_ = ppb::Payments::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", payments_port_), grpc::InsecureChannelCredentials()));
    support_ = v1::SupportService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", support_port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    for (auto* p : {&support_process_, &payments_process_}) {
      if (*p) {
        (*p)->Signal(SIGKILL);
        (*p)->WaitFor(absl::Seconds(10));
      }
    }
    if (identity_server_) identity_server_->Shutdown();
    (void)common::testing::DropTestDatabase(payments_db_.name);
    (void)common::testing::DropTestDatabase(support_db_.name);
  }

  std::vector<std::string> CommonArgs(const common::testing::TestDatabase& db, int port,
                                      const std::string& svc) {
    return {absl::StrCat("--listen_address=127.0.0.1:", port),
            "--metrics_address=127.0.0.1:0",
            "--db_host=127.0.0.1",
            absl::StrCat("--db_port=", db_->port()),
            absl::StrCat("--db_name=", db.name),
            absl::StrCat("--db_user=", db.options.user),
            absl::StrCat("--db_password=", db.options.password),
            "--db_pool_size=4",
            absl::StrCat("--identity_address=127.0.0.1:", identity_port_),
            "--token_issuer=identity",
            absl::StrCat("--service_client_id=", svc),
            absl::StrCat("--service_client_secret=", svc, "-secret"),
            "--event_subscribers=",
            "--log_level=warn"};
  }
  void StartPayments() {
    auto p = Subprocess::Start(RunfilePath("services/payments/payments_server"),
                               CommonArgs(payments_db_, payments_port_, "payments"));
    ASSERT_OK(p.status());
    payments_process_.emplace(*std::move(p));
  }
  void StartSupport(const std::string& refund_interval) {
    std::vector<std::string> args = CommonArgs(support_db_, support_port_, "support");
    args.push_back(absl::StrCat("--payments_address=127.0.0.1:", payments_port_));
    args.push_back(absl::StrCat("--refund_interval=", refund_interval));
    auto p = Subprocess::Start(RunfilePath("services/support/support_server"), args);
    ASSERT_OK(p.status());
    support_process_.emplace(*std::move(p));
  }

  // `call` with a fresh context until it answers something that is not UNAVAILABLE.
  template <typename Fn>
  grpc::Status Retry(const std::string& token, Fn call) {
    const absl::Time end = absl::Now() + absl::Seconds(90);
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      auth::AttachBearerToken(&ctx, token);
      grpc::Status s = call(&ctx);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > end) return s;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  common::testing::MariaDbServer* db_ = nullptr;
  common::testing::TestDatabase payments_db_;
  common::testing::TestDatabase support_db_;
  auth::Ed25519KeyPair keys_;
  std::unique_ptr<FakeIdentity> identity_;
  std::unique_ptr<grpc::Server> identity_server_;
  int identity_port_ = 0;
  int payments_port_ = 0;
  int support_port_ = 0;
  std::optional<Subprocess> payments_process_;
  std::optional<Subprocess> support_process_;
  std::unique_ptr<ppb::Payments::Stub> payments_;
  std::unique_ptr<v1::SupportService::Stub> support_;
};

TEST_F(SupportProcessTest, ARefundRecordedBeforeACrashReachesPaymentsOnceAfterRestart) {
  StartPayments();
  StartSupport("1h");  // the worker's first pass runs at start, before anything is due
  const std::string checkout = Sign(keys_, "5e7c0000000000000000000000000009", {"SERVICE"},
                                    {"payments.checkout"});
  const std::string buyer = Sign(keys_, kBuyer, {"BUYER"}, {});
  const std::string seller = Sign(keys_, kSeller, {"SELLER"}, {});
  const std::string admin = Sign(keys_, "ad000000000000000000000000000001", {"ADMIN"}, {});

  ppb::CreatePaymentRequest pay;
  pay.set_request_id("pay-1");
  pay.set_order_id("O-1");
  pay.set_buyer_id(kBuyer);
  pay.set_seller_id(kSeller);
  pay.mutable_amount()->set_currency_code("EUR");
  pay.mutable_amount()->set_amount_minor(4200);
  pay.set_payment_method_token("tok_sandbox_success");
  ppb::Payment payment;
  grpc::Status s = Retry(checkout, [&](grpc::ClientContext* c) {
    return payments_->CreatePayment(c, pay, &payment);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::CreateTicketRequest create;
  create.set_request_id("t-1");
  create.set_order_id("O-1");
  create.set_category(v1::DAMAGED);
  create.set_channel(v1::WEB_FORM);
  create.set_subject("Broken");
  create.set_body("It arrived broken");
  v1::CreateTicketResponse created;
  s = Retry(buyer, [&](grpc::ClientContext* c) {
    return support_->CreateTicket(c, create, &created);
  });
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << "\n"
                      << support_process_->Output();
  EXPECT_EQ(created.ticket().payment_id(), payment.payment_id());
  EXPECT_EQ(created.ticket().seller_id(), kSeller);

  v1::ResolveTicketRequest resolve;
  resolve.set_request_id("r-1");
  resolve.set_ticket_id(created.ticket().ticket_id());
  resolve.set_outcome(v1::REFUND_FULL);
  resolve.set_reason_code("TRANSIT_DAMAGE");
  resolve.set_explanation("Refunded in full");
  v1::Ticket resolved;
  s = Retry(seller, [&](grpc::ClientContext* c) {
    return support_->ResolveTicket(c, resolve, &resolved);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resolved.refund_state(), v1::PENDING_REFUND);

  // Killed before its worker sent the command; started again with a short interval.
  support_process_->Signal(SIGKILL);
  support_process_->WaitFor(absl::Seconds(10));
  support_process_.reset();
  StartSupport("1s");

  v1::Ticket now;
  const absl::Time end = absl::Now() + absl::Seconds(60);
  v1::GetTicketRequest get;
  get.set_ticket_id(created.ticket().ticket_id());
  while (absl::Now() < end) {
    s = Retry(buyer, [&](grpc::ClientContext* c) { return support_->GetTicket(c, get, &now); });
    if (s.ok() && now.refund_state() != v1::PENDING_REFUND) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(now.refund_state(), v1::REFUNDED) << support_process_->Output();
  ppb::GetPaymentRequest get_payment;
  get_payment.set_payment_id(payment.payment_id());
  ppb::Payment after;
  s = Retry(admin, [&](grpc::ClientContext* c) {
    return payments_->GetPayment(c, get_payment, &after);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(after.refunded().amount_minor(), 4200);
  EXPECT_EQ(after.refunds_size(), 1);
}

}  // namespace
}  // namespace marketplace::support
