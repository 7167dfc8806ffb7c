// A sellerkpi_server killed inside a suspension saga finishes it once on restart (real
// sellerkpi, identity, catalog and payments processes: tests/sellerkpi/enforcement_stack.h).
// The first server's SERVICE account lacks identity.enforcement, so the suspension step keeps
// failing (RETRYING) after the AT_RISK measures were carried out; it is killed with SIGKILL in
// that state and started again on the same database with the right scopes: the suspension step
// completes with the same request_id, the seller is suspended, every step of every action is
// DONE_CHECKED exactly once, and no action was created twice.
#include <chrono>
#include <map>
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

namespace kpi = ::marketplace::sellerkpi::v1;
using KpiStub = kpi::SellerKpiService::Stub;

std::string UniqueId(const std::string& prefix) {
  static int n = 0;
  return absl::StrCat(prefix, "-", absl::ToUnixMicros(absl::Now()), "-", ++n);
}

std::unique_ptr<KpiStub> Connect(const std::string& target) {
  return kpi::SellerKpiService::NewStub(
      grpc::CreateChannel(target, TestChannelCredentials()));
}

std::vector<kpi::EnforcementAction> Actions(KpiStub* stub, const std::string& token,
                                            const std::string& seller) {
  kpi::ListEnforcementActionsRequest req;
  req.set_seller_id(seller);
  req.set_page_size(100);
  kpi::ListEnforcementActionsResponse resp;
  grpc::ClientContext ctx;
  WithToken(&ctx, token);
  grpc::Status s = stub->ListEnforcementActions(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.actions().begin(), resp.actions().end()};
}

const kpi::EnforcementAction* Find(const std::vector<kpi::EnforcementAction>& actions,
                                   kpi::ActionType type) {
  for (const auto& a : actions) {
    if (a.type() == type) return &a;
  }
  return nullptr;
}

TEST(EnforcementRestartTest, KilledInsideASuspensionSagaItFinishesOnceOnRestart) {
  auto started = EnforcementStack::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<EnforcementStack> stack = *std::move(started);
  const std::string& admin = stack->admin_token();
  auto target = stack->StartSellerKpi(
      {"--evaluation_interval=24h", "--enforcement_interval=100ms"},
      {"identity.accounts.read", "catalog.enforcement", "payments.policy"});
  ASSERT_TRUE(target.ok()) << target.status();
  std::unique_ptr<KpiStub> stub = Connect(*target);

  auto seller = stack->ApprovedSellerWithListing();
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string id = seller->id;
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
  {
    kpi::RecordSellerEventsResponse resp;
    grpc::ClientContext ctx;
    WithToken(&ctx, admin);
    grpc::Status s = stub->RecordSellerEvents(&ctx, record, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const absl::Time first = t0 + absl::Hours(1);
  for (absl::Time as_of : {first, first + absl::Hours(24), first + absl::Hours(24 * 7)}) {
    kpi::EvaluateSellersRequest req;
    req.set_request_id(UniqueId("evaluate"));
    req.add_seller_ids(id);
    *req.mutable_as_of() = common::ToTimestamp(as_of);
    kpi::EvaluateSellersResponse resp;
    grpc::ClientContext ctx;
    WithToken(&ctx, admin);
    grpc::Status s = stub->EvaluateSellers(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The suspension step fails for want of identity.enforcement: wait until it was tried twice.
  kpi::EnforcementStep stuck;
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (absl::Now() < end) {
    const std::vector<kpi::EnforcementAction> actions = Actions(stub.get(), admin, id);
    const kpi::EnforcementAction* suspension = Find(actions, kpi::SUSPENSION);
    if (suspension != nullptr && suspension->steps(0).attempts() >= 2 &&
        suspension->steps(0).state() == kpi::RETRYING) {
      stuck = suspension->steps(0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(stuck.state(), kpi::RETRYING) << "the suspension step never failed twice";
  EXPECT_NE(stuck.error().find("PERMISSION_DENIED"), std::string::npos) << stuck.error();
  EXPECT_TRUE(Login(stack->identity_stub(), seller->email, kGoodPassword).ok());

  // Crash, then start again on the same database with the scopes it needs.
  stack->KillSellerKpi();
  target = stack->StartSellerKpi({"--evaluation_interval=24h", "--enforcement_interval=100ms"});
  ASSERT_TRUE(target.ok()) << target.status();
  stub = Connect(*target);

  std::vector<kpi::EnforcementAction> actions;
  const absl::Time done_by = absl::Now() + absl::Seconds(60);
  while (absl::Now() < done_by) {
    actions = Actions(stub.get(), admin, id);
    const kpi::EnforcementAction* suspension = Find(actions, kpi::SUSPENSION);
    if (suspension != nullptr && suspension->state() == kpi::DONE) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  const kpi::EnforcementAction* suspension = Find(actions, kpi::SUSPENSION);
  ASSERT_NE(suspension, nullptr);
  ASSERT_EQ(suspension->state(), kpi::DONE) << suspension->DebugString();
  EXPECT_EQ(suspension->steps(0).request_id(), stuck.request_id());
  EXPECT_GT(suspension->steps(0).attempts(), stuck.attempts());
  EXPECT_TRUE(suspension->steps(0).result().rfind("SUSPENDED", 0) == 0)
      << suspension->steps(0).result();
  EXPECT_FALSE(Login(stack->identity_stub(), seller->email, kGoodPassword).ok());
  // Once: one action of each type, every step of the measures and the suspension done once.
  std::map<kpi::ActionType, int> by_type;
  for (const auto& a : actions) ++by_type[a.type()];
  EXPECT_EQ(by_type, (std::map<kpi::ActionType, int>{{kpi::AT_RISK_MEASURES, 1},
                                                     {kpi::CRITICAL_WARNING, 1},
                                                     {kpi::SUSPENSION, 1}}));
  for (const auto& a : actions) {
    for (const auto& step : a.steps()) {
      EXPECT_EQ(step.state(), kpi::DONE_CHECKED) << a.action_id() << " " << step.name();
    }
  }
  const kpi::EnforcementAction* measures = Find(actions, kpi::AT_RISK_MEASURES);
  ASSERT_NE(measures, nullptr);
  for (const auto& step : measures->steps()) EXPECT_EQ(step.attempts(), 1) << step.name();
  EXPECT_EQ(suspension->steps(1).attempts(), 1);  // the notice: once
}

}  // namespace
}  // namespace marketplace::testing
