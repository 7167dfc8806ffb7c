#include "services/catalog/catalog_api.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/errors.h"
#include "common/idempotency/idempotency.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "services/catalog/convert.h"
#include "services/catalog/field_checks.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

using common::auth::Caller;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

// Non-public methods run behind Authorize; this only keeps a direct call from dereferencing
// nothing.
absl::StatusOr<const Caller*> Authenticated(const MaybeCaller& caller) {
  if (!caller.has_value()) return common::Unauthenticated("this method needs an access token");
  return &*caller;
}

absl::StatusOr<int> PageSize(int32_t requested) {
  return common::PageSize(requested, kDefaultPageSize, kMaxPageSize);
}

// `page` with each listing serialized once and kept as an unknown field 1, the wire form of
// `repeated Listing listings = 1` (CachedFirstPage): a client parses it as `page` itself.
v1::ListListingsResponse PreSerialized(const v1::ListListingsResponse& page) {
  v1::ListListingsResponse wire;
  wire.set_next_page_token(page.next_page_token());
  google::protobuf::UnknownFieldSet* unknown = wire.GetReflection()->MutableUnknownFields(&wire);
  for (const v1::Listing& listing : page.listings()) {
    listing.SerializeToString(
        unknown->AddLengthDelimited(v1::ListListingsResponse::kListingsFieldNumber));
  }
  return wire;
}

}  // namespace

CatalogApi::CatalogApi(ListingStore* store, LiveRules* rules,
                       common::identity_client::SellerDirectory* sellers,
                       const common::Clock* clock, CatalogOptions options,
                       PublicViewCacheOptions public_cache, ReporterDirectory* reporters)
    : rules_(rules),
      clock_(clock),
      options_(std::move(options)),
      page_ttl_(public_cache.ttl > absl::ZeroDuration() ? public_cache.poll_interval
                                                        : absl::ZeroDuration()),
      public_cache_(store, clock, std::move(public_cache)),
      lifecycle_(store, rules, sellers, clock, &options_),
      review_queue_(store, rules, clock, &options_),
      reports_(store, clock, &options_, reporters),
      enforcement_(store, clock) {
  public_cache_.StartPolling();
}

