#ifndef MARKETPLACE_SERVICES_CATALOG_CONVERT_H_
#define MARKETPLACE_SERVICES_CATALOG_CONVERT_H_

#include "absl/time/time.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/listing_events.h"
#include "services/catalog/listing_record.h"

namespace marketplace::catalog {

namespace v1 = marketplace::catalog::v1;

// The domain's values <-> the API's messages, in one place.

v1::ListingState StateToProto(ListingState state);
ListingState StateFromProto(v1::ListingState state);
v1::ReviewReason ReviewReasonToProto(ReviewReason reason);
ReviewReason ReviewReasonFromProto(v1::ReviewReason reason);
v1::SellerModerationLevel ModerationLevelToProto(SellerModerationLevel level);
// The stored setting as the API shows it (updated_at unset when never set).
v1::SellerModeration ModerationToProto(const SellerModerationSetting& setting);
SellerModerationLevel ModerationLevelFromProto(v1::SellerModerationLevel level);

// The full view (owner and staff).
v1::Listing ListingToProto(const ListingRecord& listing);
// What everyone else sees: no findings, reason codes, explanation or rules version.
v1::Listing PublicView(v1::Listing listing);
// Every field the message has; seq, state_before_suspension and ever_decided stay default.
// A price Money cannot hold is left out (the API accepts none such).
ListingRecord ListingFromProto(const v1::Listing& listing);
// The content fields of a request (ids, state and findings are not the seller's to set).
void CopyContentFromProto(const v1::Listing& in, ListingRecord* out);

// A claim that has expired at `now` shows as unclaimed.
v1::Review ReviewToProto(const Review& review, absl::Time now);
v1::ListingTransition TransitionToProto(const Transition& transition);

v1::ListingApproved ApprovedToProto(const ListingDecided& event);
v1::ListingRejected RejectedToProto(const ListingDecided& event);
v1::ListingReported ReportedToProto(const ListingReported& event);
v1::ListingSuspended SuspendedToProto(const ListingSuspended& event);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CONVERT_H_
