#ifndef MARKETPLACE_SERVICES_CATALOG_CATALOG_API_H_
#define MARKETPLACE_SERVICES_CATALOG_CATALOG_API_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/identity_client/seller_directory.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/catalog_options.h"
#include "services/catalog/enforcement.h"
#include "services/catalog/lifecycle.h"
#include "services/catalog/listing_store.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/permissions.h"
#include "services/catalog/public_view_cache.h"
#include "services/catalog/reporter_directory.h"
#include "services/catalog/reports.h"
#include "services/catalog/review_queue.h"

namespace marketplace::catalog {

namespace v1 = marketplace::catalog::v1;

// The CatalogService methods on the API's messages, without gRPC: each checks the request's
// fields, converts it to the domain's terms, calls the domain and converts the answer
// (catalog.proto describes every method, its callers and its errors). Who may call a method
// at all is checked before, by Authorize (permissions.h): CatalogService's guard. Page tokens
// and the public view cache live here. Thread-safe.
class CatalogApi {
 public:
  // Everything must outlive the object. `reporters` tells whether a reporter's reports count
  // toward the report threshold (reports.h); null: none counts.
  CatalogApi(ListingStore* store, LiveRules* rules,
             common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
             CatalogOptions options, PublicViewCacheOptions public_cache,
             ReporterDirectory* reporters = nullptr);

  [[nodiscard]] absl::StatusOr<v1::Listing> CreateListing(const MaybeCaller& caller,
                                                          const v1::CreateListingRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> UpdateListing(const MaybeCaller& caller,
                                                          const v1::UpdateListingRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> SubmitListing(const MaybeCaller& caller,
                                                          const v1::SubmitListingRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> GetListing(const MaybeCaller& caller,
                                                       const v1::GetListingRequest& request);
  // The same without blocking: `done` is called once, from a reader thread or before this
  // returns.
  void GetListingAsync(const MaybeCaller& caller, const v1::GetListingRequest& request,
                       std::function<void(absl::StatusOr<v1::Listing>)> done);
  [[nodiscard]] absl::StatusOr<v1::ListListingsResponse> ListListings(
      const MaybeCaller& caller, const v1::ListListingsRequest& request);
  // A first page from the public first-page cache.
  struct CachedFirstPage {
    // The page with its listings already serialized: each is carried as an unknown field 1
    // (the wire form of `repeated Listing listings = 1`), so answering it copies bytes instead
    // of serializing every listing again. On the wire it is the page ListListings answers;
    // in process its listings() is empty.
    v1::ListListingsResponse response;
    // The page has been in memory for half its time and nobody was asked to re-read it yet:
    // the caller should call RefreshPage (off gRPC's thread) so that a new page replaces it
    // before it expires and no caller waits for the database.
    bool refresh = false;
  };
  // The public first page for this request when the cache holds one (never blocks: safe on
  // gRPC's own thread); nullopt otherwise (call ListListings).
  [[nodiscard]] std::optional<CachedFirstPage> CachedPage(const MaybeCaller& caller,
                                                          const v1::ListListingsRequest& request);
  // Reads the public first page of this request from the database and keeps it (what
  // CachedPage's `refresh` asks for); nothing for a request whose page is not kept.
  void RefreshPage(const MaybeCaller& caller, const v1::ListListingsRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> WithdrawListing(
      const MaybeCaller& caller, const v1::WithdrawListingRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListCategoriesResponse> ListCategories();
  [[nodiscard]] absl::StatusOr<v1::ReportListingResponse> ReportListing(
      const MaybeCaller& caller, const v1::ReportListingRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListReviewQueueResponse> ListReviewQueue(
      const MaybeCaller& caller, const v1::ListReviewQueueRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Review> ClaimReview(const MaybeCaller& caller,
                                                       const v1::ClaimReviewRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> DecideReview(const MaybeCaller& caller,
                                                         const v1::DecideReviewRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Listing> AppealDecision(
      const MaybeCaller& caller, const v1::AppealDecisionRequest& request);
  [[nodiscard]] absl::StatusOr<v1::GetModerationHistoryResponse> GetModerationHistory(
      const MaybeCaller& caller, const v1::GetModerationHistoryRequest& request);
  [[nodiscard]] absl::StatusOr<v1::SellerModeration> SetSellerModerationLevel(
      const MaybeCaller& caller, const v1::SetSellerModerationLevelRequest& request);
  [[nodiscard]] absl::StatusOr<v1::SellerModeration> GetSellerModerationLevel(
      const MaybeCaller& caller, const v1::GetSellerModerationLevelRequest& request);
  [[nodiscard]] absl::StatusOr<v1::SuspendSellerListingsResponse> SuspendSellerListings(
      const MaybeCaller& caller, const v1::SuspendSellerListingsRequest& request);
  [[nodiscard]] absl::StatusOr<v1::RestoreSellerListingsResponse> RestoreSellerListings(
      const MaybeCaller& caller, const v1::RestoreSellerListingsRequest& request);

  const CatalogOptions& options() const { return options_; }
  PublicViewCache::Totals public_cache_totals() const { return public_cache_.totals(); }

 private:
  // First pages of LIVE listings for public callers (anonymous, buyers), by filters: kept
  // for the public view cache's poll interval (the same freshness as GetListing's cached
  // views), at most kMaxPages of them; re-read once after half of it (CachedPage's refresh).
  struct StoredPage {
    absl::Time stored_at;  // when its read began
    std::shared_ptr<const v1::ListListingsResponse> page;
    std::shared_ptr<const v1::ListListingsResponse> wire;  // listings pre-serialized
    bool refresh_asked = false;
  };
  static constexpr size_t kMaxPages = 10000;
  // A ListListings request in the domain's terms.
  struct PageRequest {
    ListingsPage page;
    std::string filters;  // what page tokens are bound to
    bool cacheable = false;
    std::string cache_key;
  };
  [[nodiscard]] absl::StatusOr<PageRequest> ParsePageRequest(
      const MaybeCaller& caller, const v1::ListListingsRequest& request);
  // Reads the page from the database and keeps it when it is cacheable.
  [[nodiscard]] absl::StatusOr<v1::ListListingsResponse> ReadPage(const MaybeCaller& caller,
                                                                  const PageRequest& parsed);

  LiveRules* rules_;
  const common::Clock* clock_;
  const CatalogOptions options_;
  const absl::Duration page_ttl_;
  absl::Mutex pages_mu_;
  absl::flat_hash_map<std::string, StoredPage> pages_ ABSL_GUARDED_BY(pages_mu_);
  PublicViewCache public_cache_;
  Lifecycle lifecycle_;
  ReviewQueue review_queue_;
  Reports reports_;
  Enforcement enforcement_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CATALOG_API_H_
