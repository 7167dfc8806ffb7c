#ifndef MARKETPLACE_SERVICES_PAYMENTS_RELEASE_WORKER_H_
#define MARKETPLACE_SERVICES_PAYMENTS_RELEASE_WORKER_H_

#include "absl/time/time.h"
#include "common/periodic.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/payments/payments_domain.h"

namespace marketplace::payments {

struct ReleaseWorkerOptions {
  // Pause between passes when the last one found nothing more to release.
  absl::Duration interval = absl::Seconds(30);
  // Payments claimed per round (each released in its own transaction).
  int batch_size = 20;
  // How often idempotency keys older than 24 hours, and CreatePayment intents closed more than
  // `resolved_intent_retention` ago, are purged.
  absl::Duration purge_interval = absl::Hours(1);
  // How long a closed CreatePayment intent (payment_intents with its outcome) is kept: well
  // beyond the 24 hours a client may retry a request_id (within them a retry with another body
  // is REQUEST_ID_REUSED thanks to the intent). Open intents are never purged: the completion
  // worker closes them first.
  absl::Duration resolved_intent_retention = absl::Hours(30 * 24);
};

// The background pass of every replica: automatic release of due HELD payments
// (PaymentsDomain::ReleaseDuePayments, safe with several replicas), the escrow gauge and the
// purge (idempotency keys, closed CreatePayment intents). A payment whose release fails is skipped with backoff and counted
// (payments_release_failures_total); the others, the gauge and the purge run in every pass.
// Metrics: payments_auto_released_total, payments_release_failures_total,
// payments_worker_errors_total (passes where listing, the gauge or the purge failed).
class ReleaseWorker {
 public:
  // `escrow` and `registry` must outlive the worker.
  ReleaseWorker(PaymentsDomain* escrow, prometheus::Registry& registry,
                ReleaseWorkerOptions options = {});
  ~ReleaseWorker();  // Stop()s

  // One pass on the calling thread: releases until a round finds fewer than batch_size (or
  // releases none), then the escrow gauge and the purge. Returns how many were released; an
  // error when listing, the gauge or the purge failed (the other steps still ran).
  absl::StatusOr<int> RunOnce();

  void Start();
  void Stop();

 private:
  PaymentsDomain* escrow_;
  ReleaseWorkerOptions options_;
  prometheus::Counter& released_;
  prometheus::Counter& release_failures_;
  prometheus::Counter& errors_;
  absl::Time last_purge_ = absl::InfinitePast();
  common::PeriodicThread thread_;  // last: stopped first
};

struct CompletionWorkerOptions {
  // Pause between passes when the last one found nothing more that is due.
  absl::Duration interval = absl::Seconds(5);
  // Operations claimed per round.
  int batch_size = 20;
};

// The background completion of refunds and payouts the processor has not confirmed
// (PaymentsDomain::CompletePendingOperations, safe with several replicas). Metrics:
// payments_processor_operations_total{outcome="done|failed|retried"} and
// payments_completion_errors_total (failed passes).
class CompletionWorker {
 public:
  // `escrow` and `registry` must outlive the worker.
  CompletionWorker(PaymentsDomain* escrow, prometheus::Registry& registry,
                   CompletionWorkerOptions options = {});
  ~CompletionWorker();  // Stop()s

  // One pass on the calling thread: rounds until one claims fewer than batch_size.
  absl::StatusOr<CompletionCounts> RunOnce();

  void Start();
  void Stop();

 private:
  PaymentsDomain* escrow_;
  CompletionWorkerOptions options_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Counter& errors_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_RELEASE_WORKER_H_
