#include "bench/loadgen.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace marketplace::bench {
namespace {

struct Slot {
  absl::Time started;
  std::vector<absl::Duration> latencies;
  int64_t errors = 0;
};

// Shared by the run and every call in flight: the last one to let go frees it, so a callback
// still leaving its critical section never touches a freed mutex or slot.
struct State {
  IssueFn issue;
  absl::Time measure_from;
  absl::Time measure_until;
  std::atomic<bool> stop{false};
  std::vector<Slot> slots;
  absl::Mutex mu;
  int outstanding ABSL_GUARDED_BY(mu) = 0;
};

void IssueNext(const std::shared_ptr<State>& state, int slot) {
  state->slots[slot].started = absl::Now();
  state->issue(slot, [state, slot](bool ok) {
    absl::Time now = absl::Now();
    Slot& s = state->slots[slot];
    if (now >= state->measure_from && now <= state->measure_until) {
      // A failed call is no throughput: it counts as an error, not in qps or latency.
      if (ok) {
        s.latencies.push_back(now - s.started);
      } else {
        ++s.errors;
      }
    }
    if (state->stop.load(std::memory_order_relaxed)) {
      absl::MutexLock lock(&state->mu);
      --state->outstanding;
      return;
    }
    IssueNext(state, slot);
  });
}

// Waits until the run holds the only reference to its state: every closure a call's callback
// held (each keeps the state through `done`) has been destroyed, so nothing of the run is
// touched once it returns. False after `timeout`.
template <typename S>
bool AwaitSoleOwner(const std::shared_ptr<S>& state, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (state.use_count() > 1) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Microseconds(100));
  }
  return true;
}

absl::Duration Percentile(const std::vector<absl::Duration>& sorted, double q) {
  if (sorted.empty()) return absl::ZeroDuration();
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

// RunFixedRate's state, shared with the calls in flight like State above.
struct RateState {
  IssueFn issue;
  absl::Time measure_from;
  absl::Time measure_until;
  absl::Mutex mu;
  std::vector<int> free_slots ABSL_GUARDED_BY(mu);
  std::vector<absl::Duration> latencies ABSL_GUARDED_BY(mu);
  int64_t errors ABSL_GUARDED_BY(mu) = 0;
  int64_t late ABSL_GUARDED_BY(mu) = 0;
  int outstanding ABSL_GUARDED_BY(mu) = 0;
};

LoadResult Summarize(std::vector<absl::Duration> all, int64_t errors, absl::Duration duration) {
  LoadResult result;
  std::sort(all.begin(), all.end());
  result.errors = errors;
  result.calls = static_cast<int64_t>(all.size());
  result.qps = static_cast<double>(result.calls) / absl::ToDoubleSeconds(duration);
  result.p50 = Percentile(all, 0.50);
  result.p99 = Percentile(all, 0.99);
  result.p999 = Percentile(all, 0.999);
  return result;
}

}  // namespace

LoadResult RunFixedRate(const RateOptions& options, const IssueFn& issue) {
  auto state = std::make_shared<RateState>();
  state->issue = issue;
  const absl::Time start = absl::Now();
  state->measure_from = start + options.warmup;
  state->measure_until = state->measure_from + options.duration;
  {
    absl::MutexLock lock(&state->mu);
    for (int i = options.max_in_flight - 1; i >= 0; --i) state->free_slots.push_back(i);
  }
  const absl::Duration interval = absl::Seconds(1) / std::max(options.calls_per_second, 1e-9);
  for (int64_t k = 0;; ++k) {
    const absl::Time due = start + interval * k;
    if (due >= state->measure_until) break;
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    int slot;
    {
      absl::MutexLock lock(&state->mu);
      auto has_slot = [s = state.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
        return !s->free_slots.empty();
      };
      // A run whose calls cannot keep up ends on time too: nothing starts after the window.
      if (!state->mu.AwaitWithDeadline(absl::Condition(&has_slot), state->measure_until)) break;
      slot = state->free_slots.back();
      state->free_slots.pop_back();
      ++state->outstanding;
    }
    const absl::Time started = absl::Now();
    const bool late = started - due > absl::Milliseconds(1);
    state->issue(slot, [state, slot, started, late](bool ok) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&state->mu);
      if (started >= state->measure_from) {  // every call started in the window counts
        if (ok) {
          state->latencies.push_back(now - started);
        } else {
          ++state->errors;
        }
        if (late) ++state->late;
      }
      state->free_slots.push_back(slot);
      --state->outstanding;
    });
  }
  absl::ReleasableMutexLock lock(&state->mu);
  auto drained = [s = state.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
    return s->outstanding == 0;
  };
  if (!state->mu.AwaitWithTimeout(absl::Condition(&drained), absl::Seconds(30))) {
    LoadResult unfinished;
    unfinished.errors = state->outstanding;
    return unfinished;
  }
  LoadResult result = Summarize(std::move(state->latencies), state->errors, options.duration);
  result.late = state->late;
  lock.Release();
  if (!AwaitSoleOwner(state, absl::Seconds(30))) {
    LoadResult unfinished;
    unfinished.errors = options.max_in_flight;
    return unfinished;
  }
  return result;
}

