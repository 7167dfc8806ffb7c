// The domain alone, over an in-memory store: no database, no gRPC, no protos.
#include <memory>
#include <string>
#include <variant>

#include "common/clock.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/catalog/enforcement.h"
#include "services/catalog/fake_listing_store.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/moderation_flow.h"
#include "services/catalog/reports.h"

namespace marketplace::catalog {
namespace {

common::auth::Caller As(std::string subject, std::string role) {
  common::auth::Caller c;
  c.subject = std::move(subject);
  c.roles = {std::move(role)};
  c.expires_at = absl::InfiniteFuture();
  return c;
}

class DomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto live = LiveRules::Load("services/catalog/data/categories.json",
                                "services/catalog/data/moderation_rules.json");
    ASSERT_TRUE(live.ok()) << live.status();
    rules_ = *std::move(live);
  }

  // A listing every rule passes, stored as a DRAFT of s1.
  ListingRecord Draft(const std::string& id) {
    ListingRecord l;
    l.listing_id = id;
    l.seller_id = "s1";
    l.state = ListingState::kDraft;
    l.content.title = "Peluche ourson brun 30 cm";
    l.content.description =
        "Peluche ourson toute douce, lavable en machine, idéale dès la naissance.";
    l.content.category_id = "toys-plush";
    l.content.price = *common::Money::Of("EUR", 1990);
    l.content.image_urls = {"https://img.example/ourson.jpg"};
    l.content.attributes = {{"age_range", "0+"}};
    l.condition = "NEW";
    l.quantity = 5;
    l.created_at = l.updated_at = clock_.Now();
    EXPECT_OK(store_.Transact([&](ListingTransaction& tx) { return tx.InsertListing(l); }));
    return l;
  }

  absl::StatusOr<ListingRecord> Moderate(ListingRecord l, std::optional<int64_t> new_seller) {
    RETURN_IF_ERROR(store_.Transact([&](ListingTransaction& tx) {
      return ModerateAndSave(tx, l, *rules_->Current(), new_seller, clock_.Now());
    }));
    return l;
  }

  common::ManualClock clock_;
  FakeListingStore store_;
  std::unique_ptr<LiveRules> rules_;
};

TEST_F(DomainTest, CleanListingOfAnEstablishedSellerGoesLiveWithItsEvent) {
  ASSERT_OK_AND_ASSIGN(ListingRecord l, Moderate(Draft("lst_1"), /*new_seller=*/0));
  EXPECT_EQ(l.state, ListingState::kLive);
  EXPECT_TRUE(l.ever_decided);
  EXPECT_TRUE(l.findings.empty());
  EXPECT_FALSE(l.rules_version.empty());
  ASSERT_EQ(store_.events.size(), 1u);
  const auto* decided = std::get_if<ListingDecided>(&store_.events[0]);
  ASSERT_NE(decided, nullptr);
  EXPECT_TRUE(decided->approved);
  EXPECT_EQ(decided->decided_by, kSystemActor);
  ASSERT_EQ(store_.transitions.size(), 1u);
  EXPECT_EQ(store_.transitions[0].from, ListingState::kDraft);
  EXPECT_EQ(store_.transitions[0].to, ListingState::kLive);
  EXPECT_TRUE(store_.queue.empty());
}

TEST_F(DomainTest, NewSellerGoesToTheQueueWithoutAnEvent) {
  ASSERT_OK_AND_ASSIGN(ListingRecord l, Moderate(Draft("lst_1"), std::nullopt));
  EXPECT_EQ(l.state, ListingState::kPendingReview);
  EXPECT_EQ(l.reason_codes, std::vector<std::string>{"NEW_SELLER"});
  ASSERT_EQ(store_.queue.count("lst_1"), 1u);
  EXPECT_EQ(store_.queue["lst_1"].reason, ReviewReason::kRules);
  EXPECT_TRUE(store_.events.empty());
}

TEST_F(DomainTest, SuspensionRemembersTheStateRestoreReturnsTo) {
  ASSERT_OK(Moderate(Draft("lst_live"), 0).status());
  ASSERT_OK(Moderate(Draft("lst_pending"), std::nullopt).status());
  store_.queue.clear();  // a queue entry lost meanwhile is recreated on restore
  Enforcement enforcement(&store_, &clock_);
  ASSERT_OK_AND_ASSIGN(int64_t suspended,
                       enforcement.Suspend(As("m1", "MODERATOR"), "s1", "FRAUD", "why"));
  EXPECT_EQ(suspended, 2);
  EXPECT_EQ(store_.listings["lst_live"].state, ListingState::kSuspended);
  ASSERT_OK_AND_ASSIGN(int64_t restored, enforcement.Restore(As("m1", "MODERATOR"), "s1"));
  EXPECT_EQ(restored, 2);
  EXPECT_EQ(store_.listings["lst_live"].state, ListingState::kLive);
  EXPECT_EQ(store_.listings["lst_pending"].state, ListingState::kPendingReview);
  EXPECT_FALSE(store_.listings["lst_live"].state_before_suspension.has_value());
  EXPECT_EQ(store_.queue.count("lst_pending"), 1u);
}

TEST_F(DomainTest, ReportsFromDistinctBuyersSendAListingBackToReview) {
  ASSERT_OK(Moderate(Draft("lst_1"), 0).status());
  CatalogOptions options;
  options.report_threshold = 2;
  Reports reports(&store_, &clock_, &options);
  ASSERT_OK_AND_ASSIGN(ReportOutcome first,
                       reports.Report(As("b1", "BUYER"), "lst_1", "OTHER", "x"));
  EXPECT_FALSE(first.sent_to_review);
  EXPECT_EQ(common::ReasonOf(reports.Report(As("b1", "BUYER"), "lst_1", "OTHER", "x").status()),
            "ALREADY_REPORTED");
  EXPECT_EQ(reports.Report(As("s1", "BUYER"), "lst_1", "OTHER", "x").status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(ReportOutcome second,
                       reports.Report(As("b2", "BUYER"), "lst_1", "MISLEADING", ""));
  EXPECT_TRUE(second.sent_to_review);
  EXPECT_EQ(second.open_reports, 2);
  EXPECT_EQ(store_.listings["lst_1"].state, ListingState::kPendingReview);
  EXPECT_EQ(store_.queue["lst_1"].reason, ReviewReason::kReports);
}

}  // namespace
}  // namespace marketplace::catalog
