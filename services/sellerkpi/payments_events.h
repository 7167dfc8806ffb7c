#ifndef MARKETPLACE_SERVICES_SELLERKPI_PAYMENTS_EVENTS_H_
#define MARKETPLACE_SERVICES_SELLERKPI_PAYMENTS_EVENTS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/ingestion.h"

namespace marketplace::sellerkpi {

// The payments topics sellerkpi consumes, as payments emits them (services/payments/events.cc):
//   payments.payment_held      -> ORDER_PLACED (links: order, dispute = payment id)
//   payments.dispute_opened    -> DISPUTE_OPENED
//   payments.dispute_resolved  -> DISPUTE_RESOLVED{outcome}
//   payments.payment_refunded  -> PAYMENT_REFUNDED (evidence only, no KPI)
// The SellerEvent keeps the outbox event's id and occurred_at, source "payments".
inline constexpr char kPaymentHeldTopic[] = "payments.payment_held";
inline constexpr char kDisputeOpenedTopic[] = "payments.dispute_opened";
inline constexpr char kDisputeResolvedTopic[] = "payments.dispute_resolved";
inline constexpr char kPaymentRefundedTopic[] = "payments.payment_refunded";

// The SellerEvent of a payments event; INVALID_ARGUMENT for a payload that is not the topic's
// message (the relay then dead-letters it).
absl::StatusOr<v1::SellerEvent> FromPaymentsEvent(const marketplace::events::v1::Event& event);

// Registers the four topics on `consumer`: each event is recorded through `ingestion` (its own
// transaction, idempotent on event_id) before the consumer records it as processed, so a
// redelivery is harmless. `ingestion` must outlive `consumer`.
void AddPaymentsConsumer(common::events::EventConsumer& consumer, Ingestion* ingestion);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_PAYMENTS_EVENTS_H_
