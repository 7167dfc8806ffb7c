#include "services/catalog/reports.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "services/catalog/moderation_flow.h"

namespace marketplace::catalog {

absl::StatusOr<bool> Reports::Established(const std::string& reporter_id) {
  // The catalog's own record first: a buyer with a paid order needs no call to identity.
  bool paid = false;
  RETURN_IF_ERROR(store_->TransactReadOnly([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(paid, tx.HasPaidOrder(reporter_id));
    return absl::OkStatus();
  }));
  if (paid) return true;
  if (reporters_ == nullptr) return false;
  ASSIGN_OR_RETURN(ReporterStanding standing, reporters_->GetReporter(reporter_id));
  if (!standing.found) return false;
  return standing.created_at <= clock_->Now() - options_->report_min_account_age;
}

absl::StatusOr<bool> RecordPaidOrder(ListingStore* store, const PaidOrder& order,
                                     absl::string_view field_prefix) {
  common::Violations violations;
  violations.Check(
      common::ValidateAccountId(absl::StrCat(field_prefix, "buyer_id"), order.buyer_id));
  violations.Check(common::ValidateIdOfKind(absl::StrCat(field_prefix, "payment_id"),
                                            order.payment_id, "pay_", "payment"));
  if (order.order_id.empty() || order.order_id.size() > 128) {
    violations.Add(absl::StrCat(field_prefix, "order_id"), "must be 1-128 characters");
  }
  if (order.event_id.empty() || order.event_id.size() > 64) {
    violations.Add("event.event_id", "must be 1-64 characters");
  }
  RETURN_IF_ERROR(violations.Status());
  bool recorded = false;
  RETURN_IF_ERROR(store->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(recorded, tx.RecordPaidOrder(order));
    return absl::OkStatus();
  }));
  return recorded;
}

absl::StatusOr<ReportOutcome> Reports::Report(const common::auth::Caller& buyer,
                                              absl::string_view listing_id,
                                              absl::string_view reason, absl::string_view comment) {
  // Before the transaction (a remote call): an account only gets older, and a paid order
  // stays recorded, so the answer cannot turn false meanwhile; it can turn true (a paid order
  // announced during the call), so a held report looks again inside the transaction.
  ASSIGN_OR_RETURN(bool established, Established(buyer.subject));
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
    // Per reporter: the count is read under the listing's lock only, so concurrent reports of
    // one reporter on different listings may pass the limit by the number in flight.
    ASSIGN_OR_RETURN(int64_t recent,
                     tx.CountReportsBy(buyer.subject, now - options_->report_rate_window));
    if (recent >= options_->report_rate_limit) {
      return common::WithReason(
          absl::ResourceExhaustedError(absl::StrCat(
              "at most ", options_->report_rate_limit, " reports per ",
              absl::FormatDuration(options_->report_rate_window), "; try again later")),
          "REPORT_RATE_LIMITED");
    }
    ListingReport report{.listing_id = std::string(listing_id),
                         .seller_id = l->seller_id,
                         .reporter_id = buyer.subject,
                         .reason = std::string(reason),
                         .comment = std::string(comment),
                         .created_at = now};
    if (!established) {
      ASSIGN_OR_RETURN(established, tx.HasPaidOrder(buyer.subject));
    }
    if (!established) {
      report.counts = false;
      report.held = "NEW_ACCOUNT";
    } else {
      ASSIGN_OR_RETURN(int64_t on_seller, tx.CountCountedReportsOnSeller(
                                              l->seller_id, now - options_->report_burst_window));
      if (on_seller >= options_->report_burst_limit) {
        report.counts = false;
        report.held = "BURST";
      }
    }
    RETURN_IF_ERROR(tx.InsertReport(report));
    ASSIGN_OR_RETURN(out.open_reports, tx.CountOpenReports(listing_id));
    if (report.counts && out.open_reports >= options_->report_threshold) {
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
                                      .at = now,
                                      .held = report.held});
  }));
  return out;
}

}  // namespace marketplace::catalog
