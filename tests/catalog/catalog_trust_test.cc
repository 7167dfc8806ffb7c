// The trust defects of the catalog, through the gRPC API on an in-process server over a real
// database: existence leaks (item 20), canonical ids (item 4), seller suspension (item 11),
// report abuse (item 12; paid orders from payments' events), text search (item 13, semantics; its speed is in bench/).
#include <atomic>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/events/event_consumer.h"
#include "common/executor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/proto_time.h"
#include "common/server/server.h"
#include "common/status_mapping.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/catalog/test_listings.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/catalog/catalog_api.h"
#include "services/catalog/catalog_service.h"
#include "services/catalog/enforcement.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/paid_order_events.h"
#include "services/catalog/reporter_directory.h"
#include "services/catalog/reports.h"

namespace marketplace::catalog {
namespace {

constexpr char kIssuer[] = "marketplace-identity";
// Account ids as identity issues them: 32 lowercase hex digits.
const std::string kSeller1(32, '1');
const std::string kSeller2(32, '2');
const std::string kModerator = "0000000000000000000000000000000a";
const std::string kAdmin = "0000000000000000000000000000000b";
std::string Buyer(int i) {
  return absl::StrCat("bbbbbbbbbbbbbbbbbbbbbbbb", absl::Hex(0x10000000 + i));
}

v1::Listing Plush(const std::string& title = "Peluche ourson brun 30 cm") {
  return ::marketplace::catalog::testing::CleanPlush(title, 1);
}

// Rejected by the rules (an email address).
v1::Listing Rejectable() {
  v1::Listing l = Plush();
  l.set_description("Peluche ourson, écrivez-moi à vendeur@example.com pour payer moins cher.");
  return l;
}

std::string Reason(const grpc::Status& s) { return common::ReasonOf(common::FromGrpcStatus(s)); }

class CatalogTrustTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyCatalogMigrations(pool()));
    auto live = LiveRules::Load("services/catalog/data/categories.json",
                                "services/catalog/data/moderation_rules.json");
    ASSERT_TRUE(live.ok()) << live.status();
    rules_ = *std::move(live);
    key_ = *common::auth::GenerateEd25519KeyPair();
    keys_.AddKey({"k1", "EdDSA", key_.public_key});
    verifier_ = std::make_unique<common::auth::TokenVerifier>(
        &keys_, common::auth::VerifierOptions{.issuer = kIssuer, .audience = "catalog"},
        common::SystemClock::Get());
    authenticator_ =
        std::make_unique<common::auth::Authenticator>(verifier_.get(), CatalogPublicMethods());
    executor_ = std::make_unique<common::BoundedExecutor>(4, 64);
    runner_ = std::make_unique<common::UnaryRunner>(executor_.get(), authenticator_.get());
    sellers_.Set(kSeller1, true);
    sellers_.Set(kSeller2, true);
    store_ = std::make_unique<MysqlListingStore>(&pool(), common::SystemClock::Get(),
                                                 MysqlListingStore::Options());
    CatalogOptions options;
    options.new_seller_listings = 0;
    Start(options);
  }

  void TearDown() override {
    Stop();
    store_.reset();
    DatabaseTest::TearDown();
  }

  void Stop() {
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
    listings_.reset();
  }

  // (Re)starts the server with `options` (and the public caches off unless `cache` says).
  void Start(const CatalogOptions& options, PublicViewCacheOptions cache = {}) {
    Stop();
    listings_ = std::make_unique<CatalogApi>(store_.get(), rules_.get(), &sellers_,
                                             common::SystemClock::Get(), options, cache,
                                             &reporters_);
    service_ = std::make_unique<CatalogService>(runner_.get(), listings_.get());
    common::ServerOptions server_options;
    server_options.name = "catalog-test";
    server_options.listen_address = "127.0.0.1:0";
    auto server = common::Server::Start(
        server_options, {{v1::CatalogService::service_full_name(), service_.get()}}, {}, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::CatalogService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  std::string Token(const std::string& subject, const std::string& role,
                    std::vector<std::string> scopes = {}) {
    common::auth::JwtHeader header;
    header.kid = "k1";
    common::auth::JwtClaims claims;
    claims.issuer = kIssuer;
    claims.subject = subject;
    claims.audiences = {"catalog"};
    claims.issued_at = absl::Now();
    claims.expires_at = absl::Now() + absl::Minutes(10);
    claims.token_id = absl::StrCat("t-", ++tokens_);
    claims.roles = {role};
    claims.scopes = std::move(scopes);
    return *common::auth::SignJwt(header, claims, key_.private_key);
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role,
                                          std::vector<std::string> scopes = {}) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!subject.empty()) {
      common::auth::AttachBearerToken(ctx.get(), Token(subject, role, std::move(scopes)));
    }
    return ctx;
  }

  grpc::Status Create(const std::string& seller, const v1::Listing& content, v1::Listing* out) {
    v1::CreateListingRequest req;
    *req.mutable_listing() = content;
    req.set_request_id(absl::StrCat("req-", ++requests_));
    return stub_->CreateListing(As(seller, "SELLER").get(), req, out);
  }
  v1::Listing Draft(const std::string& seller, const v1::Listing& content = Plush()) {
    v1::Listing out;
    grpc::Status s = Create(seller, content, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  grpc::Status Submit(const std::string& seller, const std::string& id, v1::Listing* out) {
    v1::SubmitListingRequest req;
    req.set_listing_id(id);
    return stub_->SubmitListing(As(seller, "SELLER").get(), req, out);
  }
  v1::Listing Submitted(const std::string& seller, const v1::Listing& content = Plush()) {
    v1::Listing draft = Draft(seller, content);
    v1::Listing out;
    grpc::Status s = Submit(seller, draft.listing_id(), &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  grpc::Status Appeal(const std::string& seller, const std::string& id, v1::Listing* out) {
    v1::AppealDecisionRequest req;
    req.set_listing_id(id);
    req.set_statement("There is no email address in my listing any more, please look again.");
    return stub_->AppealDecision(As(seller, "SELLER").get(), req, out);
  }
  grpc::Status Update(const std::string& seller, const std::string& id, v1::Listing* out) {
    v1::UpdateListingRequest req;
    req.mutable_listing()->set_listing_id(id);
    req.mutable_listing()->set_quantity(7);
    req.mutable_update_mask()->add_paths("quantity");
    return stub_->UpdateListing(As(seller, "SELLER").get(), req, out);
  }
  grpc::Status Withdraw(const std::string& seller, const std::string& id, v1::Listing* out) {
    v1::WithdrawListingRequest req;
    req.set_listing_id(id);
    return stub_->WithdrawListing(As(seller, "SELLER").get(), req, out);
  }
  // The listing as its owner sees it.
  v1::Listing Owned(const std::string& seller, const std::string& id) {
    v1::GetListingRequest req;
    req.set_listing_id(id);
    v1::Listing out;
    grpc::Status s = stub_->GetListing(As(seller, "SELLER").get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  grpc::Status Suspend(const std::string& seller, v1::SuspendSellerListingsResponse* out) {
    v1::SuspendSellerListingsRequest req;
    req.set_seller_id(seller);
    req.set_reason_code("SELLER_SUSPENDED");
    return stub_->SuspendSellerListings(As(kAdmin, "ADMIN").get(), req, out);
  }
  grpc::Status Restore(const std::string& seller, v1::RestoreSellerListingsResponse* out) {
    v1::RestoreSellerListingsRequest req;
    req.set_seller_id(seller);
    return stub_->RestoreSellerListings(As(kAdmin, "ADMIN").get(), req, out);
  }
  // What the consumer of identity's account events does (an ACCOUNT suspension).
  absl::Status AccountSuspended(const std::string& seller) {
    return Enforcement(store_.get(), common::SystemClock::Get())
        .SuspendSeller("identity", seller, "ACCOUNT_SUSPENDED", "", SuspensionSource::kAccount)
        .status();
  }
  absl::StatusOr<Enforcement::Reinstatement> AccountReinstated(const std::string& seller) {
    return Enforcement(store_.get(), common::SystemClock::Get())
        .ReinstateSeller("identity", seller, SuspensionSource::kAccount);
  }
  grpc::Status Report(const std::string& buyer, const std::string& id,
                      v1::ReportListingResponse* out) {
    v1::ReportListingRequest req;
    req.set_listing_id(id);
    req.set_reason(v1::COUNTERFEIT);
    return stub_->ReportListing(As(buyer, "BUYER").get(), req, out);
  }
  int64_t Count(const std::string& sql, std::vector<common::db::SqlValue> params = {}) {
    auto rows = pool().Query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows->at(0).GetInt64("n") : -1;
  }

  common::auth::Ed25519KeyPair key_;
  common::auth::FakeKeyFetcher keys_;
  std::unique_ptr<common::auth::TokenVerifier> verifier_;
  std::unique_ptr<common::auth::Authenticator> authenticator_;
  std::unique_ptr<common::BoundedExecutor> executor_;
  std::unique_ptr<common::UnaryRunner> runner_;
  common::identity_client::FakeSellerDirectory sellers_;
  FixedReporterDirectory reporters_;
  std::unique_ptr<LiveRules> rules_;
  std::unique_ptr<MysqlListingStore> store_;
  std::unique_ptr<CatalogApi> listings_;
  std::unique_ptr<CatalogService> service_;
  std::unique_ptr<common::Server> server_;
  std::unique_ptr<v1::CatalogService::Stub> stub_;
  std::atomic<int> tokens_{0};
  std::atomic<int> requests_{0};
};

// --- item 20: someone else's DRAFT / REJECTED listing answers like an unknown id ---

TEST_F(CatalogTrustTest, AnotherSellersPrivateListingAnswersLikeAnUnknownId) {
  const v1::Listing draft = Draft(kSeller1);
  const v1::Listing rejected = Submitted(kSeller1, Rejectable());
  ASSERT_EQ(rejected.state(), v1::REJECTED);
  const std::string unknown = "lst_000000000000000000000000";
  for (const std::string& id : {draft.listing_id(), rejected.listing_id(), unknown}) {
    SCOPED_TRACE(id);
    v1::Listing out;
    for (grpc::Status s : {Update(kSeller2, id, &out), Submit(kSeller2, id, &out),
                           Withdraw(kSeller2, id, &out), Appeal(kSeller2, id, &out)}) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
      EXPECT_EQ(Reason(s), "LISTING_NOT_FOUND");
      EXPECT_EQ(s.error_message(), absl::StrCat("listing ", id, " not found"));
    }
  }
  // Nothing changed.
  EXPECT_EQ(Owned(kSeller1, draft.listing_id()).state(), v1::DRAFT);
  EXPECT_EQ(Owned(kSeller1, rejected.listing_id()).state(), v1::REJECTED);
}

// --- item 4: ids in the issued form only, compared exactly ---

TEST_F(CatalogTrustTest, IdsNotInTheIssuedFormAreInvalidArguments) {
  const v1::Listing live = Submitted(kSeller1);
  ASSERT_EQ(live.state(), v1::LIVE);
  v1::GetListingRequest get;
  get.set_listing_id(absl::AsciiStrToUpper(live.listing_id()));
  v1::Listing out;
  grpc::Status s = stub_->GetListing(As("", "").get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  auto violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "listing_id");

  v1::ListListingsRequest list;
  list.set_seller_id(absl::StrCat(" ", kSeller1, " "));
  v1::ListListingsResponse page;
  s = stub_->ListListings(As("", "").get(), list, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "seller_id");

  v1::SuspendSellerListingsResponse suspended;
  s = Suspend(absl::AsciiStrToUpper(std::string(32, 'a')), &suspended);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Each kind has its own form: other prefixes or lengths name nothing, although ids of other
  // kinds (payments "pay_...", 24 digits) look like them.
  const std::string hex24 = live.listing_id().substr(4);
  for (const std::string& id : {absl::StrCat("pay_", hex24), hex24,
                                absl::StrCat(live.listing_id(), "00000000"), kSeller1}) {
    SCOPED_TRACE(id);
    get.set_listing_id(id);
    s = stub_->GetListing(As(kSeller1, "SELLER").get(), get, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "listing_id");
  }
  for (const std::string& id :
       {std::string(24, '1'), absl::StrCat("usr_", kSeller1), live.listing_id()}) {
    SCOPED_TRACE(id);
    list.set_seller_id(id);
    s = stub_->ListListings(As("", "").get(), list, &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "seller_id");
    EXPECT_EQ(Suspend(id, &suspended).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    v1::RestoreSellerListingsResponse restored;
    EXPECT_EQ(Restore(id, &restored).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // The database compares them exactly too.
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM listings WHERE listing_id = ?",
                  {absl::AsciiStrToUpper(live.listing_id())}),
            0);
}

// --- item 11: suspension ---

TEST_F(CatalogTrustTest, SuspensionTakesDownEveryStateAndReinstatementRestoresThem) {
  const v1::Listing draft = Draft(kSeller1);
  const v1::Listing rejected = Submitted(kSeller1, Rejectable());
  const v1::Listing live = Submitted(kSeller1, Plush("Lapin en peluche blanc 25 cm"));
  ASSERT_EQ(rejected.state(), v1::REJECTED);
  ASSERT_EQ(live.state(), v1::LIVE);
  v1::SuspendSellerListingsResponse suspended;
  ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
  EXPECT_EQ(suspended.suspended(), 3);
  for (const v1::Listing* l : {&draft, &rejected, &live}) {
    EXPECT_EQ(Owned(kSeller1, l->listing_id()).state(), v1::SUSPENDED) << l->listing_id();
  }
  // Again: nothing left to take down.
  ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
  EXPECT_EQ(suspended.suspended(), 0);

  v1::RestoreSellerListingsResponse restored;
  ASSERT_TRUE(Restore(kSeller1, &restored).ok());
  EXPECT_EQ(restored.restored(), 3);
  EXPECT_EQ(Owned(kSeller1, draft.listing_id()).state(), v1::DRAFT);
  EXPECT_EQ(Owned(kSeller1, rejected.listing_id()).state(), v1::REJECTED);
  EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
  // The refusals are lifted.
  v1::Listing out;
  EXPECT_TRUE(Create(kSeller1, Plush(), &out).ok());
  EXPECT_TRUE(Appeal(kSeller1, rejected.listing_id(), &out).ok());
}

TEST_F(CatalogTrustTest, SuspendedSellerCanCreateSubmitUpdateAndAppealNothing) {
  const v1::Listing rejected = Submitted(kSeller1, Rejectable());
  const v1::Listing withdrawn = Draft(kSeller1);
  v1::Listing out;
  ASSERT_TRUE(Withdraw(kSeller1, withdrawn.listing_id(), &out).ok());
  v1::SuspendSellerListingsResponse suspended;
  ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());

  grpc::Status s = Create(kSeller1, Plush(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(s), "SELLER_SUSPENDED");
  s = Submit(kSeller1, withdrawn.listing_id(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(s), "SELLER_SUSPENDED");
  s = Update(kSeller1, withdrawn.listing_id(), &out);
  EXPECT_EQ(Reason(s), "SELLER_SUSPENDED");
  s = Appeal(kSeller1, rejected.listing_id(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(s), "SELLER_SUSPENDED");
  EXPECT_EQ(Owned(kSeller1, withdrawn.listing_id()).state(), v1::WITHDRAWN);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM listings WHERE seller_id = ?", {kSeller1}), 2);
}

// An appeal racing the seller's suspension: whatever the order, the listing never goes LIVE
// through the moderator's approval while the seller is suspended.
TEST_F(CatalogTrustTest, AppealRacingSuspensionNeverGoesLive) {
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    const v1::Listing rejected = Submitted(kSeller1, Rejectable());
    ASSERT_EQ(rejected.state(), v1::REJECTED);
    grpc::Status appeal, suspend;
    std::thread a([&] {
      v1::Listing out;
      appeal = Appeal(kSeller1, rejected.listing_id(), &out);
    });
    std::thread b([&] {
      v1::SuspendSellerListingsResponse out;
      suspend = Suspend(kSeller1, &out);
    });
    a.join();
    b.join();
    ASSERT_TRUE(suspend.ok()) << suspend.error_message();
    if (!appeal.ok()) {
      EXPECT_EQ(Reason(appeal), "SELLER_SUSPENDED");
    }
    EXPECT_EQ(Owned(kSeller1, rejected.listing_id()).state(), v1::SUSPENDED);
    // The moderator cannot approve it.
    v1::ClaimReviewRequest claim;
    claim.set_listing_id(rejected.listing_id());
    v1::Review review;
    EXPECT_FALSE(stub_->ClaimReview(As(kModerator, "MODERATOR").get(), claim, &review).ok());
    v1::DecideReviewRequest decide;
    decide.set_listing_id(rejected.listing_id());
    decide.set_decision(v1::APPROVE);
    v1::Listing decided;
    EXPECT_FALSE(stub_->DecideReview(As(kModerator, "MODERATOR").get(), decide, &decided).ok());
    EXPECT_EQ(Owned(kSeller1, rejected.listing_id()).state(), v1::SUSPENDED);
    v1::RestoreSellerListingsResponse restored;
    ASSERT_TRUE(Restore(kSeller1, &restored).ok());
  }
}

// What the consumer of identity's account events calls.
TEST_F(CatalogTrustTest, EnforcementFunctionsForIdentityEvents) {
  const v1::Listing live = Submitted(kSeller1);
  const v1::Listing draft = Draft(kSeller1);
  Enforcement enforcement(store_.get(), common::SystemClock::Get());
  ASSERT_OK_AND_ASSIGN(
      int64_t down, enforcement.SuspendSeller("identity", kSeller1, "ACCOUNT_SUSPENDED",
                                              "suspended by identity", SuspensionSource::kAccount));
  EXPECT_EQ(down, 2);
  ASSERT_OK_AND_ASSIGN(down, enforcement.SuspendSeller("identity", kSeller1, "ACCOUNT_SUSPENDED",
                                                       "", SuspensionSource::kAccount));
  EXPECT_EQ(down, 0);  // a redelivered event changes nothing
  v1::Listing out;
  EXPECT_EQ(Reason(Create(kSeller1, Plush(), &out)), "SELLER_SUSPENDED");
  EXPECT_TRUE(absl::IsInvalidArgument(
      enforcement
          .SuspendSeller("x", " " + kSeller2, "ACCOUNT_SUSPENDED", "", SuspensionSource::kAccount)
          .status()));
  ASSERT_OK_AND_ASSIGN(
      Enforcement::Reinstatement back,
      enforcement.ReinstateSeller("identity", kSeller1, SuspensionSource::kAccount));
  EXPECT_EQ(back.restored, 2);
  EXPECT_FALSE(back.still_suspended);
  EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
  EXPECT_EQ(Owned(kSeller1, draft.listing_id()).state(), v1::DRAFT);
  EXPECT_TRUE(Create(kSeller1, Plush(), &out).ok());
  ASSERT_OK_AND_ASSIGN(
      back, enforcement.ReinstateSeller("identity", kSeller1, SuspensionSource::kAccount));
  EXPECT_EQ(back.restored, 0);  // a redelivered event changes nothing
}

// A moderator's suspension (SuspendSellerListings) outlives identity reinstating the account
// after a suspension of its own, in either order of the two suspensions.
TEST_F(CatalogTrustTest, IdentityReinstatementLeavesTheCatalogSuspensionInForce) {
  for (bool catalog_first : {true, false}) {
    SCOPED_TRACE(catalog_first ? "catalog suspension first" : "account suspension first");
    const v1::Listing live = Submitted(
        kSeller1, Plush(catalog_first ? "Lapin en peluche gris" : "Ours en peluche brun"));
    ASSERT_EQ(live.state(), v1::LIVE);
    v1::SuspendSellerListingsResponse suspended;
    if (catalog_first) {
      ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
    }
    ASSERT_OK(AccountSuspended(kSeller1));
    if (!catalog_first) {
      ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
    }
    ASSERT_OK_AND_ASSIGN(Enforcement::Reinstatement back, AccountReinstated(kSeller1));
    EXPECT_EQ(back.restored, 0);
    EXPECT_TRUE(back.still_suspended);
    EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::SUSPENDED);
    v1::Listing out;
    EXPECT_EQ(Reason(Create(kSeller1, Plush(), &out)), "SELLER_SUSPENDED");

    v1::RestoreSellerListingsResponse restored;
    ASSERT_TRUE(Restore(kSeller1, &restored).ok());
    // The first round's listing and draft are the seller's too in the second.
    EXPECT_EQ(restored.restored(), catalog_first ? 1 : 3);
    EXPECT_FALSE(restored.still_suspended());
    EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
    EXPECT_TRUE(Create(kSeller1, Plush(), &out).ok());
  }
}

// The two sources lifted at once: both answer, neither deadlocks for good, and the listing is
// back exactly once. A restore racing the other source's suspension: the seller ends
// suspended, whichever commits first.
TEST_F(CatalogTrustTest, TheTwoSourcesRacingEndConsistent) {
  const v1::Listing live = Submitted(kSeller1);
  ASSERT_EQ(live.state(), v1::LIVE);
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    v1::SuspendSellerListingsResponse suspended;
    ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
    ASSERT_OK(AccountSuspended(kSeller1));
    grpc::Status restore;
    v1::RestoreSellerListingsResponse restored;
    absl::StatusOr<Enforcement::Reinstatement> reinstated;
    std::thread a([&] { restore = Restore(kSeller1, &restored); });
    std::thread b([&] { reinstated = AccountReinstated(kSeller1); });
    a.join();
    b.join();
    ASSERT_TRUE(restore.ok()) << restore.error_message();
    ASSERT_OK(reinstated.status());
    // One of the two found the other's suspension gone and put the listing back.
    EXPECT_EQ(restored.restored() + reinstated->restored, 1);
    EXPECT_NE(restored.still_suspended(), reinstated->still_suspended);
    EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);

    // A CATALOG suspension lifted while identity suspends the account.
    ASSERT_TRUE(Suspend(kSeller1, &suspended).ok());
    absl::Status account;
    std::thread c([&] { restore = Restore(kSeller1, &restored); });
    std::thread d([&] { account = AccountSuspended(kSeller1); });
    c.join();
    d.join();
    ASSERT_TRUE(restore.ok()) << restore.error_message();
    ASSERT_OK(account);
    EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::SUSPENDED);
    v1::Listing out;
    EXPECT_EQ(Reason(Create(kSeller1, Plush(), &out)), "SELLER_SUSPENDED");
    ASSERT_OK_AND_ASSIGN(Enforcement::Reinstatement back, AccountReinstated(kSeller1));
    EXPECT_EQ(back.restored, 1);
    EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
  }
}

// RestoreSellerListings does not put a seller whose account identity suspended back on sale;
// identity's reinstatement does.
TEST_F(CatalogTrustTest, RestoreLeavesTheAccountSuspensionInForce) {
  const v1::Listing live = Submitted(kSeller1);
  ASSERT_OK(AccountSuspended(kSeller1));
  v1::RestoreSellerListingsResponse restored;
  ASSERT_TRUE(Restore(kSeller1, &restored).ok());
  EXPECT_EQ(restored.restored(), 0);
  EXPECT_TRUE(restored.still_suspended());
  EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::SUSPENDED);
  v1::Listing out;
  EXPECT_EQ(Reason(Create(kSeller1, Plush(), &out)), "SELLER_SUSPENDED");

  ASSERT_OK_AND_ASSIGN(Enforcement::Reinstatement back, AccountReinstated(kSeller1));
  EXPECT_EQ(back.restored, 1);
  EXPECT_FALSE(back.still_suspended);
  EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
  // A seller never suspended: nothing to restore, not suspended.
  ASSERT_TRUE(Restore(kSeller2, &restored).ok());
  EXPECT_EQ(restored.restored(), 0);
  EXPECT_FALSE(restored.still_suspended());
}

// --- item 12: report abuse ---

TEST_F(CatalogTrustTest, ReportsFromFreshAccountsAreKeptButDoNotCount) {
  const v1::Listing live = Submitted(kSeller1);
  for (int i = 0; i < 3; ++i) reporters_.Set(Buyer(i), absl::Now() - absl::Hours(1));
  for (int i = 0; i < 3; ++i) {
    v1::ReportListingResponse r;
    ASSERT_TRUE(Report(Buyer(i), live.listing_id(), &r).ok());
    EXPECT_FALSE(r.sent_to_review());
    EXPECT_EQ(r.open_reports(), 0);
  }
  EXPECT_EQ(Owned(kSeller1, live.listing_id()).state(), v1::LIVE);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM reports WHERE listing_id = ? AND held = "
                  "'NEW_ACCOUNT'",
                  {live.listing_id()}),
            3);
  // Established accounts (old enough, or with a paid order) count.
  const v1::Listing other = Submitted(kSeller2);
  reporters_.Set(Buyer(10), absl::Now() - absl::Hours(24 * 30));
  reporters_.Set(Buyer(11), absl::Now() - absl::Hours(24 * 8));
  reporters_.Set(Buyer(12), absl::Now() - absl::Hours(1));
  // A buyer is an account id, a payment a payment id; other issued forms are refused.
  absl::Status refused =
      RecordPaidOrder(store_.get(), PaidOrder{.buyer_id = absl::StrCat("usr_", Buyer(12)),
                                              .payment_id = "lst_0123456789abcdef01234567",
                                              .order_id = "order-12",
                                              .event_id = "evt-12",
                                              .paid_at = absl::Now()})
          .status();
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_THAT(common::FieldViolationsOf(refused),
              ::testing::UnorderedElementsAre(
                  ::testing::Field(&common::FieldViolation::field, "buyer_id"),
                  ::testing::Field(&common::FieldViolation::field, "payment_id")));
  ASSERT_OK(RecordPaidOrder(store_.get(), PaidOrder{.buyer_id = Buyer(12),
                                                    .payment_id = "pay_0123456789abcdef01234567",
                                                    .order_id = "order-12",
                                                    .event_id = "evt-12",
                                                    .paid_at = absl::Now()})
                .status());
  v1::ReportListingResponse r;
  for (int i = 10; i < 13; ++i) ASSERT_TRUE(Report(Buyer(i), other.listing_id(), &r).ok());
  EXPECT_TRUE(r.sent_to_review());
  EXPECT_EQ(Owned(kSeller2, other.listing_id()).state(), v1::PENDING_REVIEW);
}

