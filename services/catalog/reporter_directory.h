#ifndef MARKETPLACE_SERVICES_CATALOG_REPORTER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_CATALOG_REPORTER_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/identity_client/identity_client.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::catalog {

// What identity tells the catalog about a reporter, for the age half of the rule that decides
// whether its report counts toward the report threshold (catalog.proto, ReportListing; the
// other half, a paid order, the catalog learns from payments' events: ListingStore).
struct ReporterStanding {
  bool found = false;
  // When identity created the account.
  absl::Time created_at = absl::InfiniteFuture();
};

// Where reporters are looked up. Thread-safe.
class ReporterDirectory {
 public:
  virtual ~ReporterDirectory() = default;
  // UNAVAILABLE when the directory cannot be reached.
  [[nodiscard]] virtual absl::StatusOr<ReporterStanding> GetReporter(
      const std::string& account_id) = 0;
};

// Over identity's GetAccount (create_time), called with the catalog's own service token
// (SERVICE with identity.accounts.read). An account's creation time never changes: found
// accounts are remembered (at most 100,000, then forgotten all at once).
class IdentityReporterDirectory final : public ReporterDirectory {
 public:
  // `tokens` must outlive the directory.
  IdentityReporterDirectory(std::shared_ptr<grpc::Channel> channel,
                            common::identity_client::ServiceTokenSource* tokens,
                            absl::Duration timeout = absl::Seconds(3));

  absl::StatusOr<ReporterStanding> GetReporter(const std::string& account_id) override;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  common::identity_client::ServiceTokenSource* tokens_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> created_ ABSL_GUARDED_BY(mu_);
};

// A hand-written directory for tests: accounts and their creation times.
class FixedReporterDirectory final : public ReporterDirectory {
 public:
  void Set(const std::string& account_id, absl::Time created_at) {
    absl::MutexLock lock(&mu_);
    accounts_[account_id] = {true, created_at};
  }
  absl::StatusOr<ReporterStanding> GetReporter(const std::string& account_id) override {
    absl::MutexLock lock(&mu_);
    auto it = accounts_.find(account_id);
    return it == accounts_.end() ? ReporterStanding{} : it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ReporterStanding> accounts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_REPORTER_DIRECTORY_H_
