#ifndef MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_
#define MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace marketplace::catalog {

// The domain's settings (catalog_server's flags, README "Flags").
struct CatalogOptions {
  // Open reports from distinct buyers that send a LIVE listing back to review.
  int64_t report_threshold = 3;
  // How long a moderator's claim on a review lasts.
  absl::Duration claim_timeout = absl::Minutes(15);
  // Decided listings under which a seller is "new" (its clean listings still get reviewed);
  // nullopt: the rules file's thresholds.new_seller_listings.
  std::optional<int64_t> new_seller_listings;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_
