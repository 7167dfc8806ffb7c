#include "services/sellerkpi/enforcement_worker.h"

#include <algorithm>
#include <vector>

#include "common/logging.h"
#include "common/status_macros.h"

namespace marketplace::sellerkpi {

absl::Duration EnforcementWorker::BackoffAfter(int attempts) const {
  absl::Duration d = options_.initial_backoff;
  for (int i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

absl::StatusOr<EnforcementWorker::PassCounts> EnforcementWorker::RunPass() {
  const absl::Time claimed_at = clock_->Now();
  ASSIGN_OR_RETURN(std::vector<ClaimedStep> steps,
                   store_->ClaimDueSteps(options_.batch, claimed_at, options_.lease));
  PassCounts counts;
  for (const ClaimedStep& step : steps) {
    if (clock_->Now() >= claimed_at + options_.lease / 2) {
      ++counts.not_started;  // due again when the lease ends
      continue;
    }
    const std::string type = pb::ActionType_Name(step.type);
    absl::StatusOr<std::string> result = executor_->Run(step);
    const absl::Time now = clock_->Now();
    if (result.ok()) {
      RETURN_IF_ERROR(store_->CompleteStep(step.action_id, step.step_no, *result, now));
      observer_->EnforcementStep(type, step.name, "done");
      ++counts.done;
      continue;
    }
    common::LogWarn("enforcement step failed",
                    {{"action_id", step.action_id},
                     {"step", step.name},
                     {"attempts", std::to_string(step.attempts)},
                     {"error", result.status().ToString()}});
    RETURN_IF_ERROR(store_->FailStep(step.action_id, step.step_no, result.status().ToString(),
                                     now + BackoffAfter(step.attempts), now));
    observer_->EnforcementStep(type, step.name, "retrying");
    ++counts.failed;
  }
  return counts;
}

}  // namespace marketplace::sellerkpi
