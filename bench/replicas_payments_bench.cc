// The benchmark behind bench/replicas_payments_bench.sh (not a test): items per second of
// payments' automatic release and outbox relay with one payments_server, then with two on
// the same database, in one run; the ratios two / one and each process's share (from its own
// /metrics).
//
// For each replica count k (1, then 2), on the one database:
//   release: a loader payments_server (release worker asleep, no relay, hold 1 s) takes
//     --payments payments through the API and stops; once they are due, k replicas start
//     together with their release worker on (every 1 s, --release_batch) and the relay off;
//     rate = payments / (last released_at - first released_at), from the payments table.
//   relay: --events events are written into the outbox (common/outbox, as payments writes its
//     own), beside the phase's payment_held and payment_released events; k replicas start
//     together with the relay delivering them to an EventSink in this process (which checks
//     the relay's token like a consumer and records every delivery); rate = deliveries /
//     (last receipt - first receipt) at the sink.
// Each phase waits for all of its items, so every figure covers the same work. --rounds
// (default 2) repeats the pair with the order alternating (1 2, then 2 1) so that a drift of
// a shared machine's load weighs on both alike; the ratios are over all rounds. Each row
// shows the machine's 1-minute load average when the phase began.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_db.h"
#include "common/config.h"
#include "tests/replicas_payments/replicas_stack.h"

