#include "services/payments/payments_context.h"

#include <string>

#include "common/errors.h"
#include "common/status_macros.h"

namespace marketplace::payments {

absl::StatusOr<common::identity_client::SellerStatus> ApprovedSeller(const PaymentsContext& context,
                                                                     absl::string_view seller_id) {
  ASSIGN_OR_RETURN(common::identity_client::SellerStatus seller,
                   context.sellers->GetSeller(std::string(seller_id)));
  if (!seller.found) return common::NotFound("seller", seller_id);
  if (!seller.approved_active) {
    return common::FailedPrecondition("SELLER_NOT_APPROVED",
                                      "the seller is not an approved, active seller");
  }
  return seller;
}

}  // namespace marketplace::payments
