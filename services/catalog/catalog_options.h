#ifndef MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_
#define MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace marketplace::catalog {

// The domain's settings (catalog_server's flags, README "Flags").
struct CatalogOptions {
  // Open counted reports from distinct buyers that send a LIVE listing back to review.
  int64_t report_threshold = 3;
  // A report counts toward the threshold only when its reporter's account is at least this
  // old (per identity) or has a paid order.
  absl::Duration report_min_account_age = absl::Hours(7 * 24);
  // Reports one account may make per report_rate_window (RESOURCE_EXHAUSTED beyond).
  int64_t report_rate_limit = 20;
  absl::Duration report_rate_window = absl::Hours(1);
  // Counted reports on one seller's listings per report_burst_window beyond which further
  // reports on that seller are held for a moderator (kept, not counted).
  int64_t report_burst_limit = 5;
  absl::Duration report_burst_window = absl::Hours(1);
  // How long a moderator's claim on a review lasts.
  absl::Duration claim_timeout = absl::Minutes(15);
  // Decided listings under which a seller is "new" (its clean listings still get reviewed);
  // nullopt: the rules file's thresholds.new_seller_listings.
  std::optional<int64_t> new_seller_listings;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CATALOG_OPTIONS_H_
