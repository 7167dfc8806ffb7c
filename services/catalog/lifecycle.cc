#include "services/catalog/lifecycle.h"

#include <memory>
#include <utility>

#include "common/errors.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "services/catalog/moderation_flow.h"

namespace marketplace::catalog {
namespace {

// The seller of `subject` must be APPROVED and active per the directory.
absl::Status RequireApprovedSeller(common::identity_client::SellerDirectory& sellers,
                                   const std::string& subject) {
  ASSIGN_OR_RETURN(common::identity_client::SellerStatus status, sellers.GetSeller(subject));
  if (!status.found || !status.approved_active) {
    return common::FailedPrecondition(
        "SELLER_NOT_APPROVED", "only APPROVED, active sellers may create or submit listings");
  }
  return absl::OkStatus();
}

bool SeesInFull(const MaybeCaller& caller, const ListingRecord& l) {
  return caller && (IsOwner(*caller, l.seller_id) || SeesEverything(*caller));
}

void SetField(const std::string& field, const ListingRecord& in, ListingRecord& l) {
  if (field == "title") l.content.title = in.content.title;
  if (field == "description") l.content.description = in.content.description;
  if (field == "category_id") l.content.category_id = in.content.category_id;
  if (field == "brand") l.content.brand = in.content.brand;
  if (field == "condition") l.condition = in.condition;
  if (field == "price") l.content.price = in.content.price;
  if (field == "quantity") l.quantity = in.quantity;
  if (field == "image_urls") l.content.image_urls = in.content.image_urls;
  if (field == "attributes") l.content.attributes = in.content.attributes;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CategorySubtree(const RuleSet& rules,
                                                         absl::string_view category_id) {
  if (category_id.empty()) return std::vector<std::string>();
  if (rules.FindCategory(category_id) == nullptr) return common::NotFound("category", category_id);
  return rules.Subtree(category_id);
}

absl::StatusOr<ListingRecord> Lifecycle::Create(const common::auth::Caller& caller,
                                                const CreateRequestKey& key,
                                                const ListingRecord& draft) {
  absl::Status allowed = CheckNotSuspended(caller.subject);
  if (allowed.ok()) allowed = RequireApprovedSeller(*sellers_, caller.subject);
  if (!allowed.ok()) {
    // A retry gets its first result, whatever these checks answer now (the seller may have
    // been suspended since, or identity be unreachable). Looked up only when they refuse, so
    // that a first call pays no extra read.
    ASSIGN_OR_RETURN(std::optional<absl::StatusOr<ListingRecord>> first, store_->FindCreated(key));
    if (first) return *std::move(first);
    return allowed;
  }
  return store_->CreateOnce(key, [&](ListingTransaction& tx) -> absl::StatusOr<ListingRecord> {
    const absl::Time now = clock_->Now();
    // Again in the transaction that creates: a suspension may have committed meanwhile.
    RETURN_IF_ERROR(RequireNotSuspended(tx, caller.subject));
    ListingRecord l;
    l.content = draft.content;
    l.condition = draft.condition;
    l.quantity = draft.quantity;
    l.listing_id = common::NewId("lst_");
    l.seller_id = caller.subject;
    l.state = ListingState::kDraft;
    l.created_at = now;
    l.updated_at = now;
    RETURN_IF_ERROR(tx.InsertListing(l));
    RETURN_IF_ERROR(
        RecordTransition(tx, l, caller.subject, ListingState::kUnspecified, {}, "", "", now));
    return l;
  });
}

absl::Status Lifecycle::CheckNotSuspended(absl::string_view seller_id) {
  return store_->TransactReadOnly(
      [&](ListingTransaction& tx) { return RequireNotSuspended(tx, seller_id); });
}

absl::StatusOr<ListingRecord> Lifecycle::Update(const common::auth::Caller& caller,
                                                absl::string_view listing_id,
                                                const ListingRecord& changes,
                                                const std::set<std::string>& fields) {
  const bool moderated_change = fields.size() > 1 || !fields.count("quantity");
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  // Whether the listing is LIVE is known only inside the transaction; the seller check is a
  // remote call, made once beforehand when it may be needed. Its failure matters only for a
  // LIVE listing whose content changes.
  absl::Status seller_status = absl::OkStatus();
  if (moderated_change && caller.HasRole("SELLER")) {
    seller_status = RequireApprovedSeller(*sellers_, caller.subject);
  }
  ListingRecord out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    // The seller's suspension row before the listing's: the order the suspension locks them.
    RETURN_IF_ERROR(RequireNotSuspended(tx, caller.subject));
    ASSIGN_OR_RETURN(ListingRecord l, LoadOwned(tx, caller, listing_id));
    const ListingState state = l.state;
    if (state == ListingState::kPendingReview || state == ListingState::kSuspended) {
      return InvalidState(l, "update");
    }
    const ListingRecord before = l;
    for (const std::string& field : fields) SetField(field, changes, l);
    if (state == ListingState::kLive && ContentDiffersBesidesQuantity(before, l)) {
      RETURN_IF_ERROR(seller_status);
      // LIVE: its latest decision approved it, no human review is owed.
      RETURN_IF_ERROR(
          ModerateAndSave(tx, l, *rules, options_->new_seller_listings, std::nullopt, now));
    } else {
      RETURN_IF_ERROR(tx.SaveListing(l, now));
    }
    out = std::move(l);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ListingRecord> Lifecycle::Submit(const common::auth::Caller& caller,
                                                absl::string_view listing_id) {
  RETURN_IF_ERROR(CheckNotSuspended(caller.subject));
  RETURN_IF_ERROR(RequireApprovedSeller(*sellers_, caller.subject));
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  ListingRecord out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    // Again in the transaction that submits: a suspension may have committed meanwhile.
    RETURN_IF_ERROR(RequireNotSuspended(tx, caller.subject));
    ASSIGN_OR_RETURN(ListingRecord l, LoadOwned(tx, caller, listing_id));
    if (l.state != ListingState::kDraft && l.state != ListingState::kRejected &&
        l.state != ListingState::kWithdrawn) {
      return InvalidState(l, "submit");
    }
    // Read under the listing's lock: a moderator's rejection, or a withdrawal from review,
    // leaves the decision to a human (catalog.proto, SubmitListing).
    ASSIGN_OR_RETURN(std::optional<OwedReview> owed, FindOwedReview(tx, l));
    RETURN_IF_ERROR(ModerateAndSave(tx, l, *rules, options_->new_seller_listings, owed, now));
    out = std::move(l);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ListingRecord> Lifecycle::Withdraw(const common::auth::Caller& caller,
                                                  absl::string_view listing_id) {
  ListingRecord out;
  RETURN_IF_ERROR(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(ListingRecord l, LoadOwned(tx, caller, listing_id));
    const ListingState from = l.state;
    if (from == ListingState::kWithdrawn || from == ListingState::kSuspended) {
      return InvalidState(l, "withdraw");
    }
    l.state = ListingState::kWithdrawn;
    // It leaves the review queue, but not the review: its open reports stay open, and its next
    // submission goes back to a human (FindOwedReview), whose decision closes them.
    RETURN_IF_ERROR(tx.Dequeue(l.listing_id));
    RETURN_IF_ERROR(tx.SaveListing(l, now));
    RETURN_IF_ERROR(
        RecordTransition(tx, l, caller.subject, from, {}, "withdrawn by the seller", "", now));
    out = std::move(l);
    return absl::OkStatus();
  }));
  return out;
}

void Lifecycle::Get(const MaybeCaller& caller, absl::string_view listing_id,
                    std::function<void(absl::StatusOr<SeenListing>)> done) {
  // One row in autocommit, read together with the other GetListing calls of the moment.
  store_->ReadListing(listing_id, [caller, id = std::string(listing_id), done = std::move(done)](
                                      absl::StatusOr<std::optional<ListingRecord>> read) {
    if (!read.ok()) return done(read.status());
    if (!read->has_value()) return done(common::NotFound("listing", id));
    SeenListing seen{**std::move(read), false};
    seen.full = SeesInFull(caller, seen.listing);
    if (!seen.full && seen.listing.state != ListingState::kLive) {
      return done(common::NotFound("listing", id));
    }
    done(std::move(seen));
  });
}

absl::Status Lifecycle::MayList(const MaybeCaller& caller, absl::string_view seller_id,
                                const std::set<ListingState>& states) {
  const bool privileged =
      caller && (SeesEverything(*caller) ||
                 (caller->HasRole("SELLER") && !seller_id.empty() && seller_id == caller->subject));
  if (!privileged && (states.size() != 1 || *states.begin() != ListingState::kLive)) {
    return common::PermissionDenied(
        "only the seller itself (seller_id = caller) and staff may list other states than LIVE");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SeenListing>> Lifecycle::List(const MaybeCaller& caller,
                                                         const ListingsPage& page) {
  RETURN_IF_ERROR(MayList(caller, page.seller_id, page.states));
  ListingQuery query;
  ASSIGN_OR_RETURN(query.category_ids, CategorySubtree(*rules_->Current(), page.category_id));
  query.states.assign(page.states.begin(), page.states.end());
  query.seller_id = page.seller_id;
  query.title_words = page.title_words;
  query.before_seq = page.before_seq;
  query.limit = page.page_size + 1;
  ASSIGN_OR_RETURN(std::vector<ListingRecord> rows, store_->ListListings(query));
  std::vector<SeenListing> out;
  for (ListingRecord& l : rows) {
    const bool full = SeesInFull(caller, l);
    out.push_back({std::move(l), full});
  }
  return out;
}

}  // namespace marketplace::catalog