absl::StatusOr<v1::Listing> CatalogApi::CreateListing(const MaybeCaller& maybe_caller,
                                                      const v1::CreateListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  std::vector<common::FieldViolation> violations = common::FieldViolationsOf(
      common::idempotency::ValidateRequestId("request_id", request.request_id()));
  ValidateContent(request.listing(), UpdatablePaths(), violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  ListingRecord draft;
  CopyContentFromProto(request.listing(), &draft);
  ASSIGN_OR_RETURN(ListingRecord created,
                   lifecycle_.Create(*caller,
                                     {caller->subject, request.request_id(),
                                      common::idempotency::RequestHash(request)},
                                     draft));
  return ListingToProto(created);
}

absl::StatusOr<v1::Listing> CatalogApi::UpdateListing(const MaybeCaller& maybe_caller,
                                                      const v1::UpdateListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  std::set<std::string> paths;
  RETURN_IF_ERROR(CheckUpdate(request, &paths));
  ListingRecord changes;
  CopyContentFromProto(request.listing(), &changes);
  ASSIGN_OR_RETURN(ListingRecord updated,
                   lifecycle_.Update(*caller, request.listing().listing_id(), changes, paths));
  return ListingToProto(updated);
}

absl::StatusOr<v1::Listing> CatalogApi::SubmitListing(const MaybeCaller& maybe_caller,
                                                      const v1::SubmitListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  ASSIGN_OR_RETURN(ListingRecord submitted, lifecycle_.Submit(*caller, request.listing_id()));
  return ListingToProto(submitted);
}

absl::StatusOr<v1::Listing> CatalogApi::GetListing(const MaybeCaller& caller,
                                                   const v1::GetListingRequest& request) {
  absl::Notification done;
  absl::StatusOr<v1::Listing> out;
  GetListingAsync(caller, request, [&](absl::StatusOr<v1::Listing> result) {
    out = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

void CatalogApi::GetListingAsync(const MaybeCaller& caller, const v1::GetListingRequest& request,
                                 std::function<void(absl::StatusOr<v1::Listing>)> done) {
  if (absl::Status valid = ValidateListingId("listing_id", request.listing_id()); !valid.ok()) {
    done(valid);
    return;
  }
  // Sellers and staff may see more than the public view: never served from the cache.
  const bool may_see_all = caller && (caller->HasRole("SELLER") || SeesEverything(*caller));
  const bool use_cache = public_cache_.enabled() && !may_see_all;
  PublicViewCache::Ticket ticket;
  if (use_cache) {
    if (std::shared_ptr<const v1::Listing> view = public_cache_.Find(request.listing_id())) {
      done(*view);
      return;
    }
    ticket = public_cache_.BeginRead();
  }
  lifecycle_.Get(caller, request.listing_id(),
                 [this, use_cache, ticket, listing_id = request.listing_id(),
                  done = std::move(done)](absl::StatusOr<SeenListing> seen) {
                   if (!seen.ok()) return done(seen.status());
                   v1::Listing listing = ListingToProto(seen->listing);
                   if (seen->full) return done(std::move(listing));
                   v1::Listing view = PublicView(std::move(listing));
                   if (use_cache) public_cache_.Put(listing_id, view, ticket);
                   done(std::move(view));
                 });
}

absl::StatusOr<CatalogApi::PageRequest> CatalogApi::ParsePageRequest(
    const MaybeCaller& caller, const v1::ListListingsRequest& request) {
  PageRequest out;
  ListingsPage& page = out.page;
  // Every bad field named at once.
  common::Violations violations;
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  violations.Check(page_size.status());
  if (common::CodePoints(request.query()) > 100) {
    violations.Add("query", "must be at most 100 characters");
  }
  if (!request.seller_id().empty()) {
    violations.Check(common::ValidateAccountId("seller_id", request.seller_id()));
  }
  bool states_valid = true;
  for (int s : request.states()) {
    if (s == v1::LISTING_STATE_UNSPECIFIED || !v1::ListingState_IsValid(s)) {
      states_valid = false;
    } else {
      page.states.insert(StateFromProto(static_cast<v1::ListingState>(s)));
    }
  }
  if (!states_valid) violations.Add("states", "must be valid listing states");
  RETURN_IF_ERROR(violations.Status());
  page.page_size = *page_size;
  if (page.states.empty()) page.states.insert(ListingState::kLive);
  RETURN_IF_ERROR(Lifecycle::MayList(caller, request.seller_id(), page.states));
  page.category_id = request.category_id();
  page.seller_id = request.seller_id();
  page.title_words = Words(FoldText(request.query()));
  std::vector<absl::string_view> state_names;
  for (ListingState s : page.states) state_names.push_back(StateName(s));
  out.filters =
      absl::StrCat(request.category_id(), "|", request.seller_id(), "|",
                   absl::StrJoin(page.title_words, " "), "|", absl::StrJoin(state_names, ","));
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(request.page_token(), out.filters,
                                             "category_id, seller_id, query, states"));
    int64_t seq = 0;
    if (!absl::SimpleAtoi(cursor, &seq)) {
      return common::InvalidField("page_token", "must be a next_page_token returned before");
    }
    page.before_seq = seq;
  }
  // Public first pages are the same for every public caller: served from memory for up to one
  // poll interval of the public view cache.
  const bool may_see_all = caller && (caller->HasRole("SELLER") || SeesEverything(*caller));
  out.cacheable = page_ttl_ > absl::ZeroDuration() && !may_see_all &&
                  request.page_token().empty() && page.states.size() == 1 &&
                  *page.states.begin() == ListingState::kLive;
  out.cache_key = absl::StrCat(page.page_size, "|", out.filters);
  return out;
}

std::optional<CatalogApi::CachedFirstPage> CatalogApi::CachedPage(
    const MaybeCaller& caller, const v1::ListListingsRequest& request) {
  if (page_ttl_ <= absl::ZeroDuration() || !request.page_token().empty()) return std::nullopt;
  absl::StatusOr<PageRequest> parsed = ParsePageRequest(caller, request);
  if (!parsed.ok() || !parsed->cacheable) return std::nullopt;
  std::shared_ptr<const v1::ListListingsResponse> wire;
  bool refresh = false;
  {
    absl::MutexLock lock(&pages_mu_);
    auto it = pages_.find(parsed->cache_key);
    if (it == pages_.end()) return std::nullopt;
    const absl::Duration age = clock_->Now() - it->second.stored_at;
    if (age >= page_ttl_) return std::nullopt;
    wire = it->second.wire;
    if (age >= page_ttl_ / 2 && !it->second.refresh_asked) {
      it->second.refresh_asked = true;
      refresh = true;
    }
  }
  // Copied outside the lock: other callers of the same page do not wait for it.
  return CachedFirstPage{*wire, refresh};
}

void CatalogApi::RefreshPage(const MaybeCaller& caller, const v1::ListListingsRequest& request) {
  absl::StatusOr<PageRequest> parsed = ParsePageRequest(caller, request);
  if (!parsed.ok() || !parsed->cacheable) return;
  // A failed read leaves the page to expire; the next caller then reads it itself.
  (void)ReadPage(caller, *parsed);
}

absl::StatusOr<v1::ListListingsResponse> CatalogApi::ListListings(
    const MaybeCaller& caller, const v1::ListListingsRequest& request) {
  ASSIGN_OR_RETURN(PageRequest parsed, ParsePageRequest(caller, request));
  if (parsed.cacheable) {
    std::shared_ptr<const v1::ListListingsResponse> page;
    {
      absl::MutexLock lock(&pages_mu_);
      auto it = pages_.find(parsed.cache_key);
      if (it != pages_.end() && clock_->Now() - it->second.stored_at < page_ttl_) {
        page = it->second.page;
      }
    }
    if (page != nullptr) return *page;
  }
  return ReadPage(caller, parsed);
}

absl::StatusOr<v1::ListListingsResponse> CatalogApi::ReadPage(const MaybeCaller& caller,
                                                              const PageRequest& parsed) {
  const ListingsPage& page = parsed.page;
  const absl::Time read_at = clock_->Now();
  ASSIGN_OR_RETURN(std::vector<SeenListing> seen, lifecycle_.List(caller, page));
  v1::ListListingsResponse response;
  const size_t size = static_cast<size_t>(page.page_size);
  for (size_t i = 0; i < seen.size() && i < size; ++i) {
    v1::Listing listing = ListingToProto(seen[i].listing);
    *response.add_listings() = seen[i].full ? std::move(listing) : PublicView(std::move(listing));
  }
  if (seen.size() > size) {
    response.set_next_page_token(
        common::EncodePageToken(absl::StrCat(seen[size - 1].listing.seq), parsed.filters));
  }
  if (parsed.cacheable) {
    auto stored = std::make_shared<const v1::ListListingsResponse>(response);
    auto wire = std::make_shared<const v1::ListListingsResponse>(PreSerialized(response));
    absl::MutexLock lock(&pages_mu_);
    if (pages_.size() >= kMaxPages) pages_.clear();
    StoredPage& cached = pages_[parsed.cache_key];
    // Stamped with the time the read began: the page is no fresher than that.
    if (cached.page == nullptr || cached.stored_at < read_at) {
      cached = {read_at, std::move(stored), std::move(wire)};
    }
  }
  return response;
}

absl::StatusOr<v1::Listing> CatalogApi::WithdrawListing(const MaybeCaller& maybe_caller,
                                                        const v1::WithdrawListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  ASSIGN_OR_RETURN(ListingRecord withdrawn, lifecycle_.Withdraw(*caller, request.listing_id()));
  return ListingToProto(withdrawn);
}

absl::StatusOr<v1::ListCategoriesResponse> CatalogApi::ListCategories() {
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  v1::ListCategoriesResponse response;
  response.set_rules_version(rules->version());
  for (const Category& c : rules->categories()) {
    const ResolvedCategory* r = rules->FindCategory(c.id);
    v1::Category* out = response.add_categories();
    out->set_category_id(c.id);
    out->set_parent_id(c.parent_id);
    out->set_name(c.name);
    if (r != nullptr) {
      out->set_age_restricted(r->age_restricted);
      for (const std::string& a : r->required_attributes) out->add_required_attributes(a);
      out->set_brands_need_authorization(r->brands_need_authorization);
    }
  }
  return response;
}

absl::StatusOr<v1::ReportListingResponse> CatalogApi::ReportListing(
    const MaybeCaller& maybe_caller, const v1::ReportListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(CheckReport(request));
  ASSIGN_OR_RETURN(ReportOutcome outcome,
                   reports_.Report(*caller, request.listing_id(),
                                   v1::ReportReason_Name(request.reason()), request.comment()));
  v1::ReportListingResponse response;
  response.set_open_reports(outcome.open_reports);
  response.set_sent_to_review(outcome.sent_to_review);
  return response;
}

absl::StatusOr<v1::ListReviewQueueResponse> CatalogApi::ListReviewQueue(
    const MaybeCaller&, const v1::ListReviewQueueRequest& request) {
  ReviewsPage page;
  common::Violations violations;
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  violations.Check(page_size.status());
  if (!v1::ReviewReason_IsValid(request.reason())) {
    violations.Add("reason", "must be a ReviewReason");
  }
  RETURN_IF_ERROR(violations.Status());
  page.page_size = *page_size;
  if (request.reason() != v1::REVIEW_REASON_UNSPECIFIED) {
    page.reason = ReviewReasonFromProto(request.reason());
  }
  page.category_id = request.category_id();
  page.unclaimed_only = request.unclaimed_only();
  const std::string filters =
      absl::StrCat(request.reason(), "|", request.category_id(), "|", request.unclaimed_only());
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(request.page_token(), filters,
                                             "reason, category_id, unclaimed_only"));
    ASSIGN_OR_RETURN(common::TimeIdCursor after, common::DecodeTimeIdCursor(cursor));
    page.after = std::make_pair(after.time, after.id);
  }
  ASSIGN_OR_RETURN(auto listed, review_queue_.List(page));
  const auto& [reviews, now] = listed;
  v1::ListReviewQueueResponse response;
  const size_t size = static_cast<size_t>(page.page_size);
  for (size_t i = 0; i < reviews.size() && i < size; ++i) {
    *response.add_reviews() = ReviewToProto(reviews[i], now);
  }
  if (reviews.size() > size) {
    const ReviewEntry& last = reviews[size - 1].entry;
    response.set_next_page_token(common::EncodePageToken(
        common::EncodeTimeIdCursor({last.enqueued_at, last.listing_id}), filters));
  }
  return response;
}

