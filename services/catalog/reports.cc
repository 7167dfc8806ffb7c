#include "services/catalog/reports.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/catalog/moderation_flow.h"

namespace marketplace::catalog {

absl::StatusOr<ReportOutcome> Reports::Report(const common::auth::Caller& buyer,
                                              absl::string_view listing_id,
                                              absl::string_view reason, absl::string_view comment) {
  ReportOutcome out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    out = ReportOutcome();
    const absl::Time now = clock_->Now();
    // The listing's row lock serialises the reports of one listing.
    ASSIGN_OR_RETURN(std::optional<ListingRecord> l,
                     tx.FindListing(listing_id, /*for_update=*/true));
    if (!l || l->state != ListingState::kLive) return common::NotFound("listing", listing_id);
    if (l->seller_id == buyer.subject) {
      return common::PermissionDenied("a seller cannot report its own listing");
    }
    ASSIGN_OR_RETURN(bool reported, tx.HasReported(listing_id, buyer.subject));
    if (reported) {
      return common::WithReason(
          absl::AlreadyExistsError("this buyer already reported this listing"), "ALREADY_REPORTED");
    }
    RETURN_IF_ERROR(tx.InsertReport({.listing_id = std::string(listing_id),
                                     .reporter_id = buyer.subject,
                                     .reason = std::string(reason),
                                     .comment = std::string(comment),
                                     .created_at = now}));
    ASSIGN_OR_RETURN(out.open_reports, tx.CountOpenReports(listing_id));
    if (out.open_reports >= options_->report_threshold) {
      l->state = ListingState::kPendingReview;
      l->reason_codes = {"REPORTED"};
      l->explanation = absl::StrCat(out.open_reports, " buyers reported this listing");
      RETURN_IF_ERROR(tx.Enqueue({.listing_id = l->listing_id,
                                  .seller_id = l->seller_id,
                                  .reason = ReviewReason::kReports,
                                  .enqueued_at = now}));
      RETURN_IF_ERROR(tx.SaveListing(*l, now));
      RETURN_IF_ERROR(RecordTransition(tx, *l, kSystemActor, ListingState::kLive, {"REPORTED"},
                                       l->explanation, "", now));
      out.sent_to_review = true;
    }
    return tx.Publish(ListingReported{.listing_id = std::string(listing_id),
                                      .seller_id = l->seller_id,
                                      .reporter_id = buyer.subject,
                                      .reason = std::string(reason),
                                      .open_reports = out.open_reports,
                                      .sent_to_review = out.sent_to_review,
                                      .at = now});
  }));
  return out;
}

}  // namespace marketplace::catalog
