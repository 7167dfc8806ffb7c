// Multi-replica proof of sellerkpi's enforcement worker (the saga engine): two sellerkpi_server
// processes on one sellerkpi database, the worker on in both (`--enforcement_interval=100ms`,
// `--enforcement_batch=5`, so a pass takes a few steps and both processes take part), with the
// real identity_server, catalog_server and payments_server the steps call
// (tests/sellerkpi/enforcement_stack.h, mutual TLS).
//
// 170 sellers, each driven to CRITICAL through RecordSellerEvents (20 orders nine days ago, 5
// claims that count) and evaluated through EvaluateSellers at an explicit as_of (the start of
// the improvement period): AT_RISK_MEASURES (5 steps) and CRITICAL_WARNING (1) each. 20 of them
// are SELLER accounts at identity (a suspension needs a real account; signing up hashes a
// password, so not all 170) and are evaluated twice more (a day later, and at the period's end,
// the third CRITICAL evaluation in a row): SUSPENSION (2 steps). 1,060 steps in all. One
// seller's evaluations every 100 ms (17 s in all), on either process by turns, while both
// workers run: about as fast as the two workers take the steps, so the queue stays shorter
// than a batch and a pass of one process regularly meets the steps the other has claimed and
// is still running -- the case the claim's lock and lease are for (with a deep queue, ordered
// by next_attempt_at, a claimed step goes to the back and is rarely met again). Once no step
// is left unfinished:
// - sellerkpi: one action of each type per seller (AT_RISK_MEASURES and CRITICAL_WARNING for
//   170, SUSPENSION for 20), all DONE; 1,060 steps, all DONE_CHECKED; the attempts recorded on
//   the steps add up to one per step plus the retries the processes counted;
// - each process's own /metrics: sellerkpi_enforcement_actions_total{result="done"} > 0 on
//   each, adding up to exactly 1,060, and for each (action, step) to its number of actions --
//   a step carried out twice would count twice here (CompleteStep of a finished step changes
//   nothing, and every call of a step is idempotent at the service it names, so only this
//   count and the attempts show it);
// - the effects: moderation level AT_RISK at catalog and a 21-day hold at payments for each
//   seller; each of the 20 SUSPENDED at identity with one ACCOUNT_SUSPENDED decision (identity
//   records a suspension once, whoever asks again).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "common/proto_time.h"
#include "common/testing/mariadb_server.h"
#include "common/tls/test_tls.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"
#include "tests/replicas_workers/replica_util.h"
#include "tests/sellerkpi/enforcement_stack.h"
#include "tests/support/metrics_scrape.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
namespace payments_v1 = ::marketplace::payments::v1;
namespace kpi = ::marketplace::sellerkpi::v1;

constexpr int kSellers = 170;
constexpr int kSuspended = 20;         // the SELLER accounts among them: every 170/20 = 8th
constexpr int kSuspendEvery = kSellers / kSuspended;
constexpr int kSellersPerRecord = 20;  // 25 events each: 500 a call (the limit)
constexpr absl::Duration kEvaluateSpacing = absl::Milliseconds(100);
constexpr int64_t kDay = 24 * 3600;

bool Suspended(int i) { return i % kSuspendEvery == 0 && i / kSuspendEvery < kSuspended; }

// The steps of the actions (enforcement_policy.h): (action, step, how many sellers get it).
struct Step {
  std::string action;
  std::string step;
  int sellers;
};
const std::vector<Step>& Steps() {
  static const auto* steps = new std::vector<Step>{
      {"AT_RISK_MEASURES", "notify_seller", kSellers},
      {"AT_RISK_MEASURES", "catalog.read_moderation_level", kSellers},
      {"AT_RISK_MEASURES", "catalog.set_moderation_level", kSellers},
      {"AT_RISK_MEASURES", "payments.read_hold_policy", kSellers},
      {"AT_RISK_MEASURES", "payments.set_hold_policy", kSellers},
      {"CRITICAL_WARNING", "notify_seller", kSellers},
      {"SUSPENSION", "identity.suspend_account", kSuspended},
      {"SUSPENSION", "notify_seller", kSuspended},
  };
  return *steps;
}

class SellerKpiEnforcementReplicasTest : public ::testing::Test {
 protected:
  void TearDown() override {
    stubs_.clear();
    stack_.reset();
    if (!db_.name.empty()) (void)common::testing::DropTestDatabase(db_.name);
  }

  common::testing::TestDatabase db_;
  std::unique_ptr<EnforcementStack> stack_;
  std::vector<std::unique_ptr<kpi::SellerKpiService::Stub>> stubs_;
};

