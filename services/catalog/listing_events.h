#ifndef MARKETPLACE_SERVICES_CATALOG_LISTING_EVENTS_H_
#define MARKETPLACE_SERVICES_CATALOG_LISTING_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace marketplace::catalog {

// Event topics written to the outbox (payloads in catalog.proto).
inline constexpr char kTopicListingApproved[] = "catalog.listing_approved";
inline constexpr char kTopicListingRejected[] = "catalog.listing_rejected";
inline constexpr char kTopicListingReported[] = "catalog.listing_reported";
inline constexpr char kTopicListingSuspended[] = "catalog.listing_suspended";

// What the catalog tells other services, written to the outbox in the transaction of the
// change (payloads and topics: catalog.proto).

// The rules or a moderator approved (topic catalog.listing_approved) or rejected
// (catalog.listing_rejected) a listing.
struct ListingDecided {
  bool approved = false;
  std::string listing_id;
  std::string seller_id;
  std::string decided_by;  // account id, or "system"
  absl::Time at;
  std::vector<std::string> reason_codes;  // rejections only
  std::string explanation;                // rejections only
  std::string rules_version;
};

// catalog.listing_reported
struct ListingReported {
  std::string listing_id;
  std::string seller_id;
  std::string reporter_id;
  std::string reason;  // ReportReason name
  int64_t open_reports = 0;
  bool sent_to_review = false;
  absl::Time at;
  // Why the report does not count ("NEW_ACCOUNT", "BURST"); empty when it counts.
  std::string held;
};

// catalog.listing_suspended
struct ListingSuspended {
  std::string listing_id;
  std::string seller_id;
  std::string suspended_by;
  std::string reason_code;
  absl::Time at;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LISTING_EVENTS_H_
