#ifndef MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_WORKER_H_
#define MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_WORKER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/sellerkpi/enforcement_store.h"
#include "services/sellerkpi/sellerkpi_observer.h"

namespace marketplace::sellerkpi {

// Carries out one step of an enforcement action at the service it names (notice, catalog
// moderation level, payments hold policy, identity suspension, ...), with the step's own
// request_id, and reads the effect back. OK: done and checked, with what the step wants
// recorded (e.g. the setting it replaced, for a later restoration); an error: retried.
class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  virtual absl::StatusOr<std::string> Run(const ClaimedStep& step) = 0;
};

struct EnforcementWorkerOptions {
  // Steps claimed per pass.
  int batch = 20;
  // A claimed step is due again after this long if its worker never reports (a crash). A
  // pass starts a claimed step only in the first half of the lease (the second half is left
  // for its calls, each bounded by the executor's call timeout); the steps it did not reach
  // are due again when the lease ends. So no step runs after its lease: by then another
  // worker may run it, or (a step an appeal cancelled meanwhile) a restoration may follow it.
  absl::Duration lease = absl::Minutes(2);
  // Backoff after a failed attempt: initial, doubling per attempt, capped.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
};

// Drives the sagas: claims due steps (SKIP LOCKED, so replicas share them), runs each through
// the executor, records DONE_CHECKED or RETRYING with backoff. A worker that dies mid-step
// leaves the step claimed until the lease ends; the next attempt reuses its request_id.
class EnforcementWorker {
 public:
  // All must outlive the worker.
  EnforcementWorker(EnforcementStore* store, StepExecutor* executor, const common::Clock* clock,
                    KpiObserver* observer, EnforcementWorkerOptions options = {})
      : store_(store),
        executor_(executor),
        clock_(clock),
        observer_(observer),
        options_(options) {}

  struct PassCounts {
    int done = 0;
    int failed = 0;
    int not_started = 0;  // claimed, left for the lease to end (see lease)
  };
  // One pass: up to options.batch due steps. (For common::PeriodicThread: run again at once
  // when the pass was full.)
  absl::StatusOr<PassCounts> RunPass();

  // The wait after the `attempts`-th failed attempt.
  absl::Duration BackoffAfter(int attempts) const;

 private:
  EnforcementStore* const store_;
  StepExecutor* const executor_;
  const common::Clock* const clock_;
  KpiObserver* const observer_;
  const EnforcementWorkerOptions options_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_WORKER_H_
