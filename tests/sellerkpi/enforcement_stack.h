#ifndef MARKETPLACE_TESTS_SELLERKPI_ENFORCEMENT_STACK_H_
#define MARKETPLACE_TESTS_SELLERKPI_ENFORCEMENT_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "tests/identity/identity_process.h"
#include "tests/support/subprocess.h"

namespace marketplace::testing {

// What sellerkpi's enforcement acts on, as real processes on the test MariaDB (a database
// each): identity_server (its relay delivers identity.* to catalog and payments), catalog_server
// and payments_server, each with its own SERVICE account. For the tests of tests/sellerkpi that
// need sellerkpi's effects to be real.
class EnforcementStack {
 public:
  // Starts the three and waits until they serve (60 s at most).
  static absl::StatusOr<std::unique_ptr<EnforcementStack>> Start();
  ~EnforcementStack();

  IdentityProcess& identity() { return *identity_; }
  identity_v1::Identity::Stub* identity_stub() { return identity_->stub(); }
  catalog::v1::CatalogService::Stub* catalog() { return catalog_.get(); }
  payments::v1::Payments::Stub* payments() { return payments_.get(); }
  const std::string& catalog_target() const { return catalog_target_; }
  const std::string& payments_target() const { return payments_target_; }
  const std::string& admin_token() const { return admin_token_; }

  // A new SERVICE account with `scopes`: (client_id, client_secret).
  absl::StatusOr<std::pair<std::string, std::string>> ServiceAccount(
      const std::string& name, const std::vector<std::string>& scopes);

  // A new SELLER, approved by the admin, with one plush listing created and submitted (LIVE or
  // PENDING_REVIEW). Fills its login, email and listing.
  struct Seller {
    std::string id;
    std::string email;
    std::string token;
    catalog::v1::Listing listing;
  };
  absl::StatusOr<Seller> ApprovedSellerWithListing();

  // The scopes of services/sellerkpi/identity_scopes.
  static const std::vector<std::string>& SellerKpiScopes();

  // Starts one more sellerkpi_server against this stack (catalog and payments addresses; its
  // own database, the same one for every process and at every start; a new SERVICE account
  // with `scopes`), with `extra_args`, and waits until it serves. Its gRPC target.
  absl::StatusOr<std::string> StartSellerKpi(const std::vector<std::string>& extra_args,
                                             const std::vector<std::string>& scopes =
                                                 SellerKpiScopes());
  // The same for `count` replicas on that database, started at once; their gRPC targets.
  absl::StatusOr<std::vector<std::string>> StartSellerKpis(
      int count, const std::vector<std::string>& extra_args,
      const std::vector<std::string>& scopes = SellerKpiScopes());
  // The --db_* flags of the database sellerkpi is to use instead of a fresh one (before the
  // first StartSellerKpi), e.g. one the test also reads.
  void UseSellerKpiDatabase(std::vector<std::string> db_args) {
    sellerkpi_db_args_ = std::move(db_args);
  }
  // The /metrics port of each sellerkpi_server running, in the order they were started.
  std::vector<int> SellerKpiMetricsPorts() const;
  // Kills every sellerkpi_server with SIGKILL (no drain: a crash) and waits for their end.
  void KillSellerKpi();

  // The listing's state as the admin reads it.
  absl::StatusOr<catalog::v1::ListingState> ListingState(const std::string& listing_id);

 private:
  EnforcementStack() = default;

  std::unique_ptr<IdentityProcess> identity_;
  std::unique_ptr<Subprocess> catalog_process_;
  std::unique_ptr<Subprocess> payments_process_;
  struct SellerKpiProcess {
    std::unique_ptr<Subprocess> process;
    int metrics_port = 0;
  };
  std::vector<SellerKpiProcess> sellerkpi_processes_;
  std::vector<std::string> sellerkpi_db_args_;
  std::unique_ptr<catalog::v1::CatalogService::Stub> catalog_;
  std::unique_ptr<payments::v1::Payments::Stub> payments_;
  std::string catalog_target_;
  std::string payments_target_;
  std::string admin_token_;
};

// `token` as bearer and a 30 s deadline on `ctx`.
void WithToken(grpc::ClientContext* ctx, const std::string& token);

// Adds to `req` seller `seller`'s events that make it CRITICAL: 20 orders at `t0`, 5 of them
// with a claim that counts a minute later (ODR 25 %). 25 events.
void AddCriticalEvents(const std::string& seller, absl::Time t0,
                       sellerkpi::v1::RecordSellerEventsRequest* req);

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_SELLERKPI_ENFORCEMENT_STACK_H_
