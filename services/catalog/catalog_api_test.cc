#include "services/catalog/catalog_api.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/permissions.h"
#include "services/catalog/test_listings.h"

namespace marketplace::catalog {
namespace {

// Account ids in the form identity issues them (32 lowercase hex digits).
const std::string kS1 = "11111111111111111111111111111111";
const std::string kS2 = "22222222222222222222222222222222";
const std::string kS3 = "33333333333333333333333333333333";
const std::string kB1 = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const std::string kB2 = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const std::string kB3 = "b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3";
const std::string kM1 = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const std::string kM2 = "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2";
const std::string kA1 = "adadadadadadadadadadadadadadadad";
const std::string kSVC = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

using common::auth::Caller;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kCategories[] = "services/catalog/data/categories.json";
constexpr char kRules[] = "services/catalog/data/moderation_rules.json";

Caller As(std::string subject, std::string role, std::vector<std::string> scopes = {}) {
  Caller c;
  c.subject = std::move(subject);
  c.roles = {std::move(role)};
  c.scopes = std::move(scopes);
  c.expires_at = absl::InfiniteFuture();
  return c;
}

// A listing every rule passes.
v1::Listing Plush(const std::string& title = "Peluche ourson brun 30 cm") {
  return ::marketplace::catalog::testing::CleanPlush(title, 5);
}

struct ListingsOptions : CatalogOptions {
  PublicViewCacheOptions public_cache;
};

// CatalogApi behind the permission table, as CatalogService runs it.
class GuardedApi {
 public:
  GuardedApi(ListingStore* store, LiveRules* rules,
             common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
             const ListingsOptions& options, ReporterDirectory* reporters)
      : api_(store, rules, sellers, clock, options, options.public_cache, reporters) {}

#define MP_GUARDED(Name, Request, Response)                                       \
  absl::StatusOr<v1::Response> Name(const MaybeCaller& caller, const v1::Request& request) { \
    RETURN_IF_ERROR(Authorize(Method::k##Name, caller));                          \
    return api_.Name(caller, request);                                           \
  }
  MP_GUARDED(CreateListing, CreateListingRequest, Listing)
  MP_GUARDED(UpdateListing, UpdateListingRequest, Listing)
  MP_GUARDED(SubmitListing, SubmitListingRequest, Listing)
  MP_GUARDED(GetListing, GetListingRequest, Listing)
  MP_GUARDED(ListListings, ListListingsRequest, ListListingsResponse)
  MP_GUARDED(WithdrawListing, WithdrawListingRequest, Listing)
  MP_GUARDED(ReportListing, ReportListingRequest, ReportListingResponse)
  MP_GUARDED(ListReviewQueue, ListReviewQueueRequest, ListReviewQueueResponse)
  MP_GUARDED(ClaimReview, ClaimReviewRequest, Review)
  MP_GUARDED(DecideReview, DecideReviewRequest, Listing)
  MP_GUARDED(AppealDecision, AppealDecisionRequest, Listing)
  MP_GUARDED(GetModerationHistory, GetModerationHistoryRequest, GetModerationHistoryResponse)
  MP_GUARDED(SetSellerModerationLevel, SetSellerModerationLevelRequest, SellerModeration)
  MP_GUARDED(GetSellerModerationLevel, GetSellerModerationLevelRequest, SellerModeration)
  MP_GUARDED(SuspendSellerListings, SuspendSellerListingsRequest, SuspendSellerListingsResponse)
  MP_GUARDED(RestoreSellerListings, RestoreSellerListingsRequest, RestoreSellerListingsResponse)
#undef MP_GUARDED
  absl::StatusOr<v1::ListCategoriesResponse> ListCategories() { return api_.ListCategories(); }

  const CatalogOptions& options() const { return api_.options(); }
  PublicViewCache::Totals public_cache_totals() const { return api_.public_cache_totals(); }
  // gRPC's thread path for public first pages (no guard: public callers only reach it).
  std::optional<CatalogApi::CachedFirstPage> CachedPage(const MaybeCaller& caller,
                                                        const v1::ListListingsRequest& request) {
    return api_.CachedPage(caller, request);
  }
  void RefreshPage(const MaybeCaller& caller, const v1::ListListingsRequest& request) {
    api_.RefreshPage(caller, request);
  }

 private:
  CatalogApi api_;
};

class ListingsTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyCatalogMigrations(pool()));
    auto live = LiveRules::Load(kCategories, kRules);
    ASSERT_TRUE(live.ok()) << live.status();
    rules_ = *std::move(live);
    sellers_.Set(kS1, true);
    sellers_.Set(kS2, true);
    // Buyers with accounts old enough for their reports to count.
    for (const std::string& b : {kB1, kB2, kB3}) {
      reporters_.Set(b, clock_.Now() - absl::Hours(24 * 365));
    }
    Make({});
  }

  void TearDown() override {
    listings_.reset();  // its background threads use the store and the pool, which go next
    store_.reset();
    DatabaseTest::TearDown();
  }

  // (Re)creates the domain object with `options`.
  void Make(ListingsOptions options) {
    listings_.reset();
    store_ = std::make_unique<MysqlListingStore>(&pool(), &clock_, MysqlListingStore::Options());
    listings_ =
        std::make_unique<GuardedApi>(store_.get(), rules_.get(), &sellers_, &clock_, options,
                                     &reporters_);
  }

  // An established seller: its clean listings go live without review.
  ListingsOptions Established() {
    ListingsOptions o;
    o.new_seller_listings = 0;
    return o;
  }

  v1::Listing Create(const std::string& seller, const v1::Listing& content) {
    v1::CreateListingRequest req;
    *req.mutable_listing() = content;
    req.set_request_id("r-" + std::to_string(++request_counter_));
    auto l = listings_->CreateListing(As(seller, "SELLER"), req);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *l : v1::Listing();
  }

  absl::StatusOr<v1::Listing> Submit(const std::string& seller, const std::string& id) {
    v1::SubmitListingRequest req;
    req.set_listing_id(id);
    return listings_->SubmitListing(As(seller, "SELLER"), req);
  }

  v1::Listing Live(const std::string& seller, const std::string& title = "Peluche ourson brun") {
    v1::Listing l = Create(seller, Plush(title));
    auto s = Submit(seller, l.listing_id());
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s.ok() ? s->state() : v1::LISTING_STATE_UNSPECIFIED, v1::LIVE)
        << (s.ok() ? s->DebugString() : "");
    return s.ok() ? *s : v1::Listing();
  }

  absl::StatusOr<v1::Review> Claim(const std::string& moderator, const std::string& id) {
    v1::ClaimReviewRequest req;
    req.set_listing_id(id);
    return listings_->ClaimReview(As(moderator, "MODERATOR"), req);
  }

  absl::StatusOr<v1::Listing> Decide(const std::string& moderator, const std::string& id,
                                     bool approve) {
    v1::DecideReviewRequest req;
    req.set_listing_id(id);
    req.set_decision(approve ? v1::APPROVE : v1::REJECT_LISTING);
    if (!approve) {
      req.add_reason_codes("MISLEADING_PHOTOS");
      req.set_note("The photos show another item");
    }
    return listings_->DecideReview(As(moderator, "MODERATOR"), req);
  }

  // A moderator's rejection of the listing in review, which they claim first.
  absl::StatusOr<v1::Listing> ClaimAndReject(const std::string& moderator, const std::string& id,
                                             const std::string& code) {
    RETURN_IF_ERROR(Claim(moderator, id).status());
    v1::DecideReviewRequest req;
    req.set_listing_id(id);
    req.set_decision(v1::REJECT_LISTING);
    req.add_reason_codes(code);
    req.set_note("Rejected by a moderator");
    return listings_->DecideReview(As(moderator, "MODERATOR"), req);
  }

  absl::StatusOr<v1::Listing> Withdraw(const std::string& seller, const std::string& id) {
    v1::WithdrawListingRequest req;
    req.set_listing_id(id);
    return listings_->WithdrawListing(As(seller, "SELLER"), req);
  }

  // Reports of kB1, kB2 and kB3 (established buyers): the default threshold of 3 sends a LIVE
  // listing back to review.
  void ReportedByThreeBuyers(const std::string& id) {
    v1::ReportListingRequest r;
    r.set_listing_id(id);
    r.set_reason(v1::COUNTERFEIT);
    bool sent = false;
    for (const std::string& b : {kB1, kB2, kB3}) {
      auto out = listings_->ReportListing(As(b, "BUYER"), r);
      ASSERT_TRUE(out.ok()) << out.status();
      sent = out->sent_to_review();
    }
    ASSERT_TRUE(sent);
  }

  // An established seller kS1's Steiff plush listing, LIVE, then reported by three buyers and
  // rejected COUNTERFEIT by moderator kM1; sets its content and id.
  void RejectedByAModerator(v1::Listing* content, std::string* id) {
    Make(Established());
    *content = Plush("Peluche ourson Teddy édition collector");
    content->set_brand("Steiff");
    *id = Create(kS1, *content).listing_id();
    ASSERT_OK_AND_ASSIGN(v1::Listing live, Submit(kS1, *id));
    ASSERT_EQ(live.state(), v1::LIVE);
    ReportedByThreeBuyers(*id);
    ASSERT_OK_AND_ASSIGN(v1::Listing rejected, ClaimAndReject(kM1, *id, "COUNTERFEIT"));
    ASSERT_EQ(rejected.state(), v1::REJECTED);
  }

