#include "tests/support/support_stack.h"

#include <signal.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/tls/test_tls.h"

namespace marketplace::support::testing {

namespace auth = common::auth;
namespace idv1 = identity::v1;
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
  claims.audiences = {"payments", "support", "identity", "sellerkpi", "catalog"};
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + absl::Hours(1);
  claims.token_id = absl::StrCat("tok-", ++n);
  claims.roles = std::move(roles);
  claims.scopes = std::move(scopes);
  return *auth::SignJwt(header, claims, keys.private_key);
}

grpc::Status FakeIdentity::GetSigningKeys(grpc::ServerContext*,
                                          const idv1::GetSigningKeysRequest*,
                                          idv1::GetSigningKeysResponse* resp) {
  idv1::SigningKey* key = resp->add_keys();
  key->set_kid("k1");
  key->set_alg("EdDSA");
  key->set_public_key(keys_.public_key);
  key->set_state(idv1::SIGNING_KEY_ACTIVE);
  return grpc::Status::OK;
}

grpc::Status FakeIdentity::IssueServiceToken(grpc::ServerContext*,
                                             const idv1::IssueServiceTokenRequest* req,
                                             idv1::IssueServiceTokenResponse* resp) {
  if (req->client_secret() == "payments-secret") {
    resp->set_access_token(Sign(keys_, "5e7c0000000000000000000000000001", {"SERVICE"},
                                {"identity.accounts.read", "payments.events.publish"}));
  } else if (req->client_secret() == "support-secret") {
    resp->set_access_token(Sign(keys_, "5e7c0000000000000000000000000002", {"SERVICE"},
                                {"payments.read", "payments.refunds", "support.events.publish"}));
  } else if (req->client_secret() == "catalog-secret") {
    resp->set_access_token(Sign(keys_, "5e7c0000000000000000000000000003", {"SERVICE"},
                                {"identity.accounts.read", "catalog.events.publish"}));
  } else {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad secret");
  }
  resp->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  resp->set_token_type("Bearer");
  return grpc::Status::OK;
}

grpc::Status FakeIdentity::GetSellerProfile(grpc::ServerContext*,
                                            const idv1::GetSellerProfileRequest* req,
                                            idv1::SellerProfile* resp) {
  const std::string name = req->name();
  const std::string id = name.substr(9, 32);  // "accounts/<id>/sellerProfile"
  resp->set_name(name);
  resp->set_account_id(id);
  resp->set_status(idv1::APPROVED);
  resp->mutable_application()->set_payout_account_ref("acct_sandbox_1");
  return grpc::Status::OK;
}

SupportStack::~SupportStack() {
  for (Replica& r : replicas_) {
    if (r.process) {
      r.process->Signal(SIGKILL);
      r.process->WaitFor(absl::Seconds(10));
    }
  }
  if (payments_process_) {
    payments_process_->Signal(SIGKILL);
    payments_process_->WaitFor(absl::Seconds(10));
  }
  if (identity_server_) identity_server_->Shutdown();
  if (db_ != nullptr) {
    (void)common::testing::DropTestDatabase(payments_db_.name);
    (void)common::testing::DropTestDatabase(support_db_.name);
  }
}

absl::Status SupportStack::Init() {
  absl::StatusOr<common::testing::MariaDbServer*> server =
      common::testing::MariaDbServer::Shared();
  if (!server.ok()) return server.status();
  db_ = *server;
  absl::StatusOr<common::testing::TestDatabase> payments_db =
      common::testing::CreateTestDatabase("sup_payments");
  if (!payments_db.ok()) return payments_db.status();
  payments_db_ = *std::move(payments_db);
  absl::StatusOr<common::testing::TestDatabase> support_db =
      common::testing::CreateTestDatabase("sup_support");
  if (!support_db.ok()) return support_db.status();
  support_db_ = *std::move(support_db);
  absl::StatusOr<auth::Ed25519KeyPair> keys = auth::GenerateEd25519KeyPair();
  if (!keys.ok()) return keys.status();
  keys_ = *std::move(keys);
  identity_ = std::make_unique<FakeIdentity>(keys_);
  grpc::ServerBuilder builder;
  // Every link of the stack is mutual TLS, as deployed.
  builder.AddListeningPort("127.0.0.1:0", common::ServerCredentials(TestTransportSecurity()),
                           &identity_port_);
  builder.RegisterService(identity_.get());
  identity_server_ = builder.BuildAndStart();
  if (identity_server_ == nullptr) return absl::InternalError("fake identity did not start");
  payments_port_ = PickFreePort();
  payments_stub_ = payments::v1::Payments::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", payments_port_), TestChannelCredentials()));
  return absl::OkStatus();
}

std::vector<std::string> SupportStack::CommonArgs(const common::testing::TestDatabase& db,
                                                  int port, int metrics_port,
                                                  const std::string& svc) const {
  std::vector<std::string> args = {absl::StrCat("--listen_address=127.0.0.1:", port),
          absl::StrCat("--metrics_address=127.0.0.1:", metrics_port),
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
  for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
  return args;
}

absl::Status SupportStack::StartPayments() {
  absl::StatusOr<Subprocess> p =
      Subprocess::Start(RunfilePath("services/payments/payments_server"),
                        CommonArgs(payments_db_, payments_port_, 0, "payments"));
  if (!p.ok()) return p.status();
  payments_process_.emplace(*std::move(p));
  return absl::OkStatus();
}

absl::Status SupportStack::Launch(Replica& r, const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = CommonArgs(support_db_, r.port, r.metrics_port, "support");
  args.push_back(absl::StrCat("--payments_address=127.0.0.1:", payments_port_));
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<Subprocess> p =
      Subprocess::Start(RunfilePath("services/support/support_server"), args);
  if (!p.ok()) return p.status();
  r.process.emplace(*std::move(p));
  return absl::OkStatus();
}

absl::StatusOr<int> SupportStack::StartSupport(const std::vector<std::string>& extra_args) {
  Replica r;
  r.port = PickFreePort();
  r.metrics_port = PickFreePort();
  r.stub = v1::SupportService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", r.port), TestChannelCredentials()));
  if (absl::Status s = Launch(r, extra_args); !s.ok()) return s;
  replicas_.push_back(std::move(r));
  return static_cast<int>(replicas_.size()) - 1;
}

void SupportStack::KillSupport(int index) {
  Replica& r = replicas_[index];
  if (!r.process) return;
  r.process->Signal(SIGKILL);
  r.process->WaitFor(absl::Seconds(10));
  r.process.reset();
}

absl::Status SupportStack::RestartSupport(int index, const std::vector<std::string>& extra_args) {
  KillSupport(index);
  return Launch(replicas_[index], extra_args);
}

}  // namespace marketplace::support::testing
