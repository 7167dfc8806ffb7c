// Multi-replica proof of catalog's expiring review claims: two catalog_server processes on one
// database with a 1 s `--claim_timeout`; 6 moderators work the review queue of 200 listings
// at once, each call going to either process at random (a claim taken through one process is
// often decided through the other). A quarter of the first claims are abandoned: they expire,
// the review comes back to `ListReviewQueue(unclaimed_only)` and another claim (often through
// the other process) decides it; the abandoning moderator then tries to decide it anyway and
// must be refused. Afterwards:
// - every review was decided exactly once: one PENDING_REVIEW -> LIVE | REJECTED transition
//   and one catalog.listing_approved / catalog.listing_rejected event per listing, 200
//   successful DecideReview calls in all;
// - no review was held by two moderators at once: for each listing, the successful claims (as
//   the server answered them: claim_expire_time, so the claim began claim_timeout earlier), in
//   order, never start before the previous holder's claim ended (a moderator extending its own
//   claim is one hold);
// - both processes took claims and decisions (grpc_server_handled_total of ClaimReview and
//   DecideReview with code OK on each process's own /metrics), adding up to the client's counts.
// Claims expire by time only (no worker sweeps them), so expiry needs real time here: 1 s.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "common/proto_time.h"
#include "common/testing/mariadb_server.h"
#include "common/tls/test_tls.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "tests/identity/identity_process.h"
#include "tests/replicas_workers/replica_util.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/subprocess.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
using identity_v1::Identity;
using CatalogStub = catalog_v1::CatalogService::Stub;

constexpr int kListings = 200;
constexpr int kModerators = 6;
constexpr absl::Duration kClaimTimeout = absl::Seconds(1);

template <typename Request, typename Response>
grpc::Status Call(CatalogStub* stub,
                  grpc::Status (CatalogStub::*method)(grpc::ClientContext*, const Request&,
                                                      Response*),
                  const Request& request, Response* response, const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  ctx.AddMetadata("authorization", "Bearer " + token);
  return (stub->*method)(&ctx, request, response);
}

struct Claim {
  std::string moderator;
  absl::Time start;  // claim_expire_time - claim timeout (the server's time of the claim)
  absl::Time end;    // claim_expire_time
};

class CatalogClaimsReplicasTest : public ::testing::Test {
 protected:
  void TearDown() override {
    replicas_.clear();
    identity_.reset();
    if (!db_.name.empty()) (void)common::testing::DropTestDatabase(db_.name);
  }

  std::unique_ptr<IdentityProcess> identity_;
  common::testing::TestDatabase db_;
  struct Replica {
    std::string target;
    int metrics_port = 0;
    std::unique_ptr<Subprocess> process;
    std::unique_ptr<CatalogStub> stub;
  };
  std::vector<Replica> replicas_;
};