  // The reasons of the review queue's entries, oldest first.
  std::vector<v1::ReviewReason> QueueReasons() {
    auto queue = listings_->ListReviewQueue(As(kM1, "MODERATOR"), {});
    EXPECT_TRUE(queue.ok()) << queue.status();
    std::vector<v1::ReviewReason> out;
    if (queue.ok()) {
      for (const v1::Review& r : queue->reviews()) out.push_back(r.reason());
    }
    return out;
  }

  // GetListing without a token: LIVE listings only.
  absl::Status AnonymousGet(const std::string& id) {
    v1::GetListingRequest get;
    get.set_listing_id(id);
    return listings_->GetListing(std::nullopt, get).status();
  }

  int64_t CountRows(const std::string& sql, std::vector<common::db::SqlValue> params) {
    auto rows = pool().Query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  std::vector<v1::ListingState> History(const std::string& seller, const std::string& id) {
    v1::GetModerationHistoryRequest req;
    req.set_listing_id(id);
    auto h = listings_->GetModerationHistory(As(seller, "SELLER"), req);
    EXPECT_TRUE(h.ok()) << h.status();
    std::vector<v1::ListingState> out;
    if (h.ok()) {
      for (const auto& t : h->transitions()) out.push_back(t.to_state());
    }
    return out;
  }

  common::ManualClock clock_;
  common::identity_client::FakeSellerDirectory sellers_;
  FixedReporterDirectory reporters_;
  std::unique_ptr<LiveRules> rules_;
  std::unique_ptr<MysqlListingStore> store_;
  std::unique_ptr<GuardedApi> listings_;
  int request_counter_ = 0;
};

TEST_F(ListingsTest, CleanListingGoesLiveWithHistoryAndEvent) {
  Make(Established());
  v1::Listing draft = Create(kS1, Plush());
  EXPECT_EQ(draft.state(), v1::DRAFT);
  ASSERT_OK_AND_ASSIGN(v1::Listing live, Submit(kS1, draft.listing_id()));
  EXPECT_EQ(live.state(), v1::LIVE);
  EXPECT_THAT(live.reason_codes(), IsEmpty());
  EXPECT_FALSE(live.rules_version().empty());
  EXPECT_THAT(History(kS1, draft.listing_id()), ElementsAre(v1::DRAFT, v1::LIVE));
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = ?",
                      {std::string(kTopicListingApproved)}),
            1);

  // Anonymous readers see it, without moderation details.
  v1::GetListingRequest get;
  get.set_listing_id(draft.listing_id());
  ASSERT_OK_AND_ASSIGN(v1::Listing seen, listings_->GetListing(std::nullopt, get));
  EXPECT_EQ(seen.title(), "Peluche ourson brun 30 cm");
  EXPECT_TRUE(seen.rules_version().empty());
}

TEST_F(ListingsTest, RejectedWithEveryReasonAndEvent) {
  Make(Established());
  v1::Listing l = Plush();
  l.set_description("Peluche ourson, écrivez-moi à vendeur@example.com pour payer moins cher.");
  v1::Listing draft = Create(kS1, l);
  ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, draft.listing_id()));
  EXPECT_EQ(out.state(), v1::REJECTED);
  EXPECT_THAT(std::vector<std::string>(out.reason_codes().begin(), out.reason_codes().end()),
              ::testing::Contains("OFF_PLATFORM_CONTACT"));
  EXPECT_FALSE(out.explanation().empty());
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = ?",
                      {std::string(kTopicListingRejected)}),
            1);
}