absl::StatusOr<v1::Review> CatalogApi::ClaimReview(const MaybeCaller& maybe_caller,
                                                   const v1::ClaimReviewRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  ASSIGN_OR_RETURN(auto claimed, review_queue_.Claim(*caller, request.listing_id()));
  return ReviewToProto(claimed.first, claimed.second);
}

absl::StatusOr<v1::Listing> CatalogApi::DecideReview(const MaybeCaller& maybe_caller,
                                                     const v1::DecideReviewRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(CheckDecision(request));
  const std::vector<std::string> codes(request.reason_codes().begin(),
                                       request.reason_codes().end());
  ASSIGN_OR_RETURN(ListingRecord decided,
                   review_queue_.Decide(*caller, request.listing_id(),
                                        request.decision() == v1::APPROVE, codes, request.note()));
  return ListingToProto(decided);
}

absl::StatusOr<v1::Listing> CatalogApi::AppealDecision(const MaybeCaller& maybe_caller,
                                                       const v1::AppealDecisionRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  common::Violations violations;
  violations.Check(ValidateListingId("listing_id", request.listing_id()));
  if (IsBlank(request.statement()) || common::CodePoints(request.statement()) > 2000) {
    violations.Add("statement", "must be 1-2000 characters, not only whitespace");
  }
  RETURN_IF_ERROR(violations.Status());
  ASSIGN_OR_RETURN(ListingRecord appealed,
                   review_queue_.Appeal(*caller, request.listing_id(), request.statement()));
  return ListingToProto(appealed);
}

