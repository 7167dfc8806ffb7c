#include "services/payments/release_worker.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace marketplace::payments {
namespace {

// The end of a background pass: a failure is counted and logged; the next pass waits.
bool AfterPass(const absl::Status& status, prometheus::Counter& errors, absl::string_view worker) {
  if (!status.ok()) {
    errors.Increment();
    common::LogError(absl::StrCat(worker, " pass failed"), {{"error", status.ToString()}});
  }
  return false;
}

}  // namespace

ReleaseWorker::ReleaseWorker(PaymentsDomain* escrow, prometheus::Registry& registry,
                             ReleaseWorkerOptions options)
    : escrow_(escrow),
      options_(options),
      released_(prometheus::BuildCounter()
                    .Name("payments_auto_released_total")
                    .Help("Payments released automatically at the end of their hold period.")
                    .Register(registry)
                    .Add({})),
      release_failures_(prometheus::BuildCounter()
                            .Name("payments_release_failures_total")
                            .Help("Automatic releases that failed (the payment is skipped and "
                                  "retried with backoff; the others proceed).")
                            .Register(registry)
                            .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("payments_worker_errors_total")
                  .Help("Failed passes of the release and purge worker.")
                  .Register(registry)
                  .Add({})),
      thread_(options.interval,
              [this] { return AfterPass(RunOnce().status(), errors_, "release worker"); }) {}

ReleaseWorker::~ReleaseWorker() { Stop(); }

absl::StatusOr<int> ReleaseWorker::RunOnce() {
  int total = 0;
  absl::Status first_error;
  while (true) {
    absl::StatusOr<ReleaseCounts> n = escrow_->ReleaseDuePayments(options_.batch_size);
    if (!n.ok()) {
      first_error = n.status();
      break;
    }
    total += n->released;
    released_.Increment(n->released);
    release_failures_.Increment(n->failed);
    // A round of failures only (deferred) ends the pass: the next one goes on.
    if (n->due < options_.batch_size || n->released == 0) break;
  }
  // Whatever the release did, the gauge and the purge run.
  if (absl::Status gauge = escrow_->RefreshEscrowMetrics(); !gauge.ok() && first_error.ok()) {
    first_error = gauge;
  }
  if (absl::Now() - last_purge_ >= options_.purge_interval) {
    // Both purges run whatever the other did.
    absl::Status purge_error = escrow_->PurgeIdempotencyKeys().status();
    if (absl::Status intents =
            escrow_->PurgeResolvedIntents(options_.resolved_intent_retention).status();
        !intents.ok() && purge_error.ok()) {
      purge_error = intents;
    }
    if (purge_error.ok()) {
      last_purge_ = absl::Now();
    } else if (first_error.ok()) {
      first_error = purge_error;
    }
  }
  if (!first_error.ok()) return first_error;
  return total;
}

void ReleaseWorker::Start() { thread_.Start(); }

void ReleaseWorker::Stop() { thread_.Stop(); }

}  // namespace marketplace::payments

namespace marketplace::payments {

CompletionWorker::CompletionWorker(PaymentsDomain* escrow, prometheus::Registry& registry,
                                   CompletionWorkerOptions options)
    : escrow_(escrow),
      options_(options),
      outcomes_(prometheus::BuildCounter()
                    .Name("payments_processor_operations_total")
                    .Help("Attempts of the completion worker at refunds and payouts the "
                          "processor had not confirmed, by outcome (done, failed, retried).")
                    .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("payments_completion_errors_total")
                  .Help("Failed passes of the refund and payout completion worker.")
                  .Register(registry)
                  .Add({})),
      thread_(options.interval,
              [this] { return AfterPass(RunOnce().status(), errors_, "completion worker"); }) {}

CompletionWorker::~CompletionWorker() { Stop(); }

absl::StatusOr<CompletionCounts> CompletionWorker::RunOnce() {
  CompletionCounts total;
  // Captures whose payment never committed go back first (their refunds are then completed
  // below like any other); a failure here does not stop the rest of the pass.
  absl::Status intents_error;
  while (true) {
    absl::StatusOr<int> n = escrow_->RefundAbandonedCaptures(options_.batch_size);
    if (!n.ok()) {
      intents_error = n.status();
      break;
    }
    if (*n < options_.batch_size) break;
  }
  while (true) {
    absl::StatusOr<CompletionCounts> n = escrow_->CompletePendingOperations(options_.batch_size);
    if (!n.ok()) return n.status();
    total.claimed += n->claimed;
    total.done += n->done;
    total.failed += n->failed;
    total.retried += n->retried;
    outcomes_.Add({{"outcome", "done"}}).Increment(n->done);
    outcomes_.Add({{"outcome", "failed"}}).Increment(n->failed);
    outcomes_.Add({{"outcome", "retried"}}).Increment(n->retried);
    if (n->claimed < options_.batch_size) break;
  }
  if (!intents_error.ok()) return intents_error;
  return total;
}

void CompletionWorker::Start() { thread_.Start(); }

void CompletionWorker::Stop() { thread_.Stop(); }

}  // namespace marketplace::payments
