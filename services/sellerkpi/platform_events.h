#ifndef MARKETPLACE_SERVICES_SELLERKPI_PLATFORM_EVENTS_H_
#define MARKETPLACE_SERVICES_SELLERKPI_PLATFORM_EVENTS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/ingestion.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// support's topics (protos/marketplace/support/v1/support.proto, key: the ticket id) and
// catalog's (catalog.proto, key: the listing id) that sellerkpi consumes. README "Events in"
// has the table of the mapping.
inline constexpr char kTicketOpenedTopic[] = "support.ticket_opened";
inline constexpr char kFirstResponseTopic[] = "support.first_response";
inline constexpr char kSlaBreachedTopic[] = "support.sla_breached";
inline constexpr char kTicketResolvedTopic[] = "support.ticket_resolved";
inline constexpr char kClaimUpdatedTopic[] = "support.claim_updated";
inline constexpr char kListingApprovedTopic[] = "catalog.listing_approved";
inline constexpr char kListingRejectedTopic[] = "catalog.listing_rejected";

// What one support or catalog event does in sellerkpi.
struct PlatformMapping {
  // support.ticket_opened: the ticket's order, remembered for the ticket's later events.
  std::optional<SupportTicket> ticket;
  // The SellerEvent to record (nullopt: the event counts in no KPI, e.g. a ticket resolved
  // that never was a claim).
  std::optional<v1::SellerEvent> event;
};

// The remembered row of a support ticket (nullopt when its opening was never received).
using TicketLookup =
    std::function<absl::StatusOr<std::optional<SupportTicket>>(const std::string& ticket_id)>;

// Maps a support or catalog event; support's events other than ticket_opened look their
// ticket up with `lookup`. INVALID_ARGUMENT for a payload that is not
// the topic's message; FAILED_PRECONDITION TICKET_NOT_KNOWN for a claim event of a ticket
// whose opening sellerkpi never received (the relay dead-letters it after its refusal limit:
// outbox README "Dead letters").
absl::StatusOr<PlatformMapping> FromPlatformEvent(const marketplace::events::v1::Event& event,
                                                  const TicketLookup& lookup);

// Registers support's five topics and catalog's two on `consumer`: the ticket row and the
// SellerEvent are recorded through `store` / `ingestion` (idempotent: INSERT IGNORE, and
// event_id) before the consumer records the event as processed. Both must outlive `consumer`.
void AddPlatformConsumers(common::events::EventConsumer& consumer, KpiStore* store,
                          Ingestion* ingestion);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_PLATFORM_EVENTS_H_
