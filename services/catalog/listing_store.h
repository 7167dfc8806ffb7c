#ifndef MARKETPLACE_SERVICES_CATALOG_LISTING_STORE_H_
#define MARKETPLACE_SERVICES_CATALOG_LISTING_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/catalog/listing_events.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/moderation.h"

namespace marketplace::catalog {

// The data operations the catalog domain needs inside one unit of work. The domain decides;
// these only read and write. Times are the caller's. An effect, its request-id record and
// its outbox event are written through the same transaction, so they commit together.
class ListingTransaction {
 public:
  virtual ~ListingTransaction() = default;

  // --- listings ---
  [[nodiscard]] virtual absl::Status InsertListing(ListingRecord& listing) = 0;
  // `for_update` locks the row until the end of the transaction.
  [[nodiscard]] virtual absl::StatusOr<std::optional<ListingRecord>> FindListing(
      absl::string_view listing_id, bool for_update) = 0;
  // Writes everything but the ids and creation time, with updated_at strictly later than the
  // one `listing` was loaded with, even when two writes share a clock reading or a replica's
  // clock is behind (public_view_cache.h finds changes by it); `listing.updated_at` is set.
  [[nodiscard]] virtual absl::Status SaveListing(ListingRecord& listing, absl::Time now) = 0;
  // Locks and returns the seller's listings in `states`, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ListingRecord>> LockSellerListings(
      absl::string_view seller_id, const std::vector<ListingState>& states) = 0;

  // --- what the rules look at ---
  // Listings of the seller, `listing_id` aside, that ever went LIVE (approved by the rules or
  // a moderator; rejections do not count): the new-seller review's count, counted up to `at_most`
  // (its threshold: more is never needed).
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountApprovedListings(absl::string_view seller_id,
                                                                      absl::string_view listing_id,
                                                                      int64_t at_most) = 0;
  // The seller's newest LIVE and PENDING_REVIEW listings (with their state), `listing_id`
  // aside, at most `limit`: the duplicate rule's candidates (index listings_by_seller).
  [[nodiscard]] virtual absl::StatusOr<std::vector<SellerListing>> RecentLiveListings(
      absl::string_view seller_id, absl::string_view listing_id, int limit) = 0;
  // The seller's listings a moderator rejected and nobody approved since
  // (RecordModeratorRejection), `listing_id` aside, with state kRejectedByModerator: the
  // `limit` most recently rejected (index moderator_rejections_by_seller), each with the title
  // and description the moderator rejected (not its text now: a rejected listing may be
  // edited), whatever its state now, until a moderator approves it.
  [[nodiscard]] virtual absl::StatusOr<std::vector<SellerListing>> RecentModeratorRejections(
      absl::string_view seller_id, absl::string_view listing_id, int limit) = 0;
  // Records that a moderator rejected `listing` by the transition `decision_id` (replacing an
  // earlier record of it).
  [[nodiscard]] virtual absl::Status RecordModeratorRejection(const ListingRecord& listing,
                                                              int64_t decision_id) = 0;
  // Forgets the listing's moderator rejection (a moderator approved it); none is fine.
  [[nodiscard]] virtual absl::Status ForgetModeratorRejection(absl::string_view listing_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<SellerModerationSetting>> FindSellerModeration(
      absl::string_view seller_id) = 0;
  [[nodiscard]] virtual absl::Status SaveSellerModeration(
      const SellerModerationSetting& setting) = 0;

  // --- seller suspensions (one per source) ---
  // A suspension of the seller, of any source (the earliest), read with a shared lock (also
  // on their absence) until the end of the transaction, so that a suspension committing
  // meanwhile waits for it.
  [[nodiscard]] virtual absl::StatusOr<std::optional<SellerSuspension>> FindSellerSuspension(
      absl::string_view seller_id) = 0;
  // Every suspension of the seller (one per source, oldest first), locked for update until the
  // end of the transaction, with their absence: what a reinstatement reads before it deletes
  // its own, so that two reinstatements of the two sources wait for each other.
  [[nodiscard]] virtual absl::StatusOr<std::vector<SellerSuspension>> LockSellerSuspensions(
      absl::string_view seller_id) = 0;
  // Records the suspension (replacing an earlier one of the seller from the same source).
  [[nodiscard]] virtual absl::Status SaveSellerSuspension(const SellerSuspension& s) = 0;
  // Removes the seller's suspension from `source`; false when there was none.
  [[nodiscard]] virtual absl::StatusOr<bool> DeleteSellerSuspension(absl::string_view seller_id,
                                                                    SuspensionSource source) = 0;

  // --- transitions ---
  // Returns the transition's id.
  [[nodiscard]] virtual absl::StatusOr<int64_t> AppendTransition(const Transition& t) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<Transition>> ListTransitions(
      absl::string_view listing_id) = 0;

  // --- review queue ---
  // Puts the listing in the queue (again): unclaimed, enqueued at `entry.enqueued_at`.
  [[nodiscard]] virtual absl::Status Enqueue(const ReviewEntry& entry) = 0;
  [[nodiscard]] virtual absl::Status Dequeue(absl::string_view listing_id) = 0;
  // The queue entry, locked.
  [[nodiscard]] virtual absl::StatusOr<std::optional<ReviewEntry>> LockReviewEntry(
      absl::string_view listing_id) = 0;
  // Claims the entry of a PENDING_REVIEW listing for `moderator` until `until`, when it is
  // free at `now` or already theirs, as one conditional write: of concurrent moderators at
  // most one gets true.
  [[nodiscard]] virtual absl::StatusOr<bool> TryClaim(absl::string_view listing_id,
                                                      absl::string_view moderator, absl::Time until,
                                                      absl::Time now) = 0;
  // The entry of a PENDING_REVIEW listing with its listing.
  [[nodiscard]] virtual absl::StatusOr<std::optional<Review>> FindPendingReview(
      absl::string_view listing_id) = 0;

  // --- reports and appeals ---
  [[nodiscard]] virtual absl::StatusOr<bool> HasReported(absl::string_view listing_id,
                                                         absl::string_view reporter_id) = 0;
  [[nodiscard]] virtual absl::Status InsertReport(const ListingReport& report) = 0;
  // Open reports of the listing that count toward the threshold.
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountOpenReports(absl::string_view listing_id) = 0;
  // Reports made by `reporter_id` since `since` (any listing, counted or held).
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountReportsBy(absl::string_view reporter_id,
                                                               absl::Time since) = 0;
  // Counted reports on the seller's listings since `since`.
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountCountedReportsOnSeller(
      absl::string_view seller_id, absl::Time since) = 0;
  [[nodiscard]] virtual absl::Status CloseReports(absl::string_view listing_id) = 0;
  // Whether payments announced a paid order of the buyer (RecordPaidOrder).
  [[nodiscard]] virtual absl::StatusOr<bool> HasPaidOrder(absl::string_view buyer_id) = 0;
  // Records the buyer's paid order unless one is recorded already (the first is kept): true
  // when this one was recorded. Idempotent: a redelivered event changes nothing.
  [[nodiscard]] virtual absl::StatusOr<bool> RecordPaidOrder(const PaidOrder& order) = 0;

  [[nodiscard]] virtual absl::StatusOr<bool> HasAppeal(int64_t decision_id) = 0;
  [[nodiscard]] virtual absl::Status InsertAppeal(int64_t decision_id, const ListingRecord& listing,
                                                  absl::string_view statement, absl::Time now) = 0;

  // --- outbox ---
  [[nodiscard]] virtual absl::Status Publish(const ListingDecided& event) = 0;
  [[nodiscard]] virtual absl::Status Publish(const ListingReported& event) = 0;
  [[nodiscard]] virtual absl::Status Publish(const ListingSuspended& event) = 0;
};

// Filters of a listings page (newest first).
struct ListingQuery {
  std::vector<ListingState> states;       // at least one
  std::string seller_id;                  // empty: every seller
  std::vector<std::string> category_ids;  // empty: every category
  // Folded title words (letters and digits only), all required.
  std::vector<std::string> title_words;
  std::optional<int64_t> before_seq;
  int limit = 20;
};

// Filters of a review queue page (oldest first).
struct ReviewQuery {
  std::optional<ReviewReason> reason;
  std::vector<std::string> category_ids;
  // Only entries free at this time.
  std::optional<absl::Time> unclaimed_at;
  // Keyset: entries after (enqueued_at, listing_id).
  std::optional<std::pair<absl::Time, std::string>> after;
  int limit = 20;
};

// Who asked for a create, to run it at most once.
struct CreateRequestKey {
  std::string caller;
  std::string request_id;
  std::string request_hash;  // of the whole request
};

class ListingStore {
 public:
  using Work = std::function<absl::Status(ListingTransaction&)>;
  using CreateWork = std::function<absl::StatusOr<ListingRecord>(ListingTransaction&)>;
  using ReadDone = std::function<void(absl::StatusOr<std::optional<ListingRecord>>)>;

