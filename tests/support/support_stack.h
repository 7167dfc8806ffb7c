#ifndef MARKETPLACE_TESTS_SUPPORT_SUPPORT_STACK_H_
#define MARKETPLACE_TESTS_SUPPORT_SUPPORT_STACK_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/testing/mariadb_server.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace marketplace::support::testing {

// An access token signed with `keys` (kid "k1", issuer "identity", audiences payments, support,
// identity, sellerkpi, catalog; valid for an hour).
std::string Sign(const common::auth::Ed25519KeyPair& keys, const std::string& subject,
                 std::vector<std::string> roles, std::vector<std::string> scopes);

// Identity as payments, support and catalog use it: keys, each service's own token (client
// secrets "payments-secret", "support-secret" and "catalog-secret"), approved seller profiles.
class FakeIdentity final : public identity::v1::Identity::Service {
 public:
  explicit FakeIdentity(common::auth::Ed25519KeyPair keys) : keys_(std::move(keys)) {}
  grpc::Status GetSigningKeys(grpc::ServerContext*, const identity::v1::GetSigningKeysRequest*,
                              identity::v1::GetSigningKeysResponse* resp) override;
  grpc::Status IssueServiceToken(grpc::ServerContext*,
                                 const identity::v1::IssueServiceTokenRequest* req,
                                 identity::v1::IssueServiceTokenResponse* resp) override;
  grpc::Status GetSellerProfile(grpc::ServerContext*,
                                const identity::v1::GetSellerProfileRequest* req,
                                identity::v1::SellerProfile* resp) override;

 private:
  common::auth::Ed25519KeyPair keys_;
};

// The support stack as real processes for tests: the shared test MariaDB with a payments and a
// support database, a FakeIdentity in the test process, payments_server and any number of
// support_server processes (replicas on the one support database), each with its own gRPC and
// metrics port. Everything is killed and dropped when the object goes away.
//
//   SupportStack stack;
//   ASSERT_OK(stack.Init());
//   ASSERT_OK(stack.StartPayments());
//   ASSERT_OK_AND_ASSIGN(int replica, stack.StartSupport({"--refund_interval=1s"}));
//   stack.Retry(token, [&](grpc::ClientContext* c) { return stack.support(replica).GetTicket(...); });
class SupportStack {
 public:
  SupportStack() = default;
  ~SupportStack();
  SupportStack(const SupportStack&) = delete;
  SupportStack& operator=(const SupportStack&) = delete;

  absl::Status Init();
  absl::Status StartPayments();
  // Starts one more support_server with `extra_args` (after the common ones, so they win);
  // returns its index.
  absl::StatusOr<int> StartSupport(const std::vector<std::string>& extra_args);
  // SIGKILL, then wait for the exit; the index keeps its ports for a later Restart.
  void KillSupport(int index);
  absl::Status RestartSupport(int index, const std::vector<std::string>& extra_args);

  const common::auth::Ed25519KeyPair& keys() const { return keys_; }
  common::testing::MariaDbServer& db() { return *db_; }
  const common::testing::TestDatabase& support_db() const { return support_db_; }
  payments::v1::Payments::Stub& payments() { return *payments_stub_; }
  v1::SupportService::Stub& support(int index) { return *replicas_[index].stub; }
  int support_metrics_port(int index) const { return replicas_[index].metrics_port; }
  marketplace::testing::Subprocess& support_process(int index) {
    return *replicas_[index].process;
  }
  int replicas() const { return static_cast<int>(replicas_.size()); }

  // `call` with a fresh context (5 s deadline, bearer `token`) until it answers something that
  // is not UNAVAILABLE, for at most 90 s.
  template <typename Fn>
  grpc::Status Retry(const std::string& token, Fn call) {
    const absl::Time end = absl::Now() + absl::Seconds(90);
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      common::auth::AttachBearerToken(&ctx, token);
      grpc::Status s = call(&ctx);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > end) return s;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

 private:
  struct Replica {
    int port = 0;
    int metrics_port = 0;
    std::optional<marketplace::testing::Subprocess> process;
    std::unique_ptr<v1::SupportService::Stub> stub;
  };
  std::vector<std::string> CommonArgs(const common::testing::TestDatabase& db, int port,
                                      int metrics_port, const std::string& svc) const;
  absl::Status Launch(Replica& r, const std::vector<std::string>& extra_args);

  common::testing::MariaDbServer* db_ = nullptr;
  common::testing::TestDatabase payments_db_;
  common::testing::TestDatabase support_db_;
  common::auth::Ed25519KeyPair keys_;
  std::unique_ptr<FakeIdentity> identity_;
  std::unique_ptr<grpc::Server> identity_server_;
  int identity_port_ = 0;
  int payments_port_ = 0;
  std::optional<marketplace::testing::Subprocess> payments_process_;
  std::unique_ptr<payments::v1::Payments::Stub> payments_stub_;
  std::vector<Replica> replicas_;
};

}  // namespace marketplace::support::testing

#endif  // MARKETPLACE_TESTS_SUPPORT_SUPPORT_STACK_H_
