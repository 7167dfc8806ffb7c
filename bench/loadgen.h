#ifndef MARKETPLACE_BENCH_LOADGEN_H_
#define MARKETPLACE_BENCH_LOADGEN_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace marketplace::bench {

// A closed-loop load: `concurrency` calls always in flight, each slot issuing its next call when
// the previous one completes. Calls completing during the warm-up are not counted.
struct LoadOptions {
  int concurrency = 16;
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(10);
};

struct LoadResult {
  int64_t calls = 0;   // completed successfully in the measured window
  int64_t errors = 0;  // failed in the window (not in calls, qps or the percentiles)
  double qps = 0;      // successful calls per second in the window
  int64_t late = 0;    // RunFixedRate only: calls started late (all slots busy)
  absl::Duration p50, p99, p999;
};

// Starts one asynchronous call and arranges for `done(ok)` to be called once it completes
// (from any thread). `slot` in [0, concurrency) identifies the caller, for per-slot state.
// The call's objects (context, messages) are released before `done` is called (see Report).
using IssueFn = std::function<void(int slot, std::function<void(bool ok)> done)>;

// For an IssueFn's gRPC callback: releases the call's objects (`call`, the shared pointer the
// callback captured), then reports. A run that has seen every call report then holds no gRPC
// object of its calls.
template <typename CallPtr>
void Report(CallPtr& call, const std::function<void(bool)>& done, bool ok) {
  call.reset();
  done(ok);
}

// Ends a load tool with `code`: flushes stdout and stderr and exits without running static
// destructors. Once a run has returned, gRPC's own threads may still be finishing the last
// calls' bookkeeping (call and channel references); tearing the library's globals down under
// them corrupted the heap at exit after phases with slow calls ("corrupted size vs.
// prev_size while consolidating").
[[noreturn]] void ExitLoadTool(int code);

// Returns once every call has reported and every closure holding `done` has been destroyed
// (or, when calls still run 30 s after the window, with errors = concurrency and no figures).
LoadResult RunClosedLoop(const LoadOptions& options, const IssueFn& issue);

// Issues exactly `calls` calls, `concurrency` at a time (a warm-up pass, e.g. reading every
// listing once); returns how many succeeded, once every call has reported and every closure
// holding `done` has been destroyed.
int64_t RunCalls(int concurrency, int64_t calls, const IssueFn& issue);

// An open loop at a fixed rate (to compare latencies at a given load, e.g. 50 % of the closed
// loop's maximum, as `h2load --rps` does over HTTP): call k starts at start + k / rate, whether
// or not earlier calls have completed, with at most `max_in_flight` calls outstanding (a call
// due while that many are in flight starts when one completes, and counts as late). Latency is
// measured from the call's actual start. `slot` in [0, max_in_flight) is not shared by two
// calls in flight.
struct RateOptions {
  double calls_per_second = 1000;
  int max_in_flight = 16;
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(10);
};
// result.late: calls of the measured window that started more than 1 ms after their due time.
LoadResult RunFixedRate(const RateOptions& options, const IssueFn& issue);

// The load tools' run: RunFixedRate at `calls_per_second` with at most `concurrency` in flight
// when it is > 0, else RunClosedLoop with `concurrency` always in flight; calls that started
// late are reported on stderr.
LoadResult RunLoad(int concurrency, double calls_per_second, absl::Duration warmup,
                   absl::Duration duration, const IssueFn& issue);

// CPU time (user + system) and memory of a process, read from /proc.
struct ProcessStats {
  double cpu_seconds = 0;
  int64_t rss_bytes = 0;
  int64_t peak_rss_bytes = 0;
};
absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid);

// One row of the benchmark table, tab-separated and aligned for reading:
// name, qps, ratio to the reference, p50/p99/p999 in ms, errors, server CPU s, RSS MiB.
std::string FormatRow(const std::string& name, const LoadResult& result, double reference_qps,
                      double server_cpu_seconds, int64_t server_rss_bytes);
std::string HeaderRow();

}  // namespace marketplace::bench

#endif  // MARKETPLACE_BENCH_LOADGEN_H_
