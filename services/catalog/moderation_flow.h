#ifndef MARKETPLACE_SERVICES_CATALOG_MODERATION_FLOW_H_
#define MARKETPLACE_SERVICES_CATALOG_MODERATION_FLOW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/listing_store.h"
#include "services/catalog/rule_set.h"

namespace marketplace::catalog {

// The actor of automatic transitions.
inline constexpr char kSystemActor[] = "system";

// The steps every flow that moves a listing shares: each state change is recorded in
// listing_transitions, and every decision publishes its event, in the caller's transaction.

// Reason codes (catalog.proto) of a submission that a human must decide whatever the rules say.
inline constexpr char kRejectedByModerator[] = "REJECTED_BY_MODERATOR";
inline constexpr char kWithdrawnFromReview[] = "WITHDRAWN_FROM_REVIEW";

// A human review a submitted listing is owed, whatever the rules say.
struct OwedReview {
  // kRejectedByModerator or kWithdrawnFromReview.
  std::string reason_code;
  // For the seller and the moderator.
  std::string explanation;
  // The queue reason: the one of the review concerned (see FindOwedReview).
  ReviewReason reason = ReviewReason::kRules;
  // The seller's statement when `reason` is kAppeal.
  std::string appeal_statement;
};

// Whether `listing` (locked by the caller) must go to a human when submitted, from its
// transitions: the latest of its approvals (to LIVE), moderators' rejections and withdrawals
// from PENDING_REVIEW, suspensions and restores aside, is a moderator's rejection or such a
// withdrawal. (A rejection by the rules in between changes nothing: only an approval ends
// what a human is owed.) The queue reason is the one of the review concerned: for a
// withdrawal, the review the listing left (REPORTS, APPEAL with its statement, or RULES); for
// a rejection, REPORTS when buyers' reports had sent the listing to the review the moderator
// decided, else RULES. nullopt: the rules decide.
[[nodiscard]] absl::StatusOr<std::optional<OwedReview>> FindOwedReview(
    ListingTransaction& tx, const ListingRecord& listing);

// The id of the decision that rejected the listing last, by the rules or a moderator: its
// latest transition to REJECTED, suspension steps aside (the restore of a REJECTED listing
// after its seller's suspension decides nothing, so it opens no new appeal: appeals are once
// per decision). nullopt when it was never rejected.
[[nodiscard]] absl::StatusOr<std::optional<int64_t>> LatestRejection(ListingTransaction& tx,
                                                                     absl::string_view listing_id);

// Runs the rules over `listing` and moves it to LIVE, REJECTED or PENDING_REVIEW, with the
// transition, queue entry and event. `listing` is updated and saved. With `owed`, a listing
// the rules do not reject goes to PENDING_REVIEW with `owed`'s reason and a finding of rule
// "review_history" saying why. The rules read the listing's condition field, when set, as the
// item's condition (ListingContent::condition, whatever "condition" attribute the seller gave;
// the text rules read that attribute as given). The duplicate rule compares it with the
// seller's newest LIVE and PENDING_REVIEW listings and its most recently rejected ones by a
// moderator (COPY_OF_REJECTED_LISTING).
[[nodiscard]] absl::Status ModerateAndSave(ListingTransaction& tx, ListingRecord& listing,
                                           const RuleSet& rules,
                                           std::optional<int64_t> new_seller_listings,
                                           const std::optional<OwedReview>& owed, absl::Time now);

// A moderator's decision on a PENDING_REVIEW listing whose review they hold: LIVE or
// REJECTED, with the queue entry and open reports closed, the transition and the event; a
// rejection is recorded for the duplicate rule (RecordModeratorRejection), an approval
// forgets it.
[[nodiscard]] absl::Status DecideAndSave(ListingTransaction& tx, ListingRecord& listing,
                                         absl::string_view moderator, bool approve,
                                         const std::vector<std::string>& reason_codes,
                                         absl::string_view note, absl::Time now);

// Records `listing`'s move from `from` to its current state.
[[nodiscard]] absl::Status RecordTransition(ListingTransaction& tx, const ListingRecord& listing,
                                            absl::string_view actor, ListingState from,
                                            std::vector<std::string> reason_codes,
                                            std::string explanation, std::string rules_version,
                                            absl::Time now);

// The listing, locked, when `caller` is its seller: NOT_FOUND LISTING_NOT_FOUND when there is
// none and, the same answer, when it is someone else's (AIP-193).
[[nodiscard]] absl::StatusOr<ListingRecord> LoadOwned(ListingTransaction& tx,
                                                      const common::auth::Caller& caller,
                                                      absl::string_view listing_id);

// FAILED_PRECONDITION SELLER_SUSPENDED while the seller is suspended in the catalog (read with
// a shared lock: a suspension committing meanwhile waits for the caller's transaction).
[[nodiscard]] absl::Status RequireNotSuspended(ListingTransaction& tx, absl::string_view seller_id);

// FAILED_PRECONDITION INVALID_STATE: "cannot <what> a listing in state <state>".
absl::Status InvalidState(const ListingRecord& listing, absl::string_view what);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_MODERATION_FLOW_H_