TEST_F(ListingsTest, NewSellerGoesToReviewThenModeratorApproves) {
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK_AND_ASSIGN(v1::Listing pending, Submit(kS1, draft.listing_id()));
  EXPECT_EQ(pending.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(pending.reason_codes(), ElementsAre("NEW_SELLER"));

  v1::ListReviewQueueRequest q;
  ASSERT_OK_AND_ASSIGN(auto queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
  ASSERT_EQ(queue.reviews_size(), 1);
  EXPECT_EQ(queue.reviews(0).reason(), v1::RULES);

  // Deciding without a claim is refused.
  EXPECT_EQ(common::ReasonOf(Decide(kM1, draft.listing_id(), true).status()),
            "REVIEW_NOT_CLAIMED");
  ASSERT_OK_AND_ASSIGN(v1::Review claimed, Claim(kM1, draft.listing_id()));
  EXPECT_EQ(claimed.claimed_by(), kM1);
  ASSERT_OK_AND_ASSIGN(v1::Listing live, Decide(kM1, draft.listing_id(), true));
  EXPECT_EQ(live.state(), v1::LIVE);
  EXPECT_THAT(History(kS1, draft.listing_id()),
              ElementsAre(v1::DRAFT, v1::PENDING_REVIEW, v1::LIVE));
  ASSERT_OK_AND_ASSIGN(queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
  EXPECT_EQ(queue.reviews_size(), 0);
}

TEST_F(ListingsTest, OnlyApprovedSellersCreateAndSubmit) {
  sellers_.Set(kS3, false);
  v1::CreateListingRequest req;
  *req.mutable_listing() = Plush();
  req.set_request_id("x1");
  auto created = listings_->CreateListing(As(kS3, "SELLER"), req);
  EXPECT_EQ(common::ReasonOf(created.status()), "SELLER_NOT_APPROVED");
  auto by_buyer = listings_->CreateListing(As(kB1, "BUYER"), req);
  EXPECT_TRUE(absl::IsPermissionDenied(by_buyer.status()));
  EXPECT_TRUE(absl::IsUnauthenticated(listings_->CreateListing(std::nullopt, req).status()));

  v1::Listing draft = Create(kS1, Plush());
  sellers_.Set(kS1, false);  // suspended meanwhile
  EXPECT_EQ(common::ReasonOf(Submit(kS1, draft.listing_id()).status()), "SELLER_NOT_APPROVED");
  sellers_.SetUnavailable(true);
  EXPECT_TRUE(absl::IsUnavailable(Submit(kS1, draft.listing_id()).status()));
}

TEST_F(ListingsTest, CreateIsIdempotentOnRequestId) {
  v1::CreateListingRequest req;
  *req.mutable_listing() = Plush();
  req.set_request_id("same");
  const v1::CreateListingRequest first = req;
  ASSERT_OK_AND_ASSIGN(v1::Listing a, listings_->CreateListing(As(kS1, "SELLER"), req));
  ASSERT_OK_AND_ASSIGN(v1::Listing b, listings_->CreateListing(As(kS1, "SELLER"), req));
  EXPECT_EQ(a.listing_id(), b.listing_id());
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM listings", {}), 1);
  req.mutable_listing()->set_title("Another title entirely");
  EXPECT_EQ(common::ReasonOf(listings_->CreateListing(As(kS1, "SELLER"), req).status()),
            "REQUEST_ID_REUSED");

  // Suspended and no longer approved since: a retry still gets the first result.
  req = first;
  v1::SuspendSellerListingsRequest suspend;
  suspend.set_seller_id(kS1);
  suspend.set_reason_code("SELLER_SUSPENDED");
  ASSERT_OK(listings_->SuspendSellerListings(As(kA1, "ADMIN"), suspend).status());
  sellers_.Set(kS1, false);
  ASSERT_OK_AND_ASSIGN(v1::Listing c, listings_->CreateListing(As(kS1, "SELLER"), req));
  EXPECT_EQ(c.listing_id(), a.listing_id());
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM listings", {}), 1);
  req.set_request_id("new");
  EXPECT_EQ(common::ReasonOf(listings_->CreateListing(As(kS1, "SELLER"), req).status()),
            "SELLER_SUSPENDED");
}

TEST_F(ListingsTest, BadFieldsAreNamedAndNothingIsWritten) {
  v1::CreateListingRequest req;
  v1::Listing l = Plush();
  l.set_title("   ");
  l.clear_image_urls();
  l.add_image_urls("http://insecure.example/a.jpg");
  l.mutable_price()->set_amount_minor(-5);
  *req.mutable_listing() = l;
  req.set_request_id("bad");
  auto out = listings_->CreateListing(As(kS1, "SELLER"), req);
  ASSERT_TRUE(absl::IsInvalidArgument(out.status()));
  std::set<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(out.status())) fields.insert(v.field);
  EXPECT_TRUE(fields.count("listing.title"));
  EXPECT_TRUE(fields.count("listing.image_urls[0]"));
  EXPECT_TRUE(fields.count("listing.price.amount_minor"));
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM listings", {}), 0);

  // An image URL's 2048 characters are code points, not bytes.
  const std::string path(2048 - 8 - 2, 'x');
  l = Plush();
  l.clear_image_urls();
  l.add_image_urls(absl::StrCat("https://", path, "éé"));   // 2048 code points, 2050 bytes
  l.add_image_urls(absl::StrCat("https://", path, "ééé"));  // 2049 code points
  *req.mutable_listing() = l;
  out = listings_->CreateListing(As(kS1, "SELLER"), req);
  ASSERT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
  fields.clear();
  for (const auto& v : common::FieldViolationsOf(out.status())) fields.insert(v.field);
  EXPECT_THAT(fields, ElementsAre("listing.image_urls[1]"));

  // Every bad field at once, the request's own as well as the listing's.
  req.set_request_id("");
  out = listings_->CreateListing(As(kS1, "SELLER"), req);
  fields.clear();
  for (const auto& v : common::FieldViolationsOf(out.status())) fields.insert(v.field);
  EXPECT_THAT(fields, ElementsAre("listing.image_urls[1]", "request_id"));
  v1::ListListingsRequest list;
  list.set_page_size(-1);
  list.set_query(std::string(101, 'q'));
  list.set_seller_id("NOT-AN-ID");
  list.add_states(v1::LISTING_STATE_UNSPECIFIED);
  auto listed = listings_->ListListings(As(kS1, "SELLER"), list);
  fields.clear();
  for (const auto& v : common::FieldViolationsOf(listed.status())) fields.insert(v.field);
  EXPECT_THAT(fields, ElementsAre("page_size", "query", "seller_id", "states"));
  v1::ListReviewQueueRequest queue;
  queue.set_page_size(-1);
  queue.set_reason(static_cast<v1::ReviewReason>(99));
  auto queued = listings_->ListReviewQueue(As(kM1, "MODERATOR"), queue);
  fields.clear();
  for (const auto& v : common::FieldViolationsOf(queued.status())) fields.insert(v.field);
  EXPECT_THAT(fields, ElementsAre("page_size", "reason"));
  v1::AppealDecisionRequest appeal;
  appeal.set_listing_id("lst_x");
  auto appealed = listings_->AppealDecision(As(kS1, "SELLER"), appeal);
  fields.clear();
  for (const auto& v : common::FieldViolationsOf(appealed.status())) fields.insert(v.field);
  EXPECT_THAT(fields, ElementsAre("listing_id", "statement"));
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM listings", {}), 0);
}

TEST_F(ListingsTest, SellerCannotTouchAnothersListing) {
  v1::Listing draft = Create(kS1, Plush());
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(draft.listing_id());
  up.mutable_listing()->set_title("Stolen title here");
  up.mutable_update_mask()->add_paths("title");
  // Someone else's draft answers like a missing listing (AIP-193).
  EXPECT_TRUE(absl::IsNotFound(listings_->UpdateListing(As(kS2, "SELLER"), up).status()));
  EXPECT_TRUE(absl::IsNotFound(Submit(kS2, draft.listing_id()).status()));
  v1::WithdrawListingRequest w;
  w.set_listing_id(draft.listing_id());
  EXPECT_TRUE(absl::IsNotFound(listings_->WithdrawListing(As(kS2, "SELLER"), w).status()));
  v1::GetListingRequest get;
  get.set_listing_id(draft.listing_id());
  ASSERT_OK_AND_ASSIGN(v1::Listing still, listings_->GetListing(As(kS1, "SELLER"), get));
  EXPECT_EQ(still.title(), "Peluche ourson brun 30 cm");
  // The owner may.
  ASSERT_OK_AND_ASSIGN(v1::Listing mine, listings_->UpdateListing(As(kS1, "SELLER"), up));
  EXPECT_EQ(mine.title(), "Stolen title here");
}

TEST_F(ListingsTest, BuyerCannotSeeADraft) {
  v1::Listing draft = Create(kS1, Plush());
  v1::GetListingRequest get;
  get.set_listing_id(draft.listing_id());
  EXPECT_EQ(common::ReasonOf(listings_->GetListing(As(kB1, "BUYER"), get).status()),
            "LISTING_NOT_FOUND");
  EXPECT_TRUE(absl::IsNotFound(listings_->GetListing(std::nullopt, get).status()));
  EXPECT_TRUE(absl::IsNotFound(listings_->GetListing(As(kS2, "SELLER"), get).status()));
  EXPECT_OK(listings_->GetListing(As(kM1, "MODERATOR"), get).status());
  v1::ListListingsRequest list;
  ASSERT_OK_AND_ASSIGN(auto page, listings_->ListListings(As(kB1, "BUYER"), list));
  EXPECT_EQ(page.listings_size(), 0);
  list.add_states(v1::DRAFT);
  EXPECT_TRUE(absl::IsPermissionDenied(listings_->ListListings(As(kB1, "BUYER"), list).status()));
  list.set_seller_id(kS1);
  ASSERT_OK_AND_ASSIGN(page, listings_->ListListings(As(kS1, "SELLER"), list));
  EXPECT_EQ(page.listings_size(), 1);
}

TEST_F(ListingsTest, EditingModeratedFieldsOfALiveListingRunsModerationAgain) {
  Make(Established());
  v1::Listing live = Live(kS1);
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(live.listing_id());
  up.mutable_listing()->set_quantity(9);
  up.mutable_update_mask()->add_paths("quantity");
  ASSERT_OK_AND_ASSIGN(v1::Listing same, listings_->UpdateListing(As(kS1, "SELLER"), up));
  EXPECT_EQ(same.state(), v1::LIVE);
  EXPECT_EQ(same.quantity(), 9);
  // Writing the same attributes again is no change: no new moderation.
  v1::UpdateListingRequest again_same;
  again_same.mutable_listing()->set_listing_id(live.listing_id());
  *again_same.mutable_listing()->mutable_attributes() = live.attributes();
  (*again_same.mutable_listing()->mutable_attributes())["material"] = "coton";
  again_same.mutable_update_mask()->add_paths("attributes");
  ASSERT_OK_AND_ASSIGN(v1::Listing changed,
                       listings_->UpdateListing(As(kS1, "SELLER"), again_same));
  ASSERT_OK_AND_ASSIGN(v1::Listing unchanged,
                       listings_->UpdateListing(As(kS1, "SELLER"), again_same));
  EXPECT_EQ(unchanged.state(), changed.state());
  const size_t transitions = History(kS1, live.listing_id()).size();
  ASSERT_OK(listings_->UpdateListing(As(kS1, "SELLER"), again_same).status());
  EXPECT_EQ(History(kS1, live.listing_id()).size(), transitions);
  // A DRAFT can be edited while identity is unreachable; a LIVE listing's content cannot.
  v1::Listing draft = Create(kS1, Plush("Peluche renard roux"));
  sellers_.SetUnavailable(true);
  v1::UpdateListingRequest draft_edit;
  draft_edit.mutable_listing()->set_listing_id(draft.listing_id());
  draft_edit.mutable_listing()->set_title("Peluche renard orange");
  draft_edit.mutable_update_mask()->add_paths("title");
  EXPECT_OK(listings_->UpdateListing(As(kS1, "SELLER"), draft_edit).status());
  sellers_.SetUnavailable(false);

  up.mutable_listing()->set_description(
      "Peluche toute douce. Appelez le 06 12 34 56 78 ou "
      "WhatsApp pour en discuter directement.");
  up.mutable_update_mask()->add_paths("description");
  ASSERT_OK_AND_ASSIGN(v1::Listing again, listings_->UpdateListing(As(kS1, "SELLER"), up));
  EXPECT_NE(again.state(), v1::LIVE);
  EXPECT_THAT(std::vector<std::string>(again.reason_codes().begin(), again.reason_codes().end()),
              ::testing::Contains("OFF_PLATFORM_CONTACT"));
  // While under review, the seller cannot edit.
  if (again.state() == v1::PENDING_REVIEW) {
    EXPECT_EQ(common::ReasonOf(listings_->UpdateListing(As(kS1, "SELLER"), up).status()),
              "INVALID_STATE");
  }
}

TEST_F(ListingsTest, ModeratorCannotClaimAClaimedReviewUntilTheClaimExpires) {
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK(Submit(kS1, draft.listing_id()).status());
  ASSERT_OK(Claim(kM1, draft.listing_id()).status());
  EXPECT_EQ(common::ReasonOf(Claim(kM2, draft.listing_id()).status()), "REVIEW_ALREADY_CLAIMED");
  EXPECT_EQ(common::ReasonOf(Decide(kM2, draft.listing_id(), true).status()),
            "REVIEW_NOT_CLAIMED");
  v1::ListReviewQueueRequest q;
  q.set_unclaimed_only(true);
  ASSERT_OK_AND_ASSIGN(auto queue, listings_->ListReviewQueue(As(kM2, "MODERATOR"), q));
  EXPECT_EQ(queue.reviews_size(), 0);

  clock_.Advance(listings_->options().claim_timeout + absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(queue, listings_->ListReviewQueue(As(kM2, "MODERATOR"), q));
  EXPECT_EQ(queue.reviews_size(), 1);
  ASSERT_OK_AND_ASSIGN(v1::Review taken, Claim(kM2, draft.listing_id()));
  EXPECT_EQ(taken.claimed_by(), kM2);
  // m1's claim is gone: it can no longer decide.
  EXPECT_EQ(common::ReasonOf(Decide(kM1, draft.listing_id(), true).status()),
            "REVIEW_NOT_CLAIMED");
  EXPECT_OK(Decide(kM2, draft.listing_id(), false).status());
  // Buyers and sellers have no access to the queue.
  EXPECT_TRUE(absl::IsPermissionDenied(
      listings_->ListReviewQueue(As(kB1, "BUYER"), v1::ListReviewQueueRequest()).status()));
  v1::ClaimReviewRequest c;
  c.set_listing_id(draft.listing_id());
  EXPECT_TRUE(absl::IsPermissionDenied(listings_->ClaimReview(As(kS1, "SELLER"), c).status()));
}

TEST_F(ListingsTest, ConcurrentClaimsHaveOneWinner) {
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK(Submit(kS1, draft.listing_id()).status());
  std::vector<std::thread> threads;
  std::atomic<int> wins{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = Claim(absl::StrCat("a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", i), draft.listing_id());
      if (r.ok()) ++wins;
      if (common::ReasonOf(r.status()) == "REVIEW_ALREADY_CLAIMED") ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST_F(ListingsTest, ReportsThresholdSendsListingBackToReview) {
  ListingsOptions o = Established();
  o.report_threshold = 3;
  Make(o);
  v1::Listing live = Live(kS1);
  v1::ReportListingRequest r;
  r.set_listing_id(live.listing_id());
  r.set_reason(v1::COUNTERFEIT);
  ASSERT_OK_AND_ASSIGN(auto first, listings_->ReportListing(As(kB1, "BUYER"), r));
  EXPECT_EQ(first.open_reports(), 1);
  EXPECT_EQ(common::ReasonOf(listings_->ReportListing(As(kB1, "BUYER"), r).status()),
            "ALREADY_REPORTED");
  EXPECT_TRUE(absl::IsPermissionDenied(listings_->ReportListing(As(kS2, "SELLER"), r).status()));
  ASSERT_OK_AND_ASSIGN(auto second, listings_->ReportListing(As(kB2, "BUYER"), r));
  EXPECT_FALSE(second.sent_to_review());
  ASSERT_OK_AND_ASSIGN(auto third, listings_->ReportListing(As(kB3, "BUYER"), r));
  EXPECT_TRUE(third.sent_to_review());
  EXPECT_EQ(third.open_reports(), 3);

  v1::GetListingRequest get;
  get.set_listing_id(live.listing_id());
  EXPECT_TRUE(absl::IsNotFound(listings_->GetListing(As(kB1, "BUYER"), get).status()));
  v1::ListReviewQueueRequest q;
  q.set_reason(v1::REPORTS);
  ASSERT_OK_AND_ASSIGN(auto queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
  ASSERT_EQ(queue.reviews_size(), 1);
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = ?",
                      {std::string(kTopicListingReported)}),
            3);
  // The moderator keeps it: reports are closed, it is LIVE again.
  ASSERT_OK(Claim(kM1, live.listing_id()).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing back, Decide(kM1, live.listing_id(), true));
  EXPECT_EQ(back.state(), v1::LIVE);
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM reports WHERE is_open", {}), 0);
}

TEST_F(ListingsTest, AppealOncePerDecision) {
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK(Submit(kS1, draft.listing_id()).status());
  v1::AppealDecisionRequest early;
  early.set_listing_id(draft.listing_id());
  early.set_statement("Nothing was decided yet.");
  // In review for the rules, not for an appeal: nothing to appeal yet.
  absl::Status not_rejected = listings_->AppealDecision(As(kS1, "SELLER"), early).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(not_rejected)) << not_rejected;
  EXPECT_EQ(common::ReasonOf(not_rejected), "INVALID_STATE");
  ASSERT_OK(Claim(kM1, draft.listing_id()).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing rejected, Decide(kM1, draft.listing_id(), false));
  EXPECT_EQ(rejected.state(), v1::REJECTED);
  EXPECT_THAT(rejected.reason_codes(), ElementsAre("MISLEADING_PHOTOS"));

  v1::AppealDecisionRequest a;
  a.set_listing_id(draft.listing_id());
  a.set_statement("The photos are of this very bear; see the label.");
  EXPECT_TRUE(absl::IsNotFound(listings_->AppealDecision(As(kS2, "SELLER"), a).status()));
  ASSERT_OK_AND_ASSIGN(v1::Listing appealed, listings_->AppealDecision(As(kS1, "SELLER"), a));
  EXPECT_EQ(appealed.state(), v1::PENDING_REVIEW);
  v1::ListReviewQueueRequest q;
  q.set_reason(v1::APPEAL);
  ASSERT_OK_AND_ASSIGN(auto queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
  ASSERT_EQ(queue.reviews_size(), 1);
  EXPECT_EQ(queue.reviews(0).appeal_statement(), a.statement());

  // Rejected again: a new decision, which may be appealed once more, but only once.
  ASSERT_OK(Claim(kM2, draft.listing_id()).status());
  ASSERT_OK(Decide(kM2, draft.listing_id(), false).status());
  ASSERT_OK(listings_->AppealDecision(As(kS1, "SELLER"), a).status());
  ASSERT_OK(Claim(kM2, draft.listing_id()).status());
  ASSERT_OK(Decide(kM2, draft.listing_id(), false).status());
  ASSERT_OK(listings_->AppealDecision(As(kS1, "SELLER"), a).status());
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM appeals", {}), 3);

  // A second appeal of one decision, while the listing is in review for the first, is
  // ALREADY_EXISTS ALREADY_APPEALED; nothing changes.
  absl::Status again = listings_->AppealDecision(As(kS1, "SELLER"), a).status();
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(common::ReasonOf(again), "ALREADY_APPEALED");
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM appeals", {}), 3);
  ASSERT_OK_AND_ASSIGN(queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
  ASSERT_EQ(queue.reviews_size(), 1);

  // Approved after the appeal: LIVE, nothing to appeal.
  ASSERT_OK(Claim(kM2, draft.listing_id()).status());
  ASSERT_OK(Decide(kM2, draft.listing_id(), true).status());
  again = listings_->AppealDecision(As(kS1, "SELLER"), a).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_EQ(common::ReasonOf(again), "INVALID_STATE");
}

TEST_F(ListingsTest, SuspendAndRestoreSellerListings) {
  Make(Established());
  v1::Listing live = Live(kS1, "Peluche ourson brun");
  v1::Listing other = Live(kS1, "Poupée de chiffon rouge");
  v1::Listing pending = Create(kS1, Plush("Peluche lapin blanc"));
  ASSERT_OK(pool().Execute(
      "INSERT INTO seller_moderation (seller_id, level, authorized_brands, updated_by, "
      "updated_at) VALUES (?, 'AT_RISK', '', ?, NOW())",
      {kS1, kM1}));
  ASSERT_OK_AND_ASSIGN(v1::Listing p, Submit(kS1, pending.listing_id()));
  ASSERT_EQ(p.state(), v1::PENDING_REVIEW);
  v1::Listing draft = Create(kS1, Plush("Peluche chat gris"));
  v1::Listing foreign = Live(kS2, "Peluche ourson de s2");
  ASSERT_OK(Claim(kM1, pending.listing_id()).status());

  v1::SuspendSellerListingsRequest s;
  s.set_seller_id(kS1);
  s.set_reason_code("SELLER_SUSPENDED");
  EXPECT_TRUE(
      absl::IsPermissionDenied(listings_->SuspendSellerListings(As(kS1, "SELLER"), s).status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(listings_->SuspendSellerListings(As(kSVC, "SERVICE"), s).status()));
  ASSERT_OK_AND_ASSIGN(auto suspended, listings_->SuspendSellerListings(
                                           As(kSVC, "SERVICE", {"catalog.enforcement"}), s));
  EXPECT_EQ(suspended.suspended(), 4);  // the draft too
  ASSERT_OK_AND_ASSIGN(auto again, listings_->SuspendSellerListings(As(kA1, "ADMIN"), s));
  EXPECT_EQ(again.suspended(), 0);
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = ?",
                      {std::string(kTopicListingSuspended)}),
            4);

  v1::ListListingsRequest list;
  ASSERT_OK_AND_ASSIGN(auto page, listings_->ListListings(std::nullopt, list));
  ASSERT_EQ(page.listings_size(), 1);
  EXPECT_EQ(page.listings(0).listing_id(), foreign.listing_id());
  ASSERT_OK_AND_ASSIGN(auto queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), {}));
  EXPECT_EQ(queue.reviews_size(), 0);
  // The moderator holding the review learns why it cannot be decided; a listing that was not
  // in review stays "no such review".
  absl::Status decided = Decide(kM1, pending.listing_id(), true).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(decided)) << decided;
  EXPECT_EQ(common::ReasonOf(decided), "SELLER_SUSPENDED");
  decided = Decide(kM1, live.listing_id(), true).status();
  EXPECT_TRUE(absl::IsNotFound(decided)) << decided;
  EXPECT_EQ(common::ReasonOf(decided), "REVIEW_NOT_FOUND");

  v1::RestoreSellerListingsRequest r;
  r.set_seller_id(kS1);
  ASSERT_OK_AND_ASSIGN(auto restored, listings_->RestoreSellerListings(As(kM1, "MODERATOR"), r));
  EXPECT_EQ(restored.restored(), 4);
  v1::GetListingRequest get;
  get.set_listing_id(live.listing_id());
  ASSERT_OK_AND_ASSIGN(v1::Listing back, listings_->GetListing(std::nullopt, get));
  EXPECT_EQ(back.state(), v1::LIVE);
  get.set_listing_id(pending.listing_id());
  ASSERT_OK_AND_ASSIGN(back, listings_->GetListing(As(kS1, "SELLER"), get));
  EXPECT_EQ(back.state(), v1::PENDING_REVIEW);
  get.set_listing_id(draft.listing_id());
  ASSERT_OK_AND_ASSIGN(back, listings_->GetListing(As(kS1, "SELLER"), get));
  EXPECT_EQ(back.state(), v1::DRAFT);
  ASSERT_OK_AND_ASSIGN(queue, listings_->ListReviewQueue(As(kM1, "MODERATOR"), {}));
  EXPECT_EQ(queue.reviews_size(), 1);
  EXPECT_THAT(History(kS1, live.listing_id()),
              ElementsAre(v1::DRAFT, v1::LIVE, v1::SUSPENDED, v1::LIVE));
}

TEST_F(ListingsTest, PaginationIsStableAndFiltersWork) {
  Make(Established());
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(
        Live(i % 2 ? kS1 : kS2, "Peluche ourson numéro " + std::to_string(i)).listing_id());
  }
  v1::ListListingsRequest list;
  list.set_page_size(3);
  std::vector<std::string> seen;
  for (int pages = 0; pages < 5; ++pages) {
    ASSERT_OK_AND_ASSIGN(auto page, listings_->ListListings(std::nullopt, list));
    for (const auto& l : page.listings()) seen.push_back(l.listing_id());
    if (pages == 0) {
      // A listing created between pages does not shift the next pages.
      Live(kS1, "Peluche ourson tardif");
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);

  // A token only works with the filters it was made for.
  list.set_page_token("");
  ASSERT_OK_AND_ASSIGN(auto first, listings_->ListListings(std::nullopt, list));
  list.set_page_token(first.next_page_token());
  list.set_seller_id(kS1);
  EXPECT_TRUE(absl::IsInvalidArgument(listings_->ListListings(std::nullopt, list).status()));

  v1::ListListingsRequest by_text;
  by_text.set_query("NUMERO 3");
  ASSERT_OK_AND_ASSIGN(auto found, listings_->ListListings(std::nullopt, by_text));
  ASSERT_EQ(found.listings_size(), 1);
  EXPECT_EQ(found.listings(0).listing_id(), ids[3]);

  v1::ListListingsRequest by_category;
  by_category.set_category_id("toys-children");
  ASSERT_OK_AND_ASSIGN(auto toys, listings_->ListListings(std::nullopt, by_category));
  EXPECT_EQ(toys.listings_size(), 8);  // toys-plush is under toys-children
  by_category.set_category_id("no-such-category");
  EXPECT_EQ(common::ReasonOf(listings_->ListListings(std::nullopt, by_category).status()),
            "CATEGORY_NOT_FOUND");
}

TEST_F(ListingsTest, WithdrawLeavesTheQueueAndResubmissionResumesTheReview) {
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK(Submit(kS1, draft.listing_id()).status());
  v1::WithdrawListingRequest w;
  w.set_listing_id(draft.listing_id());
  ASSERT_OK_AND_ASSIGN(v1::Listing out, listings_->WithdrawListing(As(kS1, "SELLER"), w));
  EXPECT_EQ(out.state(), v1::WITHDRAWN);
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM review_queue", {}), 0);
  EXPECT_EQ(common::ReasonOf(listings_->WithdrawListing(As(kS1, "SELLER"), w).status()),
            "INVALID_STATE");
  // Withdrawn while waiting for a human: submitted again, it waits for a human again, even
  // though the rules would now pass it (the seller no longer needs the new-seller review).
  Make(Established());
  ASSERT_OK_AND_ASSIGN(v1::Listing again, Submit(kS1, draft.listing_id()));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(again.reason_codes(), ElementsAre("WITHDRAWN_FROM_REVIEW"));
  EXPECT_THAT(QueueReasons(), ElementsAre(v1::RULES));

  // A listing withdrawn while LIVE is submitted to the rules alone.
  v1::Listing live = Live(kS1, "Poupée de chiffon rouge");
  ASSERT_OK(Withdraw(kS1, live.listing_id()).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing relisted, Submit(kS1, live.listing_id()));
  EXPECT_EQ(relisted.state(), v1::LIVE);
}

// The rules never overturn a moderator's rejection.
TEST_F(ListingsTest, ResubmittingAfterAModeratorsRejectionGoesToHumanReview) {
  Make(Established());
  const std::string id = Live(kS1).listing_id();
  ReportedByThreeBuyers(id);
  ASSERT_OK_AND_ASSIGN(v1::Listing rejected, ClaimAndReject(kM1, id, "COUNTERFEIT"));
  ASSERT_EQ(rejected.state(), v1::REJECTED);

  // Unchanged, the rules pass it; but only a human may put it back on sale.
  ASSERT_OK_AND_ASSIGN(v1::Listing again, Submit(kS1, id));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(again.reason_codes(), ElementsAre("REJECTED_BY_MODERATOR"));
  EXPECT_TRUE(absl::IsNotFound(AnonymousGet(id)));
  // The review buyers' reports asked for, again.
  EXPECT_THAT(QueueReasons(), ElementsAre(v1::REPORTS));

  // Rejected again; a rules rejection in between (a phone number added, then removed) does not
  // make the rules the judge again.
  ASSERT_OK(ClaimAndReject(kM1, id, "COUNTERFEIT").status());
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(id);
  up.mutable_listing()->set_description(
      "Peluche toute douce. Appelez le 06 12 34 56 78 pour en discuter directement.");
  up.mutable_update_mask()->add_paths("description");
  ASSERT_OK(listings_->UpdateListing(As(kS1, "SELLER"), up).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing by_rules, Submit(kS1, id));
  EXPECT_EQ(by_rules.state(), v1::REJECTED);
  EXPECT_THAT(by_rules.reason_codes(), Contains("OFF_PLATFORM_CONTACT"));
  up.mutable_listing()->set_description(
      "Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
  ASSERT_OK(listings_->UpdateListing(As(kS1, "SELLER"), up).status());
  ASSERT_OK_AND_ASSIGN(again, Submit(kS1, id));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(again.reason_codes(), ElementsAre("REJECTED_BY_MODERATOR"));
  EXPECT_TRUE(absl::IsNotFound(AnonymousGet(id)));

  // A moderator approves: LIVE; from then on the rules decide a resubmission again.
  ASSERT_OK(Claim(kM1, id).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing approved, Decide(kM1, id, true));
  EXPECT_EQ(approved.state(), v1::LIVE);
  ASSERT_OK(Withdraw(kS1, id).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing relisted, Submit(kS1, id));
  EXPECT_EQ(relisted.state(), v1::LIVE);
}

// Buyers see the brand and every attribute as the seller wrote them: the rules read them,
// the "condition" attribute included (the condition field decides new-ness, not the text).
TEST_F(ListingsTest, TheBrandAndTheAttributesBuyersSeeAreModerated) {
  Make(Established());
  struct Case {
    const char* title;
    const char* brand;
    const char* key;
    const char* value;
    const char* reason;
  };
  const Case cases[] = {
      {"Peluche ourson marron", "", "contact", "whatsapp 06 12 34 56 78 ou jean.dupont@gmail.com",
       "OFF_PLATFORM_CONTACT"},
      {"Peluche lapin gris", "", "age_range", "0+ cocaine", "PROHIBITED_PRODUCT"},
      {"Peluche renard roux", "Rolex replica AAA 1:1", "age_range", "0+", "COUNTERFEIT_ADMITTED"},
      {"Peluche chat tigré", "", "condition", "neuf, appelez le 06 12 34 56 78",
       "OFF_PLATFORM_CONTACT"},
  };
  for (const Case& c : cases) {
    v1::Listing l = Plush(c.title);
    l.set_brand(c.brand);
    (*l.mutable_attributes())[c.key] = c.value;
    ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, Create(kS1, l).listing_id()));
    EXPECT_EQ(out.state(), v1::REJECTED) << c.title;
    EXPECT_THAT(out.reason_codes(), Contains(c.reason)) << c.title;
  }
  // Sizes, codes and dimensions, each its own attribute, are no phone number.
  v1::Listing l = Plush("Peluche ours polaire");
  l.set_brand("Steiff");
  (*l.mutable_attributes())["ean"] = "4001505012345";
  (*l.mutable_attributes())["height_cm"] = "30";
  (*l.mutable_attributes())["dimensions"] = "30 x 20 x 15 cm";
  (*l.mutable_attributes())["reference"] = "012345";
  (*l.mutable_attributes())["weight_g"] = "450";
  ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, Create(kS1, l).listing_id()));
  EXPECT_EQ(out.state(), v1::LIVE) << out.explanation();
}

