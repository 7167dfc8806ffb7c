#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/client/call_origin.h"

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
  // UNAVAILABLE when the directory cannot be reached (the caller may retry); INVALID_ARGUMENT
  // when the directory refuses `seller_id` as malformed (no retry helps: the caller names its
  // field).
  [[nodiscard]] virtual absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) = 0;
  // The same on behalf of the call `origin`: its deadline and x-request-id travel with the
  // lookup. Implementations that make no remote call need not override it.
  [[nodiscard]] virtual absl::StatusOr<SellerStatus> GetSellerFor(const std::string& seller_id,
                                                                  const CallOrigin& origin) {
    (void)origin;
    return GetSeller(seller_id);
  }
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_SELLER_DIRECTORY_H_
