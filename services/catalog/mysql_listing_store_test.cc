// MysqlListingStore on a real MariaDB: what the domain relies on from each operation.
#include "services/catalog/mysql_listing_store.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/db/migrations.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/catalog_migrations.h"
#include "services/catalog/mysql_listing_rows.h"

namespace marketplace::catalog {
namespace {

using ::testing::ElementsAre;

class MysqlListingStoreTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyCatalogMigrations(pool()));
    store_ = std::make_unique<MysqlListingStore>(&pool(), &clock_, MysqlListingStore::Options());
  }

  void TearDown() override {
    store_.reset();
    DatabaseTest::TearDown();
  }

  ListingRecord Draft(const std::string& id, const std::string& seller) {
    ListingRecord l;
    l.listing_id = id;
    l.seller_id = seller;
    l.state = ListingState::kDraft;
    l.content.title = "Peluche ourson brun";
    l.content.description = "Toute douce";
    l.content.category_id = "toys-plush";
    l.content.brand = "Ours & Cie";
    l.content.price = *common::Money::Of("EUR", 1990);
    l.content.image_urls = {"https://img.example/a.jpg", "https://img.example/b.jpg"};
    l.content.attributes = {{"age_range", "0+"}, {"color", "brun"}};
    l.condition = "USED_GOOD";
    l.quantity = 4;
    l.created_at = clock_.Now();
    l.updated_at = clock_.Now();
    return l;
  }

  absl::Status Insert(ListingRecord l) {
    return store_->Transact([&](ListingTransaction& tx) { return tx.InsertListing(l); });
  }

  std::optional<ListingRecord> Find(const std::string& id) {
    std::optional<ListingRecord> out;
    EXPECT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(out, tx.FindListing(id, /*for_update=*/false));
      return absl::OkStatus();
    }));
    return out;
  }

  common::ManualClock clock_;
  std::unique_ptr<MysqlListingStore> store_;
};

TEST_F(MysqlListingStoreTest, ListingRoundTripsEveryField) {
  ListingRecord l = Draft("lst_000000000000000000000001", "11111111111111111111111111111111");
  l.findings = {{"duplicate", Verdict::kReview, "DUPLICATE_LISTING", "like lst_0"}};
  l.reason_codes = {"DUPLICATE_LISTING", "PRICE_ANOMALY"};
  l.explanation = "why";
  l.rules_version = "v7";
  ASSERT_OK(Insert(l));
  EXPECT_FALSE(
      Find("LST_000000000000000000000001").has_value());  // ids compare exactly (ascii_bin)
  std::optional<ListingRecord> read = Find("lst_000000000000000000000001");
  ASSERT_TRUE(read.has_value());
  EXPECT_GT(read->seq, 0);
  EXPECT_EQ(read->listing_id, "lst_000000000000000000000001");
  EXPECT_EQ(read->state, ListingState::kDraft);
  EXPECT_FALSE(ContentDiffersBesidesQuantity(*read, l));
  EXPECT_EQ(read->quantity, 4);
  EXPECT_EQ(read->condition, "USED_GOOD");
  EXPECT_THAT(read->reason_codes, ElementsAre("DUPLICATE_LISTING", "PRICE_ANOMALY"));
  ASSERT_EQ(read->findings.size(), 1u);
  EXPECT_EQ(read->findings[0].reason_code, "DUPLICATE_LISTING");
  EXPECT_EQ(read->findings[0].verdict, Verdict::kReview);
  EXPECT_EQ(read->rules_version, "v7");
  EXPECT_EQ(read->created_at, l.created_at);
  EXPECT_FALSE(Find("lst_00000000000000000000dead").has_value());
}

TEST_F(MysqlListingStoreTest, SaveMovesUpdatedAtStrictlyForward) {
  ASSERT_OK(Insert(Draft("lst_000000000000000000000001", "11111111111111111111111111111111")));
  ListingRecord l = *Find("lst_000000000000000000000001");
  const absl::Time loaded = l.updated_at;
  // Same clock reading as the insert: the save still moves it on.
  l.state = ListingState::kSuspended;
  l.state_before_suspension = ListingState::kLive;
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) { return tx.SaveListing(l, loaded); }));
  ListingRecord read = *Find("lst_000000000000000000000001");
  EXPECT_GT(read.updated_at, loaded);
  EXPECT_EQ(read.state, ListingState::kSuspended);
  EXPECT_EQ(read.state_before_suspension, ListingState::kLive);
}

