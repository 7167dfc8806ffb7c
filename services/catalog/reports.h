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
#include "services/catalog/reporter_directory.h"

namespace marketplace::catalog {

struct ReportOutcome {
  // Open reports of the listing that count toward the threshold.
  int64_t open_reports = 0;
  // The threshold was reached: the listing left LIVE for human review.
  bool sent_to_review = false;
};

// Buyers' reports of LIVE listings (catalog.proto: ReportListing): one per buyer and listing,
// at most report_rate_limit per buyer and report_rate_window. Every report is kept; it counts
// toward the threshold only when its reporter is established — a paid order recorded
// (RecordPaidOrder, from payments' events) or an account at least report_min_account_age old
// (per `reporters`, i.e. identity) — and fewer than report_burst_limit counted reports hit the
// seller's listings in report_burst_window; otherwise it is held (NEW_ACCOUNT, BURST) for
// moderators. report_threshold open counted reports from distinct buyers send the listing back
// to review. Thread-safe.
class Reports {
 public:
  // Everything must outlive the object. `reporters` null: no account's age is known, so only
  // reporters with a paid order count.
  Reports(ListingStore* store, const common::Clock* clock, const CatalogOptions* options,
          ReporterDirectory* reporters)
      : store_(store), clock_(clock), options_(options), reporters_(reporters) {}

  // `reason`: a ReportReason name.
  [[nodiscard]] absl::StatusOr<ReportOutcome> Report(const common::auth::Caller& buyer,
                                                     absl::string_view listing_id,
                                                     absl::string_view reason,
                                                     absl::string_view comment);

 private:
  // Whether the reporter is established: a paid order recorded, or (asked only then) an
  // account old enough.
  [[nodiscard]] absl::StatusOr<bool> Established(const std::string& reporter_id);

  ListingStore* store_;
  const common::Clock* clock_;
  const CatalogOptions* options_;
  ReporterDirectory* reporters_;
};

// Records a buyer's paid order as payments announced it (payments.payment_held): from then on
// the buyer's reports count toward the threshold whatever its account's age. The buyer's first
// paid order is kept; a later one or the same one again changes nothing (false). buyer_id and
// payment_id must be ids in their issuer's form (an account id, a "pay_" payment id), order_id
// 1-128 and event_id 1-64 characters, else INVALID_ARGUMENT naming the field (under `field_prefix`,
// e.g. "event.payload.").
[[nodiscard]] absl::StatusOr<bool> RecordPaidOrder(ListingStore* store, const PaidOrder& order,
                                                   absl::string_view field_prefix = "");

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_REPORTS_H_
