#ifndef MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_
#define MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_

#include "common/events/event_consumer.h"
#include "services/catalog/enforcement.h"

namespace marketplace::catalog {

// Catalog's reaction to identity's account events, so a suspension needs no second call:
// identity.account_suspended takes the seller's listings down (Enforcement::Suspend, reason
// the event's reason_code) and identity.account_reinstated restores what that took down
// (Enforcement::Restore), both by the enforcer "identity". Both are idempotent, so they run
// before the event is recorded as processed (TopicHandler::prepare): an error makes identity's
// relay deliver the event again. A payload of another type is INVALID_ARGUMENT.
// `enforcement` must outlive `consumer`.
void AddSellerSuspensionConsumer(common::events::EventConsumer& consumer,
                                 Enforcement* enforcement);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_SELLER_SUSPENSION_EVENTS_H_
