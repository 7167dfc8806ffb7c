#include "services/catalog/enforcement.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "services/catalog/field_checks.h"
#include "services/catalog/moderation_flow.h"

namespace marketplace::catalog {

absl::StatusOr<SellerModerationSetting> Enforcement::SetModerationLevel(
    const common::auth::Caller& staff, SellerModerationSetting setting, bool set_level,
    bool set_brands) {
  SellerModerationSetting stored;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<SellerModerationSetting> current,
                     tx.FindSellerModeration(setting.seller_id));
    stored = current.value_or(SellerModerationSetting{.seller_id = setting.seller_id});
    if (set_level) stored.level = setting.level;
    if (set_brands) stored.authorized_brands = setting.authorized_brands;
    stored.updated_by = staff.subject;
    stored.updated_at = clock_->Now();
    return tx.SaveSellerModeration(stored);
  }));
  return stored;
}

absl::StatusOr<SellerModerationSetting> Enforcement::GetModerationLevel(
    absl::string_view seller_id) {
  SellerModerationSetting out{.seller_id = std::string(seller_id)};
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<SellerModerationSetting> current,
                     tx.FindSellerModeration(seller_id));
    if (current.has_value()) out = *std::move(current);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> Enforcement::SuspendSeller(absl::string_view actor,
                                                   absl::string_view seller_id,
                                                   absl::string_view reason_code,
                                                   absl::string_view explanation,
                                                   SuspensionSource source) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", seller_id));
  if (!IsReasonCode(reason_code)) {
    return common::InvalidField("reason_code", "must be 1-64 characters of UPPER_SNAKE_CASE");
  }
  int64_t suspended = 0;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    suspended = 0;
    const absl::Time now = clock_->Now();
    // First the seller's row (the flows acting for the seller read it with a shared lock),
    // then its listings.
    RETURN_IF_ERROR(tx.SaveSellerSuspension({.seller_id = std::string(seller_id),
                                             .source = source,
                                             .reason_code = std::string(reason_code),
                                             .explanation = std::string(explanation),
                                             .suspended_by = std::string(actor),
                                             .suspended_at = now}));
    ASSIGN_OR_RETURN(
        std::vector<ListingRecord> listings,
        tx.LockSellerListings(seller_id, {ListingState::kLive, ListingState::kPendingReview,
                                          ListingState::kDraft, ListingState::kRejected}));
    for (ListingRecord& l : listings) {
      const ListingState from = l.state;
      l.state_before_suspension = from;
      l.state = ListingState::kSuspended;
      RETURN_IF_ERROR(tx.SaveListing(l, now));
      RETURN_IF_ERROR(RecordTransition(tx, l, actor, from, {std::string(reason_code)},
                                       std::string(explanation), "", now));
      RETURN_IF_ERROR(tx.Publish(ListingSuspended{.listing_id = l.listing_id,
                                                  .seller_id = l.seller_id,
                                                  .suspended_by = std::string(actor),
                                                  .reason_code = std::string(reason_code),
                                                  .at = now}));
      ++suspended;
    }
    return absl::OkStatus();
  }));
  return suspended;
}

absl::StatusOr<Enforcement::Reinstatement> Enforcement::ReinstateSeller(absl::string_view actor,
                                                                        absl::string_view seller_id,
                                                                        SuspensionSource source) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", seller_id));
  Reinstatement out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    out = Reinstatement();
    const absl::Time now = clock_->Now();
    // Every suspension of the seller, locked first (a suspension committing meanwhile is seen
    // or waits, and so does the other source's reinstatement), then this source's deleted.
    ASSIGN_OR_RETURN(std::vector<SellerSuspension> all, tx.LockSellerSuspensions(seller_id));
    ASSIGN_OR_RETURN(bool was_suspended, tx.DeleteSellerSuspension(seller_id, source));
    (void)was_suspended;  // listings suspended before seller rows existed have none
    // Another source's suspension keeps the seller suspended and its listings down.
    for (const SellerSuspension& s : all) {
      if (s.source != source) out.still_suspended = true;
    }
    if (out.still_suspended) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<ListingRecord> listings,
                     tx.LockSellerListings(seller_id, {ListingState::kSuspended}));
    for (ListingRecord& l : listings) {
      ListingState to = l.state_before_suspension.value_or(ListingState::kPendingReview);
      if (to != ListingState::kLive && to != ListingState::kPendingReview &&
          to != ListingState::kDraft && to != ListingState::kRejected) {
        to = ListingState::kPendingReview;
      }
      l.state_before_suspension.reset();
      l.state = to;
      if (to == ListingState::kPendingReview) {
        // The queue entry was kept while suspended; recreate it if it is gone.
        ASSIGN_OR_RETURN(std::optional<ReviewEntry> entry, tx.LockReviewEntry(l.listing_id));
        if (!entry) {
          RETURN_IF_ERROR(tx.Enqueue({.listing_id = l.listing_id,
                                      .seller_id = l.seller_id,
                                      .reason = ReviewReason::kRules,
                                      .enqueued_at = now}));
        }
      }
      RETURN_IF_ERROR(tx.SaveListing(l, now));
      RETURN_IF_ERROR(RecordTransition(tx, l, actor, ListingState::kSuspended, {"RESTORED"},
                                       "seller listings restored", "", now));
      ++out.restored;
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace marketplace::catalog
