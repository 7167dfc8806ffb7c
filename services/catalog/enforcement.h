#ifndef MARKETPLACE_SERVICES_CATALOG_ENFORCEMENT_H_
#define MARKETPLACE_SERVICES_CATALOG_ENFORCEMENT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

// What staff and enforcement services do to a seller as a whole (catalog.proto:
// SetSellerModerationLevel, SuspendSellerListings, RestoreSellerListings). Thread-safe.
//
// SuspendSeller and ReinstateSeller are the two domain operations of a seller's suspension:
// the staff RPCs call them, and so does whatever consumes identity's
// identity.account_suspended / identity.account_reinstated events (construct an Enforcement
// over the catalog's store and call them with the event's account id; both are idempotent, so
// a redelivered event changes nothing).
class Enforcement {
 public:
  // Both must outlive the object.
  Enforcement(ListingStore* store, const common::Clock* clock) : store_(store), clock_(clock) {}

  // Stores the seller's level (when `set_level`) and authorised brands (when `set_brands`),
  // by `staff`, in one transaction that reads the stored setting first (a field not set keeps
  // its value; a seller never set starts from STANDARD without brands). Returns what is now
  // stored.
  [[nodiscard]] absl::StatusOr<SellerModerationSetting> SetModerationLevel(
      const common::auth::Caller& staff, SellerModerationSetting setting, bool set_level,
      bool set_brands);
  // The stored setting; STANDARD without brands (updated_by empty) when never set.
  [[nodiscard]] absl::StatusOr<SellerModerationSetting> GetModerationLevel(
      absl::string_view seller_id);

  // Records the seller as suspended by `source` (table seller_suspensions, one row per
  // source) and, in the same transaction, moves every listing of the seller that is LIVE,
  // PENDING_REVIEW, DRAFT or REJECTED to SUSPENDED, remembering the state each was in
  // (WITHDRAWN ones stay withdrawn), with a transition by `actor` and a
  // catalog.listing_suspended event each. While suspended the seller can create, update,
  // submit and appeal nothing (FAILED_PRECONDITION SELLER_SUSPENDED) and moderators cannot
  // decide its reviews. Idempotent: suspending a suspended seller takes down what is left
  // (nothing, normally) and updates the source's reason. Returns the listings taken down by
  // this call. INVALID_ARGUMENT for a `seller_id` that is not an issued account id or a
  // `reason_code` that is not 1-64 of UPPER_SNAKE_CASE. `actor`: the account id of staff, or
  // the service/event that asked (recorded as is).
  [[nodiscard]] absl::StatusOr<int64_t> SuspendSeller(absl::string_view actor,
                                                      absl::string_view seller_id,
                                                      absl::string_view reason_code,
                                                      absl::string_view explanation,
                                                      SuspensionSource source);
  struct Reinstatement {
    int64_t restored = 0;          // listings put back by this call
    bool still_suspended = false;  // another source's suspension is left: nothing put back
  };
  // Lifts the seller's suspension by `source` (not another source's). When none is left, the
  // seller may act again and every listing a suspension took down goes back to the state it
  // was in (a PENDING_REVIEW one to the review queue); while another is left, nothing else
  // changes. Idempotent.
  [[nodiscard]] absl::StatusOr<Reinstatement> ReinstateSeller(absl::string_view actor,
                                                              absl::string_view seller_id,
                                                              SuspensionSource source);

  // The staff RPCs (SuspendSellerListings, RestoreSellerListings): the same, by `enforcer`,
  // for the CATALOG source.
  [[nodiscard]] absl::StatusOr<int64_t> Suspend(const common::auth::Caller& enforcer,
                                                absl::string_view seller_id,
                                                absl::string_view reason_code,
                                                absl::string_view explanation) {
    return SuspendSeller(enforcer.subject, seller_id, reason_code, explanation,
                         SuspensionSource::kCatalog);
  }
  [[nodiscard]] absl::StatusOr<Reinstatement> Restore(const common::auth::Caller& enforcer,
                                                      absl::string_view seller_id) {
    return ReinstateSeller(enforcer.subject, seller_id, SuspensionSource::kCatalog);
  }

 private:
  ListingStore* store_;
  const common::Clock* clock_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_ENFORCEMENT_H_
