#include "services/payments/release_worker.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace marketplace::payments {

ReleaseWorker::ReleaseWorker(EscrowService* escrow, prometheus::Registry& registry,
                             ReleaseWorkerOptions options)
    : escrow_(escrow),
      options_(options),
      released_(prometheus::BuildCounter()
                    .Name("payments_auto_released_total")
                    .Help("Payments released automatically at the end of their hold period.")
                    .Register(registry)
                    .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("payments_worker_errors_total")
                  .Help("Failed passes of the release and purge worker.")
                  .Register(registry)
                  .Add({})) {}

ReleaseWorker::~ReleaseWorker() { Stop(); }

absl::StatusOr<int> ReleaseWorker::RunOnce() {
  int total = 0;
  while (true) {
    absl::StatusOr<int> n = escrow_->ReleaseDuePayments(options_.batch_size);
    if (!n.ok()) return n.status();
    total += *n;
    released_.Increment(*n);
    if (*n < options_.batch_size) break;
  }
  if (absl::Now() - last_purge_ >= options_.purge_interval) {
    absl::StatusOr<int64_t> purged = escrow_->PurgeIdempotencyKeys();
    if (!purged.ok()) return purged.status();
    last_purge_ = absl::Now();
  }
  return total;
}

void ReleaseWorker::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ReleaseWorker::Stop() {
  if (!thread_.joinable()) return;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  thread_.join();
}

void ReleaseWorker::Loop() {
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<int> n = RunOnce();
    if (!n.ok()) {
      errors_.Increment();
      common::LogError("release worker pass failed", {{"error", n.status().ToString()}});
    }
    stop_.WaitForNotificationWithTimeout(options_.interval);
  }
}

}  // namespace marketplace::payments
