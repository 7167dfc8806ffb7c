#include "services/sellerkpi/seller_event.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/idempotency/request_id.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/text.h"
#include "services/sellerkpi/counters.h"

namespace marketplace::sellerkpi {
namespace {

using Payload = pb::SellerEvent::PayloadCase;

int64_t Bit(pb::Kpi kpi) { return int64_t{1} << static_cast<int>(kpi); }

enum class NeededLink { kNone, kOrder, kTicket, kListing };

NeededLink LinkOf(Payload payload) {
  switch (payload) {
    case Payload::kOrderPlaced:
    case Payload::kOrderCompleted:
    case Payload::kOrderCancelled:
    case Payload::kShipmentConfirmed:
    case Payload::kDisputeOpened:
    case Payload::kDisputeResolved:
    case Payload::kClaimFiled:
    case Payload::kClaimDecided:
    case Payload::kRating:
      return NeededLink::kOrder;
    case Payload::kTicketFirstResponse:
    case Payload::kTicketSlaBreached:
      return NeededLink::kTicket;
    case Payload::kListingReviewed:
      return NeededLink::kListing;
    default:
      return NeededLink::kNone;
  }
}

void CheckPayload(const pb::SellerEvent& e, const std::string& at, bool from_api,
                  common::Violations& v) {
  switch (e.payload_case()) {
    case Payload::PAYLOAD_NOT_SET:
      v.Add(at + "payload", "unknown or missing event type");
      return;
    case Payload::kOrderCancelled:
      if (!pb::CancelledBy_IsValid(e.order_cancelled().by()) ||
          e.order_cancelled().by() == pb::CANCELLED_BY_UNSPECIFIED) {
        v.Add(at + "order_cancelled.by", "must be BUYER, SELLER_CANCELLED or SYSTEM");
      }
      return;
    case Payload::kDisputeResolved:
      if (!pb::DisputeOutcome_IsValid(e.dispute_resolved().outcome()) ||
          e.dispute_resolved().outcome() == pb::DISPUTE_OUTCOME_UNSPECIFIED) {
        v.Add(at + "dispute_resolved.outcome", "must be a DisputeOutcome other than UNSPECIFIED");
      }
      return;
    case Payload::kClaimDecided:
      if (!pb::Party_IsValid(e.claim_decided().favoured()) ||
          e.claim_decided().favoured() == pb::PARTY_UNSPECIFIED) {
        v.Add(at + "claim_decided.favoured", "must be FAVOURS_BUYER or FAVOURS_SELLER");
      }
      return;
    case Payload::kTicketFirstResponse:
      if (e.ticket_first_response().seconds() < 0) {
        v.Add(at + "ticket_first_response.seconds", "must be >= 0");
      }
      if (!pb::AttributedTo_IsValid(e.ticket_first_response().responder()) ||
          e.ticket_first_response().responder() == pb::ATTRIBUTED_TO_UNSPECIFIED) {
        v.Add(at + "ticket_first_response.responder",
              "must be ATTRIBUTED_SELLER or ATTRIBUTED_OPERATOR");
      }
      return;
    case Payload::kTicketSlaBreached:
      if (!pb::AttributedTo_IsValid(e.ticket_sla_breached().attributed_to()) ||
          e.ticket_sla_breached().attributed_to() == pb::ATTRIBUTED_TO_UNSPECIFIED) {
        v.Add(at + "ticket_sla_breached.attributed_to",
              "must be ATTRIBUTED_SELLER or ATTRIBUTED_OPERATOR");
      }
      return;
    case Payload::kRating:
      if (e.rating().stars() < 1 || e.rating().stars() > 5) {
        v.Add(at + "rating.stars", "must be 1-5");
      }
      if (common::CodePoints(e.rating().comment()) > 2000) {
        v.Add(at + "rating.comment", "must be at most 2000 characters");
      }
      return;
    case Payload::kListingReviewed: {
      const auto& reasons = e.listing_reviewed().reasons();
      if (reasons.size() > 20) v.Add(at + "listing_reviewed.reasons", "must be at most 20");
      for (int i = 0; i < reasons.size() && i < 20; ++i) {
        if (reasons[i].empty() || common::CodePoints(reasons[i]) > 64) {
          v.Add(absl::StrCat(at, "listing_reviewed.reasons[", i, "]"), "must be 1-64 characters");
        }
      }
      return;
    }
    case Payload::kEventExcluded:
    case Payload::kPaymentRefunded:
      if (from_api) {
        v.Add(at + "payload", "event_excluded and payment_refunded are output only");
      }
      return;
    default:
      return;
  }
}

}  // namespace

absl::string_view EventTypeName(Payload payload) {
  switch (payload) {
    case Payload::kOrderPlaced: return "ORDER_PLACED";
    case Payload::kOrderCompleted: return "ORDER_COMPLETED";
    case Payload::kOrderCancelled: return "ORDER_CANCELLED";
    case Payload::kShipmentConfirmed: return "SHIPMENT_CONFIRMED";
    case Payload::kDisputeOpened: return "DISPUTE_OPENED";
    case Payload::kDisputeResolved: return "DISPUTE_RESOLVED";
    case Payload::kClaimFiled: return "CLAIM_FILED";
    case Payload::kClaimDecided: return "CLAIM_DECIDED";
    case Payload::kTicketFirstResponse: return "TICKET_FIRST_RESPONSE";
    case Payload::kTicketSlaBreached: return "TICKET_SLA_BREACHED";
    case Payload::kRating: return "RATING";
    case Payload::kListingReviewed: return "LISTING_REVIEWED";
    case Payload::kEventExcluded: return "EVENT_EXCLUDED";
    case Payload::kPaymentRefunded: return "PAYMENT_REFUNDED";
    case Payload::PAYLOAD_NOT_SET: return "";
  }
  return "";
}

absl::CivilDay DayOf(absl::Time t) { return absl::ToCivilDay(t, absl::UTCTimeZone()); }

void CheckEvent(const pb::SellerEvent& e, absl::string_view prefix, absl::Time now,
                bool from_api, common::Violations& v) {
  const std::string at = prefix.empty() ? "" : absl::StrCat(prefix, ".");
  if (e.event_id().empty()) {
    v.Add(at + "event_id", "is required");
  } else if (!common::idempotency::IsValidRequestId(e.event_id())) {
    v.Add(at + "event_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  } else if (absl::StartsWith(e.event_id(), kExclusionIdPrefix)) {
    v.Add(at + "event_id", "must not start with \"excluded:\" (the exclusions' ids)");
  }
  if (!common::IsAccountId(e.seller_id())) {
    v.Add(at + "seller_id", "must be an account id: 32 lowercase hex digits");
  }
  if (!e.has_occurred_at()) {
    v.Add(at + "occurred_at", "is required");
  } else {
    absl::StatusOr<absl::Time> t = common::FromTimestamp(e.occurred_at(), at + "occurred_at");
    if (!t.ok()) {
      v.Check(t.status());
    } else if (*t > now + kMaxFuture) {
      v.Add(at + "occurred_at", "must be at most 5 minutes in the future");
    } else if (*t < now - kMaxPast) {
      v.Add(at + "occurred_at", "must be at most 400 days in the past");
    }
  }
  const pb::EventLinks& links = e.links();
  const std::pair<const char*, const std::string*> fields[] = {
      {"links.order_id", &links.order_id()},
      {"links.ticket_id", &links.ticket_id()},
      {"links.dispute_id", &links.dispute_id()},
      {"links.listing_id", &links.listing_id()}};
  for (const auto& [name, value] : fields) {
    if (common::CodePoints(*value) > kMaxIdLength)
      v.Add(at + name, "must be at most 128 characters");
  }
  switch (LinkOf(e.payload_case())) {
    case NeededLink::kOrder:
      if (links.order_id().empty()) v.Add(at + "links.order_id", "is required for this event type");
      break;
    case NeededLink::kTicket:
      if (links.ticket_id().empty()) {
        v.Add(at + "links.ticket_id", "is required for this event type");
      }
      break;
    case NeededLink::kListing:
      if (links.listing_id().empty()) {
        v.Add(at + "links.listing_id", "is required for this event type");
      }
      break;
    case NeededLink::kNone:
      break;
  }
  CheckPayload(e, at, from_api, v);
}

absl::StatusOr<EventRecord> MakeRecord(const pb::SellerEvent& event, absl::string_view source) {
  EventRecord r;
  r.event = event;
  r.event.clear_source();
  r.event.clear_excluded();
  std::string bytes;
  if (!r.event.SerializeToString(&bytes)) return absl::InternalError("event does not serialize");
  r.content_hash = common::Sha256(bytes);
  r.event.set_source(std::string(source));
  r.type = std::string(EventTypeName(event.payload_case()));
  absl::StatusOr<absl::Time> t = common::FromTimestamp(event.occurred_at(), "occurred_at");
  if (!t.ok()) return t.status();
  r.occurred_at = *t;
  switch (event.payload_case()) {
    case Payload::kRating:
      r.kpi_mask |= Bit(pb::RATING_AVERAGE);
      if (event.rating().stars() <= 2) r.kpi_mask |= Bit(pb::ORDER_DEFECT_RATE);
      break;
    case Payload::kClaimFiled:
    case Payload::kClaimDecided:
    case Payload::kPaymentRefunded:
      r.kpi_mask |= Bit(pb::ORDER_DEFECT_RATE) | Bit(pb::INCIDENT_RATE);
      break;
    case Payload::kDisputeOpened:
      r.kpi_mask |= Bit(pb::ORDER_DEFECT_RATE) | Bit(pb::DISPUTE_RATE);
      break;
    case Payload::kDisputeResolved:
      if (event.dispute_resolved().outcome() == pb::BUYER_WINS) {
        r.kpi_mask |= Bit(pb::DISPUTE_LOSS_RATE);
      }
      break;
    case Payload::kOrderCancelled:
      if (event.order_cancelled().by() == pb::SELLER_CANCELLED) {
        r.kpi_mask |= Bit(pb::CANCELLATION_RATE);
      }
      break;
    case Payload::kShipmentConfirmed:
      if (event.shipment_confirmed().late()) r.kpi_mask |= Bit(pb::LATE_SHIPMENT_RATE);
      if (!event.shipment_confirmed().valid_tracking()) {
        r.kpi_mask |= Bit(pb::VALID_TRACKING_RATE);
      }
      break;
    case Payload::kTicketFirstResponse:
      if (event.ticket_first_response().responder() == pb::ATTRIBUTED_SELLER &&
          !event.ticket_first_response().within_sla()) {
        r.kpi_mask |= Bit(pb::WITHIN_SLA_RATE);
      }
      break;
    case Payload::kTicketSlaBreached:
      if (event.ticket_sla_breached().attributed_to() == pb::ATTRIBUTED_SELLER) {
        r.kpi_mask |= Bit(pb::WITHIN_SLA_RATE);
      }
      break;
    case Payload::kListingReviewed:
      if (!event.listing_reviewed().approved()) r.kpi_mask |= Bit(pb::LISTING_REJECTION_RATE);
      break;
    default:
      break;
  }
  return r;
}

bool TouchesOrder(const EventRecord& r) {
  switch (r.event.payload_case()) {
    case Payload::kOrderPlaced:
    case Payload::kOrderCancelled:
    case Payload::kDisputeOpened:
    case Payload::kClaimFiled:
    case Payload::kClaimDecided:
    case Payload::kRating:
      return !r.event.links().order_id().empty();
    default:
      return false;
  }
}

namespace {

// (occurred_at, event_id) of `r` is later than the claim event the row follows.
bool LaterClaim(const EventRecord& r, const OrderState& o) {
  if (!o.claim_at.has_value()) return true;
  if (r.occurred_at != *o.claim_at) return r.occurred_at > *o.claim_at;
  return r.event.event_id() > o.claim_event_id;
}

void AddOrderCounters(const OrderState& o, int64_t sign, std::vector<CounterDelta>& out) {
  if (!o.order_day.has_value()) return;
  const absl::CivilDay day = *o.order_day;
  out.push_back({day, std::string(counters::kOrders), sign});
  if (o.defective()) out.push_back({day, std::string(counters::kOdrDefects), sign});
  if (o.claim_counts) out.push_back({day, std::string(counters::kIncidents), sign});
  if (o.disputed) out.push_back({day, std::string(counters::kDisputedOrders), sign});
  if (o.seller_cancelled) {
    out.push_back({day, std::string(counters::kSellerCancellations), sign});
  }
}

}  // namespace

std::vector<CounterDelta> ApplyEvent(const EventRecord& r, OrderState* order) {
  std::vector<CounterDelta> out;
  const pb::SellerEvent& e = r.event;
  const absl::CivilDay day = DayOf(r.occurred_at);
  auto add = [&out, day](absl::string_view counter, int64_t n) {
    out.push_back({day, std::string(counter), n});
  };
  if (TouchesOrder(r) && order != nullptr) {
    const OrderState before = *order;
    OrderState& o = *order;
    bool defect = false;
    switch (e.payload_case()) {
      case Payload::kOrderPlaced:
        if (!o.order_day.has_value() || day < *o.order_day) o.order_day = day;
        break;
      case Payload::kOrderCancelled:
        if (e.order_cancelled().by() == pb::SELLER_CANCELLED) o.seller_cancelled = true;
        break;
      case Payload::kDisputeOpened:
        o.disputed = true;
        defect = true;
        break;
      case Payload::kClaimFiled:
      case Payload::kClaimDecided: {
        const bool counts = e.has_claim_filed()
                                ? e.claim_filed().counts_against_seller()
                                : e.claim_decided().counts_against_seller() &&
                                      e.claim_decided().favoured() != pb::FAVOURS_SELLER;
        if (LaterClaim(r, o)) {
          o.claim_counts = counts;
          o.claim_at = r.occurred_at;
          o.claim_event_id = e.event_id();
        }
        defect = counts;
        break;
      }
      case Payload::kRating:
        if (e.rating().stars() <= 2) {
          o.low_rating = true;
          defect = true;
        }
        break;
      default:
        break;
    }
    if (defect && (!o.first_defect_at.has_value() || r.occurred_at < *o.first_defect_at ||
                   (r.occurred_at == *o.first_defect_at && e.event_id() < o.first_defect_event_id))) {
      o.first_defect_at = r.occurred_at;
      o.first_defect_event_id = e.event_id();
    }
    AddOrderCounters(before, -1, out);
    AddOrderCounters(o, +1, out);
  }
  switch (e.payload_case()) {
    case Payload::kOrderCompleted:
      add(counters::kOrdersCompleted, 1);
      break;
    case Payload::kShipmentConfirmed:
      add(counters::kShipments, 1);
      if (e.shipment_confirmed().late()) add(counters::kLateShipments, 1);
      if (e.shipment_confirmed().valid_tracking()) add(counters::kValidTracking, 1);
      break;
    case Payload::kDisputeResolved:
      add(counters::kDisputesResolved, 1);
      if (e.dispute_resolved().outcome() == pb::BUYER_WINS) add(counters::kDisputesLost, 1);
      break;
    case Payload::kTicketFirstResponse:
      if (e.ticket_first_response().responder() == pb::ATTRIBUTED_SELLER) {
        add(counters::kFirstResponses, 1);
        if (e.ticket_first_response().within_sla()) add(counters::kFirstResponsesWithin, 1);
        add(counters::kFirstResponseSeconds, e.ticket_first_response().seconds());
      }
      break;
    case Payload::kTicketSlaBreached:
      if (e.ticket_sla_breached().attributed_to() == pb::ATTRIBUTED_SELLER) {
        add(counters::kSellerSlaBreaches, 1);
      }
      break;
    case Payload::kRating:
      add(counters::kRatings, 1);
      add(counters::kRatingStars, e.rating().stars());
      break;
    case Payload::kListingReviewed:
      add(counters::kListingReviews, 1);
      if (!e.listing_reviewed().approved()) add(counters::kListingRejections, 1);
      break;
    default:
      break;
  }
  // Net the order counters that came off and went back on the same day.
  std::vector<CounterDelta> net;
  for (CounterDelta& d : out) {
    bool merged = false;
    for (CounterDelta& n : net) {
      if (n.day == d.day && n.counter == d.counter) {
        n.delta += d.delta;
        merged = true;
        break;
      }
    }
    if (!merged) net.push_back(std::move(d));
  }
  std::vector<CounterDelta> result;
  for (CounterDelta& n : net) {
    if (n.delta != 0) result.push_back(std::move(n));
  }
  return result;
}

}  // namespace marketplace::sellerkpi
