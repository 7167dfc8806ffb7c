#include "services/catalog/review_queue.h"

#include <utility>

#include "common/errors.h"
#include "common/status_macros.h"
#include "services/catalog/lifecycle.h"
#include "services/catalog/moderation_flow.h"
#include "services/catalog/permissions.h"

namespace marketplace::catalog {

absl::StatusOr<std::pair<std::vector<Review>, absl::Time>> ReviewQueue::List(
    const ReviewsPage& page) {
  ReviewQuery query;
  ASSIGN_OR_RETURN(query.category_ids, CategorySubtree(*rules_->Current(), page.category_id));
  const absl::Time now = clock_->Now();
  query.reason = page.reason;
  if (page.unclaimed_only) query.unclaimed_at = now;
  query.after = page.after;
  query.limit = page.page_size + 1;
  ASSIGN_OR_RETURN(std::vector<Review> reviews, store_->ListReviews(query));
  return std::make_pair(std::move(reviews), now);
}

absl::StatusOr<std::pair<Review, absl::Time>> ReviewQueue::Claim(
    const common::auth::Caller& moderator, absl::string_view listing_id) {
  std::pair<Review, absl::Time> out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    // One conditional write: it succeeds for at most one moderator while a claim runs.
    ASSIGN_OR_RETURN(bool claimed, tx.TryClaim(listing_id, moderator.subject,
                                               now + options_->claim_timeout, now));
    ASSIGN_OR_RETURN(std::optional<Review> review, tx.FindPendingReview(listing_id));
    if (!review) return common::NotFound("review", listing_id);
    if (!claimed) {
      return common::FailedPrecondition("REVIEW_ALREADY_CLAIMED",
                                        "another moderator holds this review");
    }
    out = {*std::move(review), now};
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ListingRecord> ReviewQueue::Decide(const common::auth::Caller& moderator,
                                                  absl::string_view listing_id, bool approve,
                                                  const std::vector<std::string>& reason_codes,
                                                  absl::string_view note) {
  ListingRecord out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<ListingRecord> l,
                     tx.FindListing(listing_id, /*for_update=*/true));
    if (!l) return common::NotFound("review", listing_id);
    ASSIGN_OR_RETURN(std::optional<ReviewEntry> entry, tx.LockReviewEntry(listing_id));
    if (entry && l->state == ListingState::kSuspended) {
      // The seller's suspension keeps the queue entry of a listing it took out of review: the
      // moderator is told why the review cannot be decided.
      RETURN_IF_ERROR(RequireNotSuspended(tx, l->seller_id));
    }
    if (!entry || l->state != ListingState::kPendingReview) {
      return common::NotFound("review", listing_id);
    }
    if (!entry->ClaimedBy(moderator.subject, now)) {
      return common::FailedPrecondition("REVIEW_NOT_CLAIMED",
                                        "claim the review (ClaimReview) before deciding it");
    }
    // A suspended seller's listings are SUSPENDED, not in review; this also covers a
    // suspension recorded while the listing was read.
    RETURN_IF_ERROR(RequireNotSuspended(tx, l->seller_id));
    RETURN_IF_ERROR(DecideAndSave(tx, *l, moderator.subject, approve, reason_codes, note, now));
    out = *std::move(l);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ListingRecord> ReviewQueue::Appeal(const common::auth::Caller& seller,
                                                  absl::string_view listing_id,
                                                  absl::string_view statement) {
  ListingRecord out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    // The seller's suspension row before the listing's: the order the suspension locks them.
    RETURN_IF_ERROR(RequireNotSuspended(tx, seller.subject));
    ASSIGN_OR_RETURN(ListingRecord l, LoadOwned(tx, seller, listing_id));
    const auto already_appealed = [] {
      return common::WithReason(absl::AlreadyExistsError("this decision was appealed already"),
                                "ALREADY_APPEALED");
    };
    if (l.state == ListingState::kPendingReview) {
      // In review because of its appeal: a repeat of that appeal, not a listing in the wrong
      // state.
      ASSIGN_OR_RETURN(std::optional<ReviewEntry> entry, tx.LockReviewEntry(l.listing_id));
      if (entry && entry->reason == ReviewReason::kAppeal) return already_appealed();
    }
    if (l.state != ListingState::kRejected) return InvalidState(l, "appeal");
    ASSIGN_OR_RETURN(std::optional<int64_t> decision, LatestRejection(tx, l.listing_id));
    if (!decision) return absl::InternalError("REJECTED listing without a decision");
    ASSIGN_OR_RETURN(bool appealed, tx.HasAppeal(*decision));
    if (appealed) return already_appealed();
    RETURN_IF_ERROR(tx.InsertAppeal(*decision, l, statement, now));
    l.state = ListingState::kPendingReview;
    RETURN_IF_ERROR(tx.Enqueue({.listing_id = l.listing_id,
                                .seller_id = l.seller_id,
                                .reason = ReviewReason::kAppeal,
                                .enqueued_at = now,
                                .appeal_statement = std::string(statement)}));
    RETURN_IF_ERROR(tx.SaveListing(l, now));
    RETURN_IF_ERROR(RecordTransition(tx, l, seller.subject, ListingState::kRejected, {"APPEAL"},
                                     std::string(statement), "", now));
    out = std::move(l);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Transition>> ReviewQueue::History(const common::auth::Caller& caller,
                                                             absl::string_view listing_id) {
  std::vector<Transition> out;
  RETURN_IF_ERROR(store_->TransactReadOnly([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<ListingRecord> l,
                     tx.FindListing(listing_id, /*for_update=*/false));
    if (!l) return common::NotFound("listing", listing_id);
    // Another seller's listing, in any state, is answered as a listing that does not exist
    // (AIP-193); the permission table keeps out the roles that may never ask.
    if (!IsOwner(caller, l->seller_id) && !SeesEverything(caller)) {
      return common::NotFound("listing", listing_id);
    }
    ASSIGN_OR_RETURN(out, tx.ListTransitions(listing_id));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace marketplace::catalog
