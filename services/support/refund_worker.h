#ifndef MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_
#define MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "services/support/refund_sender.h"
#include "services/support/ticket_store.h"

namespace marketplace::support {

struct RefundWorkerOptions {
  absl::Duration interval = absl::Seconds(5);
  int batch_size = 20;
  // A claimed command is not taken by another pass for this long (the payments call's time).
  absl::Duration lease = absl::Minutes(1);
  absl::Duration initial_backoff = absl::Seconds(10);
  absl::Duration max_backoff = absl::Hours(1);
};

// Carries out the refund commands ResolveTicket recorded: claims due ones (SKIP LOCKED, so
// several replicas share the work), calls payments RefundPayment with the command's request_id
// (payments makes a repeated request_id's refund once: a pass that dies between payments'
// commit and its own record refunds once when the lease ends), and records the result on the
// command and the ticket (refund_state REFUNDED or REFUND_REFUSED, a history line). A transient
// failure is tried again after a backoff that doubles per attempt.
class RefundWorker {
 public:
  // All must outlive the worker.
  RefundWorker(TicketStore* store, RefundSender* sender, const common::Clock* clock,
               RefundWorkerOptions options);
  ~RefundWorker() { Stop(); }

  // One pass on the calling thread: the commands finished (refunded or refused).
  absl::StatusOr<int> RunOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  // `reason`: the refusal's ErrorInfo reason, kept on the command (GetTicket shows it).
  absl::Status Finish(const RefundCommand& command, pb::RefundState state,
                      const std::string& detail, const std::string& reason = "");

  TicketStore* store_;
  RefundSender* sender_;
  const common::Clock* clock_;
  RefundWorkerOptions options_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_