TEST_F(MysqlListingStoreTest, EffectAndEventRollBackTogether) {
  ASSERT_OK(Insert(Draft("lst_000000000000000000000001", "11111111111111111111111111111111")));
  absl::Status failed = store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<ListingRecord> l,
                     tx.FindListing("lst_000000000000000000000001", true));
    l->state = ListingState::kLive;
    RETURN_IF_ERROR(tx.SaveListing(*l, clock_.Now()));
    RETURN_IF_ERROR(tx.Publish(ListingDecided{.approved = true,
                                              .listing_id = "lst_000000000000000000000001",
                                              .seller_id = "11111111111111111111111111111111",
                                              .decided_by = "system",
                                              .at = clock_.Now()}));
    return absl::FailedPreconditionError("refused");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Find("lst_000000000000000000000001")->state, ListingState::kDraft);
  ASSERT_OK_AND_ASSIGN(auto events, pool().Query("SELECT COUNT(*) AS n FROM outbox_events"));
  EXPECT_EQ(*events[0].GetInt64("n"), 0);
}

TEST_F(MysqlListingStoreTest, CreateOnceAnswersARetryWithTheFirstResult) {
  int runs = 0;
  auto create = [&](const std::string& hash) {
    // Request hashes are SHA-256 digests, as RequestHash makes them.
    return store_->CreateOnce({"11111111111111111111111111111111", "req-1", common::Sha256(hash)},
                              [&](ListingTransaction& tx) -> absl::StatusOr<ListingRecord> {
                                ++runs;
                                ListingRecord l = Draft(absl::StrFormat("lst_%024x", runs),
                                                        "11111111111111111111111111111111");
                                RETURN_IF_ERROR(tx.InsertListing(l));
                                return l;
                              });
  };
  ASSERT_OK_AND_ASSIGN(ListingRecord first, create("h1"));
  ASSERT_OK_AND_ASSIGN(ListingRecord again, create("h1"));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(again.listing_id, first.listing_id);
  EXPECT_EQ(again.content.title, first.content.title);
  EXPECT_EQ(create("h2").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MysqlListingStoreTest, ReviewClaimsAreExclusiveUntilTheyExpire) {
  ListingRecord l = Draft("lst_000000000000000000000001", "11111111111111111111111111111111");
  l.state = ListingState::kPendingReview;
  ASSERT_OK(Insert(l));
  const absl::Time now = clock_.Now();
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) {
    return tx.Enqueue({.listing_id = "lst_000000000000000000000001",
                       .seller_id = "11111111111111111111111111111111",
                       .reason = ReviewReason::kRules,
                       .enqueued_at = now});
  }));
  auto claim = [&](const std::string& who, absl::Time at) {
    bool claimed = false;
    EXPECT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(
          claimed, tx.TryClaim("lst_000000000000000000000001", who, at + absl::Minutes(15), at));
      return absl::OkStatus();
    }));
    return claimed;
  };
  EXPECT_TRUE(claim("m1", now));
  EXPECT_FALSE(claim("m2", now + absl::Minutes(1)));
  EXPECT_TRUE(claim("m1", now + absl::Minutes(2)));
  EXPECT_TRUE(claim("m2", now + absl::Minutes(30)));
  ASSERT_OK_AND_ASSIGN(std::vector<Review> page, store_->ListReviews({}));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].entry.claimed_by, "m2");
  EXPECT_EQ(page[0].listing.content.title, "Peluche ourson brun");
}

