// Enforcement end to end: the real sellerkpi_server, identity_server, catalog_server and
// payments_server (tests/sellerkpi/enforcement_stack.h). A seller with a listing is driven to
// CRITICAL through RecordSellerEvents (20 orders, 5 claims); EvaluateSellers with explicit
// as_of values runs the improvement period: first the AT_RISK measures (catalog moderation
// level AT_RISK, payments hold 21 days) and a warning, then, at the period's end and the third
// CRITICAL evaluation in a row, the suspension: login refused, the listing taken down. The
// seller appeals, the ADMIN decides REINSTATE: login works, the listing is back, the moderation
// level and the hold policy are what they were. The listing is in the public ListListings
// before and after, not during; CreatePayout (by the ADMIN, the seller having no balance) is
// refused SELLER_NOT_APPROVED during the suspension and INSUFFICIENT_AVAILABLE_BALANCE
// otherwise. A second case follows payments' hold through a seller's standings: TOP (7 days),
// AT_RISK (21 days), GOOD again (14 days, not the TOP hold the measures replaced). The worker
// runs in the server every 200 ms.
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"
#include "tests/sellerkpi/enforcement_stack.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
namespace payments_v1 = ::marketplace::payments::v1;
namespace kpi = ::marketplace::sellerkpi::v1;
using KpiStub = kpi::SellerKpiService::Stub;

std::string UniqueId(const std::string& prefix) {
  static int n = 0;
  return absl::StrCat(prefix, "-", absl::ToUnixMicros(absl::Now()), "-", ++n);
}

