#ifndef MARKETPLACE_SERVICES_PAYMENTS_IDENTITY_SELLER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_PAYMENTS_IDENTITY_SELLER_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/identity_client/identity_client.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "services/payments/seller_directory.h"

namespace marketplace::payments {

// SellerDirectory over identity's GetSellerProfile, called with this service's own token
// (SERVICE with identity.accounts.read). Only status APPROVED counts (a suspended seller is
// SELLER_SUSPENDED there); the payout account is the approved application's
// payout_account_ref.
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

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_IDENTITY_SELLER_DIRECTORY_H_
