#include "services/sellerkpi/platform_events.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "protos/marketplace/support/v1/support.pb.h"

namespace marketplace::sellerkpi {
namespace {

namespace sup = ::marketplace::support::v1;
namespace cat = ::marketplace::catalog::v1;
using ::marketplace::events::v1::Event;

template <typename Payload>
absl::StatusOr<Payload> Unpack(const Event& event) {
  Payload payload;
  if (!event.payload().UnpackTo(&payload)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event.payload: must be a ", Payload::descriptor()->full_name(), " for ", event.topic()));
  }
  return payload;
}

v1::SellerEvent Base(const Event& event, const std::string& seller_id) {
  v1::SellerEvent e;
  e.set_event_id(event.event_id());
  e.set_seller_id(seller_id);
  *e.mutable_occurred_at() = event.occurred_at();
  return e;
}

// A ticket event's links: the ticket, and its order when the opening was received.
v1::SellerEvent TicketBase(const Event& event, const std::string& seller_id,
                           const std::string& ticket_id,
                           const std::optional<SupportTicket>& ticket) {
  v1::SellerEvent e = Base(event, seller_id);
  e.mutable_links()->set_ticket_id(ticket_id);
  if (ticket.has_value()) e.mutable_links()->set_order_id(ticket->order_id);
  return e;
}

absl::Status TicketNotKnown(const std::string& ticket_id) {
  return common::FailedPrecondition(
      "TICKET_NOT_KNOWN",
      absl::StrCat("ticket ", ticket_id,
                   ": its support.ticket_opened was never received, so its order is unknown"));
}

v1::AttributedTo PartyOf(sup::SlaParty party) {
  switch (party) {
    case sup::SELLER: return v1::ATTRIBUTED_SELLER;
    case sup::OPERATOR: return v1::ATTRIBUTED_OPERATOR;
    default: return v1::ATTRIBUTED_TO_UNSPECIFIED;
  }
}

// A claim's state after a decision or an update: CLAIM_DECIDED when the resolution favours a
// party, else CLAIM_FILED carrying the latest counts_against_seller (the claim stays open for
// the KPIs, its defect follows the latest value).
absl::StatusOr<PlatformMapping> ClaimState(const Event& event, const std::string& seller_id,
                                           const std::string& ticket_id,
                                           const std::optional<SupportTicket>& ticket,
                                           sup::FavouredParty favoured, bool counts) {
  if (!ticket.has_value() || ticket->order_id.empty()) return TicketNotKnown(ticket_id);
  v1::SellerEvent e = TicketBase(event, seller_id, ticket_id, ticket);
  if (favoured == sup::FAVOURS_BUYER || favoured == sup::FAVOURS_SELLER) {
    v1::ClaimDecided* d = e.mutable_claim_decided();
    d->set_favoured(favoured == sup::FAVOURS_BUYER ? v1::FAVOURS_BUYER : v1::FAVOURS_SELLER);
    d->set_counts_against_seller(counts && favoured != sup::FAVOURS_SELLER);
  } else {
    e.mutable_claim_filed()->set_counts_against_seller(counts);
  }
  return PlatformMapping{.event = std::move(e)};
}

}  // namespace

absl::StatusOr<PlatformMapping> FromPlatformEvent(const Event& event,
                                                  const TicketLookup& lookup) {
  const std::string& topic = event.topic();
  std::optional<SupportTicket> ticket;
  auto find = [&](const std::string& ticket_id) -> absl::Status {
    absl::StatusOr<std::optional<SupportTicket>> found = lookup(ticket_id);
    if (!found.ok()) return found.status();
    ticket = *std::move(found);
    return absl::OkStatus();
  };
  if (topic == kTicketOpenedTopic) {
    absl::StatusOr<sup::TicketOpened> p = Unpack<sup::TicketOpened>(event);
    if (!p.ok()) return p.status();
    PlatformMapping m;
    m.ticket = SupportTicket{
        .ticket_id = p->ticket_id(), .seller_id = p->seller_id(), .order_id = p->order_id()};
    if (p->is_claim()) {
      v1::SellerEvent e = TicketBase(event, p->seller_id(), p->ticket_id(), m.ticket);
      // A claim counts against the seller from its opening until a decision or an update
      // says otherwise.
      e.mutable_claim_filed()->set_counts_against_seller(true);
      m.event = std::move(e);
    }
    return m;
  }
  if (topic == kFirstResponseTopic) {
    absl::StatusOr<sup::FirstResponse> p = Unpack<sup::FirstResponse>(event);
    if (!p.ok()) return p.status();
    if (absl::Status s = find(p->ticket_id()); !s.ok()) return s;
    v1::SellerEvent e = TicketBase(event, p->seller_id(), p->ticket_id(), ticket);
    v1::TicketFirstResponse* r = e.mutable_ticket_first_response();
    r->set_seconds(p->seconds());
    r->set_within_sla(p->within_sla());
    // Level 1: the seller answers; level 2: the operator (never counts for the seller).
    r->set_responder(p->level() == sup::L1_SELLER ? v1::ATTRIBUTED_SELLER
                                                  : v1::ATTRIBUTED_OPERATOR);
    return PlatformMapping{.event = std::move(e)};
  }
  if (topic == kSlaBreachedTopic) {
    absl::StatusOr<sup::SlaBreached> p = Unpack<sup::SlaBreached>(event);
    if (!p.ok()) return p.status();
    if (absl::Status s = find(p->ticket_id()); !s.ok()) return s;
    // OPERATOR breaches are recorded but never count against the seller (seller_event.cc
    // counts ATTRIBUTED_SELLER only); a breach of no party is not recorded.
    const v1::AttributedTo party = PartyOf(p->attributed_to());
    if (party == v1::ATTRIBUTED_TO_UNSPECIFIED) return PlatformMapping{};
    v1::SellerEvent e = TicketBase(event, p->seller_id(), p->ticket_id(), ticket);
    e.mutable_ticket_sla_breached()->set_attributed_to(party);
    return PlatformMapping{.event = std::move(e)};
  }
  if (topic == kTicketResolvedTopic) {
    absl::StatusOr<sup::TicketResolved> p = Unpack<sup::TicketResolved>(event);
    if (!p.ok()) return p.status();
    if (absl::Status s = find(p->ticket_id()); !s.ok()) return s;
    if (!p->is_claim()) return PlatformMapping{};
    return ClaimState(event, p->seller_id(), p->ticket_id(), ticket, p->favoured(),
                      p->counts_against_seller());
  }
  if (topic == kClaimUpdatedTopic) {
    absl::StatusOr<sup::ClaimUpdated> p = Unpack<sup::ClaimUpdated>(event);
    if (!p.ok()) return p.status();
    if (absl::Status s = find(p->ticket_id()); !s.ok()) return s;
    // No longer a claim: its defect goes (counts false).
    return ClaimState(event, p->seller_id(), p->ticket_id(), ticket,
                      sup::FAVOURED_PARTY_UNSPECIFIED,
                      p->is_claim() && p->counts_against_seller());
  }
  if (topic == kListingApprovedTopic) {
    absl::StatusOr<cat::ListingApproved> p = Unpack<cat::ListingApproved>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, p->seller_id());
    e.mutable_links()->set_listing_id(p->listing_id());
    e.mutable_listing_reviewed()->set_approved(true);
    return PlatformMapping{.event = std::move(e)};
  }
  if (topic == kListingRejectedTopic) {
    absl::StatusOr<cat::ListingRejected> p = Unpack<cat::ListingRejected>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, p->seller_id());
    e.mutable_links()->set_listing_id(p->listing_id());
    v1::ListingReviewed* r = e.mutable_listing_reviewed();
    r->set_approved(false);
    // SellerEvent keeps at most 20 reasons (README "Rules of an event").
    for (int i = 0; i < p->reason_codes_size() && i < 20; ++i) r->add_reasons(p->reason_codes(i));
    return PlatformMapping{.event = std::move(e)};
  }
  return absl::InvalidArgumentError(absl::StrCat("event.topic: ", topic, " is not consumed"));
}

