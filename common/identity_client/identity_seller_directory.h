#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_SELLER_DIRECTORY_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_SELLER_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity_client/identity_client.h"
#include "common/identity_client/seller_directory.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::common::identity_client {

// SellerDirectory over identity's GetSellerProfile, called with this service's own token
// (SERVICE with identity.accounts.read). Only status APPROVED counts (a suspended seller is
// SELLER_SUSPENDED there); the payout account is the application's payout_account_ref.
class IdentitySellerDirectory final : public SellerDirectory {
 public:
  // `tokens` must outlive the directory.
  IdentitySellerDirectory(std::shared_ptr<grpc::Channel> channel, ServiceTokenSource* tokens,
                          absl::Duration timeout = absl::Seconds(3));

  absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) override;
  // At most `timeout`, never past the origin's deadline, with its x-request-id.
  absl::StatusOr<SellerStatus> GetSellerFor(const std::string& seller_id,
                                            const CallOrigin& origin) override;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  ServiceTokenSource* tokens_;
  const absl::Duration timeout_;
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_SELLER_DIRECTORY_H_
