// replicas_enforcement_bench: steps per second of sellerkpi's enforcement worker (the saga
// engine) with one sellerkpi_server process, then with two, on one database in the same run,
// with the real identity_server, catalog_server and payments_server its steps call
// (tests/sellerkpi/enforcement_stack.h: mutual TLS, databases on the test MariaDB started in
// TEST_TMPDIR). Run by bench/replicas_enforcement_bench.sh. Not a test: it measures.
//
// A round (one per entry of --order, e.g. "1 2 2 1"):
// 1. the backlog: one sellerkpi_server with its worker idle (--enforcement_interval=1h: its
//    one pass at the start finds nothing) records --sellers new sellers' events through
//    RecordSellerEvents (20 orders, 5 claims that count: CRITICAL) and evaluates them through
//    EvaluateSellers, 100 a call: AT_RISK_MEASURES (5 steps: notify, read and set catalog's
//    moderation level, read and set payments' hold policy) and CRITICAL_WARNING (1 step) per
//    seller, due at once; then it is killed;
// 2. k processes start together with the worker on (--enforcement_interval=100ms, the default
//    --enforcement_batch 20) and the round waits until every step of its sellers is
//    DONE_CHECKED.
// Rate: the round's steps ÷ the span of their updated_at (database clock, first step finished
// to last). Share: each process's sellerkpi_enforcement_actions_total{result="done"}.
// The summary: the mean rate of each process count over its rounds, two ÷ one, the shares.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/testing/mariadb_server.h"
#include "common/tls/test_tls.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"
#include "tests/replicas_workers/replica_util.h"
#include "tests/sellerkpi/enforcement_stack.h"
#include "tests/support/metrics_scrape.h"

namespace marketplace::bench {
namespace {

namespace kpi = ::marketplace::sellerkpi::v1;
using ::marketplace::testing::AddCriticalEvents;
using ::marketplace::testing::CountRows;
using ::marketplace::testing::EnforcementStack;
using ::marketplace::testing::SumSamples;

constexpr int kStepsPerSeller = 6;     // AT_RISK_MEASURES 5, CRITICAL_WARNING 1
constexpr int kSellersPerRecord = 20;  // 25 events each: 500 a call (the limit)
constexpr int kSellersPerEvaluate = 100;

struct Config {
  int64_t sellers = 1000;
  std::string order = "1 2 2 1";
  absl::Duration timeout = absl::Minutes(10);
};

struct Round {
  int processes = 0;
  int64_t steps = 0;
  double seconds = 0;
  std::vector<double> done;  // per process
  double rate() const { return seconds > 0 ? static_cast<double>(steps) / seconds : 0; }
};

class Bench {
 public:
  Bench(EnforcementStack* stack, common::db::ConnectionPool* pool, const Config& config)
      : stack_(stack), pool_(pool), config_(config) {}

