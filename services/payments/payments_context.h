#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_CONTEXT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/client/call_origin.h"
#include "common/clock.h"
#include "common/identity_client/seller_directory.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_observer.h"
#include "services/payments/processor.h"

namespace marketplace::payments {

struct PaymentsOptions {
  // Commission when a payment names none, in basis points (1000 = 10 %).
  int32_t default_commission_bps = 1000;
  // Hold period of sellers without a policy of their own.
  absl::Duration default_hold = absl::Hours(14 * 24);
  // Refunds and payouts the processor did not confirm at once (processor_operations): the
  // delay before the completion worker's first attempt, doubled after each transient failure
  // up to retry_max_backoff.
  absl::Duration retry_initial_backoff = absl::Seconds(10);
  absl::Duration retry_max_backoff = absl::Hours(1);
  // How long a worker's claim keeps other replicas off an operation while it asks the
  // processor (a crashed worker's claim lapses after it).
  absl::Duration operation_lease = absl::Minutes(2);
  // CreatePayment intents still open this long after they were written (no payment
  // committed, no answer) are settled by the completion worker: a capture is refunded to the
  // buyer. Longer than the 24 hours a client may retry a request_id (the idempotency window),
  // so a retry never races the refund of its own capture.
  absl::Duration abandoned_capture_refund_after = absl::Hours(25);
  // TEST ONLY: CreatePayment for this order id aborts the process right after the processor
  // captured (before the capture is recorded or the payment written). Empty: never.
  std::string test_abort_after_capture_order;
  // Business metrics (README "Metrics"); none when null. Must outlive the domain.
  PaymentsObserver* observer = nullptr;
  // Group commit of CreatePayment and ConfirmDelivery: calls arriving while a batch is at the
  // database are written together in one transaction (multi-row statements), up to this many
  // (batches take 1, 2, 3, 4, 6, 8, 12, ... calls), with up to write_batches_in_flight such
  // transactions at once; CreatePayment's first reads are batched the same way.
  size_t write_batch_max = 16;
  int write_batches_in_flight = 2;
  // A batch starts beside one already at the database only when at least this many calls
  // wait (1: whenever a slot is free); fewer wait for the batch at the database, and go
  // together in a larger batch, which costs the database less per call.
  size_t write_batch_overlap_min = 8;
};

// What every flow of the domain works with. All pointers must outlive the flows.
struct PaymentsContext {
  PaymentStore* store = nullptr;
  PaymentProcessor* processor = nullptr;
  common::identity_client::SellerDirectory* sellers = nullptr;
  const common::Clock* clock = nullptr;
  PaymentsObserver* observer = nullptr;  // never null (NoObserver())
  PaymentsOptions options;
};

// The seller as identity knows it: NOT_FOUND when unknown, FAILED_PRECONDITION
// SELLER_NOT_APPROVED unless approved and active (a payment or payout needs both);
// INVALID_ARGUMENT naming seller_id when identity refuses the id as malformed. The lookup
// carries the deadline and x-request-id of `origin` (the call being served).
[[nodiscard]] absl::StatusOr<common::identity_client::SellerStatus> ApprovedSeller(
    const PaymentsContext& context, absl::string_view seller_id,
    const common::CallOrigin& origin = {});

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_CONTEXT_H_
