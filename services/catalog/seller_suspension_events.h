#ifndef MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_
#define MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_

#include "common/events/event_consumer.h"
#include "services/catalog/enforcement.h"

namespace marketplace::catalog {

// Catalog's reaction to identity's account events, so a suspension needs no second call:
// identity.account_suspended suspends the seller from the ACCOUNT source
// (Enforcement::SuspendSeller, reason the event's reason_code) and
// identity.account_reinstated lifts that suspension (Enforcement::ReinstateSeller: the
// listings come back unless a CATALOG suspension, SuspendSellerListings, is left), both by
// the actor "identity". Both are idempotent, so they run
// before the event is recorded as processed (TopicHandler::prepare): an error makes identity's
// relay deliver the event again. A payload of another type is INVALID_ARGUMENT.
// `enforcement` must outlive `consumer`.
void AddSellerSuspensionConsumer(common::events::EventConsumer& consumer,
                                 Enforcement* enforcement);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_