TEST_F(SellerKpiEnforcementReplicasTest, TwoProcessesRunEachStepOfEachActionOnce) {
  const absl::Time test_start = absl::Now();
  auto db = common::testing::CreateTestDatabase("sellerkpi_enforcement_replicas");
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *db;
  std::printf("MariaDB up after %s\n", absl::FormatDuration(absl::Now() - test_start).c_str());
  auto stack = EnforcementStack::Start();
  ASSERT_TRUE(stack.ok()) << stack.status();
  stack_ = *std::move(stack);
  stack_->UseSellerKpiDatabase(DbFlags(db_));
  // The background evaluator stays idle (it runs once at the start, before any event): the
  // test evaluates at explicit as_of values.
  auto targets = stack_->StartSellerKpis(
      2, {"--evaluation_interval=24h", "--enforcement_interval=100ms", "--enforcement_batch=5"});
  ASSERT_TRUE(targets.ok()) << targets.status();
  for (const std::string& target : *targets) {
    stubs_.push_back(kpi::SellerKpiService::NewStub(
        grpc::CreateChannel(target, TestChannelCredentials())));
  }
  const std::vector<int> metrics_ports = stack_->SellerKpiMetricsPorts();
  ASSERT_EQ(metrics_ports.size(), 2u);
  const std::string admin = stack_->admin_token();
  std::printf("processes serving after %s\n",
              absl::FormatDuration(absl::Now() - test_start).c_str());

  // The sellers: ids of the platform's form for most; SELLER accounts at identity, signed up
  // by 4 threads, for those to be suspended (SuspendAccount needs a real account).
  std::vector<std::string> sellers(kSellers);
  std::vector<int> to_suspend;
  for (int i = 0; i < kSellers; ++i) {
    if (Suspended(i)) {
      to_suspend.push_back(i);
    } else {
      sellers[i] = absl::StrFormat("5e11e7%026x", i);
    }
  }
  ASSERT_EQ(to_suspend.size(), static_cast<size_t>(kSuspended));
  {
    absl::Mutex mu;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (size_t k = t; k < to_suspend.size(); k += 4) {
          const int i = to_suspend[k];
          identity_v1::SignUpRequest req;
          req.set_email(UniqueEmail(absl::StrCat("enfrep", i)));
          req.set_password(kGoodPassword);
          req.set_display_name(absl::StrCat("Replica seller ", i));
          req.set_role(identity_v1::SELLER);
          identity_v1::Account account;
          grpc::Status s = CallIdentity(stack_->identity_stub(),
                                        &identity_v1::Identity::Stub::SignUp, req, &account);
          absl::MutexLock lock(&mu);
          if (!s.ok()) {
            errors.push_back(absl::StrCat("SignUp ", i, ": ", s.error_message()));
          } else {
            sellers[i] = account.account_id();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(errors.empty()) << errors.front();
  }
  std::printf("accounts signed up after %s\n",
              absl::FormatDuration(absl::Now() - test_start).c_str());

  // Their events, on both processes by turns.
  const absl::Time t0 = absl::Now() - absl::Hours(24 * 9);
  for (int first = 0; first < kSellers; first += kSellersPerRecord) {
    kpi::RecordSellerEventsRequest req;
    req.set_request_id(absl::StrCat("record-", first));
    for (int i = first; i < std::min(kSellers, first + kSellersPerRecord); ++i) {
      AddCriticalEvents(sellers[i], t0, &req);
    }
    kpi::RecordSellerEventsResponse resp;
    grpc::ClientContext ctx;
    WithToken(&ctx, admin);
    grpc::Status s = stubs_[(first / kSellersPerRecord) % 2]->RecordSellerEvents(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.recorded(), req.events_size());
  }

  // One seller every 100 ms, while both workers run: the first CRITICAL evaluation
  // (AT_RISK_MEASURES and CRITICAL_WARNING); for the accounts also one a day later, and the one
  // at the end of the improvement period, the third CRITICAL in a row (SUSPENSION).
  const absl::Time first = t0 + absl::Hours(1);
  const std::vector<absl::Time> as_of = {first, first + absl::Hours(24),
                                         first + absl::Hours(24 * 7)};
  const absl::Time evaluations_start = absl::Now();
  for (int i = 0; i < kSellers; ++i) {
    absl::SleepFor(evaluations_start + kEvaluateSpacing * i - absl::Now());  // its turn
    for (size_t e = 0; e < (Suspended(i) ? as_of.size() : 1); ++e) {
      kpi::EvaluateSellersRequest req;
      req.set_request_id(absl::StrCat("evaluate-", i, "-", e));
      req.add_seller_ids(sellers[i]);
      *req.mutable_as_of() = common::ToTimestamp(as_of[e]);
      kpi::EvaluateSellersResponse resp;
      grpc::ClientContext ctx;
      WithToken(&ctx, admin);
      grpc::Status s = stubs_[(i + e) % 2]->EvaluateSellers(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << "seller " << i << " evaluation " << e << ": " << s.error_message();
    }
  }
  std::printf("evaluations made in %s\n",
              absl::FormatDuration(absl::Now() - evaluations_start).c_str());

  auto pool = common::db::ConnectionPool::Create(db_.options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  int kSteps = 0;
  for (const Step& step : Steps()) kSteps += step.sellers;
  ASSERT_EQ(kSteps, 1060);
  // Every step done (60 s at most).
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (absl::Now() < end &&
         (CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_steps") < kSteps ||
          CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_steps "
                            "WHERE state <> 'DONE_CHECKED'") != 0)) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  std::printf("all steps done %s after the first evaluation\n",
              absl::FormatDuration(absl::Now() - evaluations_start).c_str());
  // A step run a second time in parallel would have counted by now.
  absl::SleepFor(absl::Seconds(1));

  // sellerkpi's rows: one action of each type per seller, all DONE; every step done, none
  // left pending.
  const int kActions = 2 * kSellers + kSuspended;
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_actions"), kActions);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_actions WHERE state = 'DONE'"),
            kActions);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_actions "
                              "WHERE type = 'SUSPENSION'"),
            kSuspended);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM (SELECT seller_id, type FROM "
                              "enforcement_actions GROUP BY seller_id, type "
                              "HAVING COUNT(*) <> 1) d"),
            0);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_steps"), kSteps);
  EXPECT_EQ(CountRows(**pool, "SELECT COUNT(*) AS n FROM enforcement_steps "
                              "WHERE state <> 'DONE_CHECKED'"),
            0);

  // Each process's own counts: each did part of the steps; together each step exactly once.
  std::vector<std::string> metrics;
  double done = 0;
  double retrying = 0;
  for (size_t r = 0; r < metrics_ports.size(); ++r) {
    metrics.push_back(ScrapeMetrics(metrics_ports[r]));
    ASSERT_FALSE(metrics[r].empty()) << "replica " << r << ": no /metrics";
    const double own = SumSamples(metrics[r], "sellerkpi_enforcement_actions_total",
                                  {"result=\"done\""});
    const double own_retrying = SumSamples(metrics[r], "sellerkpi_enforcement_actions_total",
                                           {"result=\"retrying\""});
    std::printf("replica %zu: %.0f steps done, %.0f attempts retrying\n", r, own, own_retrying);
    EXPECT_GT(own, 0) << "replica " << r << " carried out no step";
    done += own;
    retrying += own_retrying;
  }
  EXPECT_EQ(done, kSteps);
  for (const Step& step : Steps()) {
    double n = 0;
    for (const std::string& m : metrics) {
      n += SumSamples(m, "sellerkpi_enforcement_actions_total",
                      {absl::StrCat("action=\"", step.action, "\""),
                       absl::StrCat("step=\"", step.step, "\""), "result=\"done\""});
    }
    EXPECT_EQ(n, step.sellers) << step.action << " " << step.step;
  }
  // A claim adds one attempt: one per step, plus one per failed attempt retried.
  EXPECT_EQ(CountRows(**pool, "SELECT SUM(attempts) AS n FROM enforcement_steps"),
            kSteps + static_cast<int64_t>(retrying));

  // The effects at the services the steps call.
  int suspended = 0, decided_once = 0, at_risk = 0, held = 0;
  for (int i = 0; i < kSellers; ++i) {
    const std::string& seller = sellers[i];
    if (Suspended(i)) {
      identity_v1::GetAccountRequest req;
      req.set_name("accounts/" + seller);
      identity_v1::Account account;
      grpc::Status s = CallIdentity(stack_->identity_stub(),
                                    &identity_v1::Identity::Stub::GetAccount, req, &account, admin);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (account.status() == identity_v1::SUSPENDED) ++suspended;
      identity_v1::GetSellerProfileRequest profile_req;
      profile_req.set_name("accounts/" + seller + "/sellerProfile");
      identity_v1::SellerProfile profile;
      s = CallIdentity(stack_->identity_stub(), &identity_v1::Identity::Stub::GetSellerProfile,
                       profile_req, &profile, admin);
      EXPECT_TRUE(s.ok()) << s.error_message();
      int suspensions = 0;
      for (const auto& d : profile.decisions()) {
        if (d.kind() == identity_v1::ACCOUNT_SUSPENDED) ++suspensions;
      }
      if (suspensions == 1) ++decided_once;
    }
    {
      catalog_v1::GetSellerModerationLevelRequest req;
      req.set_seller_id(seller);
      catalog_v1::SellerModeration got;
      grpc::ClientContext ctx;
      WithToken(&ctx, admin);
      grpc::Status s = stack_->catalog()->GetSellerModerationLevel(&ctx, req, &got);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (got.level() == catalog_v1::AT_RISK) ++at_risk;
    }
    {
      payments_v1::GetSellerHoldPolicyRequest req;
      req.set_seller_id(seller);
      payments_v1::SellerHoldPolicy got;
      grpc::ClientContext ctx;
      WithToken(&ctx, admin);
      grpc::Status s = stack_->payments()->GetSellerHoldPolicy(&ctx, req, &got);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (got.hold_period().seconds() == 21 * kDay) ++held;
    }
  }
  EXPECT_EQ(suspended, kSuspended);
  EXPECT_EQ(decided_once, kSuspended);
  EXPECT_EQ(at_risk, kSellers);
  EXPECT_EQ(held, kSellers);
  std::printf("test took %s\n", absl::FormatDuration(absl::Now() - test_start).c_str());
}

}  // namespace
}  // namespace marketplace::testing
