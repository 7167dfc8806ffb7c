#ifndef MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_
#define MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"

namespace marketplace::payments {

// Who is acting, and on which payments the permission table allows it for the method at
// hand. The domain enforces ownership (AIP-193, README.md "Conventions"): a payment the caller
// may not see (not its buyer or seller, not staff or a SERVICE with the method's scope) answers
// NOT_FOUND exactly like an id that does not exist; PERMISSION_DENIED only when the caller may
// see the payment but not do this to it (the buyer calling a seller's method, say).
struct Actor {
  std::string id;                   // account id; "system" for the automatic release
  bool any_payment = false;         // staff, or SERVICE with the method's scope
  bool as_buyer = false;            // may act on payments where it is the buyer
  bool as_seller = false;           // may act on payments (and balances) where it is the seller
  bool may_set_commission = false;  // CreatePayment.commission_bps (SERVICE, payments.checkout)
  // A SERVICE holding the method's scope (RefundPayment.on_behalf_of_seller).
  bool as_service = false;
};

// The actor of the automatic release and of the completion worker's compensations.
inline constexpr char kSystemActor[] = "system";

inline bool MayActOn(const Actor& actor, absl::string_view buyer_id, absl::string_view seller_id) {
  return actor.any_payment || (actor.as_buyer && actor.id == buyer_id) ||
         (actor.as_seller && actor.id == seller_id);
}

// Whether the caller may learn that the payment exists: a party to it, or `any_payment`.
inline bool MaySee(const Actor& actor, absl::string_view buyer_id, absl::string_view seller_id) {
  return actor.any_payment || actor.id == buyer_id || actor.id == seller_id;
}

// The caller sees the payment (MaySee) but its role in it does not allow the method.
inline absl::Status NotYours() {
  return common::PermissionDenied("the caller's part in this payment does not allow this");
}

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_ACTOR_H_
