#include "services/catalog/moderation_flow.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/catalog/moderation.h"
#include "services/catalog/permissions.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

// Other LIVE and PENDING_REVIEW listings of the seller the duplicate rule compares with.
constexpr int kDuplicateCandidates = 200;

absl::StatusOr<SellerContext> LoadSellerContext(ListingTransaction& tx,
                                                const ListingRecord& listing,
                                                std::optional<int64_t> new_seller_listings) {
  SellerContext seller;
  seller.new_seller_listings = new_seller_listings;
  ASSIGN_OR_RETURN(seller.decided_listings,
                   tx.CountDecidedListings(listing.seller_id, listing.listing_id));
  ASSIGN_OR_RETURN(std::optional<SellerModerationSetting> setting,
                   tx.FindSellerModeration(listing.seller_id));
  if (setting) {
    seller.level = setting->level;
    for (const std::string& b : setting->authorized_brands) {
      seller.authorized_brands.insert(FoldText(b));
    }
  }
  ASSIGN_OR_RETURN(
      seller.other_listings,
      tx.RecentLiveListings(listing.seller_id, listing.listing_id, kDuplicateCandidates));
  return seller;
}

}  // namespace

absl::Status ModerateAndSave(ListingTransaction& tx, ListingRecord& l, const RuleSet& rules,
                             std::optional<int64_t> new_seller_listings, absl::Time now) {
  ASSIGN_OR_RETURN(SellerContext seller, LoadSellerContext(tx, l, new_seller_listings));
  // The listing's condition field, as the rules' "condition" attribute (unless the seller gave
  // that attribute): NEW -> new, USED_LIKE_NEW -> like_new, USED_* -> used, REFURBISHED ->
  // refurbished.
  ListingContent content = l.content;
  if (!l.condition.empty() && content.attributes.count("condition") == 0) {
    const std::string& c = l.condition;
    content.attributes["condition"] = c == "NEW"             ? "new"
                                      : c == "USED_LIKE_NEW" ? "like_new"
                                      : c == "REFURBISHED"   ? "refurbished"
                                                             : "used";
  }
  Evaluation e = Evaluate(rules, content, seller, rules.classifier());
  const ListingState from = l.state;
  std::vector<std::string> codes;
  std::vector<std::string> explanations;
  for (const Finding& f : e.findings) {
    if (std::find(codes.begin(), codes.end(), f.reason_code) == codes.end()) {
      codes.push_back(f.reason_code);
    }
    explanations.push_back(f.explanation);
  }
  l.findings = e.findings;
  l.rules_version = e.rules_version;
  l.reason_codes = codes;
  l.explanation = absl::StrJoin(explanations, "; ");

  if (e.verdict == Verdict::kPass || e.verdict == Verdict::kReject) {
    const bool approved = e.verdict == Verdict::kPass;
    l.state = approved ? ListingState::kLive : ListingState::kRejected;
    l.ever_decided = true;
    RETURN_IF_ERROR(tx.Dequeue(l.listing_id));
    ListingDecided event{.approved = approved,
                         .listing_id = l.listing_id,
                         .seller_id = l.seller_id,
                         .decided_by = kSystemActor,
                         .at = now,
                         .rules_version = e.rules_version};
    if (!approved) {
      event.reason_codes = codes;
      event.explanation = l.explanation;
    }
    RETURN_IF_ERROR(tx.Publish(event));
  } else {
    l.state = ListingState::kPendingReview;
    RETURN_IF_ERROR(tx.Enqueue({.listing_id = l.listing_id,
                                .seller_id = l.seller_id,
                                .reason = ReviewReason::kRules,
                                .enqueued_at = now}));
  }
  RETURN_IF_ERROR(tx.SaveListing(l, now));
  return RecordTransition(tx, l, kSystemActor, from, codes, l.explanation, e.rules_version, now);
}

absl::Status DecideAndSave(ListingTransaction& tx, ListingRecord& l, absl::string_view moderator,
                           bool approve, const std::vector<std::string>& codes,
                           absl::string_view note, absl::Time now) {
  const ListingState from = l.state;
  l.state = approve ? ListingState::kLive : ListingState::kRejected;
  l.reason_codes = codes;
  l.explanation = std::string(note);
  l.ever_decided = true;
  RETURN_IF_ERROR(tx.Dequeue(l.listing_id));
  RETURN_IF_ERROR(tx.CloseReports(l.listing_id));
  RETURN_IF_ERROR(tx.SaveListing(l, now));
  RETURN_IF_ERROR(RecordTransition(tx, l, moderator, from, codes, std::string(note), "", now));
  ListingDecided event{.approved = approve,
                       .listing_id = l.listing_id,
                       .seller_id = l.seller_id,
                       .decided_by = std::string(moderator),
                       .at = now,
                       .rules_version = l.rules_version};
  if (!approve) {
    event.reason_codes = codes;
    event.explanation = std::string(note);
  }
  return tx.Publish(event);
}

absl::Status RecordTransition(ListingTransaction& tx, const ListingRecord& l,
                              absl::string_view actor, ListingState from,
                              std::vector<std::string> reason_codes, std::string explanation,
                              std::string rules_version, absl::Time now) {
  Transition t;
  t.listing_id = l.listing_id;
  t.actor = std::string(actor);
  t.at = now;
  t.from = from;
  t.to = l.state;
  t.reason_codes = std::move(reason_codes);
  t.explanation = std::move(explanation);
  t.rules_version = std::move(rules_version);
  return tx.AppendTransition(t).status();
}

absl::StatusOr<ListingRecord> LoadOwned(ListingTransaction& tx, const common::auth::Caller& caller,
                                        absl::string_view listing_id) {
  ASSIGN_OR_RETURN(std::optional<ListingRecord> l, tx.FindListing(listing_id, /*for_update=*/true));
  if (!l) return common::NotFound("listing", listing_id);
  // Someone else's listing answers exactly like an id that does not exist (AIP-193): the
  // caller may not learn that it exists. (A LIVE listing is public, but none of the methods
  // using this may change it either, and one answer for all states tells nothing.)
  if (!IsOwner(caller, l->seller_id)) return common::NotFound("listing", listing_id);
  return *std::move(l);
}

absl::Status RequireNotSuspended(ListingTransaction& tx, absl::string_view seller_id) {
  ASSIGN_OR_RETURN(std::optional<SellerSuspension> suspension, tx.FindSellerSuspension(seller_id));
  if (suspension) {
    return common::FailedPrecondition(
        "SELLER_SUSPENDED",
        "the seller is suspended: it can create, update, submit and appeal nothing");
  }
  return absl::OkStatus();
}

absl::Status InvalidState(const ListingRecord& l, absl::string_view what) {
  return common::FailedPrecondition(
      "INVALID_STATE", absl::StrCat("cannot ", what, " a listing in state ", StateName(l.state)));
}

}  // namespace marketplace::catalog
