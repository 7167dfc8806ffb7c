#ifndef MARKETPLACE_SERVICES_PAYMENTS_EVENTS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/payments/escrow.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"

namespace marketplace::payments {

// The events payments publishes through the outbox (payments.proto, "Events"), keyed by the
// seller so that one seller's events stay in order. Each is written in the transaction of the
// change it announces.

// payments.payment_held: a new payment is in escrow.
[[nodiscard]] absl::StatusOr<OutboxEvent> PaymentHeldEvent(const PaymentRecord& p);
// payments.payment_released: delivery confirmed (`automatic` false) or hold period ended.
[[nodiscard]] absl::StatusOr<OutboxEvent> PaymentReleasedEvent(const PaymentRecord& p,
                                                               bool automatic);
// payments.payment_refunded: `refund` (its amount, id and who paid it) of `p` (as it is after
// the refund).
[[nodiscard]] absl::StatusOr<OutboxEvent> PaymentRefundedEvent(const PaymentRecord& p,
                                                               const ProcessorOperation& refund,
                                                               absl::string_view reason);
// payments.dispute_opened.
[[nodiscard]] absl::StatusOr<OutboxEvent> DisputeOpenedEvent(const PaymentRecord& p,
                                                             absl::string_view reason_code);
// payments.dispute_resolved: `buyer_refund_minor` went back to the buyer.
[[nodiscard]] absl::StatusOr<OutboxEvent> DisputeResolvedEvent(const PaymentRecord& p,
                                                               DisputeOutcome outcome,
                                                               int64_t buyer_refund_minor);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_EVENTS_H_
