// Removal reaches the other services: identity_server, catalog_server and payments_server as
// real processes on one MariaDB (a database each). Identity's relay delivers its events to
// catalog's and payments' EventSink with identity's own token; each refuses the account's
// older tokens (UNAUTHENTICATED, reason TOKEN_REVOKED) from then on, and refuses events from
// anyone without the scope identity.events.publish. Payments' relay delivers
// payments.payment_held to catalog the same way (its own token, payments.events.publish): a
// buyer with a held payment is established for catalog's report threshold.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "common/proto_time.h"
#include "common/testing/mariadb_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "tests/identity/identity_process.h"
#include "tests/support/subprocess.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
namespace events_v1 = ::marketplace::events::v1;
namespace payments_v1 = ::marketplace::payments::v1;
using identity_v1::Identity;

constexpr absl::Duration kMaxDelay = absl::Seconds(5);

void WithDeadline(grpc::ClientContext* ctx, const std::string& token) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

// Whether a token is refused as revoked, tried on a method the issue names for each service.
// Any other answer (the requests are deliberately incomplete) means the token was accepted.
grpc::Status CallCatalog(catalog_v1::CatalogService::Stub* stub, const std::string& token) {
  grpc::ClientContext ctx;
  WithDeadline(&ctx, token);
  catalog_v1::ReportListingRequest req;
  req.set_listing_id("no-such-listing");
  catalog_v1::ReportListingResponse resp;
  return stub->ReportListing(&ctx, req, &resp);
}

grpc::Status CallPayments(payments_v1::Payments::Stub* stub, const std::string& token) {
  grpc::ClientContext ctx;
  WithDeadline(&ctx, token);
  payments_v1::OpenDisputeRequest req;
  req.set_payment_id("no-such-payment");
  payments_v1::Payment resp;
  return stub->OpenDispute(&ctx, req, &resp);
}

bool Revoked(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
         ReasonOf(status) == "TOKEN_REVOKED";
}

class RevocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const int catalog_port = PickFreePort();
    const int payments_port = PickFreePort();
    catalog_target_ = new std::string(absl::StrCat("127.0.0.1:", catalog_port));
    payments_target_ = new std::string(absl::StrCat("127.0.0.1:", payments_port));
    auto identity = IdentityProcess::Start({absl::StrCat(
        "--event_subscribers=catalog=", *catalog_target_, ":identity.,payments=",
        *payments_target_, ":identity.")});
    ASSERT_TRUE(identity.ok()) << identity.status();
    identity_ = identity->release();

    auto admin = Login(identity_->stub(), identity_->admin_email(), identity_->admin_password());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_token_ = new std::string(admin->tokens().access_token());

    std::vector<std::string> catalog_args = {
        absl::StrCat("--listen_address=", *catalog_target_),
        "--metrics_address=127.0.0.1:0",
        "--categories_file=" + RunfilePath("services/catalog/data/categories.json"),
        "--moderation_rules_file=" + RunfilePath("services/catalog/data/moderation_rules.json"),
        "--category_model_file=" + RunfilePath("services/catalog/data/category_model.ftz"),
        "--drain_timeout=2s",
        "--log_level=warn",
        "--signing_keys_max_age=2s",
        "--new_seller_listings=0",
    };
    std::vector<std::string> payments_args = {
        absl::StrCat("--listen_address=", *payments_target_),
        "--metrics_address=127.0.0.1:0",
        // sellerkpi is absent (nothing listens on port 1): it delays only itself.
        absl::StrCat("--event_subscribers=sellerkpi=127.0.0.1:1:payments.,catalog=",
                     *catalog_target_, ":payments.payment_held"),
        "--drain_timeout=2s",
        "--log_level=warn",
        "--signing_keys_max_age=1h",
    };
    for (auto* args : {&catalog_args, &payments_args}) {
      for (std::string& flag : TestTlsFlags()) args->push_back(std::move(flag));
      const bool is_catalog = args == &catalog_args;
      auto db = IdentityProcess::NewDatabaseArgs();
      ASSERT_TRUE(db.ok()) << db.status();
      args->insert(args->end(), db->begin(), db->end());
      if (is_catalog) {
        for (const std::string& arg : *db) {
          if (absl::StartsWith(arg, "--db_name=")) {
            catalog_db_name_ = new std::string(arg.substr(strlen("--db_name=")));
          }
        }
      }
      args->push_back("--identity_address=" + identity_->target());
      // Each service's own SERVICE account, with the scopes its identity_scopes file lists.
      identity_v1::CreateServiceAccountRequest req;
      req.set_display_name(is_catalog ? "catalog" : "payments");
      req.add_scopes("identity.accounts.read");
      req.add_scopes(is_catalog ? "catalog.events.publish" : "payments.events.publish");
      req.set_request_id(absl::StrCat("svc-", is_catalog, "-", absl::ToUnixMicros(absl::Now())));
      identity_v1::CreateServiceAccountResponse created;
      grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateServiceAccount, req,
                                    &created, *admin_token_);
      ASSERT_TRUE(s.ok()) << s.error_message();
      args->push_back("--service_client_id=" + created.client_id());
      args->push_back("--service_client_secret=" + created.client_secret());
      if (!is_catalog) {
        payments_client_id_ = new std::string(created.client_id());
        payments_client_secret_ = new std::string(created.client_secret());
      }
    }
    auto catalog = Subprocess::Start(RunfilePath("services/catalog/catalog_server"), catalog_args);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = new Subprocess(*std::move(catalog));
    auto payments =
        Subprocess::Start(RunfilePath("services/payments/payments_server"), payments_args);
    ASSERT_TRUE(payments.ok()) << payments.status();
    payments_ = new Subprocess(*std::move(payments));

    auto catalog_channel = grpc::CreateChannel(*catalog_target_, TestChannelCredentials());
    auto payments_channel = grpc::CreateChannel(*payments_target_, TestChannelCredentials());
    const absl::Time end = absl::Now() + absl::Seconds(60);
    while (!Serving(catalog_channel) || !Serving(payments_channel)) {
      ASSERT_FALSE(catalog_->WaitFor(absl::ZeroDuration()).has_value()) << catalog_->Output();
      ASSERT_FALSE(payments_->WaitFor(absl::ZeroDuration()).has_value()) << payments_->Output();
      ASSERT_LT(absl::Now(), end) << catalog_->Output() << payments_->Output();
      absl::SleepFor(absl::Milliseconds(100));
    }
    catalog_stub_ = catalog_v1::CatalogService::NewStub(catalog_channel).release();
    payments_stub_ = payments_v1::Payments::NewStub(payments_channel).release();
    catalog_sink_ = events_v1::EventSink::NewStub(catalog_channel).release();
    payments_sink_ = events_v1::EventSink::NewStub(payments_channel).release();
  }

  static void TearDownTestSuite() {
    delete catalog_;
    delete payments_;
    delete identity_;
  }

  void SetUp() override {
    if (catalog_stub_ == nullptr) GTEST_SKIP() << "the processes did not start";
  }

  static absl::StatusOr<identity_v1::LoginResponse> NewAccount(identity_v1::Role role) {
    return SignUpAndLogin(identity_->stub(), role, UniqueEmail("revocation"));
  }

  // The seller's application, submitted with its `token` and approved by the admin.
  static void Approve(const std::string& token, const std::string& id) {
    identity_v1::SubmitSellerApplicationRequest req;
    req.set_name("accounts/me/sellerProfile");
    identity_v1::SellerApplication* a = req.mutable_application();
    a->set_legal_name("Example Trading GmbH");
    a->set_registration_number("HRB 12345");
    a->set_country_code("DE");
    a->set_payout_account_ref("payout:acct_123");
    a->set_contact_email("onboarding@example.com");
    a->set_contact_phone("+4915112345678");
    identity_v1::SellerProfile profile;
    grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::SubmitSellerApplication,
                                  req, &profile, token);
    ASSERT_TRUE(s.ok()) << s.error_message();
    identity_v1::ReviewSellerApplicationRequest review;
    review.set_name("accounts/" + id + "/sellerProfile");
    review.set_decision(identity_v1::APPROVE);
    s = CallIdentity(identity_->stub(), &Identity::Stub::ReviewSellerApplication, review, &profile,
                     *admin_token_);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A plush listing of the seller of `token`, created and submitted.
  static void PlushListing(const std::string& token, catalog_v1::Listing* listing) {
    catalog_v1::CreateListingRequest req;
    catalog_v1::Listing* l = req.mutable_listing();
    l->set_title("Peluche ourson brun 30 cm");
    l->set_description("Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
    l->set_category_id("toys-plush");
    l->set_condition(catalog_v1::NEW);
    l->mutable_price()->set_currency_code("EUR");
    l->mutable_price()->set_amount_minor(1990);
    l->set_quantity(1);
    l->add_image_urls("https://img.example/ourson.jpg");
    (*l->mutable_attributes())["age_range"] = "0+";
    req.set_request_id(absl::StrCat("listing-", absl::ToUnixMicros(absl::Now())));
    grpc::ClientContext ctx;
    WithDeadline(&ctx, token);
    grpc::Status s = catalog_stub_->CreateListing(&ctx, req, listing);
    ASSERT_TRUE(s.ok()) << s.error_message();
    catalog_v1::SubmitListingRequest submit;
    submit.set_listing_id(listing->listing_id());
    grpc::ClientContext ctx2;
    WithDeadline(&ctx2, token);
    s = catalog_stub_->SubmitListing(&ctx2, submit, listing);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static grpc::Status Suspend(const std::string& account_id) {
    identity_v1::SuspendAccountRequest req;
    req.set_name("accounts/" + account_id);
    req.set_reason_code("FRAUD");
    req.set_reason("test suspension");
    identity_v1::Account resp;
    return CallIdentity(identity_->stub(), &Identity::Stub::SuspendAccount, req, &resp,
                        *admin_token_);
  }

  // Polls until `token` is refused as revoked by the service, up to kMaxDelay after `from`;
  // the time from `from` to the first refusal, or nullopt.
  template <typename Call>
  static std::optional<absl::Duration> TimeToRefusal(Call call, absl::Time from) {
    while (absl::Now() - from <= kMaxDelay) {
      grpc::Status status = call();
      if (Revoked(status)) return absl::Now() - from;
      if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        ADD_FAILURE() << "refused for another reason: " << status.error_message();
        return std::nullopt;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return std::nullopt;
  }

  static grpc::Status ForgedDeliver(events_v1::EventSink::Stub* sink, const std::string& token,
                                    const std::string& victim) {
    events_v1::AccountSuspended payload;
    payload.set_account_id(victim);
    *payload.mutable_not_before() = common::ToTimestamp(absl::Now() + absl::Hours(1));
    payload.set_reason_code("FRAUD");
    events_v1::DeliverRequest req;
    events_v1::Event* event = req.mutable_event();
    event->set_event_id(absl::StrCat("forged-", absl::ToUnixMicros(absl::Now())));
    event->set_topic("identity.account_suspended");
    event->set_source("identity");
    event->set_key(victim);
    *event->mutable_occurred_at() = common::ToTimestamp(absl::Now());
    event->mutable_payload()->PackFrom(payload);
    grpc::ClientContext ctx;
    WithDeadline(&ctx, token);
    events_v1::DeliverResponse resp;
    return sink->Deliver(&ctx, req, &resp);
  }

  static inline IdentityProcess* identity_ = nullptr;
  static inline Subprocess* catalog_ = nullptr;
  static inline Subprocess* payments_ = nullptr;
  static inline std::string* catalog_target_ = nullptr;
  static inline std::string* payments_target_ = nullptr;
  static inline std::string* admin_token_ = nullptr;
  static inline std::string* payments_client_id_ = nullptr;
  static inline std::string* payments_client_secret_ = nullptr;
  static inline std::string* catalog_db_name_ = nullptr;
  static inline catalog_v1::CatalogService::Stub* catalog_stub_ = nullptr;
  static inline payments_v1::Payments::Stub* payments_stub_ = nullptr;
  static inline events_v1::EventSink::Stub* catalog_sink_ = nullptr;
  static inline events_v1::EventSink::Stub* payments_sink_ = nullptr;
};

TEST_F(RevocationTest, SuspendedSellersTokenIsRefusedByCatalogAndPaymentsWithinFiveSeconds) {
  constexpr int kRuns = 5;
  std::vector<absl::Duration> catalog_delays, payments_delays;
  for (int run = 0; run < kRuns; ++run) {
    auto seller = NewAccount(identity_v1::SELLER);
    ASSERT_TRUE(seller.ok()) << seller.status();
    const std::string token = seller->tokens().access_token();
    ASSERT_FALSE(Revoked(CallCatalog(catalog_stub_, token)));
    ASSERT_FALSE(Revoked(CallPayments(payments_stub_, token)));
    ASSERT_NE(CallPayments(payments_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);

    grpc::Status suspended = Suspend(seller->account().account_id());
    const absl::Time answered = absl::Now();
    ASSERT_TRUE(suspended.ok()) << suspended.error_message();
    // Both services polled from the same instant, concurrently.
    std::optional<absl::Duration> at_catalog, at_payments;
    std::thread catalog_poll([&] {
      at_catalog = TimeToRefusal([&] { return CallCatalog(catalog_stub_, token); }, answered);
    });
    at_payments = TimeToRefusal([&] { return CallPayments(payments_stub_, token); }, answered);
    catalog_poll.join();
    ASSERT_TRUE(at_catalog.has_value()) << "catalog still accepts the token after 5 s";
    ASSERT_TRUE(at_payments.has_value()) << "payments still accepts the token after 5 s";
    catalog_delays.push_back(*at_catalog);
    payments_delays.push_back(*at_payments);
  }
  std::sort(catalog_delays.begin(), catalog_delays.end());
  std::sort(payments_delays.begin(), payments_delays.end());
  std::printf("suspension -> first refusal over %d runs: catalog median %s (max %s), "
              "payments median %s (max %s)\n",
              kRuns, absl::FormatDuration(catalog_delays[kRuns / 2]).c_str(),
              absl::FormatDuration(catalog_delays.back()).c_str(),
              absl::FormatDuration(payments_delays[kRuns / 2]).c_str(),
              absl::FormatDuration(payments_delays.back()).c_str());
}

TEST_F(RevocationTest, ForgedDeliverIsRefusedAndChangesNothing) {
  auto victim = NewAccount(identity_v1::SELLER);
  ASSERT_TRUE(victim.ok()) << victim.status();
  auto buyer = NewAccount(identity_v1::BUYER);
  ASSERT_TRUE(buyer.ok()) << buyer.status();
  const std::string victim_id = victim->account().account_id();

  // A real SERVICE token, but of payments: it holds payments.events.publish, not
  // identity.events.publish.
  identity_v1::IssueServiceTokenRequest issue;
  issue.set_client_id(*payments_client_id_);
  issue.set_client_secret(*payments_client_secret_);
  identity_v1::IssueServiceTokenResponse service;
  grpc::Status issued =
      CallIdentity(identity_->stub(), &Identity::Stub::IssueServiceToken, issue, &service);
  ASSERT_TRUE(issued.ok()) << issued.error_message();

  for (auto* sink : {catalog_sink_, payments_sink_}) {
    EXPECT_EQ(ForgedDeliver(sink, "", victim_id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(ForgedDeliver(sink, "not.a.token", victim_id).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(ForgedDeliver(sink, buyer->tokens().access_token(), victim_id).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ForgedDeliver(sink, service.access_token(), victim_id).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Longer than every replica's refresh: the victim's token is still accepted everywhere.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_FALSE(Revoked(CallCatalog(catalog_stub_, victim->tokens().access_token())));
  EXPECT_FALSE(Revoked(CallPayments(payments_stub_, victim->tokens().access_token())));
  EXPECT_NE(CallPayments(payments_stub_, victim->tokens().access_token()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RevocationTest, LogoutAllEndsTheOldTokenAtCatalogAndPayments) {
  auto buyer = NewAccount(identity_v1::BUYER);
  ASSERT_TRUE(buyer.ok()) << buyer.status();
  const std::string token = buyer->tokens().access_token();
  ASSERT_NE(CallPayments(payments_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_NE(CallCatalog(catalog_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  identity_v1::LogoutAllRequest req;
  identity_v1::LogoutAllResponse resp;
  grpc::Status out = CallIdentity(identity_->stub(), &Identity::Stub::LogoutAll, req, &resp, token);
  ASSERT_TRUE(out.ok()) << out.error_message();
  const absl::Time answered = absl::Now();
  EXPECT_TRUE(TimeToRefusal([&] { return CallCatalog(catalog_stub_, token); }, answered));
  EXPECT_TRUE(TimeToRefusal([&] { return CallPayments(payments_stub_, token); }, answered));
}

TEST_F(RevocationTest, AfterReinstatementANewLoginWorksAndTheOldTokenStaysRefused) {
  const std::string email = UniqueEmail("reinstated");
  auto seller = SignUpAndLogin(identity_->stub(), identity_v1::SELLER, email);
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string old_token = seller->tokens().access_token();
  const std::string id = seller->account().account_id();
  ASSERT_TRUE(Suspend(id).ok());
  const absl::Time answered = absl::Now();
  ASSERT_TRUE(TimeToRefusal([&] { return CallCatalog(catalog_stub_, old_token); }, answered));
  ASSERT_TRUE(TimeToRefusal([&] { return CallPayments(payments_stub_, old_token); }, answered));

  identity_v1::ReinstateAccountRequest req;
  req.set_name("accounts/" + id);
  req.set_reason_code("APPEAL_GRANTED");
  req.set_reason("cleared");
  identity_v1::Account resp;
  grpc::Status reinstated = CallIdentity(identity_->stub(), &Identity::Stub::ReinstateAccount, req,
                                         &resp, *admin_token_);
  ASSERT_TRUE(reinstated.ok()) << reinstated.error_message();
  // A token's iat has whole seconds: one from the second of the suspension would be refused.
  absl::SleepFor(absl::Seconds(1));
  auto again = Login(identity_->stub(), email, kGoodPassword);
  ASSERT_TRUE(again.ok()) << again.status();
  const std::string new_token = again->tokens().access_token();
  EXPECT_NE(CallCatalog(catalog_stub_, new_token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(CallPayments(payments_stub_, new_token).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Past every replica's refresh, the old token is still refused.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(Revoked(CallCatalog(catalog_stub_, old_token)));
  EXPECT_TRUE(Revoked(CallPayments(payments_stub_, old_token)));
}

// Catalog consumes the same events: the suspended seller's listings are taken down without a
// second call, and the reinstatement restores them.
TEST_F(RevocationTest, SuspensionTakesTheSellersListingsDownAndReinstatementRestoresThem) {
  auto seller = NewAccount(identity_v1::SELLER);
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string token = seller->tokens().access_token();
  const std::string id = seller->account().account_id();
  ASSERT_NO_FATAL_FAILURE(Approve(token, id));
  catalog_v1::Listing listing;
  ASSERT_NO_FATAL_FAILURE(PlushListing(token, &listing));
  const catalog_v1::ListingState before = listing.state();
  ASSERT_TRUE(before == catalog_v1::LIVE || before == catalog_v1::PENDING_REVIEW)
      << catalog_v1::ListingState_Name(before);
  auto state_of = [&]() -> catalog_v1::ListingState {
    catalog_v1::GetListingRequest req;
    req.set_listing_id(listing.listing_id());
    catalog_v1::Listing got;
    grpc::ClientContext ctx;
    WithDeadline(&ctx, *admin_token_);
    grpc::Status s = catalog_stub_->GetListing(&ctx, req, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return got.state();
  };
  auto wait_for = [&](catalog_v1::ListingState wanted) {
    const absl::Time end = absl::Now() + kMaxDelay;
    while (absl::Now() < end) {
      if (state_of() == wanted) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  };

  ASSERT_TRUE(Suspend(id).ok());
  EXPECT_TRUE(wait_for(catalog_v1::SUSPENDED)) << catalog_v1::ListingState_Name(state_of());

  identity_v1::ReinstateAccountRequest req;
  req.set_name("accounts/" + id);
  req.set_reason_code("APPEAL_GRANTED");
  req.set_reason("cleared");
  identity_v1::Account resp;
  ASSERT_TRUE(CallIdentity(identity_->stub(), &Identity::Stub::ReinstateAccount, req, &resp,
                           *admin_token_)
                  .ok());
  EXPECT_TRUE(wait_for(before)) << catalog_v1::ListingState_Name(state_of());
}

// Item 12, "or a paid order": a fresh buyer's report is held; once payments held a payment of
// that buyer (real payments_server, sandbox processor) and payments' relay delivered
// payments.payment_held to catalog's EventSink (payments' own token), the buyer's next report
// counts. Another fresh buyer without a payment stays held, and cannot make itself "paid" by
// delivering the event with its own token.
TEST_F(RevocationTest, AHeldPaymentMakesAFreshBuyersReportsCount) {
  // Two approved sellers with a LIVE listing each.
  std::vector<std::string> seller_ids;
  std::vector<catalog_v1::Listing> listings;
  for (int i = 0; i < 2; ++i) {
    auto seller = NewAccount(identity_v1::SELLER);
    ASSERT_TRUE(seller.ok()) << seller.status();
    ASSERT_NO_FATAL_FAILURE(
        Approve(seller->tokens().access_token(), seller->account().account_id()));
    catalog_v1::Listing listing;
    ASSERT_NO_FATAL_FAILURE(PlushListing(seller->tokens().access_token(), &listing));
    ASSERT_EQ(listing.state(), catalog_v1::LIVE);
    seller_ids.push_back(seller->account().account_id());
    listings.push_back(listing);
  }
  auto buyer = NewAccount(identity_v1::BUYER);
  ASSERT_TRUE(buyer.ok()) << buyer.status();
  auto other = NewAccount(identity_v1::BUYER);
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string buyer_id = buyer->account().account_id();
  auto report = [&](const std::string& token, const catalog_v1::Listing& listing) {
    catalog_v1::ReportListingRequest req;
    req.set_listing_id(listing.listing_id());
    req.set_reason(catalog_v1::COUNTERFEIT);
    catalog_v1::ReportListingResponse resp;
    grpc::ClientContext ctx;
    WithDeadline(&ctx, token);
    grpc::Status s = catalog_stub_->ReportListing(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.open_reports();  // counted open reports: 0 while the report is held
  };

  // A fresh account (younger than --report_min_account_age, 7 days): held.
  EXPECT_EQ(report(buyer->tokens().access_token(), listings[0]), 0);

  // The buyer cannot say it paid: its token is not payments' relay.
  {
    payments_v1::PaymentHeld payload;
    payload.set_payment_id("pay_000000000000000000000001");
    payload.set_order_id("forged-order");
    payload.set_buyer_id(other->account().account_id());
    payload.set_seller_id(seller_ids[1]);
    events_v1::DeliverRequest req;
    events_v1::Event* event = req.mutable_event();
    event->set_event_id(absl::StrCat("forged-paid-", absl::ToUnixMicros(absl::Now())));
    event->set_topic("payments.payment_held");
    event->set_source("payments");
    event->set_key(seller_ids[1]);
    *event->mutable_occurred_at() = common::ToTimestamp(absl::Now());
    event->mutable_payload()->PackFrom(payload);
    grpc::ClientContext ctx;
    WithDeadline(&ctx, other->tokens().access_token());
    events_v1::DeliverResponse resp;
    EXPECT_EQ(catalog_sink_->Deliver(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // The buyer pays seller 0 (checkout as the buyer itself; the sandbox captures).
  payments_v1::CreatePaymentRequest pay;
  pay.set_request_id(absl::StrCat("paid-order-", absl::ToUnixMicros(absl::Now())));
  pay.set_order_id(absl::StrCat("order-", absl::ToUnixMicros(absl::Now())));
  pay.set_buyer_id(buyer_id);
  pay.set_seller_id(seller_ids[0]);
  pay.mutable_amount()->set_currency_code("EUR");
  pay.mutable_amount()->set_amount_minor(1990);
  pay.set_payment_method_token("tok_sandbox_success");
  payments_v1::Payment payment;
  {
    grpc::ClientContext ctx;
    WithDeadline(&ctx, buyer->tokens().access_token());
    grpc::Status s = payments_stub_->CreatePayment(&ctx, pay, &payment);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const absl::Time paid = absl::Now();
  ASSERT_EQ(payment.state(), payments_v1::HELD);

  // Until catalog recorded the event (payments' relay polls its outbox), read in catalog's
  // own database.
  auto server = common::testing::MariaDbServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  common::db::DbOptions options = (*server)->AdminOptions();
  options.database = *catalog_db_name_;
  options.pool_size = 1;
  auto catalog_db = common::db::ConnectionPool::Create(options);
  ASSERT_TRUE(catalog_db.ok()) << catalog_db.status();
  std::optional<absl::Duration> delivered_after;
  while (absl::Now() - paid < absl::Seconds(30)) {
    auto rows = (*catalog_db)->Query(
        "SELECT payment_id FROM buyer_paid_orders WHERE buyer_id = ?", {buyer_id});
    ASSERT_TRUE(rows.ok()) << rows.status();
    if (!rows->empty()) {
      delivered_after = absl::Now() - paid;
      EXPECT_EQ(*(*rows)[0].GetString("payment_id"), payment.payment_id());
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(delivered_after.has_value())
      << "payments.payment_held did not reach catalog in 30 s\n"
      << payments_->Output() << catalog_->Output();
  std::printf("CreatePayment answered -> paid order recorded at catalog: %.2f s\n",
              absl::ToDoubleSeconds(*delivered_after));

  // Now the buyer's report counts (its account is still minutes old); the other's does not.
  EXPECT_EQ(report(buyer->tokens().access_token(), listings[1]), 1);
  EXPECT_EQ(report(other->tokens().access_token(), listings[1]), 1);
}

// A signing key identity stopped publishing (here withdrawn by an operator, as after a leak)
// is refused once the key set is older than --signing_keys_max_age (catalog: 2s), with the
// tokens it signed, cached ones included. Payments runs with 1h, i.e. what every service did
// before the key set had a maximum age: it keeps trusting the withdrawn key.
// Defined last on purpose: it withdraws the key the suite's earlier tokens were signed with.
// Issue 16 item 17 at catalog and payments (this fixture runs their real binaries): a string
// field with invalid UTF-8 is INVALID_ARGUMENT with a BadRequest naming it ("<field>: must be
// valid UTF-8"), never gRPC's empty UNIMPLEMENTED, and nothing is written.
TEST_F(RevocationTest, InvalidUtf8AtCatalogAndPaymentsIsInvalidArgumentNamingTheField) {
  const std::string bad("ab\xc3(", 4);
  auto seller = NewAccount(identity_v1::SELLER);
  ASSERT_TRUE(seller.ok()) << seller.status();
  ASSERT_NO_FATAL_FAILURE(
      Approve(seller->tokens().access_token(), seller->account().account_id()));
  auto buyer = NewAccount(identity_v1::BUYER);
  ASSERT_TRUE(buyer.ok()) << buyer.status();

  for (const char* field : {"title", "description"}) {
    catalog_v1::CreateListingRequest req;
    catalog_v1::Listing* l = req.mutable_listing();
    l->set_title("Peluche ourson brun 30 cm");
    l->set_description("Peluche ourson toute douce, lavable en machine.");
    if (std::string(field) == "title") l->set_title(bad);
    if (std::string(field) == "description") l->set_description(bad);
    l->set_category_id("toys-plush");
    l->mutable_price()->set_currency_code("EUR");
    l->mutable_price()->set_amount_minor(1990);
    req.set_request_id(absl::StrCat("utf8-", field, "-", absl::ToUnixMicros(absl::Now())));
    catalog_v1::Listing created;
    grpc::ClientContext ctx;
    WithDeadline(&ctx, seller->tokens().access_token());
    grpc::Status s = catalog_stub_->CreateListing(&ctx, req, &created);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field << s.error_message();
    EXPECT_EQ(s.error_message(), absl::StrCat("listing.", field, ": must be valid UTF-8"));
    EXPECT_EQ(BadFieldsOf(s), std::vector<std::string>{absl::StrCat("listing.", field)});
  }
  catalog_v1::ListListingsRequest mine;
  mine.set_seller_id(seller->account().account_id());
  mine.add_states(catalog_v1::DRAFT);
  catalog_v1::ListListingsResponse listed;
  grpc::ClientContext list_ctx;
  WithDeadline(&list_ctx, seller->tokens().access_token());
  grpc::Status s = catalog_stub_->ListListings(&list_ctx, mine, &listed);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(listed.listings_size(), 0);  // nothing was created

  payments_v1::CreatePaymentRequest pay;
  pay.set_request_id(absl::StrCat("utf8-pay-", absl::ToUnixMicros(absl::Now())));
  pay.set_order_id(bad);
  pay.set_buyer_id(buyer->account().account_id());
  pay.set_seller_id(seller->account().account_id());
  pay.mutable_amount()->set_currency_code("EUR");
  pay.mutable_amount()->set_amount_minor(1990);
  pay.set_payment_method_token("tok_sandbox_success");
  payments_v1::Payment payment;
  grpc::ClientContext pay_ctx;
  WithDeadline(&pay_ctx, buyer->tokens().access_token());
  s = payments_stub_->CreatePayment(&pay_ctx, pay, &payment);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(BadFieldsOf(s), std::vector<std::string>{"order_id"});

  payments_v1::RefundPaymentRequest refund;
  refund.set_payment_id("pay_000000000000000000000001");
  refund.set_reason(bad);
  refund.set_request_id(absl::StrCat("utf8-refund-", absl::ToUnixMicros(absl::Now())));
  payments_v1::Payment refunded;
  grpc::ClientContext refund_ctx;
  WithDeadline(&refund_ctx, buyer->tokens().access_token());
  s = payments_stub_->RefundPayment(&refund_ctx, refund, &refunded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(BadFieldsOf(s), std::vector<std::string>{"reason"});

  payments_v1::ListPaymentsRequest list;
  list.set_buyer_id(buyer->account().account_id());
  payments_v1::ListPaymentsResponse payments;
  grpc::ClientContext payments_ctx;
  WithDeadline(&payments_ctx, buyer->tokens().access_token());
  s = payments_stub_->ListPayments(&payments_ctx, list, &payments);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(payments.payments_size(), 0);  // nothing was charged or recorded
}

TEST_F(RevocationTest, AKeyIdentityWithdrewIsRefusedOnceTheKeySetIsOlderThanItsMaxAge) {
  auto seller = NewAccount(identity_v1::SELLER);
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string token = seller->tokens().access_token();
  ASSERT_NE(CallCatalog(catalog_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_NE(CallPayments(payments_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  identity_v1::RotateSigningKeyRequest rotate;
  rotate.set_request_id(absl::StrCat("rotate-", absl::ToUnixMicros(absl::Now())));
  identity_v1::RotateSigningKeyResponse rotated;
  grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::RotateSigningKey, rotate,
                                &rotated, *admin_token_);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string withdrawn = rotated.previous_key().kid();
  ASSERT_FALSE(withdrawn.empty());

  // The operator's withdrawal: the retired key's publication ends now.
  std::string db_name;
  for (const std::string& arg : identity_->db_args()) {
    if (absl::StartsWith(arg, "--db_name=")) db_name = arg.substr(strlen("--db_name="));
  }
  ASSERT_FALSE(db_name.empty());
  auto server = common::testing::MariaDbServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)
                  ->AdminExecute(absl::StrCat("UPDATE `", db_name,
                                              "`.signing_keys SET expires_at = '2000-01-01' "
                                              "WHERE kid = '", withdrawn, "'"))
                  .ok());
  identity_v1::GetSigningKeysRequest keys_req;
  identity_v1::GetSigningKeysResponse keys;
  ASSERT_TRUE(
      CallIdentity(identity_->stub(), &Identity::Stub::GetSigningKeys, keys_req, &keys, "").ok());
  for (const auto& key : keys.keys()) ASSERT_NE(key.kid(), withdrawn);

  const absl::Time withdrawn_at = absl::Now();
  std::optional<absl::Duration> refused_after;
  while (absl::Now() - withdrawn_at < absl::Seconds(15)) {
    grpc::Status status = CallCatalog(catalog_stub_, token);
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      refused_after = absl::Now() - withdrawn_at;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(refused_after.has_value()) << "catalog still accepts a withdrawn key's token";
  std::printf("withdrawn signing key -> first refusal at catalog (max age 2s): %.2f s\n",
              absl::ToDoubleSeconds(*refused_after));
  EXPECT_LE(*refused_after, absl::Seconds(2) + absl::Seconds(3));
  // Without a maximum age (payments: 1h) the withdrawn key is still trusted.
  EXPECT_NE(CallPayments(payments_stub_, token).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Tokens of the new active key are accepted everywhere.
  auto again = Login(identity_->stub(), seller->account().email(), kGoodPassword);
  ASSERT_TRUE(again.ok()) << again.status();
  const std::string fresh = again->tokens().access_token();
  EXPECT_NE(CallCatalog(catalog_stub_, fresh).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(CallPayments(payments_stub_, fresh).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace marketplace::testing
