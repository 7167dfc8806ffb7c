#ifndef MARKETPLACE_SERVICES_CATALOG_SELLER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_CATALOG_SELLER_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity_client/identity_client.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::catalog {

// What the catalog needs to know about a seller, as identity knows it.
struct SellerStatus {
  // The account exists and has a seller profile.
  bool found = false;
  // The seller application is APPROVED and the account is active (not suspended).
  bool approved_active = false;
};

// Where sellers are looked up (identity in production). Thread-safe implementations only.
class SellerDirectory {
 public:
  virtual ~SellerDirectory() = default;
  // UNAVAILABLE when the directory cannot be reached (the caller may retry).
  [[nodiscard]] virtual absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) = 0;
};

// SellerDirectory over identity's GetSellerProfile, called with this service's own token
// (SERVICE with identity.accounts.read). APPROVED is the only status that counts: a suspended
// seller is SELLER_SUSPENDED there.
class IdentitySellerDirectory final : public SellerDirectory {
 public:
  // `tokens` must outlive the directory.
  IdentitySellerDirectory(std::shared_ptr<grpc::Channel> channel,
                          common::identity_client::ServiceTokenSource* tokens,
                          absl::Duration timeout = absl::Seconds(3));

  absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) override;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  common::identity_client::ServiceTokenSource* tokens_;
  const absl::Duration timeout_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_SELLER_DIRECTORY_H_
