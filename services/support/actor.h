#ifndef MARKETPLACE_SERVICES_SUPPORT_ACTOR_H_
#define MARKETPLACE_SERVICES_SUPPORT_ACTOR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace marketplace::support {

// Who is acting, as the permission table made it for the method at hand. The domain then
// applies ownership (README.md "Conventions"): a ticket the caller is no party to and may not
// see as staff answers NOT_FOUND exactly like an id that does not exist; PERMISSION_DENIED when
// the caller sees the ticket but its part in it does not allow the method.
struct Actor {
  std::string id;        // account id (the token's subject)
  bool buyer = false;    // BUYER: acts on tickets where it is the buyer
  bool seller = false;   // SELLER: acts on tickets where it is the seller
  bool agent = false;    // SUPPORT_AGENT: every ticket
  bool admin = false;    // ADMIN: every ticket
  bool intake = false;   // SERVICE with support.intake: CreateTicket for a buyer

  bool staff() const { return agent || admin; }
  bool IsBuyerOf(absl::string_view buyer_id) const { return buyer && id == buyer_id; }
  bool IsSellerOf(absl::string_view seller_id) const { return seller && id == seller_id; }
  // May learn that a ticket of these parties exists.
  bool MaySee(absl::string_view buyer_id, absl::string_view seller_id) const {
    return staff() || IsBuyerOf(buyer_id) || IsSellerOf(seller_id);
  }
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_ACTOR_H_