LoadResult RunClosedLoop(const LoadOptions& options, const IssueFn& issue) {
  auto state = std::make_shared<State>();
  state->issue = issue;
  state->slots.resize(options.concurrency);
  absl::Time start = absl::Now();
  state->measure_from = start + options.warmup;
  state->measure_until = state->measure_from + options.duration;
  {
    absl::MutexLock lock(&state->mu);
    state->outstanding = options.concurrency;
  }
  for (int i = 0; i < options.concurrency; ++i) IssueNext(state, i);
  absl::SleepFor(state->measure_until - absl::Now());
  state->stop = true;
  bool drained_in_time = false;
  {
    absl::MutexLock lock(&state->mu);
    auto drained = [s = state.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      return s->outstanding == 0;
    };
    drained_in_time = state->mu.AwaitWithTimeout(absl::Condition(&drained), absl::Seconds(30));
  }
  // Calls still in flight after that keep writing their slots: the figures below would race
  // with them, so such a run reports what it has without reading the slots again.
  if (!drained_in_time || !AwaitSoleOwner(state, absl::Seconds(30))) {
    LoadResult unfinished;
    unfinished.errors = options.concurrency;
    return unfinished;
  }
  std::vector<absl::Duration> all;
  int64_t errors = 0;
  for (const Slot& s : state->slots) {
    all.insert(all.end(), s.latencies.begin(), s.latencies.end());
    errors += s.errors;
  }
  return Summarize(std::move(all), errors, options.duration);
}

int64_t RunCalls(int concurrency, int64_t calls, const IssueFn& issue) {
  struct CallsState {
    IssueFn issue;
    int64_t calls = 0;
    std::atomic<int64_t> issued{0}, succeeded{0};
    absl::Mutex mu;
    int idle_slots ABSL_GUARDED_BY(mu) = 0;
  };
  auto state = std::make_shared<CallsState>();
  state->issue = issue;
  state->calls = calls;
  // Each slot issues its next call from the previous one's callback until `calls` are issued.
  struct Next {
    static void Issue(const std::shared_ptr<CallsState>& s, int slot) {
      if (s->issued.fetch_add(1) >= s->calls) {
        absl::MutexLock lock(&s->mu);
        ++s->idle_slots;
        return;
      }
      s->issue(slot, [s, slot](bool ok) {
        if (ok) s->succeeded.fetch_add(1);
        Issue(s, slot);
      });
    }
  };
  for (int slot = 0; slot < concurrency; ++slot) Next::Issue(state, slot);
  {
    absl::MutexLock lock(&state->mu);
    auto all_idle = [s = state.get(), concurrency]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      return s->idle_slots == concurrency;
    };
    state->mu.Await(absl::Condition(&all_idle));
  }
  AwaitSoleOwner(state, absl::Seconds(30));
  return state->succeeded.load();
}

LoadResult RunLoad(int concurrency, double calls_per_second, absl::Duration warmup,
                   absl::Duration duration, const IssueFn& issue) {
  const LoadResult result =
      calls_per_second > 0
          ? RunFixedRate({calls_per_second, concurrency, warmup, duration}, issue)
          : RunClosedLoop({concurrency, warmup, duration}, issue);
  if (result.late > 0) {
    std::fprintf(stderr, "%lld calls started late (all %d in flight)\n",
                 static_cast<long long>(result.late), concurrency);
  }
  return result;
}

void ExitLoadTool(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid) {
  ProcessStats stats;
  std::ifstream stat_file(absl::StrFormat("/proc/%d/stat", pid));
  std::string line;
  if (!std::getline(stat_file, line)) {
    return absl::NotFoundError(absl::StrFormat("no process %d", pid));
  }
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::vector<std::string> fields = absl::StrSplit(line.substr(line.rfind(')') + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError("cannot parse /proc stat");
  }
  stats.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status_file(absl::StrFormat("/proc/%d/status", pid));
  while (std::getline(status_file, line)) {
    int64_t kb = 0;
    std::vector<std::string> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) {
      if (parts[0] == "VmRSS:") stats.rss_bytes = kb * 1024;
      if (parts[0] == "VmHWM:") stats.peak_rss_bytes = kb * 1024;
    }
  }
  return stats;
}

std::string HeaderRow() {
  return absl::StrFormat("%-28s %10s %7s %8s %8s %8s %7s %8s %8s", "method", "qps", "ratio",
                         "p50_ms", "p99_ms", "p999_ms", "errors", "srv_cpu", "rss_MiB");
}

std::string FormatRow(const std::string& name, const LoadResult& r, double reference_qps,
                      double server_cpu_seconds, int64_t server_rss_bytes) {
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  return absl::StrFormat("%-28s %10.0f %7.3f %8.3f %8.3f %8.3f %7d %8.2f %8.1f", name, r.qps,
                         reference_qps > 0 ? r.qps / reference_qps : 0.0, ms(r.p50), ms(r.p99),
                         ms(r.p999), r.errors, server_cpu_seconds,
                         static_cast<double>(server_rss_bytes) / (1024.0 * 1024.0));
}

}  // namespace marketplace::bench