TEST_F(MysqlListingStoreTest, ListsByStateSellerCategoryAndTitleWords) {
  ASSERT_OK(Insert(Draft("lst_000000000000000000000001", "11111111111111111111111111111111")));
  ListingRecord other = Draft("lst_000000000000000000000002", "22222222222222222222222222222222");
  other.content.title = "Train en bois";
  other.content.category_id = "toys-wood";
  ASSERT_OK(Insert(other));
  ListingQuery q;
  q.states = {ListingState::kDraft};
  ASSERT_OK_AND_ASSIGN(std::vector<ListingRecord> all, store_->ListListings(q));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].listing_id, "lst_000000000000000000000002");  // newest first
  q.title_words = {"ourson"};
  ASSERT_OK_AND_ASSIGN(std::vector<ListingRecord> found, store_->ListListings(q));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].listing_id, "lst_000000000000000000000001");
  q.title_words.clear();
  q.before_seq = all[0].seq;
  ASSERT_OK_AND_ASSIGN(std::vector<ListingRecord> older, store_->ListListings(q));
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].listing_id, "lst_000000000000000000000001");
}

// A row as the previous release wrote it: the content only in the serialized message.
TEST_F(MysqlListingStoreTest, RowsOfThePreviousReleaseReadFromContentUntilFilled) {
  catalog::v1::Listing content;
  content.set_title("Train en bois");
  content.set_description("Vingt pièces");
  content.set_condition(catalog::v1::USED_FAIR);
  content.mutable_price()->set_currency_code("EUR");
  content.mutable_price()->set_amount_minor(2500);
  content.set_quantity(2);
  content.add_image_urls("https://img.example/t.jpg");
  (*content.mutable_attributes())["age_range"] = "3+";
  catalog::v1::ModerationFinding* f = content.add_findings();
  f->set_rule("price_anomaly");
  f->set_verdict(catalog::v1::REVIEW);
  f->set_reason_code("PRICE_ANOMALY");
  ASSERT_OK(pool().Execute(
      "INSERT INTO listings (listing_id, seller_id, state, category_id, title_folded, content, "
      "explanation, created_at, updated_at) VALUES ('lst_000000000000000000000b1d', "
      "'11111111111111111111111111111111', 'LIVE', 'toys-wood', "
      "' train en bois ', ?, '', ?, ?)",
      {content.SerializeAsString(), clock_.Now(), clock_.Now()}));

  auto check = [&](const ListingRecord& r) {
    EXPECT_EQ(r.content.title, "Train en bois");
    EXPECT_EQ(r.content.description, "Vingt pièces");
    EXPECT_EQ(r.content.category_id, "toys-wood");
    EXPECT_EQ(r.condition, "USED_FAIR");
    EXPECT_EQ(r.content.price, *common::Money::Of("EUR", 2500));
    EXPECT_EQ(r.quantity, 2);
    EXPECT_THAT(r.content.image_urls, ElementsAre("https://img.example/t.jpg"));
    EXPECT_EQ(r.content.attributes.at("age_range"), "3+");
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_EQ(r.findings[0].verdict, Verdict::kReview);
  };
  std::optional<ListingRecord> before = Find("lst_000000000000000000000b1d");
  ASSERT_TRUE(before.has_value());
  check(*before);

  ASSERT_OK_AND_ASSIGN(common::db::PooledConnection conn, pool().Acquire());
  ASSERT_OK(FillListingColumns(*conn));
  ASSERT_OK(FillListingColumns(*conn));  // re-runnable
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT title, price_minor, fields_at = updated_at "
                                               "AS filled FROM listings"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("title"), "Train en bois");
  EXPECT_EQ(*rows[0].GetInt64("price_minor"), 2500);
  EXPECT_TRUE(*rows[0].GetBool("filled"));
  std::optional<ListingRecord> after = Find("lst_000000000000000000000b1d");
  ASSERT_TRUE(after.has_value());
  check(*after);

  // A write of the previous release since: the columns no longer hold the listing.
  content.set_title("Train en bois peint");
  ASSERT_OK(
      pool().Execute("UPDATE listings SET content = ?, updated_at = ? WHERE listing_id = "
                     "'lst_000000000000000000000b1d'",
                     {content.SerializeAsString(), clock_.Now() + absl::Seconds(1)}));
  EXPECT_EQ(Find("lst_000000000000000000000b1d")->content.title, "Train en bois peint");
}

// The upgrade as an operator runs it (--migrate_only): a database of the previous release, with
// its rows, gets the columns and then their content, once.
class ListingColumnsUpgradeTest : public common::testing::DatabaseTest {};