TEST_F(CatalogClaimsReplicasTest, ExpiredClaimsAreClaimedAgainAndEachReviewDecidedOnce) {
  auto identity = IdentityProcess::Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  identity_ = *std::move(identity);
  auto admin = Login(identity_->stub(), identity_->admin_email(), identity_->admin_password());
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string admin_token = admin->tokens().access_token();

  // catalog's SERVICE account (the seller check at identity).
  identity_v1::CreateServiceAccountRequest account;
  account.set_display_name("catalog");
  account.add_scopes("identity.accounts.read");
  account.add_scopes("catalog.events.publish");
  account.set_request_id("svc-catalog");
  identity_v1::CreateServiceAccountResponse service;
  grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateServiceAccount,
                                account, &service, admin_token);
  ASSERT_TRUE(s.ok()) << s.error_message();

  auto db = common::testing::CreateTestDatabase("catalog_replicas");
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *db;
  for (int r = 0; r < 2; ++r) {
    Replica replica;
    replica.target = absl::StrCat("127.0.0.1:", PickFreePort());
    replica.metrics_port = PickFreePort();
    std::vector<std::string> args = {
        "--listen_address=" + replica.target,
        absl::StrCat("--metrics_address=127.0.0.1:", replica.metrics_port),
        "--identity_address=" + identity_->target(),
        "--categories_file=" + RunfilePath("services/catalog/data/categories.json"),
        "--moderation_rules_file=" + RunfilePath("services/catalog/data/moderation_rules.json"),
        "--category_model_file=" + RunfilePath("services/catalog/data/category_model.ftz"),
        absl::StrCat("--claim_timeout=", absl::FormatDuration(kClaimTimeout)),
        // Every listing of the seller goes to review (NEW_SELLER) however many are decided.
        "--new_seller_listings=1000",
        "--service_client_id=" + service.client_id(),
        "--service_client_secret=" + service.client_secret(),
        "--drain_timeout=2s",
        "--log_level=warn"};
    for (std::string& flag : DbFlags(db_)) args.push_back(std::move(flag));
    for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
    auto process = Subprocess::Start(RunfilePath("services/catalog/catalog_server"), args);
    ASSERT_TRUE(process.ok()) << process.status();
    replica.process = std::make_unique<Subprocess>(*std::move(process));
    auto channel = grpc::CreateChannel(replica.target, TestChannelCredentials());
    absl::Status serving =
        WaitServing(channel, *replica.process, absl::StrCat("catalog_server ", r));
    ASSERT_TRUE(serving.ok()) << serving;
    replica.stub = catalog_v1::CatalogService::NewStub(channel);
    replicas_.push_back(std::move(replica));
  }

  // An approved seller and its listings, all in review (created through both processes).
  auto seller = SignUpAndLogin(identity_->stub(), identity_v1::SELLER, UniqueEmail("seller"));
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string seller_id = seller->account().account_id();
  const std::string seller_token = seller->tokens().access_token();
  {
    identity_v1::SubmitSellerApplicationRequest apply;
    apply.set_name("accounts/me/sellerProfile");
    identity_v1::SellerApplication* a = apply.mutable_application();
    a->set_legal_name("Example Trading GmbH");
    a->set_registration_number("HRB 12345");
    a->set_country_code("DE");
    a->set_payout_account_ref("payout:acct_123");
    a->set_contact_email("onboarding@example.com");
    a->set_contact_phone("+4915112345678");
    identity_v1::SellerProfile profile;
    s = CallIdentity(identity_->stub(), &Identity::Stub::SubmitSellerApplication, apply,
                     &profile, seller_token);
    ASSERT_TRUE(s.ok()) << s.error_message();
    identity_v1::ReviewSellerApplicationRequest review;
    review.set_name("accounts/" + seller_id + "/sellerProfile");
    review.set_decision(identity_v1::APPROVE);
    s = CallIdentity(identity_->stub(), &Identity::Stub::ReviewSellerApplication, review,
                     &profile, admin_token);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::vector<std::string> listing_ids;
  for (int i = 0; i < kListings; ++i) {
    CatalogStub* stub = replicas_[i % 2].stub.get();
    catalog_v1::CreateListingRequest create;
    catalog_v1::Listing* l = create.mutable_listing();
    l->set_title(absl::StrCat("Peluche ourson brun 30 cm modèle ", i));
    l->set_description(
        "Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
    l->set_category_id("toys-plush");
    l->set_condition(catalog_v1::NEW);
    l->mutable_price()->set_currency_code("EUR");
    l->mutable_price()->set_amount_minor(1990);
    l->set_quantity(1);
    l->add_image_urls("https://img.example/ourson.jpg");
    (*l->mutable_attributes())["age_range"] = "0+";
    create.set_request_id(absl::StrCat("listing-", i));
    catalog_v1::Listing created;
    s = Call(stub, &CatalogStub::CreateListing, create, &created, seller_token);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    catalog_v1::SubmitListingRequest submit;
    submit.set_listing_id(created.listing_id());
    catalog_v1::Listing submitted;
    s = Call(stub, &CatalogStub::SubmitListing, submit, &submitted, seller_token);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    ASSERT_EQ(submitted.state(), catalog_v1::PENDING_REVIEW) << submitted.DebugString();
    listing_ids.push_back(created.listing_id());
  }

  // The moderators.
  std::vector<std::pair<std::string, std::string>> moderators;  // (account id, token)
  for (int m = 0; m < kModerators; ++m) {
    identity_v1::CreateStaffAccountRequest req;
    req.set_email(UniqueEmail(absl::StrCat("moderator", m)));
    req.set_password(kGoodPassword);
    req.set_display_name(absl::StrCat("Moderator ", m));
    req.set_role(identity_v1::MODERATOR);
    req.set_request_id(absl::StrCat("staff-", m));
    identity_v1::Account created;
    s = CallIdentity(identity_->stub(), &Identity::Stub::CreateStaffAccount, req, &created,
                     admin_token);
    ASSERT_TRUE(s.ok()) << s.error_message();
    auto login = Login(identity_->stub(), req.email(), kGoodPassword);
    ASSERT_TRUE(login.ok()) << login.status();
    moderators.emplace_back(login->account().account_id(), login->tokens().access_token());
  }

  // The work, all moderators at once.
  absl::Mutex mu;
  std::map<std::string, std::vector<Claim>> claims;     // by listing
  std::map<std::string, std::string> decided_by;        // listing -> moderator
  std::map<std::string, int> decisions;                 // listing -> successful decides
  std::set<std::string> abandoned;                      // listings whose first claim expired
  std::vector<std::string> errors;
  int claim_conflicts = 0, stale_refused = 0;
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  std::vector<std::thread> threads;
  for (int m = 0; m < kModerators; ++m) {
    threads.emplace_back([&, m] {
      const auto& [me, token] = moderators[m];
      std::mt19937 rng(1234 + m);
      auto stub = [&]() { return replicas_[rng() % 2].stub.get(); };
      // Claims this moderator abandoned, with their end: decided anyway once expired.
      std::map<std::string, absl::Time> stale;
      auto try_stale = [&](bool wait) {
        for (auto it = stale.begin(); it != stale.end();) {
          const absl::Time after = it->second + absl::Milliseconds(100);
          if (absl::Now() < after) {
            if (!wait) {
              ++it;
              continue;
            }
            absl::SleepFor(after - absl::Now());
          }
          catalog_v1::DecideReviewRequest decide;
          decide.set_listing_id(it->first);
          decide.set_decision(catalog_v1::APPROVE);
          catalog_v1::Listing out;
          grpc::Status d = Call(stub(), &CatalogStub::DecideReview, decide, &out, token);
          absl::MutexLock lock(&mu);
          if (d.ok()) {
            errors.push_back(absl::StrCat(me, " decided ", it->first, " on an expired claim"));
            ++decisions[it->first];
          } else if (d.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                     d.error_code() == grpc::StatusCode::NOT_FOUND) {
            ++stale_refused;
          } else {
            errors.push_back(absl::StrCat("stale decide: ", d.error_code(), " ",
                                          d.error_message()));
          }
          it = stale.erase(it);
        }
      };
      while (absl::Now() < give_up) {
        try_stale(false);
        catalog_v1::ListReviewQueueRequest list;
        list.set_unclaimed_only(true);
        list.set_page_size(20);
        catalog_v1::ListReviewQueueResponse page;
        grpc::Status ls = Call(stub(), &CatalogStub::ListReviewQueue, list, &page, token);
        if (!ls.ok()) {
          absl::MutexLock lock(&mu);
          errors.push_back(absl::StrCat("list: ", ls.error_code(), " ", ls.error_message()));
          return;
        }
        std::vector<std::string> candidates;
        for (const auto& r : page.reviews()) {
          if (!stale.count(r.listing_id())) candidates.push_back(r.listing_id());
        }
        if (candidates.empty()) {
          bool all_decided;
          {
            absl::MutexLock lock(&mu);
            all_decided = static_cast<int>(decided_by.size()) == kListings;
          }
          if (all_decided) break;
          // Claims that run (or this moderator's abandoned ones) come back when they expire.
          absl::SleepFor(absl::Milliseconds(50));
          continue;
        }
        const std::string listing = candidates[rng() % candidates.size()];
        catalog_v1::ClaimReviewRequest claim;
        claim.set_listing_id(listing);
        catalog_v1::Review review;
        grpc::Status c = Call(stub(), &CatalogStub::ClaimReview, claim, &review, token);
        if (!c.ok()) {
          absl::MutexLock lock(&mu);
          if (c.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
            ++claim_conflicts;  // another moderator's claim runs
          } else if (c.error_code() != grpc::StatusCode::NOT_FOUND) {  // decided meanwhile
            errors.push_back(absl::StrCat("claim: ", c.error_code(), " ", c.error_message()));
          }
          continue;
        }
        const absl::Time end =
            absl::FromUnixSeconds(review.claim_expire_time().seconds()) +
            absl::Nanoseconds(review.claim_expire_time().nanos());
        bool abandon;
        {
          absl::MutexLock lock(&mu);
          if (review.claimed_by() != me) {
            errors.push_back(absl::StrCat("claim of ", listing, " answered claimed_by ",
                                          review.claimed_by(), ", not ", me));
          }
          std::vector<Claim>& held = claims[listing];
          // A quarter of the listings: their first claim is left to expire.
          abandon = held.empty() && std::hash<std::string>()(listing) % 4 == 0;
          held.push_back({me, end - kClaimTimeout, end});
          if (abandon) abandoned.insert(listing);
        }
        if (abandon) {
          stale[listing] = end;
          continue;
        }
        catalog_v1::DecideReviewRequest decide;
        decide.set_listing_id(listing);
        if (rng() % 3 == 0) {
          decide.set_decision(catalog_v1::REJECT_LISTING);
          decide.add_reason_codes("POOR_PHOTOS");
          decide.set_note("The photo does not show the item.");
        } else {
          decide.set_decision(catalog_v1::APPROVE);
        }
        catalog_v1::Listing out;
        grpc::Status d = Call(stub(), &CatalogStub::DecideReview, decide, &out, token);
        absl::MutexLock lock(&mu);
        if (d.ok()) {
          ++decisions[listing];
          decided_by[listing] = me;
        } else {
          // Only possible if this claim expired before the decision (a 1 s claim on a loaded
          // machine): the review comes back and is claimed again.
          if (d.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
              d.error_code() != grpc::StatusCode::NOT_FOUND) {
            errors.push_back(absl::StrCat("decide: ", d.error_code(), " ", d.error_message()));
          }
        }
      }
      try_stale(true);
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) ADD_FAILURE() << e;

  // Each review decided once, as the client saw it...
  EXPECT_EQ(static_cast<int>(decided_by.size()), kListings);
  for (const auto& [listing, n] : decisions) EXPECT_EQ(n, 1) << listing;
  EXPECT_GT(abandoned.size(), 0u);
  EXPECT_EQ(stale_refused, static_cast<int>(abandoned.size()));
  EXPECT_GT(claim_conflicts, 0) << "the moderators never met on one review";
  // ...abandoned reviews were claimed again after their claim expired...
  int reclaimed_by_other = 0;
  for (const std::string& listing : abandoned) {
    ASSERT_GE(claims[listing].size(), 2u) << listing;
    if (decided_by[listing] != claims[listing].front().moderator) ++reclaimed_by_other;
  }
  EXPECT_GT(reclaimed_by_other, 0);
  std::printf("%zu claims abandoned and claimed again (%d by another moderator), %d claim "
              "conflicts, %d late decisions refused\n",
              abandoned.size(), reclaimed_by_other, claim_conflicts, stale_refused);
  // ...and never held by two moderators at once (the stored expiry has microseconds).
  int total_claims = 0;
  for (auto& [listing, held] : claims) {
    total_claims += static_cast<int>(held.size());
    std::sort(held.begin(), held.end(),
              [](const Claim& a, const Claim& b) { return a.start < b.start; });
    for (size_t i = 1; i < held.size(); ++i) {
      if (held[i].moderator == held[i - 1].moderator) continue;  // an extension
      EXPECT_GE(held[i].start + absl::Microseconds(1), held[i - 1].end)
          << listing << ": " << held[i].moderator << " claimed it at "
          << absl::FormatTime(held[i].start) << " while " << held[i - 1].moderator
          << " held it until " << absl::FormatTime(held[i - 1].end);
    }
  }

  // ...as the database recorded it.
  auto pool = common::db::ConnectionPool::Create(db_.options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(CountRows(**pool,
                      "SELECT COUNT(*) AS n FROM listing_transitions WHERE from_state = "
                      "'PENDING_REVIEW' AND to_state IN ('LIVE', 'REJECTED')"),
            kListings);
  EXPECT_EQ(CountRows(**pool,
                      "SELECT COUNT(DISTINCT listing_id) AS n FROM listing_transitions WHERE "
                      "from_state = 'PENDING_REVIEW' AND to_state IN ('LIVE', 'REJECTED')"),
            kListings);
  EXPECT_EQ(CountRows(**pool,
                      "SELECT COUNT(*) AS n FROM outbox_events WHERE topic IN "
                      "('catalog.listing_approved', 'catalog.listing_rejected')"),
            kListings);
  EXPECT_EQ(CountRows(**pool,
                      "SELECT COUNT(DISTINCT event_key) AS n FROM outbox_events WHERE topic IN "
                      "('catalog.listing_approved', 'catalog.listing_rejected')"),
            kListings);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM review_queue"), 0);
  EXPECT_EQ(CountRows(**pool,
                      "SELECT COUNT(*) AS n FROM listings WHERE state IN ('LIVE', 'REJECTED')"),
            kListings);

  // Both processes took claims and decisions; together, what the moderators were answered.
  double total_claim_ok = 0, total_decide_ok = 0;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    const std::string metrics = ScrapeMetrics(replicas_[r].metrics_port);
    ASSERT_FALSE(metrics.empty()) << "replica " << r << ": no /metrics";
    const double claimed = SumSamples(metrics, "grpc_server_handled_total",
                                      {"grpc_method=\"ClaimReview\"", "grpc_code=\"OK\""});
    const double decided = SumSamples(metrics, "grpc_server_handled_total",
                                      {"grpc_method=\"DecideReview\"", "grpc_code=\"OK\""});
    EXPECT_GT(claimed, 0) << "replica " << r << " took no claim";
    EXPECT_GT(decided, 0) << "replica " << r << " took no decision";
    std::printf("replica %zu: %.0f claims, %.0f decisions\n", r, claimed, decided);
    total_claim_ok += claimed;
    total_decide_ok += decided;
  }
  EXPECT_EQ(total_claim_ok, total_claims);
  EXPECT_EQ(total_decide_ok, kListings);
}

}  // namespace
}  // namespace marketplace::testing