// A seller's suspension and the restore after it decide nothing: the appeal of a restored
// REJECTED listing is the appeal of the decision that rejected it, once.
TEST_F(ListingsTest, ARestoreAfterASuspensionIsNoDecisionToAppeal) {
  Make(Established());
  const std::string id = Live(kS1).listing_id();
  ReportedByThreeBuyers(id);
  ASSERT_OK_AND_ASSIGN(v1::Listing rejected, ClaimAndReject(kM1, id, "COUNTERFEIT"));
  ASSERT_EQ(rejected.state(), v1::REJECTED);
  const std::string decision_sql =
      absl::StrCat("SELECT id AS n FROM listing_transitions WHERE listing_id = '", id,
                   "' AND from_state = 'PENDING_REVIEW' AND to_state = 'REJECTED'");
  const int64_t decision = CountRows(decision_sql, {});

  // Twice suspended and restored: two transitions to REJECTED, neither a decision.
  v1::SuspendSellerListingsRequest suspend;
  suspend.set_seller_id(kS1);
  suspend.set_reason_code("SELLER_SUSPENDED");
  v1::RestoreSellerListingsRequest restore;
  restore.set_seller_id(kS1);
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(listings_->SuspendSellerListings(As(kA1, "ADMIN"), suspend).status());
    ASSERT_OK(listings_->RestoreSellerListings(As(kA1, "ADMIN"), restore).status());
  }
  EXPECT_THAT(History(kS1, id),
              ElementsAre(v1::DRAFT, v1::LIVE, v1::PENDING_REVIEW, v1::REJECTED, v1::SUSPENDED,
                          v1::REJECTED, v1::SUSPENDED, v1::REJECTED));

  // The appeal is the moderator's decision's, as it would have been without the suspension.
  v1::AppealDecisionRequest a;
  a.set_listing_id(id);
  a.set_statement("This bear is genuine; the invoice is in the photos.");
  ASSERT_OK_AND_ASSIGN(v1::Listing appealed, listings_->AppealDecision(As(kS1, "SELLER"), a));
  EXPECT_EQ(appealed.state(), v1::PENDING_REVIEW);
  EXPECT_EQ(CountRows("SELECT decision_id AS n FROM appeals", {}), decision);
  absl::Status again = listings_->AppealDecision(As(kS1, "SELLER"), a).status();
  EXPECT_EQ(common::ReasonOf(again), "ALREADY_APPEALED");

  // Suspended and restored while in review for the appeal: still that appeal's review.
  ASSERT_OK(listings_->SuspendSellerListings(As(kA1, "ADMIN"), suspend).status());
  ASSERT_OK(listings_->RestoreSellerListings(As(kA1, "ADMIN"), restore).status());
  again = listings_->AppealDecision(As(kS1, "SELLER"), a).status();
  EXPECT_EQ(common::ReasonOf(again), "ALREADY_APPEALED");
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM appeals", {}), 1);
}