  absl::StatusOr<Round> RunRound(int number, int processes) {
    RETURN_IF_ERROR(MakeBacklog(number));
    const std::string prefix = SellerPrefix(number);
    const std::string of_round = absl::StrCat(
        "FROM enforcement_steps s JOIN enforcement_actions a ON a.action_id = s.action_id "
        "WHERE a.seller_id LIKE '",
        prefix, "%'");
    const int64_t steps = CountRows(*pool_, absl::StrCat("SELECT COUNT(*) AS n ", of_round));
    const int64_t expected = config_.sellers * kStepsPerSeller;
    if (steps != expected) {
      return absl::InternalError(absl::StrCat("round ", number, ": ", steps, " steps made, ",
                                              expected, " expected"));
    }
    const absl::Time start = absl::Now();
    auto targets = stack_->StartSellerKpis(
        processes, {"--evaluation_interval=24h", "--enforcement_interval=100ms"});
    if (!targets.ok()) return targets.status();
    const std::string left_sql =
        absl::StrCat("SELECT COUNT(*) AS n ", of_round, " AND s.state <> 'DONE_CHECKED'");
    int64_t left = CountRows(*pool_, left_sql);
    while (left != 0 && absl::Now() < start + config_.timeout) {
      absl::SleepFor(absl::Milliseconds(200));
      left = CountRows(*pool_, left_sql);
    }
    Round round;
    round.processes = processes;
    for (int port : stack_->SellerKpiMetricsPorts()) {
      round.done.push_back(SumSamples(marketplace::testing::ScrapeMetrics(port),
                                      "sellerkpi_enforcement_actions_total", {"result=\"done\""}));
    }
    stack_->KillSellerKpi();
    if (left != 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("round ", number, ": ", left, " steps not done after ",
                       absl::FormatDuration(config_.timeout)));
    }
    auto rows = pool_->Query(
        absl::StrCat("SELECT COUNT(*) AS n, TIMESTAMPDIFF(MICROSECOND, MIN(s.updated_at), "
                     "MAX(s.updated_at)) AS span ",
                     of_round),
        {});
    if (!rows.ok()) return rows.status();
    round.steps = (*rows)[0].GetInt64("n").value_or(0);
    round.seconds = static_cast<double>((*rows)[0].GetInt64("span").value_or(0)) / 1e6;
    return round;
  }

 private:
  static std::string SellerPrefix(int round) { return absl::StrFormat("5e11e8%02x", round); }

  // The round's sellers driven to CRITICAL and evaluated by one process whose worker is idle.
  absl::Status MakeBacklog(int number) {
    auto targets = stack_->StartSellerKpis(
        1, {"--evaluation_interval=24h", "--enforcement_interval=1h"});
    if (!targets.ok()) return targets.status();
    auto stub = kpi::SellerKpiService::NewStub(
        grpc::CreateChannel((*targets)[0], marketplace::testing::TestChannelCredentials()));
    std::vector<std::string> sellers;
    for (int64_t i = 0; i < config_.sellers; ++i) {
      sellers.push_back(absl::StrFormat("%s%024x", SellerPrefix(number), i));
    }
    const absl::Time t0 = absl::Now() - absl::Hours(24 * 9);
    absl::Status status;
    for (size_t first = 0; first < sellers.size() && status.ok(); first += kSellersPerRecord) {
      kpi::RecordSellerEventsRequest req;
      req.set_request_id(absl::StrCat("bench-record-", number, "-", first));
      for (size_t i = first; i < std::min(sellers.size(), first + kSellersPerRecord); ++i) {
        AddCriticalEvents(sellers[i], t0, &req);
      }
      kpi::RecordSellerEventsResponse resp;
      grpc::ClientContext ctx;
      marketplace::testing::WithToken(&ctx, stack_->admin_token());
      grpc::Status s = stub->RecordSellerEvents(&ctx, req, &resp);
      if (!s.ok()) status = absl::InternalError("RecordSellerEvents: " + s.error_message());
    }
    for (size_t first = 0; first < sellers.size() && status.ok(); first += kSellersPerEvaluate) {
      kpi::EvaluateSellersRequest req;
      req.set_request_id(absl::StrCat("bench-evaluate-", number, "-", first));
      for (size_t i = first; i < std::min(sellers.size(), first + kSellersPerEvaluate); ++i) {
        req.add_seller_ids(sellers[i]);
      }
      *req.mutable_as_of() = common::ToTimestamp(t0 + absl::Hours(1));
      kpi::EvaluateSellersResponse resp;
      grpc::ClientContext ctx;
      marketplace::testing::WithToken(&ctx, stack_->admin_token());
      grpc::Status s = stub->EvaluateSellers(&ctx, req, &resp);
      if (!s.ok()) status = absl::InternalError("EvaluateSellers: " + s.error_message());
    }
    stack_->KillSellerKpi();
    return status;
  }

