#ifndef MARKETPLACE_SERVICES_CATALOG_REPORTS_H_
#define MARKETPLACE_SERVICES_CATALOG_REPORTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/catalog/catalog_options.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

struct ReportOutcome {
  int64_t open_reports = 0;
  // The threshold was reached: the listing left LIVE for human review.
  bool sent_to_review = false;
};

// Buyers' reports of LIVE listings (catalog.proto: ReportListing): one per buyer and listing;
// report_threshold open reports from distinct buyers send the listing back to review.
// Thread-safe.
class Reports {
 public:
  // Everything must outlive the object.
  Reports(ListingStore* store, const common::Clock* clock, const CatalogOptions* options)
      : store_(store), clock_(clock), options_(options) {}

  // `reason`: a ReportReason name.
  [[nodiscard]] absl::StatusOr<ReportOutcome> Report(const common::auth::Caller& buyer,
                                                     absl::string_view listing_id,
                                                     absl::string_view reason,
                                                     absl::string_view comment);

 private:
  ListingStore* store_;
  const common::Clock* clock_;
  const CatalogOptions* options_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_REPORTS_H_
