#ifndef MARKETPLACE_SERVICES_CATALOG_PAID_ORDER_EVENTS_H_
#define MARKETPLACE_SERVICES_CATALOG_PAID_ORDER_EVENTS_H_

#include "common/events/event_consumer.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

// The topic the catalog consumes from payments: a payment is held in escrow, i.e. its buyer
// paid for an order.
inline constexpr char kPaymentHeldTopic[] = "payments.payment_held";

// Catalog's reaction to payments.payment_held (payload marketplace.payments.v1.PaymentHeld):
// the buyer's paid order is recorded (RecordPaidOrder), so that its reports count toward the
// report threshold whatever its account's age. Delivered by payments' outbox relay with its
// SERVICE token, which must hold payments.events.publish (EventConsumer). Idempotent, so it
// runs before the event is recorded as processed (TopicHandler::prepare): an error makes the
// relay deliver the event again. A payload of another type, or ids not in the issued form, is
// INVALID_ARGUMENT (the relay dead-letters it after --event_max_refusals). `store` must
// outlive `consumer`.
void AddPaidOrderConsumer(common::events::EventConsumer& consumer, ListingStore* store);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_PAID_ORDER_EVENTS_H_
