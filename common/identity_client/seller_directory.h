#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity_client/identity_client.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::common::identity_client {

// What other services need to know about a seller, as identity knows it.
struct SellerStatus {
  // The account exists and has a seller profile.
  bool found = false;
  // The seller application is APPROVED and the account is active (not suspended).
  bool approved_active = false;
  // The processor reference of the account payouts go to (from the seller application).
  std::string payout_account;
};

// Where sellers are looked up (identity in production; a hand-written stand-in in tests).
// Implementations are thread-safe.
class SellerDirectory {
 public:
  virtual ~SellerDirectory() = default;
  // UNAVAILABLE when the directory cannot be reached (the caller may retry).
  [[nodiscard]] virtual absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) = 0;
};

// SellerDirectory over identity's GetSellerProfile, called with this service's own token
// (SERVICE with identity.accounts.read). Only status APPROVED counts (a suspended seller is
// SELLER_SUSPENDED there); the payout account is the application's payout_account_ref.
class IdentitySellerDirectory final : public SellerDirectory {
 public:
  // `tokens` must outlive the directory.
  IdentitySellerDirectory(std::shared_ptr<grpc::Channel> channel, ServiceTokenSource* tokens,
                          absl::Duration timeout = absl::Seconds(3));

  absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) override;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  ServiceTokenSource* tokens_;
  const absl::Duration timeout_;
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_