// The consumer of payments.payment_held (what payments' relay calls through EventSink): only
// a SERVICE token holding payments.events.publish may deliver it; the buyer's first paid order
// is recorded once, a redelivery or a later order changes nothing, malformed ids are refused
// naming the field; from then on the buyer's reports count although its account is new.
// (Through the real payments and catalog servers: //tests/revocation:revocation_test.)
TEST_F(CatalogTrustTest, PaymentHeldEventsMakeABuyersReportsCount) {
  common::events::EventConsumer consumer(&pool());
  AddPaidOrderConsumer(consumer, store_.get());
  const std::string buyer = Buyer(20);
  reporters_.Set(buyer, absl::Now() - absl::Hours(1));  // far younger than 7 days
  auto held = [&](const std::string& event_id, const std::string& buyer_id,
                  const std::string& payment_id) {
    payments::v1::PaymentHeld payload;
    payload.set_payment_id(payment_id);
    payload.set_order_id("order-" + event_id);
    payload.set_buyer_id(buyer_id);
    payload.set_seller_id(kSeller2);
    events::v1::Event event;
    event.set_event_id(event_id);
    event.set_topic("payments.payment_held");
    event.set_source("payments");
    event.set_key(kSeller2);
    *event.mutable_occurred_at() = common::ToTimestamp(absl::Now());
    event.mutable_payload()->PackFrom(payload);
    return event;
  };
  auto relay = [](const std::string& scope) {
    common::auth::Caller caller;
    caller.subject = "0000000000000000000000000000000c";
    caller.roles = {"SERVICE"};
    caller.scopes = {scope};
    return std::optional<common::auth::Caller>(caller);
  };
  auto recorded = [&] {
    return Count("SELECT COUNT(*) AS n FROM buyer_paid_orders WHERE buyer_id = ?", {buyer});
  };
  const std::string pay1 = "pay_aaaaaaaaaaaaaaaaaaaaaaa1";
  const std::string pay2 = "pay_aaaaaaaaaaaaaaaaaaaaaaa2";

  // A fresh account's report is held.
  const v1::Listing first = Submitted(kSeller1);
  v1::ReportListingResponse r;
  ASSERT_TRUE(Report(buyer, first.listing_id(), &r).ok());
  EXPECT_EQ(r.open_reports(), 0);

  // Only payments' relay may say a buyer paid: identity's scope, or none, is refused.
  EXPECT_TRUE(absl::IsPermissionDenied(
      consumer.Deliver(relay("identity.events.publish"), held("e1", buyer, pay1))));
  EXPECT_TRUE(absl::IsPermissionDenied(
      consumer.Deliver(relay("catalog.events.publish"), held("e1", buyer, pay1))));
  EXPECT_EQ(recorded(), 0);
  // Malformed payloads name the field.
  absl::Status bad = consumer.Deliver(relay("payments.events.publish"),
                                      held("e0", absl::AsciiStrToUpper(buyer), pay1));
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_THAT(common::FieldViolationsOf(bad),
              ::testing::Contains(::testing::Field(&common::FieldViolation::field,
                                                   "event.payload.buyer_id")));
  events::v1::Event wrong = held("e00", buyer, pay1);
  wrong.mutable_payload()->PackFrom(payments::v1::PaymentReleased());
  EXPECT_TRUE(absl::IsInvalidArgument(consumer.Deliver(relay("payments.events.publish"), wrong)));
  EXPECT_EQ(recorded(), 0);

  ASSERT_OK(consumer.Deliver(relay("payments.events.publish"), held("e1", buyer, pay1)));
  ASSERT_OK(consumer.Deliver(relay("payments.events.publish"), held("e1", buyer, pay1)));
  ASSERT_OK(consumer.Deliver(relay("payments.events.publish"), held("e2", buyer, pay2)));
  EXPECT_EQ(recorded(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM buyer_paid_orders WHERE buyer_id = ? AND "
                  "payment_id = ? AND event_id = 'e1'",
                  {buyer, pay1}),
            1);

  // Now its reports count; the one held before stays held.
  const v1::Listing second = Submitted(kSeller2);
  ASSERT_TRUE(Report(buyer, second.listing_id(), &r).ok());
  EXPECT_EQ(r.open_reports(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM reports WHERE reporter_id = ? AND counts",
                  {buyer}),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM reports WHERE reporter_id = ? AND held = "
                  "'NEW_ACCOUNT'",
                  {buyer}),
            1);
}

