#ifndef MARKETPLACE_SERVICES_CATALOG_LISTING_RECORD_H_
#define MARKETPLACE_SERVICES_CATALOG_LISTING_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/catalog/moderation.h"

namespace marketplace::catalog {

// A listing's lifecycle states (catalog.proto describes each). The values are the API's, so
// that a conversion is a cast checked in one place (convert.cc).
enum class ListingState {
  kUnspecified = 0,
  kDraft = 1,
  kPendingReview = 2,
  kLive = 3,
  kRejected = 4,
  kSuspended = 5,
  kWithdrawn = 6,
};

// "DRAFT", "PENDING_REVIEW", ...: the name the database stores and messages show.
absl::string_view StateName(ListingState state);
// kUnspecified for a name that is not a state.
ListingState StateFromName(absl::string_view name);

// Why a listing waits for a human (values as in the API).
enum class ReviewReason { kUnspecified = 0, kRules = 1, kReports = 2, kAppeal = 3 };
absl::string_view ReviewReasonName(ReviewReason reason);
ReviewReason ReviewReasonFromName(absl::string_view name);

absl::string_view ModerationLevelName(SellerModerationLevel level);
SellerModerationLevel ModerationLevelFromName(absl::string_view name);

// One listing as the domain sees it: what the seller wrote, where it stands and why.
struct ListingRecord {
  // Creation order (newest first is seq descending); 0 before the first save.
  int64_t seq = 0;
  std::string listing_id;
  std::string seller_id;
  ListingState state = ListingState::kUnspecified;
  ListingContent content;
  std::string condition;  // "NEW", "USED_GOOD", ... (ItemCondition names)
  int64_t quantity = 0;
  // The last decision's reason codes and explanation, and the rules' findings.
  std::vector<std::string> reason_codes;
  std::string explanation;
  std::vector<Finding> findings;
  std::string rules_version;
  // Set only while SUSPENDED: the state a restore returns to.
  std::optional<ListingState> state_before_suspension;
  // The rules or a moderator approved or rejected it at least once.
  bool ever_decided = false;
  absl::Time created_at;
  // Every save moves it strictly forward: the public view caches find changes by it.
  absl::Time updated_at;
};

// Whether what buyers see differs between `a` and `b`, the quantity aside (a stock change
// alone is not moderated again).
bool ContentDiffersBesidesQuantity(const ListingRecord& a, const ListingRecord& b);

// One recorded state change.
struct Transition {
  int64_t id = 0;
  std::string listing_id;
  std::string actor;  // account id, or "system"
  absl::Time at;
  ListingState from = ListingState::kUnspecified;  // kUnspecified for the creation
  ListingState to = ListingState::kUnspecified;
  std::vector<std::string> reason_codes;
  std::string explanation;
  std::string rules_version;
};

// A suspension (into SUSPENDED), or the restore that undoes it (out of SUSPENDED): neither
// decides anything, so neither is an approval, a rejection or a decision to appeal.
inline bool IsSuspensionStep(const Transition& t) {
  return t.from == ListingState::kSuspended || t.to == ListingState::kSuspended;
}

// A listing's place in the human review queue.
struct ReviewEntry {
  std::string listing_id;
  std::string seller_id;
  ReviewReason reason = ReviewReason::kUnspecified;
  absl::Time enqueued_at;
  std::optional<std::string> claimed_by;
  std::optional<absl::Time> claim_expires_at;
  std::string appeal_statement;

  // Whether `moderator` holds a claim that still runs at `now`.
  bool ClaimedBy(absl::string_view moderator, absl::Time now) const {
    return claimed_by && *claimed_by == moderator && claim_expires_at && *claim_expires_at > now;
  }
};

// A queue entry with its listing.
struct Review {
  ReviewEntry entry;
  ListingRecord listing;
};

// What staff set for a seller.
struct SellerModerationSetting {
  std::string seller_id;
  SellerModerationLevel level = SellerModerationLevel::kStandard;
  std::vector<std::string> authorized_brands;  // as given
  std::string updated_by;
  absl::Time updated_at;
};

// A buyer's report. Every report is kept; only some count toward the report threshold.
struct ListingReport {
  std::string listing_id;
  std::string seller_id;  // the reported listing's
  std::string reporter_id;
  std::string reason;  // ReportReason name
  std::string comment;
  absl::Time created_at;
  // Counts toward the report threshold.
  bool counts = true;
  // Why it does not count: "NEW_ACCOUNT" or "BURST"; empty when it counts.
  std::string held;
};

// A buyer's paid order, as payments announced it (payments.payment_held): from then on the
// buyer's reports count toward the report threshold whatever its account's age. The first
// one of a buyer is kept.
struct PaidOrder {
  std::string buyer_id;
  std::string payment_id;
  std::string order_id;
  std::string event_id;  // the payments event that announced it
  absl::Time paid_at;    // when payments held the money (the event's occurred_at)
};

// Who suspended a seller in the catalog. Each source's suspension is kept apart and lifted
// only from its own side; the seller stays suspended while any is left.
enum class SuspensionSource {
  kAccount,  // identity suspended the account (identity.account_suspended / _reinstated)
  kCatalog,  // SuspendSellerListings / RestoreSellerListings (staff, enforcement services)
};
// The actor of the suspensions identity's account events cause. A row it wrote counts as an
// ACCOUNT suspension whatever its `source` column says: a replica of the release before
// migration 0009, still running during the upgrade, writes no source (the column's default,
// CATALOG) for identity's events.
inline constexpr char kIdentityActor[] = "identity";

// "ACCOUNT" or "CATALOG", as stored (seller_suspensions.source).
inline absl::string_view SuspensionSourceName(SuspensionSource source) {
  return source == SuspensionSource::kAccount ? "ACCOUNT" : "CATALOG";
}

// A seller suspended in the catalog: nothing LIVE, no create, update, submit or appeal.
struct SellerSuspension {
  std::string seller_id;
  SuspensionSource source = SuspensionSource::kCatalog;
  std::string reason_code;
  std::string explanation;
  std::string suspended_by;
  absl::Time suspended_at;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LISTING_RECORD_H_
