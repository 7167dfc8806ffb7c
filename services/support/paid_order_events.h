#ifndef MARKETPLACE_SERVICES_SUPPORT_PAID_ORDER_EVENTS_H_
#define MARKETPLACE_SERVICES_SUPPORT_PAID_ORDER_EVENTS_H_

#include "common/events/event_consumer.h"

namespace marketplace::support {

// Topic "payments.payment_held": one paid order of the buyer (the claim rate's denominator),
// recorded in the same transaction as the event id, so a redelivery counts nothing twice.
// A payload that is not a marketplace.payments.v1.PaymentHeld is INVALID_ARGUMENT.
void AddPaidOrderConsumer(common::events::EventConsumer& consumer);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_PAID_ORDER_EVENTS_H_