TEST_F(CatalogTrustTest, ReportsAreRateLimitedPerReporter) {
  CatalogOptions options;
  options.new_seller_listings = 0;
  options.report_rate_limit = 2;
  options.report_threshold = 100;
  Start(options);
  reporters_.Set(Buyer(1), absl::Now() - absl::Hours(24 * 30));
  std::vector<v1::Listing> live;
  for (int i = 0; i < 3; ++i) {
    live.push_back(Submitted(kSeller1, Plush(absl::StrCat("Peluche ourson numero ", i))));
  }
  v1::ReportListingResponse r;
  ASSERT_TRUE(Report(Buyer(1), live[0].listing_id(), &r).ok());
  ASSERT_TRUE(Report(Buyer(1), live[1].listing_id(), &r).ok());
  grpc::Status s = Report(Buyer(1), live[2].listing_id(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Reason(s), "REPORT_RATE_LIMITED");
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM reports WHERE reporter_id = ?", {Buyer(1)}), 2);
}

TEST_F(CatalogTrustTest, BurstOfReportsOnOneSellerIsHeldForModerators) {
  CatalogOptions options;
  options.new_seller_listings = 0;
  options.report_burst_limit = 2;
  options.report_threshold = 2;
  Start(options);
  std::vector<v1::Listing> live;
  for (int i = 0; i < 3; ++i) {
    live.push_back(Submitted(kSeller1, Plush(absl::StrCat("Peluche ourson numero ", i))));
  }
  for (int i = 0; i < 6; ++i) reporters_.Set(Buyer(i), absl::Now() - absl::Hours(24 * 30));
  v1::ReportListingResponse r;
  // Two counted reports on the seller's first listing send it to review...
  ASSERT_TRUE(Report(Buyer(0), live[0].listing_id(), &r).ok());
  ASSERT_TRUE(Report(Buyer(1), live[0].listing_id(), &r).ok());
  EXPECT_TRUE(r.sent_to_review());
  // ...then the burst limit of the seller is reached: the next ones are held, not counted.
  for (int i = 2; i < 6; ++i) {
    ASSERT_TRUE(Report(Buyer(i), live[1 + i % 2].listing_id(), &r).ok());
    EXPECT_FALSE(r.sent_to_review());
  }
  EXPECT_EQ(Owned(kSeller1, live[1].listing_id()).state(), v1::LIVE);
  EXPECT_EQ(Owned(kSeller1, live[2].listing_id()).state(), v1::LIVE);
  EXPECT_EQ(
      Count("SELECT COUNT(*) AS n FROM reports WHERE seller_id = ? AND held = 'BURST'", {kSeller1}),
      4);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM reports WHERE seller_id = ?", {kSeller1}), 6);
}

// --- item 13: text search semantics (speed: bench/catalog_bench.sh) ---

TEST_F(CatalogTrustTest, TextQueryMatchesEveryWholeWordShortOrCommon) {
  const v1::Listing a = Submitted(kSeller1, Plush("Peluche ourson XL de la mer"));
  const v1::Listing b = Submitted(kSeller1, Plush("Peluche lapin brun 30 cm"));
  const v1::Listing c = Submitted(kSeller2, Plush("Ourson en peluche tout doux"));
  auto ids = [&](const std::string& query) {
    v1::ListListingsRequest req;
    req.set_query(query);
    v1::ListListingsResponse page;
    grpc::Status s = stub_->ListListings(As("", "").get(), req, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const v1::Listing& l : page.listings()) out.push_back(l.listing_id());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("ourson peluche"), (V{c.listing_id(), a.listing_id()}));
  EXPECT_EQ(ids("OURSON xl"), (V{a.listing_id()}));
  EXPECT_EQ(ids("de la"), (V{a.listing_id()}));
  EXPECT_EQ(ids("30 lapin"), (V{b.listing_id()}));
  EXPECT_EQ(ids("ours"), V{});  // whole words only
  EXPECT_EQ(ids("peluche écureuil"), V{});
  EXPECT_EQ(ids("Écureuil"), V{});

  // A new title replaces the old words (the listing's words are rewritten with it).
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(b.listing_id());
  up.mutable_listing()->set_title("Écureuil roux en peluche");
  up.mutable_update_mask()->add_paths("title");
  v1::Listing updated;
  grpc::Status s = stub_->UpdateListing(As(kSeller1, "SELLER").get(), up, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(updated.state(), v1::LIVE);
  EXPECT_EQ(ids("ecureuil PELUCHE"), (V{b.listing_id()}));
  EXPECT_EQ(ids("lapin"), V{});
  // Pages of a text query follow each other without repeats.
  for (int i = 0; i < 3; ++i) Submitted(kSeller2, Plush(absl::StrCat("Ourson numero ", i)));
  v1::ListListingsRequest req;
  req.set_query("ourson");
  req.set_page_size(2);
  std::vector<std::string> seen;
  do {
    v1::ListListingsResponse page;
    ASSERT_TRUE(stub_->ListListings(As("", "").get(), req, &page).ok());
    for (const v1::Listing& l : page.listings()) seen.push_back(l.listing_id());
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
}

// A public first page kept in memory is answered with its listings pre-serialized: a real
// client parses the same page as the one read from the database, and its page token works.
// (The page is kept a minute here, so the second and third calls are served from memory.)
TEST_F(CatalogTrustTest, KeptPublicFirstPageReachesClientsWhole) {
  PublicViewCacheOptions cache;
  cache.ttl = absl::Minutes(2);
  cache.poll_interval = absl::Minutes(1);
  CatalogOptions options;
  options.new_seller_listings = 0;
  Start(options, cache);
  const v1::Listing a = Submitted(kSeller1, Plush("Peluche ourson brun"));
  const v1::Listing b = Submitted(kSeller2, Plush("Poupée de chiffon rouge"));
  v1::ListListingsRequest req;
  req.set_page_size(1);
  v1::ListListingsResponse read, kept;
  ASSERT_TRUE(stub_->ListListings(As("", "").get(), req, &read).ok());
  ASSERT_EQ(read.listings_size(), 1);
  EXPECT_EQ(read.listings(0).listing_id(), b.listing_id());
  ASSERT_FALSE(read.next_page_token().empty());
  Submitted(kSeller1, Plush("Peluche lapin blanc"));  // not in the kept page
  ASSERT_TRUE(stub_->ListListings(As("", "").get(), req, &kept).ok());
  EXPECT_EQ(kept.SerializeAsString(), read.SerializeAsString());
  EXPECT_EQ(kept.listings(0).title(), "Poupée de chiffon rouge");
  req.set_page_token(kept.next_page_token());
  v1::ListListingsResponse next;
  ASSERT_TRUE(stub_->ListListings(As("", "").get(), req, &next).ok());
  ASSERT_EQ(next.listings_size(), 1);
  EXPECT_EQ(next.listings(0).listing_id(), a.listing_id());
}

}  // namespace
}  // namespace marketplace::catalog