class EnforcementE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = EnforcementStack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
    auto target = stack_->StartSellerKpi(
        {"--evaluation_interval=24h", "--enforcement_interval=200ms"});
    ASSERT_TRUE(target.ok()) << target.status();
    kpi_ = kpi::SellerKpiService::NewStub(
               grpc::CreateChannel(*target, TestChannelCredentials()))
               .release();
  }
  static void TearDownTestSuite() {
    delete kpi_;
    delete stack_;
  }
  void SetUp() override {
    if (kpi_ == nullptr) GTEST_SKIP() << "the processes did not start";
  }

  template <typename Request, typename Response>
  static grpc::Status Kpi(grpc::Status (KpiStub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                          const Request& request, Response* response, const std::string& token) {
    grpc::ClientContext ctx;
    WithToken(&ctx, token);
    return (kpi_->*method)(&ctx, request, response);
  }

  static grpc::Status Evaluate(const std::string& seller, absl::Time as_of) {
    kpi::EvaluateSellersRequest req;
    req.set_request_id(UniqueId("evaluate"));
    req.add_seller_ids(seller);
    *req.mutable_as_of() = common::ToTimestamp(as_of);
    kpi::EvaluateSellersResponse resp;
    return Kpi(&KpiStub::EvaluateSellers, req, &resp, stack_->admin_token());
  }

  static std::vector<kpi::EnforcementAction> Actions(const std::string& seller) {
    kpi::ListEnforcementActionsRequest req;
    req.set_seller_id(seller);
    req.set_page_size(100);
    kpi::ListEnforcementActionsResponse resp;
    grpc::Status s = Kpi(&KpiStub::ListEnforcementActions, req, &resp, stack_->admin_token());
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.actions().begin(), resp.actions().end()};
  }

  static std::map<kpi::ActionType, int> ByType(const std::vector<kpi::EnforcementAction>& as) {
    std::map<kpi::ActionType, int> out;
    for (const auto& a : as) ++out[a.type()];
    return out;
  }

  // Polls until every action of `seller` of `type` is DONE (30 s at most); the last one.
  static std::optional<kpi::EnforcementAction> WaitDone(const std::string& seller,
                                                        kpi::ActionType type) {
    const absl::Time end = absl::Now() + absl::Seconds(30);
    std::optional<kpi::EnforcementAction> last;
    while (absl::Now() < end) {
      bool all_done = true;
      last.reset();
      for (const auto& a : Actions(seller)) {
        if (a.type() != type) continue;
        if (!last.has_value()) last = a;
        all_done = all_done && a.state() == kpi::DONE;
      }
      if (last.has_value() && all_done) return last;
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (last.has_value()) ADD_FAILURE() << "not DONE: " << last->DebugString();
    return std::nullopt;
  }

  static catalog_v1::SellerModerationLevel ModerationLevel(const std::string& seller) {
    catalog_v1::GetSellerModerationLevelRequest req;
    req.set_seller_id(seller);
    catalog_v1::SellerModeration got;
    grpc::ClientContext ctx;
    WithToken(&ctx, stack_->admin_token());
    grpc::Status s = stack_->catalog()->GetSellerModerationLevel(&ctx, req, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return got.level();
  }

  static int64_t HoldSeconds(const std::string& seller) {
    payments_v1::GetSellerHoldPolicyRequest req;
    req.set_seller_id(seller);
    payments_v1::SellerHoldPolicy got;
    grpc::ClientContext ctx;
    WithToken(&ctx, stack_->admin_token());
    grpc::Status s = stack_->payments()->GetSellerHoldPolicy(&ctx, req, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return got.hold_period().seconds();
  }

  static bool ListingBecomes(const std::string& listing_id, catalog_v1::ListingState want) {
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (absl::Now() < end) {
      auto state = stack_->ListingState(listing_id);
      if (state.ok() && *state == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // Whether the public ListListings (no token) of the seller shows the listing.
  static bool Public(const std::string& seller, const std::string& listing_id) {
    catalog_v1::ListListingsRequest req;
    req.set_seller_id(seller);
    req.set_page_size(100);
    catalog_v1::ListListingsResponse resp;
    grpc::ClientContext ctx;
    WithToken(&ctx, "");
    grpc::Status s = stack_->catalog()->ListListings(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& l : resp.listings()) {
      if (l.listing_id() == listing_id) return true;
    }
    return false;
  }

  // The ErrorInfo reason of a CreatePayout of 1.00 EUR for the seller, by the ADMIN (the
  // seller has no balance: INSUFFICIENT_AVAILABLE_BALANCE when payouts are allowed at all).
  static std::string PayoutRefusal(const std::string& seller) {
    payments_v1::CreatePayoutRequest req;
    req.set_request_id(UniqueId("payout"));
    req.set_seller_id(seller);
    req.mutable_amount()->set_currency_code("EUR");
    req.mutable_amount()->set_amount_minor(100);
    payments_v1::Payout payout;
    grpc::ClientContext ctx;
    WithToken(&ctx, stack_->admin_token());
    grpc::Status s = stack_->payments()->CreatePayout(&ctx, req, &payout);
    EXPECT_FALSE(s.ok()) << "a payout without balance was accepted";
    return ReasonOf(s);
  }

  // Polls PayoutRefusal until it is `want` (10 s at most).
  static bool PayoutRefusedWith(const std::string& seller, const std::string& want) {
    const absl::Time end = absl::Now() + absl::Seconds(10);
    std::string got;
    while (absl::Now() < end) {
      got = PayoutRefusal(seller);
      if (got == want) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "CreatePayout refused with " << got << ", not " << want;
    return false;
  }

  static inline EnforcementStack* stack_ = nullptr;
  static inline KpiStub* kpi_ = nullptr;
};

TEST_F(EnforcementE2eTest, CriticalSellerIsWarnedSuspendedAndReinstated) {
  auto seller = stack_->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string id = seller->id;
  const catalog_v1::ListingState listed = seller->listing.state();
  const int64_t hold_before = HoldSeconds(id);
  const bool live = listed == catalog_v1::LIVE;
  std::printf("the seller's listing is %s\n", catalog_v1::ListingState_Name(listed).c_str());
  if (live) EXPECT_TRUE(Public(id, seller->listing.listing_id()));
  EXPECT_TRUE(PayoutRefusedWith(id, "INSUFFICIENT_AVAILABLE_BALANCE"));

  // 20 orders nine days ago, 5 with a claim that counts: ODR 25 %, CRITICAL.
  const absl::Time t0 = absl::Now() - absl::Hours(24 * 9);
  kpi::RecordSellerEventsRequest record;
  record.set_request_id(UniqueId("record"));
  for (int i = 0; i < 20; ++i) {
    const std::string order = absl::StrCat("order-", i);
    kpi::SellerEvent* placed = record.add_events();
    placed->set_event_id(absl::StrCat(id, "-placed-", i));
    placed->set_seller_id(id);
    *placed->mutable_occurred_at() = common::ToTimestamp(t0);
    placed->mutable_links()->set_order_id(order);
    placed->mutable_order_placed();
    if (i < 5) {
      kpi::SellerEvent* claim = record.add_events();
      claim->set_event_id(absl::StrCat(id, "-claim-", i));
      claim->set_seller_id(id);
      *claim->mutable_occurred_at() = common::ToTimestamp(t0 + absl::Minutes(1));
      claim->mutable_links()->set_order_id(order);
      claim->mutable_claim_filed()->set_counts_against_seller(true);
    }
  }
  kpi::RecordSellerEventsResponse recorded;
  grpc::Status s = Kpi(&KpiStub::RecordSellerEvents, record, &recorded, stack_->admin_token());
  ASSERT_TRUE(s.ok()) << s.error_message();

  // First evaluation: AT_RISK measures and a warning whose period ends 7 days later.
  const absl::Time first = t0 + absl::Hours(1);
  ASSERT_TRUE(Evaluate(id, first).ok());
  EXPECT_EQ(ByType(Actions(id)), (std::map<kpi::ActionType, int>{{kpi::AT_RISK_MEASURES, 1},
                                                                 {kpi::CRITICAL_WARNING, 1}}));
  ASSERT_TRUE(WaitDone(id, kpi::AT_RISK_MEASURES).has_value());
  EXPECT_EQ(ModerationLevel(id), catalog_v1::AT_RISK);
  EXPECT_EQ(HoldSeconds(id), 21 * 24 * 3600);
  // Inside the period: still CRITICAL, no suspension.
  ASSERT_TRUE(Evaluate(id, first + absl::Hours(24)).ok());
  EXPECT_EQ(ByType(Actions(id)).count(kpi::SUSPENSION), 0u);
  EXPECT_TRUE(Login(stack_->identity_stub(), seller->email, kGoodPassword).ok());

  // At the period's end, the third CRITICAL evaluation in a row: suspension.
  ASSERT_TRUE(Evaluate(id, first + absl::Hours(24 * 7)).ok());
  std::optional<kpi::EnforcementAction> suspension = WaitDone(id, kpi::SUSPENSION);
  ASSERT_TRUE(suspension.has_value());
  EXPECT_FALSE(Login(stack_->identity_stub(), seller->email, kGoodPassword).ok());
  EXPECT_TRUE(ListingBecomes(seller->listing.listing_id(), catalog_v1::SUSPENDED));
  EXPECT_FALSE(Public(id, seller->listing.listing_id()));
  EXPECT_TRUE(PayoutRefusedWith(id, "SELLER_NOT_APPROVED"));
  // The seller reads the notice on its scorecard (sellerkpi is not subscribed to identity's
  // revocations here, so the token the seller held before the suspension still reads it).
  kpi::GetSellerScorecardRequest card_req;
  card_req.set_seller_id(id);
  kpi::SellerScorecard card;
  s = Kpi(&KpiStub::GetSellerScorecard, card_req, &card, stack_->admin_token());
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(card.health(), kpi::CRITICAL);
  bool notice_seen = false;
  for (const auto& a : card.actions()) {
    if (a.type() != kpi::SUSPENSION) continue;
    for (const auto& step : a.steps()) {
      if (step.name() == "notify_seller") {
        notice_seen = step.result().find("KPI_CRITICAL") != std::string::npos;
      }
    }
  }
  EXPECT_TRUE(notice_seen) << card.DebugString();

  // Appeal and REINSTATE: everything back.
  kpi::AppealEnforcementRequest appeal;
  appeal.set_request_id(UniqueId("appeal"));
  appeal.set_action_id(suspension->action_id());
  appeal.set_statement("The claims were the carrier's fault; see the tracking.");
  kpi::EnforcementAction appealed;
  s = Kpi(&KpiStub::AppealEnforcement, appeal, &appealed, seller->token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  kpi::DecideAppealRequest decide;
  decide.set_request_id(UniqueId("decide"));
  decide.set_action_id(suspension->action_id());
  decide.set_decision(kpi::REINSTATE);
  decide.set_note("carrier fault confirmed");
  kpi::EnforcementAction decided;
  s = Kpi(&KpiStub::DecideAppeal, decide, &decided, stack_->admin_token());
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(decided.state(), kpi::REVERSED);
  ASSERT_TRUE(WaitDone(id, kpi::RESTORATION).has_value());
  EXPECT_TRUE(Login(stack_->identity_stub(), seller->email, kGoodPassword).ok());
  EXPECT_TRUE(ListingBecomes(seller->listing.listing_id(), listed));
  if (live) EXPECT_TRUE(Public(id, seller->listing.listing_id()));
  EXPECT_TRUE(PayoutRefusedWith(id, "INSUFFICIENT_AVAILABLE_BALANCE"));
  EXPECT_EQ(ModerationLevel(id), catalog_v1::STANDARD);
  EXPECT_EQ(HoldSeconds(id), hold_before);
}

// Records `events` in batches of at most 500 (RecordSellerEvents' limit).
void RecordAll(const std::vector<kpi::SellerEvent>& events,
               const std::function<grpc::Status(const kpi::RecordSellerEventsRequest&)>& call) {
  for (size_t i = 0; i < events.size(); i += 500) {
    kpi::RecordSellerEventsRequest record;
    record.set_request_id(UniqueId("record"));
    for (size_t j = i; j < events.size() && j < i + 500; ++j) *record.add_events() = events[j];
    grpc::Status s = call(record);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
}

kpi::SellerEvent OrderEvent(const std::string& seller, const std::string& id, absl::Time at,
                            const std::string& order) {
  kpi::SellerEvent e;
  e.set_event_id(absl::StrCat(seller, "-", id));
  e.set_seller_id(seller);
  *e.mutable_occurred_at() = common::ToTimestamp(at);
  e.mutable_links()->set_order_id(order);
  return e;
}

// The hold at payments follows the seller's standing (Thresholds hold_days: 21 / 14 / 7): a
// seller earning the TOP badge gets 7 days; falling AT_RISK, 21 days (and human review); back
// to GOOD without the badge, 14 days — not the 7 days the measures replaced.
TEST_F(EnforcementE2eTest, TheHoldFollowsTheSellersStanding) {
  auto seller = stack_->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string id = seller->id;
  const int64_t hold_before = HoldSeconds(id);
  std::printf("payments' hold before: %lld s\n", static_cast<long long>(hold_before));
  const int64_t kDay = 24 * 3600;
  auto record = [&](const kpi::RecordSellerEventsRequest& r) {
    kpi::RecordSellerEventsResponse resp;
    return Kpi(&KpiStub::RecordSellerEvents, r, &resp, stack_->admin_token());
  };

  // 600 orders without a defect, 20 rated 5 stars: GOOD with the TOP badge.
  const absl::Time t0 = absl::Now() - absl::Hours(24 * 9);
  std::vector<kpi::SellerEvent> events;
  for (int i = 0; i < 600; ++i) {
    const std::string order = absl::StrCat("a", i);
    events.push_back(OrderEvent(id, absl::StrCat("placed-a", i), t0, order));
    events.back().mutable_order_placed();
    if (i < 20) {
      events.push_back(OrderEvent(id, absl::StrCat("rated-a", i), t0, order));
      events.back().mutable_rating()->set_stars(5);
    }
  }
  RecordAll(events, record);
  ASSERT_TRUE(Evaluate(id, t0 + absl::Hours(1)).ok());
  EXPECT_EQ(ByType(Actions(id)), (std::map<kpi::ActionType, int>{{kpi::TOP_SELLER_TERMS, 1}}));
  std::optional<kpi::EnforcementAction> terms = WaitDone(id, kpi::TOP_SELLER_TERMS);
  ASSERT_TRUE(terms.has_value());
  EXPECT_EQ(terms->hold_period().seconds(), 7 * kDay);
  EXPECT_EQ(HoldSeconds(id), 7 * kDay);
  EXPECT_EQ(terms->steps(1).result(), absl::StrCat(hold_before, "s"));  // what it replaced
  EXPECT_EQ(ModerationLevel(id), catalog_v1::STANDARD);

  // 6 claims of 600 orders (1 %): AT_RISK. The terms close under the measures: 21 days.
  events.clear();
  for (int i = 0; i < 6; ++i) {
    events.push_back(OrderEvent(id, absl::StrCat("claim-a", i), t0 + absl::Hours(24),
                                absl::StrCat("a", i)));
    events.back().mutable_claim_filed()->set_counts_against_seller(true);
  }
  RecordAll(events, record);
  ASSERT_TRUE(Evaluate(id, t0 + absl::Hours(25)).ok());
  std::optional<kpi::EnforcementAction> measures = WaitDone(id, kpi::AT_RISK_MEASURES);
  ASSERT_TRUE(measures.has_value());
  EXPECT_EQ(HoldSeconds(id), 21 * kDay);
  EXPECT_EQ(ModerationLevel(id), catalog_v1::AT_RISK);
  EXPECT_EQ(measures->steps(4).result(), absl::StrCat(7 * kDay, "s"));  // the TOP hold
  for (const auto& a : Actions(id)) {
    if (a.type() == kpi::TOP_SELLER_TERMS) EXPECT_TRUE(a.has_closed_at());
  }

  // 1,400 good orders: ODR 6 / 2,000 = 0.3 %, GOOD after two evaluations, no badge (upper
  // bound 0.58 %). The restoration puts back 14 days, not the 7 the measures replaced.
  events.clear();
  for (int i = 0; i < 1400; ++i) {
    events.push_back(
        OrderEvent(id, absl::StrCat("placed-b", i), t0 + absl::Hours(48), absl::StrCat("b", i)));
    events.back().mutable_order_placed();
  }
  RecordAll(events, record);
  ASSERT_TRUE(Evaluate(id, t0 + absl::Hours(49)).ok());
  ASSERT_TRUE(Evaluate(id, t0 + absl::Hours(50)).ok());
  std::optional<kpi::EnforcementAction> restoration = WaitDone(id, kpi::RESTORATION);
  ASSERT_TRUE(restoration.has_value());
  EXPECT_EQ(restoration->hold_period().seconds(), 14 * kDay);
  EXPECT_EQ(HoldSeconds(id), 14 * kDay);
  EXPECT_EQ(ModerationLevel(id), catalog_v1::STANDARD);
  EXPECT_EQ(ByType(Actions(id)), (std::map<kpi::ActionType, int>{{kpi::TOP_SELLER_TERMS, 1},
                                                                 {kpi::AT_RISK_MEASURES, 1},
                                                                 {kpi::RESTORATION, 1}}));
}

}  // namespace
}  // namespace marketplace::testing
