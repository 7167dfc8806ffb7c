#ifndef MARKETPLACE_SERVICES_CATALOG_LISTINGS_H_
#define MARKETPLACE_SERVICES_CATALOG_LISTINGS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/db/batched_reader.h"
#include "common/db/connection_pool.h"
#include "common/idempotency/idempotency.h"
#include "common/outbox/outbox.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/public_view_cache.h"
#include "common/identity_client/seller_directory.h"

namespace marketplace::catalog {

namespace v1 = marketplace::catalog::v1;

// Event topics written to the outbox (payloads in catalog.proto).
inline constexpr char kTopicListingApproved[] = "catalog.listing_approved";
inline constexpr char kTopicListingRejected[] = "catalog.listing_rejected";
inline constexpr char kTopicListingReported[] = "catalog.listing_reported";
inline constexpr char kTopicListingSuspended[] = "catalog.listing_suspended";

// Full method name CreateListing's request ids are stored under.
inline constexpr char kCreateListingMethod[] =
    "/marketplace.catalog.v1.CatalogService/CreateListing";

// Creates or upgrades the catalog's tables, the outbox's and the request-id store's.
[[nodiscard]] absl::Status ApplyCatalogMigrations(common::db::ConnectionPool& pool);

struct ListingsOptions {
  // Open reports from distinct buyers that send a LIVE listing back to review.
  int64_t report_threshold = 3;
  // How long a moderator's claim on a review lasts.
  absl::Duration claim_timeout = absl::Minutes(15);
  // Decided listings under which a seller is "new" (its clean listings still get reviewed);
  // nullopt: the rules file's thresholds.new_seller_listings.
  std::optional<int64_t> new_seller_listings;
  // Public views of LIVE listings served by GetListing to callers other than the owner and
  // staff, kept in memory and evicted when their row changes (public_view_cache.h). Off by
  // default (ttl zero).
  PublicViewCacheOptions public_cache;
  // GetListing reads: statements at the database at once (each holds a pool connection
  // while it runs); the reads asked for meanwhile go together in the next one.
  int point_read_threads = 2;
};

// Who calls: nullopt for an anonymous call to a public method.
using MaybeCaller = std::optional<common::auth::Caller>;

// The listing lifecycle and its moderation (catalog.proto describes every method, its callers
// and its errors; this class enforces them). Each method is one database transaction, retried
// whole on deadlocks; every state change is recorded in listing_transitions and its event
// written to the outbox in that same transaction. Thread-safe.
class Listings {
 public:
  // Everything must outlive the object.
  Listings(common::db::ConnectionPool* pool, LiveRules* rules,
           common::identity_client::SellerDirectory* sellers,
           const common::Clock* clock, ListingsOptions options);

  absl::StatusOr<v1::Listing> CreateListing(const MaybeCaller& caller,
                                            const v1::CreateListingRequest& request);
  absl::StatusOr<v1::Listing> UpdateListing(const MaybeCaller& caller,
                                            const v1::UpdateListingRequest& request);
  absl::StatusOr<v1::Listing> SubmitListing(const MaybeCaller& caller,
                                            const v1::SubmitListingRequest& request);
  absl::StatusOr<v1::Listing> GetListing(const MaybeCaller& caller,
                                         const v1::GetListingRequest& request);
  // The same without blocking: `done` is called once, from a reader thread or before this
  // returns.
  void GetListingAsync(const MaybeCaller& caller, const v1::GetListingRequest& request,
                       std::function<void(absl::StatusOr<v1::Listing>)> done);
  absl::StatusOr<v1::ListListingsResponse> ListListings(const MaybeCaller& caller,
                                                        const v1::ListListingsRequest& request);
  absl::StatusOr<v1::Listing> WithdrawListing(const MaybeCaller& caller,
                                              const v1::WithdrawListingRequest& request);
  absl::StatusOr<v1::ListCategoriesResponse> ListCategories();
  absl::StatusOr<v1::ReportListingResponse> ReportListing(const MaybeCaller& caller,
                                                          const v1::ReportListingRequest& request);
  absl::StatusOr<v1::ListReviewQueueResponse> ListReviewQueue(
      const MaybeCaller& caller, const v1::ListReviewQueueRequest& request);
  absl::StatusOr<v1::Review> ClaimReview(const MaybeCaller& caller,
                                         const v1::ClaimReviewRequest& request);
  absl::StatusOr<v1::Listing> DecideReview(const MaybeCaller& caller,
                                           const v1::DecideReviewRequest& request);
  absl::StatusOr<v1::Listing> AppealDecision(const MaybeCaller& caller,
                                             const v1::AppealDecisionRequest& request);
  absl::StatusOr<v1::GetModerationHistoryResponse> GetModerationHistory(
      const MaybeCaller& caller, const v1::GetModerationHistoryRequest& request);
  absl::StatusOr<v1::SellerModeration> SetSellerModerationLevel(
      const MaybeCaller& caller, const v1::SetSellerModerationLevelRequest& request);
  absl::StatusOr<v1::SuspendSellerListingsResponse> SuspendSellerListings(
      const MaybeCaller& caller, const v1::SuspendSellerListingsRequest& request);
  absl::StatusOr<v1::RestoreSellerListingsResponse> RestoreSellerListings(
      const MaybeCaller& caller, const v1::RestoreSellerListingsRequest& request);

  const ListingsOptions& options() const { return options_; }
  PublicViewCache::Totals public_cache_totals() const { return public_cache_.totals(); }

 private:
  common::db::ConnectionPool* pool_;
  LiveRules* rules_;
  common::identity_client::SellerDirectory* sellers_;
  const common::Clock* clock_;
  const ListingsOptions options_;
  PublicViewCache public_cache_;

  common::outbox::Outbox outbox_;
  common::idempotency::IdempotencyStore idempotency_;
  // GetListing's reads, batched (last: destroyed first, answering what is queued).
  std::unique_ptr<common::db::BatchedReader> point_reader_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LISTINGS_H_