TEST_F(ListingColumnsUpgradeTest, MigrateOnlyFillsTheColumnsOfExistingRows) {
  common::db::MigrationFiles previous = CatalogMigrations();
  previous.resize(2);  // 0001_init.sql, 0002_listings_by_update.sql
  ASSERT_OK(common::db::ApplyMigrations(pool(), "catalog", previous));
  catalog::v1::Listing content;
  content.set_title("Poupée de chiffon");
  content.set_quantity(7);
  ASSERT_OK(pool().Execute(
      "INSERT INTO listings (listing_id, seller_id, state, category_id, title_folded, content, "
      "explanation, created_at, updated_at) VALUES ('lst_000000000000000000000b1d', "
      "'11111111111111111111111111111111', 'DRAFT', 'toys-dolls', "
      "' poupee de chiffon ', ?, '', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
      {content.SerializeAsString()}));

  ASSERT_OK(ApplyCatalogMigrations(pool()));
  ASSERT_OK(ApplyCatalogMigrations(pool()));  // a second replica: nothing left to do
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT title, quantity, fields_at = updated_at "
                                               "AS filled FROM listings"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("title"), "Poupée de chiffon");
  EXPECT_EQ(*rows[0].GetInt64("quantity"), 7);
  EXPECT_TRUE(*rows[0].GetBool("filled"));
  ASSERT_OK_AND_ASSIGN(auto steps, pool().Query("SELECT name FROM schema_migrations WHERE "
                                                "component = 'catalog' ORDER BY version"));
  ASSERT_EQ(steps.size(), 9u);
  EXPECT_EQ(*steps[3].GetString("name"), "0004_fill_listing_columns");
  EXPECT_EQ(*steps[4].GetString("name"), "0005_trust.sql");
  EXPECT_EQ(*steps[5].GetString("name"), "0006_paid_orders.sql");
  EXPECT_EQ(*steps[6].GetString("name"), "0007_moderator_rejections.sql");
  EXPECT_EQ(*steps[7].GetString("name"), "0008_moderator_rejections_content.sql");
  EXPECT_EQ(*steps[8].GetString("name"), "0009_seller_suspension_sources.sql");
}

// Migration 0009: the one suspension row a seller had becomes its source's row (identity's
// when the event consumer wrote it last), and a seller may then have one of each.
TEST_F(ListingColumnsUpgradeTest, SuspensionRowsGetTheirSource) {
  common::db::MigrationFiles previous = CatalogMigrations();
  ASSERT_EQ(previous.back().first, "0009_seller_suspension_sources.sql");
  previous.pop_back();
  ASSERT_OK(common::db::ApplyMigrations(pool(), "catalog", previous));
  ASSERT_OK(pool().Execute(
      "INSERT INTO seller_suspensions (seller_id, reason_code, explanation, suspended_by, "
      "suspended_at) VALUES ('11111111111111111111111111111111', 'ACCOUNT_SUSPENDED', '', "
      "'identity', UTC_TIMESTAMP(6)), ('22222222222222222222222222222222', 'COUNTERFEIT', '', "
      "'33333333333333333333333333333333', UTC_TIMESTAMP(6))"));
  ASSERT_OK(ApplyCatalogMigrations(pool()));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT seller_id, source FROM seller_suspensions "
                                               "ORDER BY seller_id"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0].GetString("source"), "ACCOUNT");
  EXPECT_EQ(*rows[1].GetString("source"), "CATALOG");
  ASSERT_OK(pool().Execute(
      "INSERT INTO seller_suspensions (seller_id, source, reason_code, explanation, "
      "suspended_by, suspended_at) VALUES ('11111111111111111111111111111111', 'CATALOG', "
      "'COUNTERFEIT', '', '33333333333333333333333333333333', UTC_TIMESTAMP(6))"));
  // A replica of the previous release, during the upgrade, records identity's event without
  // a source: the row counts as ACCOUNT's, and only the ACCOUNT side lifts it.
  ASSERT_OK(pool().Execute(
      "INSERT INTO seller_suspensions (seller_id, reason_code, explanation, suspended_by, "
      "suspended_at) VALUES ('44444444444444444444444444444444', 'ACCOUNT_SUSPENDED', '', "
      "'identity', UTC_TIMESTAMP(6))"));
  MysqlListingStore store(&pool(), common::SystemClock::Get(), MysqlListingStore::Options());
  ASSERT_OK(store.Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<SellerSuspension> old_style,
                     tx.LockSellerSuspensions("44444444444444444444444444444444"));
    EXPECT_EQ(old_style.size(), 1u);
    if (!old_style.empty()) EXPECT_EQ(old_style[0].source, SuspensionSource::kAccount);
    ASSIGN_OR_RETURN(std::vector<SellerSuspension> both,
                     tx.LockSellerSuspensions("11111111111111111111111111111111"));
    EXPECT_EQ(both.size(), 2u);
    ASSIGN_OR_RETURN(bool deleted, tx.DeleteSellerSuspension("44444444444444444444444444444444",
                                                             SuspensionSource::kCatalog));
    EXPECT_FALSE(deleted);
    ASSIGN_OR_RETURN(deleted, tx.DeleteSellerSuspension("44444444444444444444444444444444",
                                                        SuspensionSource::kAccount));
    EXPECT_TRUE(deleted);
    ASSIGN_OR_RETURN(deleted, tx.DeleteSellerSuspension("11111111111111111111111111111111",
                                                        SuspensionSource::kAccount));
    EXPECT_TRUE(deleted);
    ASSIGN_OR_RETURN(std::optional<SellerSuspension> left,
                     tx.FindSellerSuspension("11111111111111111111111111111111"));
    EXPECT_TRUE(left.has_value() && left->source == SuspensionSource::kCatalog);
    return absl::OkStatus();
  }));
}

}  // namespace
}  // namespace marketplace::catalog