void AddPlatformConsumers(common::events::EventConsumer& consumer, KpiStore* store,
                          Ingestion* ingestion) {
  for (const char* topic : {kTicketOpenedTopic, kFirstResponseTopic, kSlaBreachedTopic,
                            kTicketResolvedTopic, kClaimUpdatedTopic}) {
    consumer.On(topic, {.prepare = [store, ingestion](const Event& event) -> absl::Status {
                  absl::StatusOr<PlatformMapping> mapped = FromPlatformEvent(
                      event, [store](const std::string& ticket_id) {
                        return store->FindTicket(ticket_id);
                      });
                  if (!mapped.ok()) return mapped.status();
                  // The event first: one refused (INVALID_ARGUMENT) leaves no ticket behind
                  // either. A failure after it is retried by the relay; the event is then a
                  // duplicate without effect.
                  if (mapped->event.has_value()) {
                    RETURN_IF_ERROR(
                        ingestion->Record({*mapped->event}, "support", /*from_api=*/false)
                            .status());
                  }
                  if (!mapped->ticket.has_value()) return absl::OkStatus();
                  return store->RememberTicket(*mapped->ticket);
                }});
  }
  for (const char* topic : {kListingApprovedTopic, kListingRejectedTopic}) {
    consumer.On(topic, {.prepare = [ingestion](const Event& event) -> absl::Status {
                  absl::StatusOr<PlatformMapping> mapped =
                      FromPlatformEvent(event, [](const std::string&) {
                        return absl::StatusOr<std::optional<SupportTicket>>(std::nullopt);
                      });
                  if (!mapped.ok()) return mapped.status();
                  if (!mapped->event.has_value()) return absl::OkStatus();
                  return ingestion->Record({*mapped->event}, "catalog", /*from_api=*/false)
                      .status();
                }});
  }
}

}  // namespace marketplace::sellerkpi
