#ifndef MARKETPLACE_SERVICES_CATALOG_REVIEW_QUEUE_H_
#define MARKETPLACE_SERVICES_CATALOG_REVIEW_QUEUE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/catalog/catalog_options.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/listing_store.h"
#include "services/catalog/live_rules.h"

namespace marketplace::catalog {

// Which reviews a page holds (oldest first).
struct ReviewsPage {
  std::optional<ReviewReason> reason;
  std::string category_id;  // with its subcategories; empty: all
  bool unclaimed_only = false;
  std::optional<std::pair<absl::Time, std::string>> after;  // (enqueued_at, listing_id)
  int page_size = 20;
};

// Human review: the queue, claims, decisions, appeals and the history a decision leaves
// (catalog.proto: ListReviewQueue, ClaimReview, DecideReview, AppealDecision,
// GetModerationHistory). Thread-safe.
class ReviewQueue {
 public:
  // Everything must outlive the object.
  ReviewQueue(ListingStore* store, LiveRules* rules, const common::Clock* clock,
              const CatalogOptions* options)
      : store_(store), rules_(rules), clock_(clock), options_(options) {}

  // Up to page_size + 1 reviews (one more: another page follows), and the time claims were
  // judged at.
  [[nodiscard]] absl::StatusOr<std::pair<std::vector<Review>, absl::Time>> List(
      const ReviewsPage& page);
  // The review, claimed by `moderator` (again) for the claim timeout; a claim still held
  // by someone else is FAILED_PRECONDITION REVIEW_ALREADY_CLAIMED. Returns the time the claim
  // was judged at.
  [[nodiscard]] absl::StatusOr<std::pair<Review, absl::Time>> Claim(
      const common::auth::Caller& moderator, absl::string_view listing_id);
  [[nodiscard]] absl::StatusOr<ListingRecord> Decide(const common::auth::Caller& moderator,
                                                     absl::string_view listing_id, bool approve,
                                                     const std::vector<std::string>& reason_codes,
                                                     absl::string_view note);
  // The seller's appeal of the latest rejection (one per rejection).
  [[nodiscard]] absl::StatusOr<ListingRecord> Appeal(const common::auth::Caller& seller,
                                                     absl::string_view listing_id,
                                                     absl::string_view statement);
  // Every transition of the listing, for its seller and staff.
  [[nodiscard]] absl::StatusOr<std::vector<Transition>> History(const common::auth::Caller& caller,
                                                                absl::string_view listing_id);

 private:
  ListingStore* store_;
  LiveRules* rules_;
  const common::Clock* clock_;
  const CatalogOptions* options_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_REVIEW_QUEUE_H_