namespace marketplace::catalog {
namespace {

// The duplicate rule's candidates: the seller's LIVE and PENDING_REVIEW listings with their
// state, newest first, the listing itself and other states and sellers aside.
TEST_F(MysqlListingStoreTest, RecentLiveListingsGivesLiveAndPendingWithTheirState) {
  const std::string seller = "22222222222222222222222222222222";
  const std::pair<const char*, ListingState> listings[] = {
      {"lst_000000000000000000000011", ListingState::kLive},
      {"lst_000000000000000000000012", ListingState::kPendingReview},
      {"lst_000000000000000000000013", ListingState::kWithdrawn},
      {"lst_000000000000000000000014", ListingState::kRejected},
      {"lst_000000000000000000000015", ListingState::kPendingReview},  // the one evaluated
  };
  for (const auto& [id, state] : listings) {
    ListingRecord l = Draft(id, seller);
    l.state = state;
    ASSERT_OK(Insert(l));
  }
  ListingRecord other = Draft("lst_000000000000000000000016", "33333333333333333333333333333333");
  other.state = ListingState::kLive;
  ASSERT_OK(Insert(other));

  std::vector<SellerListing> found;
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(found, tx.RecentLiveListings(seller, "lst_000000000000000000000015", 10));
    return absl::OkStatus();
  }));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].listing_id, "lst_000000000000000000000012");
  EXPECT_EQ(found[0].state, SellerListingState::kPendingReview);
  EXPECT_EQ(found[1].listing_id, "lst_000000000000000000000011");
  EXPECT_EQ(found[1].state, SellerListingState::kLive);
  EXPECT_EQ(found[1].title, "Peluche ourson brun");
}

