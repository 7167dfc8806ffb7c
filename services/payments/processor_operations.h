#ifndef MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_OPERATIONS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_OPERATIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_context.h"

namespace marketplace::payments {

// A stable processor idempotency key for one request and operation: `operation`, "_", then
// the first 16 bytes (hex) of SHA-256("caller\nmethod\nrequest_id\nrequest_hash"). Retries of
// the request reuse it, so the processor never moves money twice; the same request_id with
// another body gets other keys (and is refused before the processor anyway).
std::string ProcessorKey(absl::string_view operation, const RequestKey& key);

// The id of CreatePayment's intent for a request: "int_" and the first 16 bytes (hex) of
// SHA-256("caller\nmethod\nrequest_id") -- without the hash, so that a retry with another
// body finds the intent and is refused.
std::string IntentId(const RequestKey& key);

// A refund of `amount_minor` of payment `p` to the buyer's payment method, to be sent through
// the processor under `operation_id`; the completion worker tries it from `first_retry_at`.
ProcessorOperation RefundOperation(const std::string& operation_id, const PaymentRecord& p,
                                   int64_t amount_minor, absl::Time first_retry_at, absl::Time now);

// A transient processor failure as the API reports it.
absl::Status ProcessorUnavailable(const absl::Status& status, absl::string_view what);

// What one CompletePendingOperations call did.
struct CompletionCounts {
  int claimed = 0;
  int done = 0;     // the processor confirmed
  int failed = 0;   // refused for good: compensation posted
  int retried = 0;  // transient failure: rescheduled with backoff
};

// Money the ledger already moved out that the processor still has to send (refunds,
// payouts, returned captures): sending it, recording the answer, compensating a refusal.
class ProcessorOperations {
 public:
  explicit ProcessorOperations(const PaymentsContext* context) : context_(*context) {}

  // Asks the processor for `op` once and records the answer. The operation as it stands
  // afterwards (DONE or FAILED; still PENDING when another attempt is finishing it), or
  // UNAVAILABLE when the processor failed transiently (the operation is rescheduled with
  // exponential backoff).
  [[nodiscard]] absl::StatusOr<ProcessorOperation> Attempt(const ProcessorOperation& op);

  // The completion worker's pass: claims PENDING operations that are due (SKIP LOCKED plus a
  // lease, so replicas never work on the same one at once) and attempts each.
  [[nodiscard]] absl::StatusOr<CompletionCounts> CompletePending(int batch_size);

  // The completion worker's pass over CreatePayment intents still open after
  // abandoned_capture_refund_after (the payment never committed: a crash, a failed batch, a
  // client that gave up): each is closed once, in the transaction that records its effect --
  // REFUNDED (the capture goes back to the buyer: ledger buyer_funding -> refunds_out and a
  // REFUND operation "capture_refund_<32 hex>" without payment, sent at once and retried like
  // any refund) or ABANDONED (nothing was captured). A payment committing at the same moment
  // closes it first and the worker leaves it. The closing transaction reads the intent again
  // under its row lock: an authorisation a late retry recorded since the claim leaves the
  // intent open (the retry commits its payment, or a pass after the claim's lease refunds its
  // capture), and once the intent is closed no retry records an authorisation or captures.
  // How many were refunded.
  [[nodiscard]] absl::StatusOr<int> RefundAbandonedCaptures(int batch_size);

 private:
  // One open intent past its window: refunded or abandoned; true when refunded.
  absl::StatusOr<bool> SettleAbandonedIntent(const PaymentIntent& intent);
  // The compensation of a refusal, in the transaction that marks `op` FAILED.
  absl::Status Compensate(PaymentTransaction& tx, const ProcessorOperation& op, absl::Time now);

  const PaymentsContext& context_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_OPERATIONS_H_