namespace marketplace::bench {
namespace {

namespace replicas = marketplace::payments::replicas;

struct Config {
  std::string server_binary;
  common::db::DbOptions db;
  int64_t payments = 2000;
  int64_t events = 10000;
  int64_t sellers = 100;
  int64_t probe_keys = 500;
  int64_t release_batch = 20;
  std::string server_cpus;
  int64_t rounds = 2;
  absl::Duration timeout = absl::Minutes(5);
};

struct PhaseResult {
  int64_t items = 0;
  std::vector<double> cpu_busy;  // per CPU, percent of the phase (/proc/stat)
  double seconds = 0;
  std::vector<double> per_process;  // from each process's /metrics
  int64_t duplicates = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(items) / seconds : 0; }
};

absl::Status Fail(absl::string_view what, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Busy and total jiffies of each CPU (/proc/stat's cpuN lines).
struct CpuTimes {
  std::vector<long long> busy, total;
};

CpuTimes ReadCpuTimes() {
  CpuTimes times;
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return times;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    int cpu;
    long long v[8] = {0};
    // "cpu " is the sum over all CPUs; "cpuN " one CPU.
    if (std::strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;
    if (std::sscanf(line, "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &cpu, &v[0], &v[1],
                    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9) {
      continue;
    }
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    times.busy.push_back(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    times.total.push_back(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
  }
  std::fclose(f);
  return times;
}

std::vector<double> BusyPercent(const CpuTimes& from, const CpuTimes& to) {
  std::vector<double> out;
  for (size_t i = 0; i < from.busy.size() && i < to.busy.size(); ++i) {
    const long long total = to.total[i] - from.total[i];
    out.push_back(total > 0 ? 100.0 * static_cast<double>(to.busy[i] - from.busy[i]) /
                                  static_cast<double>(total)
                            : 0);
  }
  return out;
}

absl::StatusOr<std::vector<int>> StartReplicas(replicas::ReplicaStack& stack, int k, bool relay,
                                               const Config& config) {
  std::vector<int> started;
  for (int i = 0; i < k; ++i) {
    absl::StatusOr<int> index =
        stack.StartReplica(relay, {absl::StrCat("--release_batch=", config.release_batch)});
    if (!index.ok()) return index.status();
    started.push_back(*index);
  }
  for (int index : started) {
    if (absl::Status s = stack.WaitServing(index); !s.ok()) return s;
  }
  return started;
}

absl::StatusOr<PhaseResult> ReleasePhase(replicas::ReplicaStack& stack, int k,
                                         const std::string& tag, const Config& config) {
  absl::StatusOr<int> loader = stack.StartLoader();
  if (!loader.ok()) return Fail("loader", loader.status());
  if (absl::Status s = stack.WaitServing(*loader); !s.ok()) return Fail("loader", s);
  absl::StatusOr<std::vector<std::string>> ids =
      stack.CreatePayments(*loader, static_cast<int>(config.payments),
                           static_cast<int>(config.sellers), /*threads=*/16, tag);
  stack.Stop(*loader);
  if (!ids.ok()) return Fail("creating the payments", ids.status());
  absl::SleepFor(absl::Milliseconds(1100));  // the last one is due

  const CpuTimes cpu_before = ReadCpuTimes();
  absl::StatusOr<std::vector<int>> started = StartReplicas(stack, k, /*relay=*/false, config);
  if (!started.ok()) return Fail("replicas", started.status());
  const std::string of_phase = absl::StrCat("order_id LIKE '", tag, "-order-%'");
  const absl::Time end = absl::Now() + config.timeout;
  while (true) {
    absl::StatusOr<int64_t> held = stack.Count(
        absl::StrCat("SELECT COUNT(*) AS n FROM payments WHERE state = 'HELD' AND ", of_phase));
    if (!held.ok()) return Fail("counting", held.status());
    if (*held == 0) break;
    if (absl::Now() > end) return absl::DeadlineExceededError(absl::StrCat(*held, " not released"));
    absl::SleepFor(absl::Milliseconds(100));
  }
  PhaseResult result;
  result.cpu_busy = BusyPercent(cpu_before, ReadCpuTimes());
  absl::StatusOr<int64_t> span = stack.Count(absl::StrCat(
      "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(released_at), MAX(released_at)) AS n FROM payments "
      "WHERE ",
      of_phase));
  if (!span.ok()) return Fail("span", span.status());
  result.items = config.payments;
  result.seconds = static_cast<double>(*span) / 1e6;
  for (int index : *started) result.per_process.push_back(stack.Counters(index).auto_released);
  for (int index : *started) stack.Stop(index);
  return result;
}

absl::StatusOr<PhaseResult> RelayPhase(replicas::ReplicaStack& stack, int k, const std::string& tag,
                                       const Config& config) {
  absl::StatusOr<std::vector<std::string>> probes = stack.EnqueueProbeEvents(
      static_cast<int>(config.events), static_cast<int>(config.probe_keys), tag);
  if (!probes.ok()) return Fail("enqueueing", probes.status());
  absl::StatusOr<int64_t> waiting =
      stack.Count("SELECT COUNT(*) AS n FROM outbox_events WHERE fanned_out_at IS NULL");
  if (!waiting.ok()) return Fail("counting", waiting.status());
  stack.sink().Clear();

  const CpuTimes cpu_before = ReadCpuTimes();
  absl::StatusOr<std::vector<int>> started = StartReplicas(stack, k, /*relay=*/true, config);
  if (!started.ok()) return Fail("replicas", started.status());
  const absl::Time end = absl::Now() + config.timeout;
  while (stack.sink().distinct() < *waiting) {
    if (absl::Now() > end) {
      return absl::DeadlineExceededError(
          absl::StrCat(stack.sink().distinct(), " of ", *waiting, " events delivered"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  const CpuTimes cpu_after = ReadCpuTimes();
  absl::SleepFor(absl::Milliseconds(500));  // a late second delivery would show
  const std::vector<replicas::Delivery> deliveries = stack.sink().deliveries();
  PhaseResult result;
  result.cpu_busy = BusyPercent(cpu_before, cpu_after);
  result.items = static_cast<int64_t>(deliveries.size());
  result.duplicates = result.items - stack.sink().distinct();
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const replicas::Delivery& d : deliveries) {
    first = std::min(first, d.received_at);
    last = std::max(last, d.received_at);
  }
  if (!deliveries.empty()) result.seconds = absl::ToDoubleSeconds(last - first);
  for (int index : *started) result.per_process.push_back(stack.Counters(index).relay_delivered);
  for (int index : *started) stack.Stop(index);
  return result;
}

std::string Shares(const PhaseResult& r) {
  double total = 0;
  for (double n : r.per_process) total += n;
  std::string out;
  for (size_t i = 0; i < r.per_process.size(); ++i) {
    absl::StrAppend(
        &out, i == 0 ? "" : " / ",
        absl::StrFormat("%c %.0f (%.0f%%)", static_cast<char>('A' + i), r.per_process[i],
                        total > 0 ? 100 * r.per_process[i] / total : 0));
  }
  return out;
}

void PrintRow(absl::string_view worker, int k, const PhaseResult& r, double load) {
  std::string busy;
  for (double b : r.cpu_busy)
    absl::StrAppend(&busy, busy.empty() ? "" : "/", absl::StrFormat("%.0f", b));
  std::printf("%-8s %8d %8lld %9.2f %10.1f %10lld %6.2f %9s   %s\n", std::string(worker).c_str(), k,
              static_cast<long long>(r.items), r.seconds, r.rate(),
              static_cast<long long>(r.duplicates), load, busy.c_str(), Shares(r).c_str());
  std::fflush(stdout);
}

// Adds a phase to its count's total; `both_worked` turns false when a process of a
// two-process phase did none of it.
void Accumulate(PhaseResult& total, const PhaseResult& phase, bool& both_worked) {
  total.items += phase.items;
  total.seconds += phase.seconds;
  total.duplicates += phase.duplicates;
  if (phase.per_process.size() > 1) {
    for (double n : phase.per_process) both_worked = both_worked && n > 0;
  }
}

// The 1-minute load average of the machine (/proc/loadavg), or -1.
double LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return -1;
  double load = -1;
  if (std::fscanf(f, "%lf", &load) != 1) load = -1;
  std::fclose(f);
  return load;
}

int Run(const Config& config) {
  replicas::StackOptions options;
  options.tls = false;  // benchmarks run --insecure
  options.server_binary = config.server_binary;
  options.db = config.db;
  options.server_cpus = config.server_cpus;
  replicas::ReplicaStack stack(options);
  if (absl::Status s = stack.Init(); !s.ok()) {
    std::fprintf(stderr, "init: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("%-8s %8s %8s %9s %10s %10s %6s %9s   %s\n", "worker", "replicas", "items", "seconds",
              "items/s", "duplicates", "load", "cpu busy%", "each process (its /metrics)");
  // Rounds alternate the order (1 2, 2 1, 1 2, ...) so that a drift of the machine's load
  // weighs on both counts alike; each count's rate is its items over its seconds, all rounds.
  PhaseResult release[3], relay[3];
  bool both_worked = true;
  const std::string run = absl::StrCat("t", absl::ToUnixMillis(absl::Now()));
  for (int64_t round = 0; round < config.rounds; ++round) {
    for (int k : round % 2 == 0 ? std::vector<int>{1, 2} : std::vector<int>{2, 1}) {
      // Request ids, order ids and event keys of this run: a database used before keeps its
      // payments, and a request id repeated would only replay them.
      const std::string tag = absl::StrCat(run, "r", round, "k", k);
      double load = LoadAverage();
      absl::StatusOr<PhaseResult> r = ReleasePhase(stack, k, tag, config);
      if (!r.ok()) {
        std::fprintf(stderr, "release with %d: %s\n", k, r.status().ToString().c_str());
        return 1;
      }
      PrintRow("release", k, *r, load);
      Accumulate(release[k], *r, both_worked);
      load = LoadAverage();
      r = RelayPhase(stack, k, tag, config);
      if (!r.ok()) {
        std::fprintf(stderr, "relay with %d: %s\n", k, r.status().ToString().c_str());
        return 1;
      }
      PrintRow("relay", k, *r, load);
      Accumulate(relay[k], *r, both_worked);
    }
  }
  // The ledger after all rounds, through a replica.
  absl::StatusOr<int> checker = stack.StartReplica(/*relay=*/false);
  bool consistent = false;
  if (checker.ok() && stack.WaitServing(*checker).ok()) {
    absl::StatusOr<payments::v1::VerifyLedgerResponse> verified = stack.VerifyLedger(*checker);
    consistent = verified.ok() && verified->consistent();
  }
  stack.StopAll();
  std::printf(
      "over %lld round(s): release %.1f/s with one, %.1f/s with two; relay %.1f/s with one, "
      "%.1f/s with two\n",
      static_cast<long long>(config.rounds), release[1].rate(), release[2].rate(), relay[1].rate(),
      relay[2].rate());
  std::printf(
      "ratio two / one: release %.2f, relay %.2f; both processes did part: %s; "
      "duplicates %lld; ledger %s\n",
      release[1].rate() > 0 ? release[2].rate() / release[1].rate() : 0,
      relay[1].rate() > 0 ? relay[2].rate() / relay[1].rate() : 0, both_worked ? "yes" : "NO",
      static_cast<long long>(release[2].duplicates + relay[1].duplicates + relay[2].duplicates),
      consistent ? "consistent (VerifyLedger)" : "NOT VERIFIED");
  return consistent ? 0 : 1;
}

}  // namespace
}  // namespace marketplace::bench

int main(int argc, char** argv) {
  marketplace::bench::Config config;
  marketplace::common::Flags flags(
      "replicas_payments_bench",
      "Release and relay items/s of payments_server with one process, then two, on one "
      "database.");
  flags.AddString("server_binary", &config.server_binary, "",
                  "The payments_server binary to start.");
  marketplace::bench::AddDbFlags(flags, &config.db, "replicas_payments", "every phase");
  flags.AddInt64("payments", &config.payments, 2000, 1, 1000000,
                 "Payments due for automatic release, per replica count.");
  flags.AddInt64("events", &config.events, 10000, 0, 10000000,
                 "Events written into the outbox per replica count (besides the payments' "
                 "own held and released events).");
  flags.AddInt64("sellers", &config.sellers, 100, 1, 100000,
                 "Sellers the payments are spread over (the payments events' keys).");
  flags.AddInt64("probe_keys", &config.probe_keys, 500, 1, 1000000,
                 "Keys the written events are spread over.");
  flags.AddInt64("release_batch", &config.release_batch, 20, 1, 1000,
                 "--release_batch of the replicas.");
  flags.AddString("server_cpus", &config.server_cpus, "",
                  "taskset -c list every payments_server runs on; empty: this tool's own CPUs "
                  "(a child inherits them).");
  flags.AddInt64("rounds", &config.rounds, 2, 1, 100,
                 "Rounds of (one process, two processes), the order alternating: 1 2, 2 1, ...");
  flags.AddDuration("timeout", &config.timeout, absl::Minutes(5), absl::Seconds(1), absl::Hours(2),
                    "Longest wait for one phase's items.");
  flags.ParseOrExit(argc, argv);
  if (config.server_binary.empty()) {
    std::fprintf(stderr, "--server_binary is required\n");
    return 2;
  }
  return marketplace::bench::Run(config);
}