// The listings a moderator rejected that the duplicate rule compares with: the seller's most
// recently rejected first, at most `limit` read, whatever their state now (the content is the
// one rejected), the listing itself, approved ones and other sellers aside.
TEST_F(MysqlListingStoreTest, RecentModeratorRejectionsGivesTheLatestRejectedListings) {
  const std::string seller = "22222222222222222222222222222222";
  const std::pair<const char*, ListingState> listings[] = {
      {"lst_000000000000000000000031", ListingState::kRejected},
      {"lst_000000000000000000000032", ListingState::kWithdrawn},
      {"lst_000000000000000000000033", ListingState::kPendingReview},  // resubmitted
      {"lst_000000000000000000000034", ListingState::kRejected},       // approved since
      {"lst_000000000000000000000035", ListingState::kRejected},
      {"lst_000000000000000000000036", ListingState::kRejected},  // the one evaluated
  };
  int64_t decision = 100;
  for (const auto& [id, state] : listings) {
    ListingRecord l = Draft(id, seller);
    l.state = state;
    ASSERT_OK(Insert(l));
    ASSERT_OK(store_->Transact(
        [&](ListingTransaction& tx) { return tx.RecordModeratorRejection(l, ++decision); }));
  }
  // A second rejection of the first makes it the most recent.
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) {
    return tx.RecordModeratorRejection(Draft("lst_000000000000000000000031", seller), 200);
  }));
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) {
    return tx.ForgetModeratorRejection("lst_000000000000000000000034");
  }));
  ListingRecord other = Draft("lst_000000000000000000000037", "33333333333333333333333333333333");
  other.state = ListingState::kRejected;
  ASSERT_OK(Insert(other));
  ASSERT_OK(store_->Transact(
      [&](ListingTransaction& tx) { return tx.RecordModeratorRejection(other, 300); }));

  auto read = [&](int limit) {
    std::vector<std::string> ids;
    EXPECT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<SellerListing> found,
                       tx.RecentModeratorRejections(seller, "lst_000000000000000000000036", limit));
      for (const SellerListing& f : found) {
        EXPECT_EQ(f.state, SellerListingState::kRejectedByModerator);
        EXPECT_EQ(f.title, "Peluche ourson brun");
        ids.push_back(f.listing_id);
      }
      return absl::OkStatus();
    }));
    return ids;
  };
  EXPECT_THAT(read(10),
              ElementsAre("lst_000000000000000000000031", "lst_000000000000000000000035",
                          "lst_000000000000000000000033", "lst_000000000000000000000032"));
  // The limit bounds the rows read.
  EXPECT_THAT(read(2), ElementsAre("lst_000000000000000000000031", "lst_000000000000000000000035"));
}

// Migration 0007 records the listings rejected before it: the latest rejection by a moderator
// with no approval since; rejections by the rules and restores after a suspension are none.
TEST_F(ListingColumnsUpgradeTest, TheMigrationRecordsEarlierModeratorRejections) {
  common::db::MigrationFiles previous = CatalogMigrations();
  previous.resize(5);  // up to 0006_paid_orders.sql
  ASSERT_OK(common::db::ApplyMigrations(
      pool(), "catalog", previous, {{"0004_fill_listing_columns", [](common::db::Connection& conn) {
                                       return FillListingColumns(conn);
                                     }}}));
  common::ManualClock clock;
  MysqlListingStore store(&pool(), &clock, MysqlListingStore::Options());
  const std::string seller = "22222222222222222222222222222222";
  const std::string moderator = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
  const std::string admin = "adadadadadadadadadadadadadadadad";
  using S = ListingState;
  struct Step {
    S from;
    S to;
    std::string actor;
  };
  struct Case {
    const char* id;
    S state;
    std::vector<Step> path;
  };
  const Case cases[] = {
      // Rejected by a moderator: recorded, with that transition.
      {"lst_000000000000000000000041",
       S::kRejected,
       {{S::kDraft, S::kPendingReview, "system"}, {S::kPendingReview, S::kRejected, moderator}}},
      // The same, then suspended and restored: recorded, with the moderator's rejection.
      {"lst_000000000000000000000042",
       S::kRejected,
       {{S::kDraft, S::kPendingReview, "system"},
        {S::kPendingReview, S::kRejected, moderator},
        {S::kRejected, S::kSuspended, admin},
        {S::kSuspended, S::kRejected, admin}}},
      // Rejected by the rules, suspended and restored: not recorded.
      {"lst_000000000000000000000043",
       S::kRejected,
       {{S::kDraft, S::kRejected, "system"},
        {S::kRejected, S::kSuspended, admin},
        {S::kSuspended, S::kRejected, admin}}},
      // Rejected by a moderator, appealed, approved: not recorded.
      {"lst_000000000000000000000044",
       S::kLive,
       {{S::kDraft, S::kPendingReview, "system"},
        {S::kPendingReview, S::kRejected, moderator},
        {S::kRejected, S::kPendingReview, seller},
        {S::kPendingReview, S::kLive, moderator}}},
  };
  std::vector<int64_t> decisions;
  for (const Case& c : cases) {
    ListingRecord l;
    l.listing_id = c.id;
    l.seller_id = seller;
    l.state = c.state;
    l.content.title = "Peluche ourson brun";
    l.content.category_id = "toys-plush";
    l.created_at = clock.Now();
    l.updated_at = clock.Now();
    ASSERT_OK(store.Transact([&](ListingTransaction& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.InsertListing(l));
      for (const Step& step : c.path) {
        ASSIGN_OR_RETURN(int64_t id, tx.AppendTransition({.listing_id = c.id,
                                                          .actor = step.actor,
                                                          .at = clock.Now(),
                                                          .from = step.from,
                                                          .to = step.to}));
        if (step.to == S::kRejected && step.actor == moderator) decisions.push_back(id);
      }
      return absl::OkStatus();
    }));
  }

  ASSERT_OK(ApplyCatalogMigrations(pool()));
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT listing_id, seller_id, decision_id FROM "
                                               "moderator_rejections ORDER BY listing_id"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0].GetString("listing_id"), "lst_000000000000000000000041");
  EXPECT_EQ(*rows[0].GetString("seller_id"), seller);
  EXPECT_EQ(*rows[0].GetInt64("decision_id"), decisions[0]);
  EXPECT_EQ(*rows[1].GetString("listing_id"), "lst_000000000000000000000042");
  EXPECT_EQ(*rows[1].GetInt64("decision_id"), decisions[1]);
}

