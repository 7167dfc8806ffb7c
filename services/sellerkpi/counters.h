#ifndef MARKETPLACE_SERVICES_SELLERKPI_COUNTERS_H_
#define MARKETPLACE_SERVICES_SELLERKPI_COUNTERS_H_

#include "absl/strings/string_view.h"

namespace marketplace::sellerkpi::counters {

// The names of the seller x day counters (seller_day_counters.counter). Order counters sit on
// the order's day (the earliest ORDER_PLACED of the (seller, order) row); the others on the
// event's day.

// Order counters: one per order whatever its number of events.
inline constexpr absl::string_view kOrders = "orders";
// Orders with a rating <= 2, a claim that counts, or a dispute (ORDER_DEFECT_RATE).
inline constexpr absl::string_view kOdrDefects = "odr_defects";
// Orders with a claim that counts (INCIDENT_RATE).
inline constexpr absl::string_view kIncidents = "incidents";
// Orders with a dispute (DISPUTE_RATE).
inline constexpr absl::string_view kDisputedOrders = "disputed_orders";
// Orders the seller cancelled (CANCELLATION_RATE).
inline constexpr absl::string_view kSellerCancellations = "seller_cancellations";

// Event counters.
inline constexpr absl::string_view kOrdersCompleted = "orders_completed";
inline constexpr absl::string_view kShipments = "shipments";
inline constexpr absl::string_view kLateShipments = "late_shipments";
inline constexpr absl::string_view kValidTracking = "valid_tracking";
inline constexpr absl::string_view kDisputesResolved = "disputes_resolved";
inline constexpr absl::string_view kDisputesLost = "disputes_lost";
inline constexpr absl::string_view kFirstResponses = "first_responses";
inline constexpr absl::string_view kFirstResponsesWithin = "first_responses_within";
// Sum of the seconds of SELLER-attributed first responses.
inline constexpr absl::string_view kFirstResponseSeconds = "first_response_seconds";
inline constexpr absl::string_view kSellerSlaBreaches = "seller_sla_breaches";
inline constexpr absl::string_view kRatings = "ratings";
// Sum of the stars of those ratings.
inline constexpr absl::string_view kRatingStars = "rating_stars";
inline constexpr absl::string_view kListingReviews = "listing_reviews";
inline constexpr absl::string_view kListingRejections = "listing_rejections";

}  // namespace marketplace::sellerkpi::counters

#endif  // MARKETPLACE_SERVICES_SELLERKPI_COUNTERS_H_
