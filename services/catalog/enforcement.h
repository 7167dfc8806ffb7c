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
class Enforcement {
 public:
  // Both must outlive the object.
  Enforcement(ListingStore* store, const common::Clock* clock) : store_(store), clock_(clock) {}

  // Stores the seller's level and authorised brands, by `staff`.
  [[nodiscard]] absl::Status SetModerationLevel(const common::auth::Caller& staff,
                                                SellerModerationSetting setting);
  // Suspends every LIVE or PENDING_REVIEW listing of the seller; returns how many.
  [[nodiscard]] absl::StatusOr<int64_t> Suspend(const common::auth::Caller& enforcer,
                                                absl::string_view seller_id,
                                                absl::string_view reason_code,
                                                absl::string_view explanation);
  // Returns every SUSPENDED listing of the seller to the state it was suspended in; returns
  // how many.
  [[nodiscard]] absl::StatusOr<int64_t> Restore(const common::auth::Caller& enforcer,
                                                absl::string_view seller_id);

 private:
  ListingStore* store_;
  const common::Clock* clock_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_ENFORCEMENT_H_
