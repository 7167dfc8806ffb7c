#ifndef MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_
#define MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/support/refund_sender.h"
#include "services/support/ticket_store.h"

namespace marketplace::support {

struct RefundWorkerOptions {
  absl::Duration interval = absl::Seconds(5);
  int batch_size = 20;
  // A claimed command is not taken by another pass for this long. A pass starts a claimed
  // command's payments call only in the first half of the lease; the commands it did not
  // reach stay claimed and are due again when the lease ends. The second half is for the
  // call and its record: the sender's call timeout must be well inside it (RefundLeaseFor).
  absl::Duration lease = absl::Minutes(1);
  absl::Duration initial_backoff = absl::Seconds(10);
  absl::Duration max_backoff = absl::Hours(1);
};

// The lease for payments calls that each end within `call_timeout`: a call started in the
// first half of the lease ends by three quarters of it, the last quarter left for recording
// the result. Four times the timeout, at least a minute.
absl::Duration RefundLeaseFor(absl::Duration call_timeout);

// What one pass did.
struct RefundPassResult {
  int finished = 0;   // commands finished (refunded or refused; charged or not charged)
  bool more = false;  // a whole batch of refunds or of charges was claimed: more may be due
  // Claimed but not started (refunds and charges): the first half of the lease had passed.
  int not_started = 0;
};

// Carries out the refund commands ResolveTicket recorded: claims due ones (SKIP LOCKED, so
// several replicas share the work), calls payments RefundPayment with the command's request_id
// (payments makes a repeated request_id's refund once: a pass that dies between payments'
// commit and its own record refunds once when the lease ends), and records the result on the
// command and the ticket (refund_state REFUNDED or REFUND_REFUSED, a history line). A transient
// failure is tried again after a backoff that doubles per attempt.
//
// A pass starts a claimed command only in the first half of its lease (see
// RefundWorkerOptions::lease), and every result (a refund's, a charge's, a retry) is written
// only while the command is still as the pass claimed it (still to do, under this claim): a
// pass whose lease ended while payments answered, and whose command another pass took over
// meanwhile, records nothing (no second history line, no result written back over a later
// one), whatever payments answered it.
//
// Then it charges to the seller the guarantee-funded refunds of tickets where an agent found
// the seller at fault (payments ChargeSellerForRefund, request id
// "<refund request_id>:charge:<n>"), once the refund is made: the result is kept on the
// command with a history line (SELLER_CHARGED, SELLER_NOT_CHARGED). A seller without available
// money (INSUFFICIENT_AVAILABLE_BALANCE: payments recorded nothing) is charged later under the
// next request id; a call without an answer is repeated with the same one.
//
// With a registry it counts the refund commands this process sent to payments,
// support_refunds_sent_total{result}: REFUNDED, REFUND_REFUSED (counted after the result is
// committed) and RETRY (no definitive answer; tried again after the backoff). Each replica
// counts its own.
//
// Started, it runs a pass every `interval`, and the next one at once while a pass claimed a
// whole batch of refunds or of charges (a backlog drains batch after batch, not one batch per
// interval).
class RefundWorker {
 public:
  // All must outlive the worker; `registry` may be null (nothing counted).
  RefundWorker(TicketStore* store, RefundSender* sender, const common::Clock* clock,
               RefundWorkerOptions options, prometheus::Registry* registry = nullptr);
  ~RefundWorker() { Stop(); }

  // One pass on the calling thread: refunds, then charges; the commands finished (refunded or
  // refused; charged or not charged).
  absl::StatusOr<int> RunOnce();
  // RunOnce, telling also whether a whole batch was claimed (what the started thread goes by).
  absl::StatusOr<RefundPassResult> RunPass();
  // The charges alone (guarantee-funded refunds moved onto a seller found at fault).
  absl::StatusOr<int> RunChargesOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  // A refund's final result on its command (claimed until `claimed_until`) and the ticket,
  // with a history line; false (nothing written) when the command is no longer as claimed.
  // `reason`: the refusal's ErrorInfo reason, kept on the command (GetTicket shows it).
  // `refund_id`: payments' id of the refund made (GUARANTEE_FUND commands).
  absl::StatusOr<bool> Finish(const RefundCommand& command, absl::Time claimed_until,
                              pb::RefundState state, const std::string& detail,
                              const std::string& reason = "", const std::string& refund_id = "");
  // A charge's final result on its command, with a history line on the ticket; false (nothing
  // written) when the command is no longer as claimed.
  absl::StatusOr<bool> FinishCharge(const ChargeCommand& command, absl::Time claimed_until,
                                    SellerChargeState state, const SellerCharge& charge,
                                    const std::string& reason, const std::string& detail);
  // Whether a command claimed at `claimed_at` may still be started: the first half of its
  // lease has not passed.
  bool MayStart(absl::Time claimed_at) const;
  // The wait before the next try after `calls` failed ones: doubling, at most max_backoff.
  absl::Duration Backoff(int calls) const;
  void CountSent(const char* result);
  // The charges' part of a pass: finished and not_started counted into `pass`, `more` set
  // when a whole batch was claimed.
  absl::Status ChargesPass(RefundPassResult* pass);

  TicketStore* store_;
  RefundSender* sender_;
  const common::Clock* clock_;
  RefundWorkerOptions options_;
  prometheus::Family<prometheus::Counter>* sent_ = nullptr;  // null without a registry
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REFUND_WORKER_H_