// A copy of a listing a moderator rejected does not get past the moderator's verdict: a new
// listing repeating it goes to a moderator, as resubmitting the rejected listing would.
TEST_F(ListingsTest, ACopyOfAListingAModeratorRejectedGoesToAModerator) {
  v1::Listing content;
  std::string rejected_id;
  ASSERT_NO_FATAL_FAILURE(RejectedByAModerator(&content, &rejected_id));

  // The same title, description and brand in a new listing: PENDING_REVIEW, not LIVE.
  const std::string copy_id = Create(kS1, content).listing_id();
  ASSERT_OK_AND_ASSIGN(v1::Listing copy, Submit(kS1, copy_id));
  EXPECT_EQ(copy.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(copy.reason_codes(), ElementsAre("COPY_OF_REJECTED_LISTING"));
  EXPECT_THAT(copy.explanation(), ::testing::HasSubstr(rejected_id));
  EXPECT_TRUE(absl::IsNotFound(AnonymousGet(copy_id)));
  EXPECT_THAT(QueueReasons(), ElementsAre(v1::RULES));

  // A clearly different listing of the seller still goes LIVE.
  Live(kS1, "Poupée de chiffon rouge");

  // Withdrawn, the rejected listing is still compared with; a reworded copy too.
  ASSERT_OK(Withdraw(kS1, rejected_id).status());
  ASSERT_OK(Withdraw(kS1, copy_id).status());
  v1::Listing reworded = content;
  reworded.set_title(absl::StrCat(content.title(), " - prix en baisse"));
  ASSERT_OK_AND_ASSIGN(v1::Listing again, Submit(kS1, Create(kS1, reworded).listing_id()));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(again.reason_codes(), ElementsAre("COPY_OF_REJECTED_LISTING"));
  ASSERT_OK(Withdraw(kS1, again.listing_id()).status());

  // Once a moderator approves the rejected listing, its copies are the rules' again (here the
  // duplicate rule's, as it is LIVE).
  ASSERT_OK_AND_ASSIGN(v1::Listing resubmitted, Submit(kS1, rejected_id));
  ASSERT_EQ(resubmitted.state(), v1::PENDING_REVIEW);
  ASSERT_OK(Claim(kM1, rejected_id).status());
  ASSERT_OK_AND_ASSIGN(v1::Listing approved, Decide(kM1, rejected_id, true));
  ASSERT_EQ(approved.state(), v1::LIVE);
  ASSERT_OK_AND_ASSIGN(v1::Listing third, Submit(kS1, Create(kS1, content).listing_id()));
  EXPECT_EQ(third.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(third.reason_codes(), ElementsAre("DUPLICATE_LISTING"));
}

// The copy rule compares with the content the moderator rejected, not with the rejected
// listing as edited since: editing it away does not free its text for a new listing.
TEST_F(ListingsTest, EditingARejectedListingDoesNotFreeItsTextForACopy) {
  v1::Listing content;
  std::string rejected_id;
  ASSERT_NO_FATAL_FAILURE(RejectedByAModerator(&content, &rejected_id));

  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(rejected_id);
  up.mutable_listing()->set_title("Poupée de chiffon rouge faite main");
  up.mutable_listing()->set_description(
      "Poupée en tissu rouge cousue à la main, robe amovible, cheveux en laine.");
  up.mutable_update_mask()->add_paths("title");
  up.mutable_update_mask()->add_paths("description");
  ASSERT_OK_AND_ASSIGN(v1::Listing edited, listings_->UpdateListing(As(kS1, "SELLER"), up));
  ASSERT_EQ(edited.title(), "Poupée de chiffon rouge faite main");

  ASSERT_OK_AND_ASSIGN(v1::Listing copy, Submit(kS1, Create(kS1, content).listing_id()));
  EXPECT_EQ(copy.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(copy.reason_codes(), ElementsAre("COPY_OF_REJECTED_LISTING"));
}

// Withdrawing does not skip a pending human review.
TEST_F(ListingsTest, WithdrawingDuringAReportsReviewDoesNotSkipIt) {
  Make(Established());
  const std::string id = Live(kS1).listing_id();
  ReportedByThreeBuyers(id);
  ASSERT_OK_AND_ASSIGN(v1::Listing withdrawn, Withdraw(kS1, id));
  EXPECT_EQ(withdrawn.state(), v1::WITHDRAWN);
  EXPECT_THAT(QueueReasons(), IsEmpty());
  // The reports stay open for the moderator who decides.
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM reports WHERE is_open", {}), 3);

  ASSERT_OK_AND_ASSIGN(v1::Listing again, Submit(kS1, id));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(again.reason_codes(), ElementsAre("WITHDRAWN_FROM_REVIEW"));
  EXPECT_TRUE(absl::IsNotFound(AnonymousGet(id)));
  EXPECT_THAT(QueueReasons(), ElementsAre(v1::REPORTS));

  // The same when the withdrawal follows a resubmission that went back to review.
  ASSERT_OK(Withdraw(kS1, id).status());
  ASSERT_OK_AND_ASSIGN(again, Submit(kS1, id));
  EXPECT_EQ(again.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(QueueReasons(), ElementsAre(v1::REPORTS));

  ASSERT_OK_AND_ASSIGN(v1::Listing rejected, ClaimAndReject(kM1, id, "COUNTERFEIT"));
  EXPECT_EQ(rejected.state(), v1::REJECTED);
  EXPECT_EQ(CountRows("SELECT COUNT(*) AS n FROM reports WHERE is_open", {}), 0);
}

// Throwaway listings the rules reject do not make a seller established.
TEST_F(ListingsTest, OnlyListingsThatWentLiveCountTowardLeavingTheNewSellerReview) {
  // The rules file's threshold: 3 listings.
  for (int i = 0; i < 3; ++i) {
    v1::Listing junk = Plush("Peluche jetable " + std::to_string(i));
    junk.set_description("Peluche, écrivez-moi à vendeur@example.com pour payer moins cher.");
    ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, Create(kS1, junk).listing_id()));
    ASSERT_EQ(out.state(), v1::REJECTED);
  }
  const std::vector<std::string> titles = {"Peluche ourson brun", "Poupée de chiffon rouge",
                                           "Peluche lapin blanc", "Peluche chat gris",
                                           "Peluche renard roux"};
  std::vector<std::string> ids;
  for (const std::string& title : titles) {
    ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, Create(kS1, Plush(title)).listing_id()));
    if (ids.size() < 4) {
      EXPECT_EQ(out.state(), v1::PENDING_REVIEW) << title;
      EXPECT_THAT(out.reason_codes(), ElementsAre("NEW_SELLER")) << title;
    } else {
      // Three approved listings, whatever was rejected.
      EXPECT_EQ(out.state(), v1::LIVE) << title;
    }
    ids.push_back(out.listing_id());
    if (ids.size() == 2) {
      // A moderator's rejection does not count either.
      ASSERT_OK(ClaimAndReject(kM1, out.listing_id(), "MISLEADING_PHOTOS").status());
    } else if (out.state() == v1::PENDING_REVIEW) {
      ASSERT_OK(Claim(kM1, out.listing_id()).status());
      ASSERT_OK(Decide(kM1, out.listing_id(), true).status());
    }
  }
}