  virtual ~ListingStore() = default;

  // Runs `work` in one transaction: committed when it returns OK, rolled back otherwise.
  // After a deadlock or lock-wait timeout the whole of `work` runs again, so it must reset
  // what it collects.
  [[nodiscard]] virtual absl::Status Transact(const Work& work) = 0;
  [[nodiscard]] virtual absl::Status TransactReadOnly(const Work& work) = 0;

  // Runs `work` at most once per (caller, request id) of CreateListing: a retry with the same
  // request returns the first result (also a definitive error); the same id with another
  // request is FAILED_PRECONDITION, reason REQUEST_ID_REUSED.
  [[nodiscard]] virtual absl::StatusOr<ListingRecord> CreateOnce(const CreateRequestKey& key,
                                                                 const CreateWork& work) = 0;
  // Outside any transaction: the first result of an earlier CreateOnce with `key` (a listing or
  // a definitive error), nullopt when the request id is unknown; REQUEST_ID_REUSED when it was
  // used with another request. Lets a retry get its first result before checks that could
  // answer differently now.
  [[nodiscard]] virtual absl::StatusOr<std::optional<absl::StatusOr<ListingRecord>>> FindCreated(
      const CreateRequestKey& key) = 0;

  // One listing, read together with the other reads of the moment; `done` is called once,
  // from a reader thread or before this returns.
  virtual void ReadListing(absl::string_view listing_id, ReadDone done) = 0;
  // Pages, read without a transaction.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ListingRecord>> ListListings(
      const ListingQuery& query) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<Review>> ListReviews(
      const ReviewQuery& query) = 0;

  // (listing_id, updated_at) of the listings updated at or after `from`: the public view
  // caches' change poll.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>>
  ListChangedSince(absl::Time from) = 0;

  // Drops request ids older than a day; returns how many.
  [[nodiscard]] virtual absl::StatusOr<int64_t> PurgeRequestIds() = 0;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LISTING_STORE_H_
