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
// The seller's most recently rejected listings (by a moderator) it also compares with.
constexpr int kRejectedCandidates = 100;

absl::StatusOr<SellerContext> LoadSellerContext(ListingTransaction& tx,
                                                const ListingRecord& listing,
                                                std::optional<int64_t> new_seller_listings,
                                                int64_t rule_threshold) {
  SellerContext seller;
  seller.new_seller_listings = new_seller_listings;
  // The new-seller review counts the listings that went LIVE: a rejection, by the rules or a
  // moderator, never makes a seller established (throwaway listings would).
  ASSIGN_OR_RETURN(seller.decided_listings,
                   tx.CountApprovedListings(listing.seller_id, listing.listing_id,
                                            new_seller_listings.value_or(rule_threshold)));
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
  // A copy of a listing a moderator rejected goes to a moderator too (as resubmitting that
  // listing would, FindOwedReview), not LIVE on the rules' word.
  ASSIGN_OR_RETURN(
      std::vector<SellerListing> rejected,
      tx.RecentModeratorRejections(listing.seller_id, listing.listing_id, kRejectedCandidates));
  for (SellerListing& r : rejected) seller.other_listings.push_back(std::move(r));
  return seller;
}

// The rules' "condition" attribute for a condition field (an ItemCondition name); nullptr for
// none.
const char* ConditionAttribute(absl::string_view condition) {
  if (condition == "NEW") return "new";
  if (condition == "USED_LIKE_NEW") return "like_new";
  if (condition == "USED_GOOD" || condition == "USED_FAIR") return "used";
  if (condition == "REFURBISHED") return "refurbished";
  return nullptr;
}

bool HasCode(const Transition& t, absl::string_view code) {
  return std::find(t.reason_codes.begin(), t.reason_codes.end(), code) != t.reason_codes.end();
}

// `listing`'s move from `from` to its current state.
Transition TransitionOf(const ListingRecord& l, absl::string_view actor, ListingState from,
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
  return t;
}

std::optional<OwedReview> OwedAfter(const std::vector<Transition>& history, size_t end);

// The queue reason (and appeal statement) of the review the listing was in before
// history[end]: the one of the latest transition into PENDING_REVIEW before it.
std::pair<ReviewReason, std::string> ReviewBefore(const std::vector<Transition>& history,
                                                  size_t end) {
  for (size_t i = end; i-- > 0;) {
    const Transition& t = history[i];
    if (t.to != ListingState::kPendingReview || IsSuspensionStep(t)) continue;
    // Only an appeal puts a listing in review by someone's hand (the seller's).
    if (t.actor != kSystemActor) return {ReviewReason::kAppeal, t.explanation};
    if (HasCode(t, "REPORTED")) return {ReviewReason::kReports, ""};
    if (HasCode(t, kRejectedByModerator) || HasCode(t, kWithdrawnFromReview)) {
      // An owed review had the reason it was owed with.
      if (std::optional<OwedReview> owed = OwedAfter(history, i)) {
        return {owed->reason, owed->appeal_statement};
      }
    }
    return {ReviewReason::kRules, ""};
  }
  return {ReviewReason::kRules, ""};
}

// FindOwedReview over the transitions before history[end].
std::optional<OwedReview> OwedAfter(const std::vector<Transition>& history, size_t end) {
  for (size_t i = end; i-- > 0;) {
    const Transition& t = history[i];
    if (IsSuspensionStep(t)) continue;
    if (t.to == ListingState::kLive) return std::nullopt;
    if (t.to == ListingState::kRejected && t.actor != kSystemActor) {
      const ReviewReason decided = ReviewBefore(history, i).first;
      return OwedReview{.reason_code = kRejectedByModerator,
                        .explanation = absl::StrCat("A moderator rejected this listing (",
                                                    absl::StrJoin(t.reason_codes, ", "),
                                                    "): only a moderator can put it back on sale"),
                        .reason = decided == ReviewReason::kReports ? ReviewReason::kReports
                                                                    : ReviewReason::kRules};
    }
    if (t.to == ListingState::kWithdrawn && t.from == ListingState::kPendingReview) {
      auto [reason, statement] = ReviewBefore(history, i);
      return OwedReview{.reason_code = kWithdrawnFromReview,
                        .explanation =
                            "This listing was withdrawn while waiting for a moderator: a "
                            "moderator decides it",
                        .reason = reason,
                        .appeal_statement = std::move(statement)};
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<OwedReview>> FindOwedReview(ListingTransaction& tx,
                                                         const ListingRecord& l) {
  ASSIGN_OR_RETURN(std::vector<Transition> history, tx.ListTransitions(l.listing_id));
  return OwedAfter(history, history.size());
}

absl::StatusOr<std::optional<int64_t>> LatestRejection(ListingTransaction& tx,
                                                       absl::string_view listing_id) {
  ASSIGN_OR_RETURN(std::vector<Transition> history, tx.ListTransitions(listing_id));
  for (size_t i = history.size(); i-- > 0;) {
    const Transition& t = history[i];
    if (t.to == ListingState::kRejected && !IsSuspensionStep(t)) return t.id;
  }
  return std::nullopt;
}

absl::Status ModerateAndSave(ListingTransaction& tx, ListingRecord& l, const RuleSet& rules,
                             std::optional<int64_t> new_seller_listings,
                             const std::optional<OwedReview>& owed, absl::Time now) {
  ASSIGN_OR_RETURN(SellerContext seller, LoadSellerContext(tx, l, new_seller_listings,
                                                           rules.thresholds().new_seller_listings));
  // The listing's condition field, the one buyers see, is the condition the rules read,
  // whatever the seller's "condition" attribute says: NEW -> new, USED_LIKE_NEW -> like_new,
  // USED_GOOD / USED_FAIR -> used, REFURBISHED -> refurbished. (An attribute saying otherwise
  // must not decide, e.g. "used" on a NEW item skipping the brand authorisation.) The
  // attribute stays as given for the text rules: buyers read it.
  ListingContent content = l.content;
  if (const char* condition = ConditionAttribute(l.condition)) content.condition = condition;
  Evaluation e = Evaluate(rules, content, seller, rules.classifier());
  if (owed && e.verdict != Verdict::kReject) {
    // A human decides: the rules alone never overturn a moderator's rejection nor skip a
    // review the listing was withdrawn from (they may still reject it).
    e.findings.push_back({.rule = "review_history",
                          .verdict = Verdict::kReview,
                          .reason_code = owed->reason_code,
                          .explanation = owed->explanation});
    e.verdict = Verdict::kReview;
  }
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
                                .reason = owed ? owed->reason : ReviewReason::kRules,
                                .enqueued_at = now,
                                .appeal_statement = owed ? owed->appeal_statement : ""}));
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
  ASSIGN_OR_RETURN(
      const int64_t decision,
      tx.AppendTransition(TransitionOf(l, moderator, from, codes, std::string(note), "", now)));
  // The seller's copies of a rejected listing go to a moderator (RecentModeratorRejections)
  // until a moderator approves it.
  if (approve) {
    RETURN_IF_ERROR(tx.ForgetModeratorRejection(l.listing_id));
  } else {
    RETURN_IF_ERROR(tx.RecordModeratorRejection(l, decision));
  }
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
  return tx
      .AppendTransition(TransitionOf(l, actor, from, std::move(reason_codes),
                                     std::move(explanation), std::move(rules_version), now))
      .status();
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