// The condition buyers see, the typed field, decides whether an item is new.
TEST_F(ListingsTest, TheConditionFieldDecidesWhetherAnItemIsNewNotTheAttribute) {
  Make(Established());
  v1::Listing phone;
  phone.set_title("iPhone 15 Pro 256 Go titane naturel");
  phone.set_description("iPhone 15 Pro avec boîte, câble USB-C et facture, aucune rayure visible.");
  phone.set_category_id("phones");
  phone.set_brand("Apple");
  phone.set_condition(v1::NEW);
  phone.mutable_price()->set_currency_code("EUR");
  phone.mutable_price()->set_amount_minor(90000);
  phone.set_quantity(1);
  phone.add_image_urls("https://img.example/phone.jpg");
  (*phone.mutable_attributes())["storage"] = "256 Go";
  // NEW in the field, "used" in the attribute: new, so Apple's authorisation is needed.
  (*phone.mutable_attributes())["condition"] = "used";
  ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, Create(kS1, phone).listing_id()));
  EXPECT_EQ(out.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(out.reason_codes(), ElementsAre("BRAND_AUTHORIZATION_REQUIRED"));
  EXPECT_TRUE(absl::IsNotFound(AnonymousGet(out.listing_id())));

  // USED_GOOD in the field, "new" in the attribute: used, not gated.
  phone.set_condition(v1::USED_GOOD);
  (*phone.mutable_attributes())["condition"] = "new";
  ASSERT_OK_AND_ASSIGN(out, Submit(kS2, Create(kS2, phone).listing_id()));
  EXPECT_EQ(out.state(), v1::LIVE);
  EXPECT_THAT(out.reason_codes(), IsEmpty());

  // A LIVE listing whose field changes to NEW is moderated again on the field.
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(out.listing_id());
  up.mutable_listing()->set_condition(v1::NEW);
  up.mutable_update_mask()->add_paths("condition");
  ASSERT_OK_AND_ASSIGN(v1::Listing updated, listings_->UpdateListing(As(kS2, "SELLER"), up));
  EXPECT_EQ(updated.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(updated.reason_codes(), ElementsAre("BRAND_AUTHORIZATION_REQUIRED"));
}

TEST_F(ListingsTest, SellerModerationLevelAtRiskSendsToReview) {
  Make(Established());
  v1::SetSellerModerationLevelRequest req;
  req.set_seller_id(kS1);
  req.set_level(v1::AT_RISK);
  EXPECT_TRUE(absl::IsPermissionDenied(
      listings_->SetSellerModerationLevel(As(kS1, "SELLER"), req).status()));
  ASSERT_OK(listings_->SetSellerModerationLevel(As(kM1, "MODERATOR"), req).status());
  v1::Listing draft = Create(kS1, Plush());
  ASSERT_OK_AND_ASSIGN(v1::Listing out, Submit(kS1, draft.listing_id()));
  EXPECT_EQ(out.state(), v1::PENDING_REVIEW);
  EXPECT_THAT(out.reason_codes(), ElementsAre("SELLER_AT_RISK"));
}

TEST_F(ListingsTest, ModerationLevelMaskKeepsBrandsAndCanBeReadBack) {
  Make(Established());
  const Caller enforcer = As(kSVC, "SERVICE", {"catalog.enforcement"});
  v1::GetSellerModerationLevelRequest get;
  get.set_seller_id(kS1);
  // Never set: STANDARD, no brands, no author.
  ASSERT_OK_AND_ASSIGN(v1::SellerModeration fresh,
                       listings_->GetSellerModerationLevel(enforcer, get));
  EXPECT_EQ(fresh.level(), v1::STANDARD);
  EXPECT_THAT(fresh.authorized_brands(), IsEmpty());
  EXPECT_EQ(fresh.updated_by(), "");
  EXPECT_FALSE(fresh.has_updated_at());

  // Staff sets both (empty mask).
  v1::SetSellerModerationLevelRequest both;
  both.set_seller_id(kS1);
  both.set_level(v1::TRUSTED);
  both.add_authorized_brands("Acme");
  both.add_authorized_brands("Globex");
  ASSERT_OK(listings_->SetSellerModerationLevel(As(kA1, "ADMIN"), both).status());

  // The enforcement service changes the level only: the brands stay.
  v1::SetSellerModerationLevelRequest level;
  level.set_seller_id(kS1);
  level.set_level(v1::AT_RISK);
  level.add_authorized_brands("Ignored");  // not in the mask
  level.mutable_update_mask()->add_paths("level");
  ASSERT_OK_AND_ASSIGN(v1::SellerModeration set,
                       listings_->SetSellerModerationLevel(enforcer, level));
  EXPECT_EQ(set.level(), v1::AT_RISK);
  EXPECT_THAT(set.authorized_brands(), ElementsAre("Acme", "Globex"));
  EXPECT_EQ(set.updated_by(), kSVC);
  ASSERT_OK_AND_ASSIGN(v1::SellerModeration read,
                       listings_->GetSellerModerationLevel(As(kM1, "MODERATOR"), get));
  EXPECT_EQ(read.level(), v1::AT_RISK);
  EXPECT_THAT(read.authorized_brands(), ElementsAre("Acme", "Globex"));
  EXPECT_TRUE(read.has_updated_at());

  // Brands only: the level stays.
  v1::SetSellerModerationLevelRequest brands;
  brands.set_seller_id(kS1);
  brands.add_authorized_brands("Initech");
  brands.mutable_update_mask()->add_paths("authorized_brands");
  ASSERT_OK_AND_ASSIGN(v1::SellerModeration b,
                       listings_->SetSellerModerationLevel(As(kM1, "MODERATOR"), brands));
  EXPECT_EQ(b.level(), v1::AT_RISK);
  EXPECT_THAT(b.authorized_brands(), ElementsAre("Initech"));

  // Bad input: named, nothing changed.
  v1::SetSellerModerationLevelRequest bad = level;
  bad.set_level(v1::TRUSTED);
  bad.mutable_update_mask()->add_paths("reason");
  auto refused = listings_->SetSellerModerationLevel(enforcer, bad);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  ASSERT_EQ(common::FieldViolationsOf(refused.status()).size(), 1u);
  EXPECT_EQ(common::FieldViolationsOf(refused.status())[0].field, "update_mask");
  v1::SetSellerModerationLevelRequest no_level;
  no_level.set_seller_id(kS1);
  no_level.mutable_update_mask()->add_paths("level");
  EXPECT_EQ(common::FieldViolationsOf(
                listings_->SetSellerModerationLevel(enforcer, no_level).status())[0].field,
            "level");
  for (const char* name : {"Acme\nGlobex", "Acme\rGlobex"}) {  // one line: no LF, no CR
    v1::SetSellerModerationLevelRequest two_lines = brands;
    two_lines.set_authorized_brands(0, name);
    refused = listings_->SetSellerModerationLevel(enforcer, two_lines);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << name;
    EXPECT_EQ(common::FieldViolationsOf(refused.status()).at(0).field, "authorized_brands[0]");
  }
  ASSERT_OK_AND_ASSIGN(read, listings_->GetSellerModerationLevel(enforcer, get));
  EXPECT_EQ(read.level(), v1::AT_RISK);
  EXPECT_THAT(read.authorized_brands(), ElementsAre("Initech"));
  v1::GetSellerModerationLevelRequest bad_id;
  bad_id.set_seller_id("NOT-AN-ID");
  EXPECT_TRUE(absl::IsInvalidArgument(
      listings_->GetSellerModerationLevel(enforcer, bad_id).status()));

  // Who may: staff and catalog.enforcement; not the seller, nor a service without the scope.
  EXPECT_TRUE(absl::IsPermissionDenied(
      listings_->GetSellerModerationLevel(As(kS1, "SELLER"), get).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(
      listings_->GetSellerModerationLevel(As(kSVC, "SERVICE", {"catalog.read"}), get).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(
      listings_->SetSellerModerationLevel(As(kSVC, "SERVICE", {"catalog.read"}), level).status()));
}

TEST_F(ListingsTest, PublicCacheForgetsChangedListingsAndNeverServesSellersOrStaff) {
  ListingsOptions o = Established();
  o.public_cache.ttl = absl::Minutes(10);
  o.public_cache.poll_interval = absl::Milliseconds(20);
  Make(o);
  v1::Listing live = Live(kS1);
  v1::GetListingRequest get;
  get.set_listing_id(live.listing_id());
  ASSERT_OK(listings_->GetListing(std::nullopt, get).status());
  // Served from memory now (once the first poll has run).
  int64_t hits = 0;
  for (int i = 0; i < 500 && hits == 0; ++i) {
    ASSERT_OK(listings_->GetListing(As(kB1, "BUYER"), get).status());
    hits = listings_->public_cache_totals().hits;
    if (hits == 0) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(hits, 0);
  v1::SuspendSellerListingsRequest s;
  s.set_seller_id(kS1);
  s.set_reason_code("SELLER_SUSPENDED");
  ASSERT_OK(listings_->SuspendSellerListings(As(kA1, "ADMIN"), s).status());
  // The seller and staff see the truth at once; public readers as soon as a poll has seen the
  // change (every 20 ms here), long before the TTL.
  ASSERT_OK_AND_ASSIGN(v1::Listing own, listings_->GetListing(As(kS1, "SELLER"), get));
  EXPECT_EQ(own.state(), v1::SUSPENDED);
  // The clock has not moved since the listing went live; its update time still moves forward,
  // which is what the polls of every replica look for.
  EXPECT_LT(std::make_pair(live.update_time().seconds(), live.update_time().nanos()),
            std::make_pair(own.update_time().seconds(), own.update_time().nanos()));
  ASSERT_OK_AND_ASSIGN(v1::Listing staff, listings_->GetListing(As(kM1, "MODERATOR"), get));
  EXPECT_EQ(staff.state(), v1::SUSPENDED);
  absl::Status anonymous;
  for (int i = 0; i < 500; ++i) {
    anonymous = listings_->GetListing(std::nullopt, get).status();
    if (absl::IsNotFound(anonymous)) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(absl::IsNotFound(anonymous)) << anonymous;
  EXPECT_TRUE(absl::IsNotFound(listings_->GetListing(As(kB1, "BUYER"), get).status()));
  EXPECT_GE(listings_->public_cache_totals().evictions, 1);
}

TEST_F(ListingsTest, ReviewQueueIsOldestFirstAcrossPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::Listing draft = Create(kS1, Plush("Peluche ourson modèle " + std::to_string(i)));
    ASSERT_OK(Submit(kS1, draft.listing_id()).status());
    ids.push_back(draft.listing_id());
    clock_.Advance(absl::Seconds(1));
  }
  v1::ListReviewQueueRequest q;
  q.set_page_size(2);
  std::vector<std::string> seen;
  for (int pages = 0; pages < 5; ++pages) {
    ASSERT_OK_AND_ASSIGN(auto page, listings_->ListReviewQueue(As(kM1, "MODERATOR"), q));
    for (const auto& r : page.reviews()) seen.push_back(r.listing_id());
    if (page.next_page_token().empty()) break;
    q.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(seen, ids);
  q.set_reason(v1::APPEAL);  // other filters: the token is refused
  EXPECT_TRUE(
      absl::IsInvalidArgument(listings_->ListReviewQueue(As(kM1, "MODERATOR"), q).status()));
}

TEST_F(ListingsTest, HistoryIsForTheSellerAndStaffOnly) {
  Make(Established());
  v1::Listing live = Live(kS1);
  v1::Listing draft = Create(kS1, Plush("Peluche girafe jaune"));
  v1::GetModerationHistoryRequest h;
  h.set_listing_id(live.listing_id());
  EXPECT_TRUE(
      absl::IsPermissionDenied(listings_->GetModerationHistory(As(kB1, "BUYER"), h).status()));
  ASSERT_OK_AND_ASSIGN(auto staff, listings_->GetModerationHistory(As(kA1, "ADMIN"), h));
  ASSERT_EQ(staff.transitions_size(), 2);
  EXPECT_EQ(staff.transitions(1).actor(), "system");
  EXPECT_FALSE(staff.transitions(1).rules_version().empty());
  EXPECT_EQ(staff.transitions(0).actor(), kS1);
  ASSERT_OK_AND_ASSIGN(auto support, listings_->GetModerationHistory(As(kA1, "SUPPORT_AGENT"), h));
  EXPECT_EQ(support.transitions_size(), 2);
  h.set_listing_id(draft.listing_id());
  ASSERT_OK(listings_->GetModerationHistory(As(kA1, "SUPPORT_AGENT"), h).status());
  // Roles that may never ask: PERMISSION_DENIED whatever the listing's state.
  for (const std::string& id : {live.listing_id(), draft.listing_id()}) {
    h.set_listing_id(id);
    EXPECT_TRUE(
        absl::IsPermissionDenied(listings_->GetModerationHistory(As(kB1, "BUYER"), h).status()));
    EXPECT_TRUE(absl::IsPermissionDenied(
        listings_->GetModerationHistory(As(kSVC, "SERVICE", {"catalog.enforcement"}), h).status()));
  }
  // Another seller: in any state, exactly what an id that does not exist gets.
  const std::string unknown = "lst_000000000000000000000000";
  h.set_listing_id(unknown);
  const absl::Status missing = listings_->GetModerationHistory(As(kS2, "SELLER"), h).status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  for (const std::string& id : {live.listing_id(), draft.listing_id()}) {
    h.set_listing_id(id);
    const absl::Status s = listings_->GetModerationHistory(As(kS2, "SELLER"), h).status();
    EXPECT_EQ(s.code(), missing.code()) << s;
    EXPECT_EQ(common::ReasonOf(s), common::ReasonOf(missing));
    EXPECT_EQ(s.message(), absl::StrReplaceAll(missing.message(), {{unknown, id}}));
  }
}

TEST_F(ListingsTest, ListCategoriesComesFromTheDataFile) {
  ASSERT_OK_AND_ASSIGN(auto cats, listings_->ListCategories());
  EXPECT_GE(cats.categories_size(), 24);
  EXPECT_FALSE(cats.rules_version().empty());
}

// Public first pages are served from memory for one poll interval at most; sellers and staff
// always read the database.
TEST_F(ListingsTest, PublicFirstPagesAreKeptForOnePollIntervalOnly) {
  ListingsOptions o = Established();
  o.public_cache.ttl = absl::Minutes(1);
  o.public_cache.poll_interval = absl::Milliseconds(200);
  Make(o);
  Live(kS1, "Peluche ourson brun");
  v1::ListListingsRequest list;
  ASSERT_OK_AND_ASSIGN(auto page, listings_->ListListings(std::nullopt, list));
  ASSERT_EQ(page.listings_size(), 1);
  Live(kS2, "Poupée de chiffon rouge");
  ASSERT_OK_AND_ASSIGN(page, listings_->ListListings(std::nullopt, list));
  EXPECT_EQ(page.listings_size(), 1);  // the kept page, less than one interval old
  list.set_page_size(5);               // another page size: another page
  ASSERT_OK_AND_ASSIGN(page, listings_->ListListings(std::nullopt, list));
  EXPECT_EQ(page.listings_size(), 2);
  list.set_page_size(0);
  ASSERT_OK_AND_ASSIGN(page, listings_->ListListings(As(kA1, "ADMIN"), list));
  EXPECT_EQ(page.listings_size(), 2);  // staff read the database
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_OK_AND_ASSIGN(page, listings_->ListListings(std::nullopt, list));
  EXPECT_EQ(page.listings_size(), 2);
}

// What gRPC's thread answers from memory: the kept page with its listings pre-serialized (the
// same message once parsed), re-read once when half its time is gone (one caller is asked to
// refresh it, the others are not), replaced by the re-read page, and never served once its
// whole time is gone.
TEST_F(ListingsTest, CachedFirstPagesArePreSerializedAndReReadOnceAfterHalfTheirTime) {
  ListingsOptions o = Established();
  o.public_cache.ttl = absl::Minutes(1);
  o.public_cache.poll_interval = absl::Milliseconds(200);
  Make(o);
  Live(kS1, "Peluche ourson brun");
  v1::Listing second = Live(kS2, "Poupée de chiffon rouge");
  v1::ListListingsRequest list;
  list.set_page_size(1);
  EXPECT_FALSE(listings_->CachedPage(std::nullopt, list).has_value());  // nothing kept yet
  ASSERT_OK_AND_ASSIGN(auto page, listings_->ListListings(std::nullopt, list));
  ASSERT_EQ(page.listings_size(), 1);
  ASSERT_FALSE(page.next_page_token().empty());
  EXPECT_FALSE(listings_->CachedPage(As(kA1, "ADMIN"), list).has_value());  // staff: never
  auto cached = listings_->CachedPage(std::nullopt, list);
  ASSERT_TRUE(cached.has_value());
  EXPECT_FALSE(cached->refresh);
  EXPECT_EQ(cached->response.listings_size(), 0);  // carried as bytes
  v1::ListListingsResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(cached->response.SerializeAsString()));
  EXPECT_EQ(parsed.SerializeAsString(), page.SerializeAsString());
  EXPECT_EQ(parsed.listings(0).listing_id(), second.listing_id());

  v1::Listing third = Live(kS1, "Peluche lapin blanc");
  clock_.Advance(absl::Milliseconds(100));
  cached = listings_->CachedPage(std::nullopt, list);
  ASSERT_TRUE(cached.has_value());
  EXPECT_TRUE(cached->refresh);  // half its time: this caller re-reads it
  cached = listings_->CachedPage(std::nullopt, list);
  ASSERT_TRUE(cached.has_value());
  EXPECT_FALSE(cached->refresh);  // asked once only
  ASSERT_TRUE(parsed.ParseFromString(cached->response.SerializeAsString()));
  EXPECT_EQ(parsed.listings(0).listing_id(), second.listing_id());  // still the kept page

  listings_->RefreshPage(std::nullopt, list);
  cached = listings_->CachedPage(std::nullopt, list);
  ASSERT_TRUE(cached.has_value());
  EXPECT_FALSE(cached->refresh);
  ASSERT_TRUE(parsed.ParseFromString(cached->response.SerializeAsString()));
  EXPECT_EQ(parsed.listings(0).listing_id(), third.listing_id());

  clock_.Advance(absl::Milliseconds(200));
  EXPECT_FALSE(listings_->CachedPage(std::nullopt, list).has_value());  // expired
}

}  // namespace
}  // namespace marketplace::catalog
