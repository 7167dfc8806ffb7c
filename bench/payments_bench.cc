// payments_bench: CreatePayment and ConfirmDelivery throughput of the payments domain service
// against a MariaDB, as a ratio to the same database's rate for one minimal write transaction
// (START TRANSACTION; INSERT one row; COMMIT) measured in the same run, with p99 latency.
// Run by bench/payments_bench.sh. Sellers are all approved (the seller check is identity's
// cost, not this service's) and the processor is the sandbox.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_db.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_domain.h"
#include "services/payments/payments_service.h"
#include "services/payments/sandbox_processor.h"

namespace {

namespace common = marketplace::common;
namespace payments = marketplace::payments;

class ApprovedSellers final : public marketplace::common::identity_client::SellerDirectory {
 public:
  absl::StatusOr<marketplace::common::identity_client::SellerStatus> GetSeller(
      const std::string&) override {
    return marketplace::common::identity_client::SellerStatus{true, true, "acct_bench"};
  }
};

struct Phase {
  int64_t calls = 0;
  int64_t errors = 0;
  std::string first_error;  // the first failed call's status, when any failed
  double qps = 0;
  absl::Duration p50, p99;
};

// `threads` loops calling op(thread, i) for `duration` (a thread stops early when op answers
// CANCELLED: nothing left to do); latencies of successful calls.
Phase Run(int threads, absl::Duration duration,
          const std::function<absl::Status(int, int64_t)>& op) {
  std::vector<std::vector<absl::Duration>> latencies(threads);
  std::atomic<int64_t> errors{0};
  absl::Mutex error_mu;
  std::string first_error;
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int64_t i = 0; absl::Now() < end; ++i) {
        const absl::Time before = absl::Now();
        absl::Status s = op(t, i);
        if (absl::IsCancelled(s)) break;  // nothing left to do
        if (s.ok()) {
          latencies[t].push_back(absl::Now() - before);
        } else {
          if (++errors == 1) {
            absl::MutexLock lock(&error_mu);
            first_error = s.ToString();
          }
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<absl::Duration> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Phase p;
  p.calls = static_cast<int64_t>(all.size());
  p.errors = errors.load();
  p.first_error = first_error;
  p.qps = p.calls / seconds;
  if (!all.empty()) {
    p.p50 = all[all.size() / 2];
    p.p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return p;
}

// The server's statement counters: what a phase sent, per call.
using ServerCounters = std::map<std::string, int64_t>;

// CPU time (user + system, clock ticks) the process `pid` has used; -1 when unknown.
int64_t ProcessCpuTicks(int64_t pid) {
  if (pid <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return -1;
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return utime + stime;
}

ServerCounters ReadServerCounters(common::db::ConnectionPool& pool, int64_t db_pid) {
  ServerCounters out;
  out["cpu_ticks"] = ProcessCpuTicks(db_pid);
  out["wall_us"] = absl::ToUnixMicros(absl::Now());
  out.merge(marketplace::bench::ReadGlobalStatus(
      pool, {"Questions", "Com_stmt_prepare", "Com_select", "Com_insert", "Com_update",
             "Com_update_multi", "Com_commit", "Com_begin", "Bytes_received"}));
  return out;
}

void Print(const std::string& name, const Phase& p, double reference,
           const ServerCounters& before, const ServerCounters& after) {
  std::printf("%-22s %10.0f/s  ratio %5.2f  p50 %7.2f ms  p99 %7.2f ms  errors %lld\n",
              name.c_str(), p.qps, reference > 0 ? p.qps / reference : 0.0,
              absl::ToDoubleMilliseconds(p.p50), absl::ToDoubleMilliseconds(p.p99),
              static_cast<long long>(p.errors));
  if (p.errors > 0) std::printf("                       first error: %s\n", p.first_error.c_str());
  if (p.calls == 0) return;
  auto per_call = [&](const std::string& counter) {
    auto a = after.find(counter);
    auto b = before.find(counter);
    if (a == after.end() || b == before.end()) return 0.0;
    return static_cast<double>(a->second - b->second) / static_cast<double>(p.calls);
  };
  std::printf("%-22s per call: %.2f statements (select %.2f, insert %.2f, update %.2f, "
              "multi-table update %.2f, commit %.2f), %.2f prepares, %.0f bytes sent\n",
              "", per_call("Questions"), per_call("Com_select"), per_call("Com_insert"),
              per_call("Com_update"), per_call("Com_update_multi"), per_call("Com_commit"),
              per_call("Com_stmt_prepare"), per_call("Bytes_received"));
  const int64_t ticks_before = before.at("cpu_ticks"), ticks_after = after.at("cpu_ticks");
  if (ticks_before >= 0 && ticks_after >= 0) {
    const double cpu_seconds =
        static_cast<double>(ticks_after - ticks_before) / static_cast<double>(sysconf(_SC_CLK_TCK));
    const double wall_seconds = (after.at("wall_us") - before.at("wall_us")) / 1e6;
    std::printf("%-22s database CPU: %.0f us per call, busy %.0f%% of one core\n", "",
                cpu_seconds * 1e6 / static_cast<double>(p.calls),
                100.0 * cpu_seconds / wall_seconds);
  }
}

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  common::db::DbOptions db;
  int db_port = 3306;
  int64_t db_server_pid = 0;
  int64_t concurrency = 16;
  int64_t sellers = 64;
  absl::Duration duration;
  int64_t batch_max = 16;
  int64_t batches_in_flight = 2;
  int64_t overlap_min = 8;
  common::Flags flags("payments_bench", "Payments domain throughput against MariaDB.");
  flags.AddString("db_host", &db.host, "127.0.0.1", "MariaDB host.");
  flags.AddPort("db_port", &db_port, 3306, "MariaDB port.");
  flags.AddInt64("db_server_pid", &db_server_pid, 0, 0, 1 << 30,
                 "Process id of the database server on this machine: its CPU time per call is "
                 "printed (0: not printed).");
  flags.AddString("db_user", &db.user, "root", "MariaDB user.");
  flags.AddSecret("db_password", &db.password, "MariaDB password.");
  flags.AddString("db_name", &db.database, "payments_bench", "Database (created by the caller).");
  flags.AddInt64("concurrency", &concurrency, 16, 1, 512, "Calls in flight.");
  flags.AddInt64("sellers", &sellers, 64, 1, 100000, "Distinct sellers the payments spread over.");
  flags.AddDuration("duration", &duration, absl::Seconds(10), "Measured time per phase.");
  flags.AddInt64("write_batch_max", &batch_max, 16, 1, 1024,
                 "Group commit: calls per transaction at most.");
  flags.AddInt64("write_batches_in_flight", &batches_in_flight, 2, 1, 64,
                 "Group commit: transactions at the database at once.");
  flags.AddInt64("write_batch_overlap_min", &overlap_min, 8, 1, 1024,
                 "Calls that must wait before a batch starts beside one at the database.");
  flags.ParseOrExit(argc, argv);
  db.port = db_port;
  db.pool_size = static_cast<int>(concurrency) + 2;

  auto pool = common::db::ConnectionPool::Create(db);
  if (!pool.ok()) {
    std::fprintf(stderr, "database: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = payments::ApplyPaymentsMigrations(**pool); !s.ok()) {
    std::fprintf(stderr, "migrations: %s\n", s.ToString().c_str());
    return 1;
  }
  (void)(*pool)->Execute(
      "CREATE TABLE IF NOT EXISTS bench_minimal (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "v BIGINT NOT NULL) ENGINE=InnoDB");

  const int threads = static_cast<int>(concurrency);
  const ServerCounters at_start = ReadServerCounters(**pool, db_server_pid);
  Phase minimal = Run(threads, duration, [&](int t, int64_t i) {
    return common::db::RunInTransaction(**pool, [&](common::db::Transaction& tx) {
      return tx.Execute("INSERT INTO bench_minimal (v) VALUES (?)", {t * 1000000000LL + i})
          .status();
    });
  });

  const ServerCounters after_minimal = ReadServerCounters(**pool, db_server_pid);
  payments::SandboxProcessor processor;
  ApprovedSellers directory;
  payments::PaymentsOptions options;
  options.write_batch_max = static_cast<size_t>(batch_max);
  options.write_batches_in_flight = static_cast<int>(batches_in_flight);
  options.write_batch_overlap_min = static_cast<size_t>(overlap_min);
  payments::MySqlPaymentStore store(pool->get(), common::SystemClock::Get());
  payments::PaymentsDomain domain(&store, &processor, &directory, common::SystemClock::Get(),
                                  options);
  // Through the API layer, as a call reaches the domain (field checks, conversions).
  payments::PaymentsApi service(&domain);
  const payments::Actor checkout{"svc-bench", true, false, false, true};
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  absl::Mutex mu;
  std::vector<std::string> created;
  Phase create = Run(threads, duration, [&](int t, int64_t i) -> absl::Status {
    payments::pb::CreatePaymentRequest req;
    req.set_request_id(absl::StrCat("c-", run, "-", t, "-", i));
    req.set_order_id(req.request_id());
    // Account ids as identity issues them (32 lowercase hex digits).
    req.set_buyer_id(absl::StrFormat("b0b0b0%026x", t));
    req.set_seller_id(absl::StrFormat("5e11e7%026x", (t * 7919 + i) % sellers));
    *req.mutable_amount() = Eur(1000 + i % 1000);
    req.set_payment_method_token("tok_sandbox_success");
    auto p = service.CreatePayment(checkout, req);
    if (!p.ok()) return p.status();
    absl::MutexLock lock(&mu);
    created.push_back(p->payment_id());
    return absl::OkStatus();
  });

  const ServerCounters after_create = ReadServerCounters(**pool, db_server_pid);
  std::atomic<size_t> next{0};
  Phase confirm = Run(threads, duration, [&](int, int64_t) -> absl::Status {
    const size_t k = next++;
    if (k >= created.size()) return absl::CancelledError("no more payments to confirm");
    payments::pb::ConfirmDeliveryRequest req;
    req.set_request_id(absl::StrCat("d-", created[k]));
    req.set_payment_id(created[k]);
    return service.ConfirmDelivery(checkout, req).status();
  });

  const ServerCounters after_confirm = ReadServerCounters(**pool, db_server_pid);
  std::printf("payments (concurrency %d, %lld sellers, %s per phase)\n", threads,
              static_cast<long long>(sellers), absl::FormatDuration(duration).c_str());
  Print("minimal write tx", minimal, minimal.qps, at_start, after_minimal);
  Print("CreatePayment", create, minimal.qps, after_minimal, after_create);
  Print("ConfirmDelivery", confirm, minimal.qps, after_create, after_confirm);
  const auto [read_batches, reads] = domain.checkout().CheckoutReadTotals();
  const auto [create_batches, creates] = domain.checkout().CreateBatchTotals();
  const auto [confirm_batches, confirms] = domain.checkout().ConfirmBatchTotals();
  std::printf("group commit: %.1f CreatePayment first reads per statement; %.1f CreatePayment "
              "and %.1f ConfirmDelivery calls per transaction\n",
              read_batches ? static_cast<double>(reads) / read_batches : 0.0,
              create_batches ? static_cast<double>(creates) / create_batches : 0.0,
              confirm_batches ? static_cast<double>(confirms) / confirm_batches : 0.0);
  if (next.load() >= created.size()) {
    std::printf("note: ConfirmDelivery confirmed every payment before the phase ended\n");
  }
  auto verified = service.VerifyLedger();
  std::printf("ledger after the run: %s\n",
              verified.ok() ? (verified->consistent() ? "consistent" : "INCONSISTENT")
                            : verified.status().ToString().c_str());
  return 0;
}