// The new-seller review's count: the seller's listings that ever went LIVE (LIVE now, or a
// transition to LIVE), the listing itself and other sellers aside; rejected ones do not count,
// though they were decided.
TEST_F(MysqlListingStoreTest, CountApprovedListingsCountsOnlyListingsThatWentLive) {
  const std::string seller = "22222222222222222222222222222222";
  struct Case {
    const char* id;
    ListingState state;
    std::vector<ListingState> path;  // transitions after the creation
  };
  const Case cases[] = {
      // Approved, then withdrawn: counts.
      {"lst_000000000000000000000021",
       ListingState::kWithdrawn,
       {ListingState::kLive, ListingState::kWithdrawn}},
      // Rejected by the rules, twice: does not count.
      {"lst_000000000000000000000022",
       ListingState::kRejected,
       {ListingState::kRejected, ListingState::kRejected}},
      // Rejected by the rules, withdrawn: does not count.
      {"lst_000000000000000000000023",
       ListingState::kWithdrawn,
       {ListingState::kRejected, ListingState::kWithdrawn}},
      // LIVE without a recorded transition (rows loaded by other means): counts.
      {"lst_000000000000000000000024", ListingState::kLive, {}},
      // Approved after review, then rejected on an edit: counts.
      {"lst_000000000000000000000025",
       ListingState::kRejected,
       {ListingState::kPendingReview, ListingState::kLive, ListingState::kRejected}},
      // The listing being evaluated: aside.
      {"lst_000000000000000000000026", ListingState::kLive, {ListingState::kLive}},
  };
  for (const Case& c : cases) {
    ListingRecord l = Draft(c.id, seller);
    l.state = c.state;
    l.ever_decided = !c.path.empty();
    ASSERT_OK(Insert(l));
    ListingState from = ListingState::kDraft;
    for (ListingState to : c.path) {
      ASSERT_OK(store_->Transact([&](ListingTransaction& tx) {
        return tx
            .AppendTransition(
                {.listing_id = c.id, .actor = "system", .at = clock_.Now(), .from = from, .to = to})
            .status();
      }));
      from = to;
    }
  }
  ListingRecord other = Draft("lst_000000000000000000000027", "33333333333333333333333333333333");
  other.state = ListingState::kLive;
  ASSERT_OK(Insert(other));

  int64_t approved = -1;
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(approved,
                     tx.CountApprovedListings(seller, "lst_000000000000000000000026", 1000));
    return absl::OkStatus();
  }));
  EXPECT_EQ(approved, 3);
  // Counted up to the threshold asked for, no further.
  ASSERT_OK(store_->Transact([&](ListingTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(approved, tx.CountApprovedListings(seller, "lst_000000000000000000000026", 2));
    return absl::OkStatus();
  }));
  EXPECT_EQ(approved, 2);
}

}  // namespace
}  // namespace marketplace::catalog
