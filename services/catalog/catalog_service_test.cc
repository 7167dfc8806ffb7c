// The gRPC API on an in-process server over a real database: authentication (deny by default,
// public reads), permissions per role and owner, and error details on the wire.
#include "services/catalog/catalog_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/executor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/server/server.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/catalog/mysql_listing_store.h"

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

constexpr char kIssuer[] = "marketplace-identity";

v1::Listing Plush() {
  v1::Listing l;
  l.set_title("Peluche ourson brun 30 cm");
  l.set_description("Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
  l.set_category_id("toys-plush");
  l.set_condition(v1::NEW);
  l.mutable_price()->set_currency_code("EUR");
  l.mutable_price()->set_amount_minor(1990);
  l.set_quantity(1);
  l.add_image_urls("https://img.example/ourson.jpg");
  (*l.mutable_attributes())["age_range"] = "0+";
  return l;
}

class CatalogServiceTest : public common::testing::DatabaseTest {
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
    sellers_.Set(kS1, true);
    sellers_.Set(kS2, true);
    CatalogOptions options;
    options.new_seller_listings = 0;
    store_ = std::make_unique<MysqlListingStore>(&pool(), common::SystemClock::Get(),
                                                 MysqlListingStore::Options());
    listings_ = std::make_unique<CatalogApi>(store_.get(), rules_.get(), &sellers_,
                                             common::SystemClock::Get(), options,
                                             PublicViewCacheOptions());
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

  void TearDown() override {
    server_->Shutdown();
    server_.reset();
    listings_.reset();
    store_.reset();
    DatabaseTest::TearDown();
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

  // A context carrying `token` (none when empty).
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) common::auth::AttachBearerToken(ctx.get(), token);
    return ctx;
  }

  v1::Listing CreateDraft(const std::string& seller) {
    v1::CreateListingRequest req;
    *req.mutable_listing() = Plush();
    req.set_request_id(absl::StrCat("req-", ++requests_));
    v1::Listing out;
    grpc::Status s = stub_->CreateListing(Ctx(Token(seller, "SELLER")).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  common::auth::Ed25519KeyPair key_;
  common::auth::FakeKeyFetcher keys_;
  std::unique_ptr<common::auth::TokenVerifier> verifier_;
  std::unique_ptr<common::auth::Authenticator> authenticator_;
  std::unique_ptr<common::BoundedExecutor> executor_;
  std::unique_ptr<common::UnaryRunner> runner_;
  common::identity_client::FakeSellerDirectory sellers_;
  std::unique_ptr<LiveRules> rules_;
  std::unique_ptr<MysqlListingStore> store_;
  std::unique_ptr<CatalogApi> listings_;
  std::unique_ptr<CatalogService> service_;
  std::unique_ptr<common::Server> server_;
  std::unique_ptr<v1::CatalogService::Stub> stub_;
  int tokens_ = 0;
  int requests_ = 0;
};

TEST_F(CatalogServiceTest, AnonymousCallsOnlyReachPublicMethods) {
  v1::CreateListingRequest create;
  *create.mutable_listing() = Plush();
  create.set_request_id("anon");
  v1::Listing out;
  EXPECT_EQ(stub_->CreateListing(Ctx("").get(), create, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ListReviewQueueResponse queue;
  EXPECT_EQ(stub_->ListReviewQueue(Ctx("").get(), {}, &queue).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ListCategoriesResponse cats;
  ASSERT_TRUE(stub_->ListCategories(Ctx("").get(), {}, &cats).ok());
  EXPECT_GT(cats.categories_size(), 0);
  // A bad token is refused even on a public method.
  EXPECT_EQ(stub_->ListCategories(Ctx("not-a-token").get(), {}, &cats).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CatalogServiceTest, LiveListingIsPublicDraftIsNot) {
  v1::Listing draft = CreateDraft(kS1);
  v1::GetListingRequest get;
  get.set_listing_id(draft.listing_id());
  v1::Listing seen;
  grpc::Status s = stub_->GetListing(Ctx(Token(kB1, "BUYER")).get(), get, &seen);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(s)), "LISTING_NOT_FOUND");
  EXPECT_EQ(stub_->GetListing(Ctx("").get(), get, &seen).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::SubmitListingRequest submit;
  submit.set_listing_id(draft.listing_id());
  v1::Listing live;
  ASSERT_TRUE(stub_->SubmitListing(Ctx(Token(kS1, "SELLER")).get(), submit, &live).ok());
  ASSERT_EQ(live.state(), v1::LIVE);
  ASSERT_TRUE(stub_->GetListing(Ctx("").get(), get, &seen).ok());
  EXPECT_EQ(seen.listing_id(), draft.listing_id());
  v1::ListListingsResponse page;
  ASSERT_TRUE(stub_->ListListings(Ctx("").get(), {}, &page).ok());
  EXPECT_EQ(page.listings_size(), 1);
}

TEST_F(CatalogServiceTest, SellerCannotEditAnothersListing) {
  v1::Listing draft = CreateDraft(kS1);
  v1::UpdateListingRequest up;
  up.mutable_listing()->set_listing_id(draft.listing_id());
  up.mutable_listing()->set_title("Not yours to change");
  up.mutable_update_mask()->add_paths("title");
  v1::Listing out;
  // Someone else's draft answers like a missing listing (AIP-193); a buyer may never update.
  EXPECT_EQ(stub_->UpdateListing(Ctx(Token(kS2, "SELLER")).get(), up, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->UpdateListing(Ctx(Token(kB1, "BUYER")).get(), up, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A bad mask path is named.
  up.mutable_update_mask()->add_paths("seller_id");
  grpc::Status s = stub_->UpdateListing(Ctx(Token(kS1, "SELLER")).get(), up, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = common::FieldViolationsOf(common::FromGrpcStatus(s));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "update_mask");
}

TEST_F(CatalogServiceTest, ModeratorsOnlyForTheQueueAndOneClaimAtATime) {
  sellers_.Set(kS3, true);
  // s3 is at risk: its listing goes to review.
  v1::SetSellerModerationLevelRequest level;
  level.set_seller_id(kS3);
  level.set_level(v1::AT_RISK);
  v1::SellerModeration mod;
  EXPECT_EQ(
      stub_->SetSellerModerationLevel(Ctx(Token(kS3, "SELLER")).get(), level, &mod).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->SetSellerModerationLevel(Ctx(Token(kA1, "ADMIN")).get(), level, &mod).ok());
  v1::Listing draft = CreateDraft(kS3);
  v1::SubmitListingRequest submit;
  submit.set_listing_id(draft.listing_id());
  v1::Listing pending;
  ASSERT_TRUE(stub_->SubmitListing(Ctx(Token(kS3, "SELLER")).get(), submit, &pending).ok());
  ASSERT_EQ(pending.state(), v1::PENDING_REVIEW);

  v1::ListReviewQueueResponse queue;
  EXPECT_EQ(stub_->ListReviewQueue(Ctx(Token(kB1, "BUYER")).get(), {}, &queue).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->ListReviewQueue(Ctx(Token(kM1, "MODERATOR")).get(), {}, &queue).ok());
  ASSERT_EQ(queue.reviews_size(), 1);

  v1::ClaimReviewRequest claim;
  claim.set_listing_id(draft.listing_id());
  v1::Review review;
  ASSERT_TRUE(stub_->ClaimReview(Ctx(Token(kM1, "MODERATOR")).get(), claim, &review).ok());
  grpc::Status s = stub_->ClaimReview(Ctx(Token(kM2, "MODERATOR")).get(), claim, &review);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ReasonOf(common::FromGrpcStatus(s)), "REVIEW_ALREADY_CLAIMED");

  v1::SuspendSellerListingsRequest suspend;
  suspend.set_seller_id(kS3);
  suspend.set_reason_code("SELLER_SUSPENDED");
  v1::SuspendSellerListingsResponse suspended;
  EXPECT_EQ(stub_->SuspendSellerListings(Ctx(Token(kSVC, "SERVICE")).get(), suspend, &suspended)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      stub_
          ->SuspendSellerListings(Ctx(Token(kSVC, "SERVICE", {"catalog.enforcement"})).get(),
                                  suspend, &suspended)
          .ok());
  EXPECT_EQ(suspended.suspended(), 1);
}

}  // namespace
}  // namespace marketplace::catalog
