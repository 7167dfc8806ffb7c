// sellerkpi_bench: events ingested per second through sellerkpi's ingestion and MySQL store
// (the code RecordSellerEvents runs after the permission check), in batches of 100 from 8
// clients and as single events, each as a ratio to the same database's rate for one minimal
// write transaction (START TRANSACTION; INSERT one row; COMMIT) measured in the same run; then
// one evaluation of the ingested sellers and a replay of the whole log (aggregates and
// evaluations), twice; then the seconds of one evaluation pass over N sellers. Run by
// bench/sellerkpi_bench.sh. Not a test: it measures, it does not pass or fail.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
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
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/proto_time.h"
#include "services/sellerkpi/evaluation.h"
#include "services/sellerkpi/evaluation_replay.h"
#include "services/sellerkpi/ingestion.h"
#include "services/sellerkpi/mysql_enforcement_store.h"
#include "services/sellerkpi/mysql_kpi_store.h"
#include "services/sellerkpi/sellerkpi_observer.h"
#include "services/sellerkpi/thresholds_file.h"

namespace {

namespace common = marketplace::common;
namespace sellerkpi = marketplace::sellerkpi;
namespace pb = marketplace::sellerkpi::v1;

struct Phase {
  int64_t calls = 0;
  int64_t errors = 0;
  std::string first_error;
  double qps = 0;
  double client_cpu = 0;  // seconds of this process (load generator and sellerkpi's code)
  double db_cpu = 0;      // seconds of the database server
  // What the phase sent the server (SHOW GLOBAL STATUS differences): statements, of them
  // prepared anew, and commits.
  std::map<std::string, int64_t> sent;
};

const std::vector<std::string> kSentCounters = {"Questions", "Com_stmt_prepare", "Com_commit"};
marketplace::common::db::ConnectionPool* g_pool = nullptr;

// CPU seconds (user + system) used so far by process `pid` ("self": this one); 0 if unknown.
double CpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  // Fields after the command name, which is in parentheses and may hold spaces.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return 0;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// The database server's pid, when it runs on this machine (@@pid_file readable), else "".
std::string DbPid(marketplace::common::db::ConnectionPool& pool) {
  auto rows = pool.Query("SELECT @@pid_file AS f");
  if (!rows.ok() || rows->empty()) return "";
  auto file = (*rows)[0].GetString("f");
  if (!file.ok()) return "";
  std::ifstream in(*file);
  std::string pid;
  in >> pid;
  return pid;
}

std::string g_db_pid;

// `threads` loops calling op(thread, i) for `duration`.
Phase Run(int threads, absl::Duration duration,
          const std::function<absl::Status(int, int64_t)>& op) {
  std::atomic<int64_t> calls{0}, errors{0};
  absl::Mutex mu;
  std::string first_error;
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  const double client_cpu = CpuSeconds("self");
  const double db_cpu = g_db_pid.empty() ? 0 : CpuSeconds(g_db_pid);
  const std::map<std::string, int64_t> sent_before =
      marketplace::bench::ReadGlobalStatus(*g_pool, kSentCounters);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int64_t i = 0; absl::Now() < end; ++i) {
        absl::Status s = op(t, i);
        if (s.ok()) {
          ++calls;
        } else if (++errors == 1) {
          absl::MutexLock lock(&mu);
          first_error = s.ToString();
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  Phase p;
  p.calls = calls.load();
  p.errors = errors.load();
  p.first_error = first_error;
  p.qps = p.calls / absl::ToDoubleSeconds(absl::Now() - start);
  p.client_cpu = CpuSeconds("self") - client_cpu;
  p.db_cpu = g_db_pid.empty() ? 0 : CpuSeconds(g_db_pid) - db_cpu;
  for (const auto& [name, n] : marketplace::bench::ReadGlobalStatus(*g_pool, kSentCounters)) {
    if (auto it = sent_before.find(name); it != sent_before.end()) p.sent[name] = n - it->second;
  }
  return p;
}

std::string SellerOf(int64_t n) { return absl::StrFormat("5e11e7%026x", n); }

// A realistic mix: mostly orders and shipments, some ratings, a few claims and disputes.
pb::SellerEvent MakeEvent(const std::string& id, int64_t n, int64_t sellers, absl::Time now) {
  pb::SellerEvent e;
  e.set_event_id(id);
  e.set_seller_id(SellerOf((n * 7919) % sellers));
  *e.mutable_occurred_at() = common::ToTimestamp(now - absl::Minutes(n % 10000));
  e.mutable_links()->set_order_id(absl::StrCat("order-", n / 4));
  switch (n % 8) {
    case 0:
    case 1:
    case 2:
      e.mutable_order_placed();
      break;
    case 3:
    case 4:
      e.mutable_shipment_confirmed()->set_late(n % 13 == 0);
      e.mutable_shipment_confirmed()->set_valid_tracking(n % 17 != 0);
      break;
    case 5:
      e.mutable_rating()->set_stars(1 + n % 5);
      break;
    case 6:
      e.mutable_claim_filed()->set_counts_against_seller(n % 3 == 0);
      break;
    default:
      e.mutable_dispute_opened();
      break;
  }
  return e;
}

// Microseconds of CPU per unit (event or transaction), and what the phase sent the server per
// unit.
std::string CpuPer(const Phase& p, double units) {
  if (units <= 0) return "";
  std::string out = absl::StrFormat("  CPU per unit: db %.0f us, client %.0f us",
                                    p.db_cpu * 1e6 / units, p.client_cpu * 1e6 / units);
  const auto per = [&](const char* name) {
    auto it = p.sent.find(name);
    return it == p.sent.end() ? -1.0 : static_cast<double>(it->second) / units;
  };
  if (!p.sent.empty()) {
    absl::StrAppendFormat(&out, "; sent per unit: %.2f statements (%.3f prepared), %.3f commits",
                          per("Questions"), per("Com_stmt_prepare"), per("Com_commit"));
  }
  return out;
}

void Print(const char* name, const Phase& p, double per_call, double minimal_qps) {
  std::printf(
      "%-34s %10.0f events/s  ratio to minimal write tx %5.2f  (%lld calls, %lld errors%s%s)%s\n",
      name, p.qps * per_call, p.qps * per_call / minimal_qps, static_cast<long long>(p.calls),
      static_cast<long long>(p.errors),
      p.first_error.empty() ? "" : ", first: ", p.first_error.c_str(),
      CpuPer(p, p.calls * per_call).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  common::db::DbOptions db;
  int db_port = 3306;
  int64_t clients = 8;
  int64_t batch = 100;
  int64_t sellers = 2000;
  int64_t eval_sellers = 100000;
  std::string thresholds_file;
  absl::Duration duration;
  common::Flags flags("sellerkpi_bench", "sellerkpi ingestion and evaluation against MariaDB.");
  flags.AddString("db_host", &db.host, "127.0.0.1", "MariaDB host.");
  flags.AddPort("db_port", &db_port, 3306, "MariaDB port.");
  flags.AddString("db_user", &db.user, "root", "MariaDB user.");
  flags.AddSecret("db_password", &db.password, "MariaDB password.");
  flags.AddString("db_name", &db.database, "sellerkpi_bench", "Database (created by the caller).");
  flags.AddString("thresholds_file", &thresholds_file,
                  "services/sellerkpi/data/thresholds.textproto", "Seed thresholds.");
  flags.AddInt64("clients", &clients, 8, 1, 512, "Concurrent RecordSellerEvents callers.");
  flags.AddInt64("batch", &batch, 100, 1, 500, "Events per batch.");
  flags.AddInt64("sellers", &sellers, 2000, 1, 10000000, "Sellers the events spread over.");
  flags.AddInt64("eval_sellers", &eval_sellers, 100000, 0, 10000000,
                 "Sellers of the evaluation pass (0: no evaluation phase).");
  int64_t group_max_events = 0;
  int64_t group_in_flight = 0;
  flags.AddInt64("group_max_events", &group_max_events, 0, 0, 10000,
                 "Ingestion group commit: events per shared transaction (0: sellerkpi's "
                 "default; 1: no grouping).");
  flags.AddInt64("group_in_flight", &group_in_flight, 0, 0, 64,
                 "Ingestion group commit: shared transactions at once (0: the default).");
  int64_t group_alone_from = 0;
  flags.AddInt64("group_alone_from", &group_alone_from, 0, 0, 100000,
                 "Ingestion group commit: calls of this many events go alone (0: the default).");
  int64_t one_round_trip_up_to = -1;
  flags.AddInt64("one_round_trip_up_to", &one_round_trip_up_to, -1, -1, 100000,
                 "Store: calls of at most this many events send their writes with the COMMIT "
                 "(MysqlKpiStore::Options; -1: the default, 0: never).");
  flags.AddDuration("duration", &duration, absl::Seconds(10), "Measured time per phase.");
  bool settle = true;
  flags.AddBool("settle", &settle, true,
                "Before each ingestion phase, wait (at most 2 minutes) until the database has "
                "written its changed pages and purged old row versions (bench/bench_db.h "
                "SettleDatabase).");
  flags.ParseOrExit(argc, argv);
  db.port = db_port;
  db.pool_size = static_cast<int>(clients) + 2;

  auto pool = common::db::ConnectionPool::Create(db);
  if (!pool.ok()) {
    std::fprintf(stderr, "database: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = sellerkpi::ApplySellerKpiMigrations(**pool); !s.ok()) {
    std::fprintf(stderr, "migrations: %s\n", s.ToString().c_str());
    return 1;
  }
  auto seed = sellerkpi::LoadThresholdsFile(thresholds_file);
  if (!seed.ok()) {
    std::fprintf(stderr, "thresholds: %s\n", seed.status().ToString().c_str());
    return 1;
  }
  // As in sellerkpi_server: evaluations create enforcement actions in their transaction.
  sellerkpi::MysqlEnforcementStore enforcement(pool->get());
  sellerkpi::MysqlKpiStore::Options store_options;
  if (one_round_trip_up_to >= 0) {
    store_options.one_round_trip_up_to = static_cast<int>(one_round_trip_up_to);
  }
  sellerkpi::MysqlKpiStore store(pool->get(), &enforcement, store_options);
  if (absl::Status s = store.SeedThresholds(*seed, absl::Now()); !s.ok()) {
    std::fprintf(stderr, "seed: %s\n", s.ToString().c_str());
    return 1;
  }
  (void)(*pool)->Execute(
      "CREATE TABLE IF NOT EXISTS bench_minimal (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "v BIGINT NOT NULL) ENGINE=InnoDB");

  g_db_pid = DbPid(**pool);
  g_pool = pool->get();
  const int threads = static_cast<int>(clients);
  // What each ingestion phase found pending before it started, and how long it waited for it.
  // The reference phase runs first, on a database with nothing pending but its creation.
  std::vector<std::pair<std::string, marketplace::bench::Settled>> settled;
  const auto settle_before = [&](const std::string& phase) {
    if (!settle) return;
    settled.emplace_back(phase, marketplace::bench::SettleDatabase(**pool, absl::Minutes(2)));
  };
  Phase minimal = Run(threads, duration, [&](int t, int64_t i) {
    return common::db::RunInTransaction(**pool, [&](common::db::Transaction& tx) {
      return tx.Execute("INSERT INTO bench_minimal (v) VALUES (?)", {t * 1000000000LL + i})
          .status();
    });
  });

  sellerkpi::NoKpiObserver observer;
  sellerkpi::GroupCommit::Options group;
  if (group_max_events > 0) group.max_events = static_cast<int>(group_max_events);
  if (group_in_flight > 0) group.max_in_flight = static_cast<int>(group_in_flight);
  if (group_alone_from > 0) group.alone_from = static_cast<int>(group_alone_from);
  sellerkpi::Ingestion ingestion(&store, common::SystemClock::Get(), &observer, group);
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const absl::Time now = absl::Now();
  std::atomic<int64_t> next{0};
  settle_before(absl::StrCat("batches of ", batch));
  Phase batches = Run(threads, duration, [&](int, int64_t) -> absl::Status {
    std::vector<pb::SellerEvent> events;
    for (int64_t k = 0; k < batch; ++k) {
      const int64_t n = next++;
      events.push_back(MakeEvent(absl::StrCat("b-", run, "-", n), n, sellers, now));
    }
    return ingestion.Record(events, "api", true).status();
  });
  settle_before("single events");
  Phase singles = Run(threads, duration, [&](int, int64_t) -> absl::Status {
    const int64_t n = next++;
    return ingestion
        .Record({MakeEvent(absl::StrCat("s-", run, "-", n), n, sellers, now)}, "api", true)
        .status();
  });

  std::printf("sellerkpi ingestion (%d clients, %lld sellers, %s per phase)\n", threads,
              static_cast<long long>(sellers), absl::FormatDuration(duration).c_str());
  std::printf("%-34s %10.0f tx/s%s\n", "minimal write tx", minimal.qps,
              CpuPer(minimal, static_cast<double>(minimal.calls)).c_str());
  Print(absl::StrCat("batches of ", batch).c_str(), batches, static_cast<double>(batch),
        minimal.qps);
  Print("single events", singles, 1, minimal.qps);
  for (const auto& [phase, s] : settled) {
    std::printf("  before %s: %lld dirty pages, %lld undo history, %s in %.1f s\n", phase.c_str(),
                static_cast<long long>(s.dirty_pages), static_cast<long long>(s.history),
                s.settled ? "settled" : "NOT settled", absl::ToDoubleSeconds(s.took));
  }

  // The acceptance's replay covers the evaluations: every ingested seller is evaluated once
  // (one background pass, as the server's evaluator would), then the log is rebuilt in memory
  // and compared with the live counters and with the stored evaluations, twice.
  sellerkpi::Evaluation evaluation(&store, common::SystemClock::Get(), &observer);
  {
    const absl::Time start = absl::Now();
    auto counts = evaluation.RunPass(static_cast<int>(sellers) + 1000);
    if (!counts.ok()) {
      std::fprintf(stderr, "evaluation: %s\n", counts.status().ToString().c_str());
      return 1;
    }
    std::printf("evaluated before the replay: %d sellers in %.1f s;", counts->evaluated,
                absl::ToDoubleSeconds(absl::Now() - start));
    if (auto by_health = store.CountByHealth(); by_health.ok()) {
      for (const auto& [level, n] : *by_health) {
        std::printf(" %s %lld", pb::HealthLevel_Name(level).c_str(), static_cast<long long>(n));
      }
    }
    std::printf("\n");
  }
  for (int round = 1; round <= 2; ++round) {
    absl::Time start = absl::Now();
    auto report = store.ReplayCounters({}, 5);
    if (!report.ok()) {
      std::fprintf(stderr, "replay: %s\n", report.status().ToString().c_str());
      return 1;
    }
    std::printf("replay %d: %lld events of %d sellers in %.1f s, %lld differences\n", round,
                static_cast<long long>(report->events_replayed), report->sellers,
                absl::ToDoubleSeconds(absl::Now() - start),
                static_cast<long long>(report->aggregate_differences));
    for (const std::string& e : report->examples) std::printf("  %s\n", e.c_str());
    start = absl::Now();
    auto evaluations = sellerkpi::ReplayEvaluations(store, {}, 5);
    if (!evaluations.ok()) {
      std::fprintf(stderr, "replay: %s\n", evaluations.status().ToString().c_str());
      return 1;
    }
    std::printf(
        "replay %d: %lld evaluations (%lld events read) in %.1f s, %d health "
        "differences\n",
        round, static_cast<long long>(evaluations->evaluations),
        static_cast<long long>(evaluations->events_read),
        absl::ToDoubleSeconds(absl::Now() - start), evaluations->health_differences);
    for (const std::string& e : evaluations->examples) std::printf("  %s\n", e.c_str());
  }

  if (eval_sellers > 0) {
    // N sellers with counters on 3 days of the last 60 (written directly: the pass is what is
    // timed).
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    std::printf("loading %lld sellers for the evaluation pass...\n",
                static_cast<long long>(eval_sellers));
    const int64_t chunk = 500;
    for (int64_t first = 0; first < eval_sellers; first += chunk) {
      const int64_t last = std::min(eval_sellers, first + chunk);
      std::vector<common::db::SqlValue> health, counters;
      std::string counter_rows;
      for (int64_t s = first; s < last; ++s) {
        const std::string seller = absl::StrFormat("e7a1%028x", s);
        health.push_back(seller);
        for (int d = 0; d < 60; d += 20) {
          const std::string day = absl::FormatCivilTime(today - d);
          for (const auto& [counter, n] :
               std::vector<std::pair<std::string, int64_t>>{{"orders", 20},
                                                            {"odr_defects", s % 50 == 0 ? 3 : 0},
                                                            {"shipments", 20},
                                                            {"late_shipments", s % 7},
                                                            {"valid_tracking", 19},
                                                            {"ratings", 3},
                                                            {"rating_stars", 13}}) {
            counters.push_back(seller);
            counters.push_back(day);
            counters.push_back(counter);
            counters.push_back(n);
          }
        }
      }
      auto wrote = common::db::RunInTransaction(**pool, [&](common::db::Transaction& tx) {
        absl::Status s = tx.Write(
            absl::StrCat("INSERT IGNORE INTO seller_health (seller_id, dirty, dirty_since) VALUES ",
                         common::db::PlaceholderRows(last - first, 1, ", TRUE, UTC_TIMESTAMP(6)")),
            health);
        if (!s.ok()) return s;
        return tx.Write(absl::StrCat("INSERT IGNORE INTO seller_day_counters (seller_id, day, "
                                     "counter, n) VALUES ",
                                     common::db::PlaceholderRows(counters.size() / 4, 4)),
                        counters);
      });
      if (!wrote.ok()) {
        std::fprintf(stderr, "loading: %s\n", wrote.ToString().c_str());
        return 1;
      }
    }
    // The ingestion phases' sellers are queued too: evaluate them first, untimed.
    (void)evaluation.RunPass(static_cast<int>(sellers) + 1000);
    (void)(*pool)->Execute("UPDATE seller_health SET dirty = TRUE, dirty_since = UTC_TIMESTAMP(6)");
    // One pass per evaluator thread, as replicas would share it (SKIP LOCKED).
    std::atomic<int64_t> evaluated{0};
    const absl::Time start = absl::Now();
    std::vector<std::thread> evaluators;
    for (int t = 0; t < threads; ++t) {
      evaluators.emplace_back([&] {
        while (true) {
          auto counts = evaluation.RunPass(1000);
          if (!counts.ok() || counts->evaluated == 0) break;
          evaluated += counts->evaluated;
        }
      });
    }
    for (auto& th : evaluators) th.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "evaluation pass: %lld sellers in %.1f s with %d evaluator threads (%.0f sellers/s)\n",
        static_cast<long long>(evaluated.load()), seconds, threads, evaluated.load() / seconds);
  }
  return 0;
}
