#include "services/payments/payments_context.h"

#include <string>
#include <utility>

#include "common/errors.h"
#include "common/status_macros.h"

namespace marketplace::payments {

absl::StatusOr<common::identity_client::SellerStatus> ApprovedSeller(
    const PaymentsContext& context, absl::string_view seller_id, const common::CallOrigin& origin) {
  absl::StatusOr<common::identity_client::SellerStatus> looked_up =
      context.sellers->GetSellerFor(std::string(seller_id), origin);
  if (absl::IsInvalidArgument(looked_up.status())) {
    // Identity refuses the id as malformed: the caller's input, never a retry code.
    return common::InvalidField("seller_id", looked_up.status().message());
  }
  ASSIGN_OR_RETURN(common::identity_client::SellerStatus seller, std::move(looked_up));
  if (!seller.found) return common::NotFound("seller", seller_id);
  if (!seller.approved_active) {
    return common::FailedPrecondition("SELLER_NOT_APPROVED",
                                      "the seller is not an approved, active seller");
  }
  return seller;
}

}  // namespace marketplace::payments
