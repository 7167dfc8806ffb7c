#ifndef MARKETPLACE_SERVICES_CATALOG_LIFECYCLE_H_
#define MARKETPLACE_SERVICES_CATALOG_LIFECYCLE_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/identity_client/seller_directory.h"
#include "services/catalog/catalog_options.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/listing_store.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/permissions.h"

namespace marketplace::catalog {

// A listing as one caller may see it.
struct SeenListing {
  ListingRecord listing;
  // The seller and staff see everything; everyone else the public view (LIVE only).
  bool full = false;
};

// Which listings a page holds (newest first).
struct ListingsPage {
  std::string category_id;               // with its subcategories; empty: all
  std::string seller_id;                 // empty: all
  std::vector<std::string> title_words;  // folded (FoldText), all required
  std::set<ListingState> states;         // never empty
  std::optional<int64_t> before_seq;
  int page_size = 20;
};

// A seller's listings from draft to withdrawal (catalog.proto: CreateListing, UpdateListing,
// SubmitListing, GetListing, ListListings, WithdrawListing). Every change is one transaction
// with its transition and events. Thread-safe.
class Lifecycle {
 public:
  // Everything must outlive the object.
  Lifecycle(ListingStore* store, LiveRules* rules,
            common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
            const CatalogOptions* options)
      : store_(store), rules_(rules), sellers_(sellers), clock_(clock), options_(options) {}

  // A DRAFT with `draft`'s content, at most once per request id.
  [[nodiscard]] absl::StatusOr<ListingRecord> Create(const common::auth::Caller& caller,
                                                     const CreateRequestKey& key,
                                                     const ListingRecord& draft);
  // Sets the `fields` ("title", "price", ...) of the listing from `changes`; a LIVE listing
  // whose content changes (the quantity aside) is moderated again.
  [[nodiscard]] absl::StatusOr<ListingRecord> Update(const common::auth::Caller& caller,
                                                     absl::string_view listing_id,
                                                     const ListingRecord& changes,
                                                     const std::set<std::string>& fields);
  [[nodiscard]] absl::StatusOr<ListingRecord> Submit(const common::auth::Caller& caller,
                                                     absl::string_view listing_id);
  [[nodiscard]] absl::StatusOr<ListingRecord> Withdraw(const common::auth::Caller& caller,
                                                       absl::string_view listing_id);
  // Calls `done` once, from a reader thread or before returning.
  void Get(const MaybeCaller& caller, absl::string_view listing_id,
           std::function<void(absl::StatusOr<SeenListing>)> done);
  // Up to page_size + 1 listings: one more than the page tells that another page follows.
  [[nodiscard]] absl::StatusOr<std::vector<SeenListing>> List(const MaybeCaller& caller,
                                                              const ListingsPage& page);

  // PERMISSION_DENIED unless `caller` may list `states` of `seller_id`.
  [[nodiscard]] static absl::Status MayList(const MaybeCaller& caller, absl::string_view seller_id,
                                            const std::set<ListingState>& states);

 private:
  // SELLER_SUSPENDED before a slow step (the call to identity); made again in the transaction.
  [[nodiscard]] absl::Status CheckNotSuspended(absl::string_view seller_id);

  ListingStore* store_;
  LiveRules* rules_;
  common::identity_client::SellerDirectory* sellers_;
  const common::Clock* clock_;
  const CatalogOptions* options_;
};

// NOT_FOUND for a category the rules do not know; else the category and its subcategories
// (empty for an empty id).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> CategorySubtree(
    const RuleSet& rules, absl::string_view category_id);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LIFECYCLE_H_
