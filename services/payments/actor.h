#ifndef MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_
#define MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"

namespace marketplace::payments {

// Who is acting, and on which payments the permission table allows it for the method at
// hand. The domain enforces ownership: a caller that may act only as buyer (or seller) gets
// PERMISSION_DENIED on someone else's payment.
struct Actor {
  std::string id;                   // account id; "system" for the automatic release
  bool any_payment = false;         // staff, or SERVICE with the method's scope
  bool as_buyer = false;            // may act on payments where it is the buyer
  bool as_seller = false;           // may act on payments (and balances) where it is the seller
  bool may_set_commission = false;  // CreatePayment.commission_bps (ADMIN, SERVICE)
};

// The actor of the automatic release and of the completion worker's compensations.
inline constexpr char kSystemActor[] = "system";

inline bool MayActOn(const Actor& actor, absl::string_view buyer_id, absl::string_view seller_id) {
  return actor.any_payment || (actor.as_buyer && actor.id == buyer_id) ||
         (actor.as_seller && actor.id == seller_id);
}

inline absl::Status NotYours() {
  return common::PermissionDenied("the payment belongs to someone else");
}

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_
