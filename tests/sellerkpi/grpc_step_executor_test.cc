// sellerkpi's GrpcStepExecutor against the real identity_server, catalog_server and
// payments_server (tests/sellerkpi/enforcement_stack.h), with a SERVICE account holding the
// scopes of services/sellerkpi/identity_scopes: each enforcement step has its effect and reads
// it back, a repeated step (a retry after a lost answer) changes nothing, a token without the
// scopes makes the step fail (so the worker retries it), and the restoration steps put back
// exactly what the AT_RISK measures replaced; the suspension takes the seller's login and
// listing, the reinstatement gives them back.
#include "services/sellerkpi/grpc_step_executor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/client/channel.h"
#include "common/identity_client/identity_client.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/enforcement_policy.h"
#include "tests/sellerkpi/enforcement_stack.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
namespace payments_v1 = ::marketplace::payments::v1;
namespace kpi = ::marketplace::sellerkpi;

// The scopes services/sellerkpi/identity_scopes lists.
const std::vector<std::string> kSellerKpiScopes = {"identity.enforcement",
                                                   "identity.accounts.read",
                                                   "catalog.enforcement", "payments.policy"};

class GrpcStepExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The executor's channels (MakeChannel) speak mutual TLS, as the stack's processes do.
    common::SetProcessTransportSecurity(TestTransportSecurity());
    auto stack = EnforcementStack::Start();
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
  }
  static void TearDownTestSuite() { delete stack_; }

  void SetUp() override {
    if (stack_ == nullptr) GTEST_SKIP() << "the processes did not start";
  }

  // An executor with a fresh SERVICE account of `scopes`.
  std::unique_ptr<kpi::GrpcStepExecutor> Executor(const std::vector<std::string>& scopes) {
    auto account = stack_->ServiceAccount("sellerkpi", scopes);
    EXPECT_TRUE(account.ok()) << account.status();
    auto identity_channel = common::MakeChannel({.target = stack_->identity().target()});
    auto tokens = std::make_shared<common::identity_client::ServiceTokenSource>(
        identity_channel, common::identity_client::ServiceTokenOptions{
                              .client_id = account.ok() ? account->first : "",
                              .client_secret = account.ok() ? account->second : ""});
    token_sources_.push_back(tokens);
    return std::make_unique<kpi::GrpcStepExecutor>(
        identity_channel, common::MakeChannel({.target = stack_->catalog_target()}),
        common::MakeChannel({.target = stack_->payments_target()}),
        kpi::GrpcStepExecutor::Options{.token = [tokens] { return tokens->Token(); },
                                       .token_refused = [tokens] { tokens->Invalidate(); }});
  }

  static kpi::ClaimedStep Step(const std::string& seller, kpi::pb::ActionType type,
                               const std::string& action_id, int step_no,
                               const std::vector<std::string>& names) {
    kpi::ClaimedStep s;
    s.action_id = action_id;
    s.seller_id = seller;
    s.type = type;
    s.explanation = "ORDER_DEFECT_RATE 25.00 % (5 of 20 in 60 days): CRITICAL";
    s.step_no = step_no;
    s.name = names[step_no];
    s.request_id = absl::StrCat(action_id, ".", step_no);
    s.attempts = 1;
    return s;
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

  // Polls the listing until it is in `want` (5 s at most).
  static bool ListingBecomes(const std::string& listing_id, catalog_v1::ListingState want) {
    const absl::Time end = absl::Now() + absl::Seconds(5);
    while (absl::Now() < end) {
      auto state = stack_->ListingState(listing_id);
      if (state.ok() && *state == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  static inline EnforcementStack* stack_ = nullptr;
  std::vector<std::shared_ptr<common::identity_client::ServiceTokenSource>> token_sources_;
};

TEST_F(GrpcStepExecutorTest, MeasuresSuspensionAndRestorationHaveTheirEffects) {
  auto seller = stack_->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  const catalog_v1::ListingState listed = seller->listing.state();
  ASSERT_TRUE(listed == catalog_v1::LIVE || listed == catalog_v1::PENDING_REVIEW)
      << catalog_v1::ListingState_Name(listed);
  auto executor = Executor(kSellerKpiScopes);
  const int64_t hold_before = HoldSeconds(seller->id);
  ASSERT_GT(hold_before, 0);
  ASSERT_NE(ModerationLevel(seller->id), catalog_v1::AT_RISK);

  // AT_RISK_MEASURES, step by step, each earlier result handed on as the worker does.
  const std::vector<std::string> measures = kpi::ActionSteps(kpi::pb::AT_RISK_MEASURES);
  std::vector<std::string> results;
  for (int i = 0; i < static_cast<int>(measures.size()); ++i) {
    kpi::ClaimedStep step = Step(seller->id, kpi::pb::AT_RISK_MEASURES, "act_measures1", i,
                                 measures);
    step.earlier_results = results;
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    results.push_back(*result);
    if (step.name == kpi::kSetModerationLevel || step.name == kpi::kSetHoldPolicy) {
      // A retry (same request_id) answers the same and changes nothing more.
      step.attempts = 2;
      absl::StatusOr<std::string> again = executor->Run(step);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_EQ(*again, *result) << step.name;
    }
  }
  EXPECT_EQ(results[0], "ORDER_DEFECT_RATE 25.00 % (5 of 20 in 60 days): CRITICAL");
  EXPECT_EQ(results[1], "STANDARD");
  EXPECT_EQ(results[2], "STANDARD");  // what the set replaced
  EXPECT_EQ(results[3], absl::StrCat(hold_before, "s"));
  EXPECT_EQ(results[4], absl::StrCat(hold_before, "s"));
  EXPECT_EQ(ModerationLevel(seller->id), catalog_v1::AT_RISK);
  EXPECT_EQ(HoldSeconds(seller->id), 21 * 24 * 3600);

  // SUSPENSION: identity suspends, GetAccount shows it; login refused, listing taken down.
  const std::vector<std::string> suspension = kpi::ActionSteps(kpi::pb::SUSPENSION);
  absl::StatusOr<std::string> suspended =
      executor->Run(Step(seller->id, kpi::pb::SUSPENSION, "act_suspend1", 0, suspension));
  ASSERT_TRUE(suspended.ok()) << suspended.status();
  EXPECT_TRUE(absl::StartsWith(*suspended, "SUSPENDED")) << *suspended;
  auto login = Login(stack_->identity_stub(), seller->email, kGoodPassword);
  EXPECT_FALSE(login.ok());
  EXPECT_TRUE(ListingBecomes(seller->listing.listing_id(), catalog_v1::SUSPENDED));
  // Suspending again (a retry) is harmless.
  suspended = executor->Run(Step(seller->id, kpi::pb::SUSPENSION, "act_suspend1", 0, suspension));
  EXPECT_TRUE(suspended.ok()) << suspended.status();

  // RESTORATION of the suspension, with the measures' results as the store hands them on.
  const std::vector<std::string> restoration = kpi::RestorationSteps(kpi::pb::SUSPENSION);
  std::map<std::string, std::string> undone;
  for (size_t i = 0; i < measures.size(); ++i) undone[measures[i]] = results[i];
  for (int i = 0; i < static_cast<int>(restoration.size()); ++i) {
    kpi::ClaimedStep step =
        Step(seller->id, kpi::pb::RESTORATION, "act_restore1", i, restoration);
    step.undone_results = undone;
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    if (step.name == kpi::kReinstateAccount) {
      EXPECT_EQ(*result, "ACTIVE");
    }
  }
  // A restoration stored before catalog kept the two suspensions apart still has this step:
  // it calls nothing (RestoreSellerListings would lift a suspension staff made in catalog).
  absl::StatusOr<std::string> legacy = executor->Run(
      Step(seller->id, kpi::pb::RESTORATION, "act_restore0", 0, {kpi::kRestoreListings}));
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_TRUE(absl::StartsWith(*legacy, "not called")) << *legacy;
  EXPECT_TRUE(Login(stack_->identity_stub(), seller->email, kGoodPassword).ok());
  EXPECT_TRUE(ListingBecomes(seller->listing.listing_id(), listed));
  EXPECT_EQ(ModerationLevel(seller->id), catalog_v1::STANDARD);
  EXPECT_EQ(HoldSeconds(seller->id), hold_before);
}

// TOP_SELLER_TERMS set the hold recorded on the action (7 days) and their restoration puts
// back the hold they replaced, but never less than its floor (the GOOD days); measures after
// TOP terms record 7 days as replaced, and their restoration sets the floor, not 7 days.
TEST_F(GrpcStepExecutorTest, TopTermsAndRestorationsFollowTheRecordedHolds) {
  auto seller = stack_->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  auto executor = Executor(kSellerKpiScopes);
  const int64_t kDay = 24 * 3600;
  const int64_t hold_before = HoldSeconds(seller->id);
  ASSERT_GT(hold_before, 0);

  const std::vector<std::string> terms = kpi::ActionSteps(kpi::pb::TOP_SELLER_TERMS);
  std::vector<std::string> results;
  for (int i = 0; i < static_cast<int>(terms.size()); ++i) {
    kpi::ClaimedStep step = Step(seller->id, kpi::pb::TOP_SELLER_TERMS, "act_top1", i, terms);
    step.explanation = "Your seller health is GOOD and you hold the TOP badge";
    step.hold = absl::Hours(24 * 7);
    step.keep_above = absl::Hours(24 * 14);  // payments' default 14 days is not above it
    step.earlier_results = results;
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    results.push_back(*result);
  }
  EXPECT_EQ(results[0], absl::StrCat(hold_before, "s"));
  EXPECT_EQ(results[1], absl::StrCat(hold_before, "s"));  // what the set replaced
  EXPECT_EQ(HoldSeconds(seller->id), 7 * kDay);
  // TOP terms without a recorded hold are refused, nothing changes.
  kpi::ClaimedStep no_hold = Step(seller->id, kpi::pb::TOP_SELLER_TERMS, "act_top2", 1, terms);
  no_hold.earlier_results = {absl::StrCat(7 * kDay, "s")};
  EXPECT_EQ(executor->Run(no_hold).status().code(), absl::StatusCode::kInternal);

  // Measures over the terms: they replace 7 days with 21.
  const std::vector<std::string> measures = kpi::ActionSteps(kpi::pb::AT_RISK_MEASURES);
  std::vector<std::string> measured;
  for (int i = 0; i < static_cast<int>(measures.size()); ++i) {
    kpi::ClaimedStep step =
        Step(seller->id, kpi::pb::AT_RISK_MEASURES, "act_measures2", i, measures);
    step.hold = absl::Hours(24 * 21);
    step.earlier_results = measured;
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    measured.push_back(*result);
  }
  EXPECT_EQ(measured[4], absl::StrCat(7 * kDay, "s"));
  EXPECT_EQ(HoldSeconds(seller->id), 21 * kDay);

  // Their restoration with a 14-day floor: 14 days, not the 7 they replaced.
  const std::vector<std::string> restoration = kpi::RestorationSteps(kpi::pb::AT_RISK_MEASURES);
  std::map<std::string, std::string> undone;
  for (size_t i = 0; i < measures.size(); ++i) undone[measures[i]] = measured[i];
  for (int i = 0; i < static_cast<int>(restoration.size()); ++i) {
    kpi::ClaimedStep step =
        Step(seller->id, kpi::pb::RESTORATION, "act_restore2", i, restoration);
    step.undone_results = undone;
    step.hold = absl::Hours(24 * 14);
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    if (step.name == kpi::kRestoreHoldPolicy) {
      EXPECT_EQ(*result, absl::StrCat("hold ", 14 * kDay, "s"));
    }
  }
  EXPECT_EQ(HoldSeconds(seller->id), 14 * kDay);
  EXPECT_EQ(ModerationLevel(seller->id), catalog_v1::STANDARD);

  // A restoration of TOP terms that had replaced 30 days: 30 come back (above the floor).
  kpi::ClaimedStep top_end = Step(seller->id, kpi::pb::RESTORATION, "act_restore3", 0,
                                  kpi::RestorationSteps(kpi::pb::TOP_SELLER_TERMS));
  top_end.undone_results = {{kpi::kSetHoldPolicy, absl::StrCat(30 * kDay, "s")}};
  top_end.hold = absl::Hours(24 * 14);
  absl::StatusOr<std::string> restored = executor->Run(top_end);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(HoldSeconds(seller->id), 30 * kDay);

  // New TOP terms over those 30 days (longer than the GOOD 14): kept, not shortened to 7.
  std::vector<std::string> again;
  for (int i = 0; i < static_cast<int>(terms.size()); ++i) {
    kpi::ClaimedStep step = Step(seller->id, kpi::pb::TOP_SELLER_TERMS, "act_top3", i, terms);
    step.explanation = "Your seller health is GOOD and you hold the TOP badge";
    step.hold = absl::Hours(24 * 7);
    step.keep_above = absl::Hours(24 * 14);
    step.earlier_results = again;
    absl::StatusOr<std::string> result = executor->Run(step);
    ASSERT_TRUE(result.ok()) << step.name << ": " << result.status();
    again.push_back(*result);
  }
  EXPECT_EQ(again[1], absl::StrCat(30 * kDay, "s"));
  EXPECT_EQ(HoldSeconds(seller->id), 30 * kDay);
  // The notice says so.
  EXPECT_NE(again[2].find("keeps the longer hold set for it: 30 days"), std::string::npos)
      << again[2];
}

TEST_F(GrpcStepExecutorTest, WithoutTheScopesAStepFailsAndChangesNothing) {
  auto seller = stack_->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  auto executor = Executor({"identity.accounts.read"});
  const std::vector<std::string> measures = kpi::ActionSteps(kpi::pb::AT_RISK_MEASURES);
  kpi::ClaimedStep step = Step(seller->id, kpi::pb::AT_RISK_MEASURES, "act_noscope", 2, measures);
  step.earlier_results = {"notice", "STANDARD"};
  absl::StatusOr<std::string> result = executor->Run(step);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << result.status();
  EXPECT_NE(ModerationLevel(seller->id), catalog_v1::AT_RISK);
  const std::vector<std::string> suspension = kpi::ActionSteps(kpi::pb::SUSPENSION);
  result = executor->Run(Step(seller->id, kpi::pb::SUSPENSION, "act_noscope2", 0, suspension));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << result.status();
  EXPECT_TRUE(Login(stack_->identity_stub(), seller->email, kGoodPassword).ok());
}

}  // namespace
}  // namespace marketplace::testing