absl::StatusOr<v1::GetModerationHistoryResponse> CatalogApi::GetModerationHistory(
    const MaybeCaller& maybe_caller, const v1::GetModerationHistoryRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  ASSIGN_OR_RETURN(std::vector<Transition> transitions,
                   review_queue_.History(*caller, request.listing_id()));
  v1::GetModerationHistoryResponse response;
  for (const Transition& t : transitions) *response.add_transitions() = TransitionToProto(t);
  return response;
}

absl::StatusOr<v1::SellerModeration> CatalogApi::SetSellerModerationLevel(
    const MaybeCaller& maybe_caller, const v1::SetSellerModerationLevelRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  ASSIGN_OR_RETURN(ModerationMask mask, CheckModerationLevel(request));
  SellerModerationSetting setting;
  setting.seller_id = request.seller_id();
  if (mask.level) setting.level = ModerationLevelFromProto(request.level());
  if (mask.brands) {
    setting.authorized_brands.assign(request.authorized_brands().begin(),
                                     request.authorized_brands().end());
  }
  ASSIGN_OR_RETURN(SellerModerationSetting stored,
                   enforcement_.SetModerationLevel(*caller, std::move(setting), mask.level,
                                                   mask.brands));
  return ModerationToProto(stored);
}

absl::StatusOr<v1::SellerModeration> CatalogApi::GetSellerModerationLevel(
    const MaybeCaller& maybe_caller, const v1::GetSellerModerationLevelRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  (void)caller;  // the permission table admits staff and catalog.enforcement only
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", request.seller_id()));
  ASSIGN_OR_RETURN(SellerModerationSetting stored,
                   enforcement_.GetModerationLevel(request.seller_id()));
  return ModerationToProto(stored);
}

absl::StatusOr<v1::SuspendSellerListingsResponse> CatalogApi::SuspendSellerListings(
    const MaybeCaller& maybe_caller, const v1::SuspendSellerListingsRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(CheckSuspension(request));
  ASSIGN_OR_RETURN(int64_t suspended,
                   enforcement_.Suspend(*caller, request.seller_id(), request.reason_code(),
                                        request.explanation()));
  v1::SuspendSellerListingsResponse response;
  response.set_suspended(suspended);
  return response;
}

absl::StatusOr<v1::RestoreSellerListingsResponse> CatalogApi::RestoreSellerListings(
    const MaybeCaller& maybe_caller, const v1::RestoreSellerListingsRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, Authenticated(maybe_caller));
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", request.seller_id()));
  ASSIGN_OR_RETURN(Enforcement::Reinstatement done,
                   enforcement_.Restore(*caller, request.seller_id()));
  v1::RestoreSellerListingsResponse response;
  response.set_restored(done.restored);
  response.set_still_suspended(done.still_suspended);
  return response;
}

}  // namespace marketplace::catalog