  EnforcementStack* stack_;
  common::db::ConnectionPool* pool_;
  Config config_;
};

std::string Shares(const std::vector<double>& done) {
  double total = 0;
  for (double d : done) total += d;
  std::vector<std::string> parts;
  for (double d : done) {
    parts.push_back(absl::StrFormat("%.0f (%.0f%%)", d, total > 0 ? 100 * d / total : 0));
  }
  return absl::StrJoin(parts, " / ");
}

int Run(const Config& config) {
  std::vector<int> order;
  for (absl::string_view part : absl::StrSplit(config.order, ' ', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1 || n > 4) {
      std::fprintf(stderr, "--order: process counts 1-4 separated by spaces\n");
      return 2;
    }
    order.push_back(n);
  }
  auto db = common::testing::CreateTestDatabase("replicas_enforcement");
  if (!db.ok()) {
    std::fprintf(stderr, "database: %s\n", db.status().ToString().c_str());
    return 1;
  }
  const absl::Time start = absl::Now();
  auto stack = EnforcementStack::Start();
  if (!stack.ok()) {
    std::fprintf(stderr, "stack: %s\n", stack.status().ToString().c_str());
    return 1;
  }
  std::printf("identity, catalog and payments serving after %s\n",
              absl::FormatDuration(absl::Now() - start).c_str());
  (*stack)->UseSellerKpiDatabase(marketplace::testing::DbFlags(*db));
  auto pool = common::db::ConnectionPool::Create(db->options);
  if (!pool.ok()) {
    std::fprintf(stderr, "database: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  Bench bench(stack->get(), pool->get(), config);
  std::map<int, std::vector<Round>> rounds;
  for (size_t i = 0; i < order.size(); ++i) {
    auto round = bench.RunRound(static_cast<int>(i), order[i]);
    if (!round.ok()) {
      std::fprintf(stderr, "%s\n", round.status().ToString().c_str());
      return 1;
    }
    std::printf("round %zu, %d process(es): %lld steps in %.2f s = %.1f steps/s; done per "
                "process %s\n",
                i + 1, round->processes, static_cast<long long>(round->steps), round->seconds,
                round->rate(), Shares(round->done).c_str());
    std::fflush(stdout);
    rounds[round->processes].push_back(*round);
  }
  std::printf("\n%-30s %14s %14s %8s\n", "worker", "1 process/s", "2 processes/s", "2 ÷ 1");
  auto mean = [&](int n) {
    double sum = 0;
    for (const Round& r : rounds[n]) sum += r.rate();
    return rounds[n].empty() ? 0.0 : sum / static_cast<double>(rounds[n].size());
  };
  const double one = mean(1), two = mean(2);
  std::printf("%-30s %14.1f %14.1f %8.2f\n", "sellerkpi enforcement steps", one, two,
              one > 0 ? two / one : 0.0);
  bool both = true;
  for (const Round& r : rounds[2]) {
    for (double d : r.done) both = both && d > 0;
  }
  std::printf("both processes did steps in every two-process round: %s\n", both ? "yes" : "NO");
  (void)common::testing::DropTestDatabase(db->name);
  return 0;
}

}  // namespace
}  // namespace marketplace::bench

int main(int argc, char** argv) {
  marketplace::bench::Config config;
  marketplace::common::Flags flags(
      "replicas_enforcement_bench",
      "Enforcement steps/s of sellerkpi_server with one process, then two, on one database.");
  flags.AddInt64("sellers", &config.sellers, config.sellers, 1, 100000,
                 "Sellers driven to CRITICAL per round (6 steps each).");
  flags.AddString("order", &config.order, config.order,
                  "The rounds' process counts, in order, separated by spaces.");
  flags.AddDuration("timeout", &config.timeout, config.timeout, absl::Seconds(1), absl::Hours(2),
                    "Longest wait for one round's steps.");
  flags.ParseOrExit(argc, argv);
  return marketplace::bench::Run(config);
}
