#include "services/sellerkpi/payments_events.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protos/marketplace/payments/v1/payments.pb.h"

namespace marketplace::sellerkpi {
namespace {

namespace pay = ::marketplace::payments::v1;
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

template <typename Payload>
v1::SellerEvent Base(const Event& event, const Payload& p) {
  v1::SellerEvent e;
  e.set_event_id(event.event_id());
  e.set_seller_id(p.seller_id());
  *e.mutable_occurred_at() = event.occurred_at();
  e.mutable_links()->set_order_id(p.order_id());
  e.mutable_links()->set_dispute_id(p.payment_id());
  return e;
}

v1::DisputeOutcome OutcomeOf(pay::DisputeOutcome outcome) {
  switch (outcome) {
    case pay::BUYER_WINS: return v1::BUYER_WINS;
    case pay::SELLER_WINS: return v1::SELLER_WINS;
    case pay::SPLIT: return v1::SPLIT;
    case pay::PLATFORM_GUARANTEE: return v1::PLATFORM_GUARANTEE;
    default: return v1::DISPUTE_OUTCOME_UNSPECIFIED;
  }
}

}  // namespace

absl::StatusOr<v1::SellerEvent> FromPaymentsEvent(const Event& event) {
  const std::string& topic = event.topic();
  if (topic == kPaymentHeldTopic) {
    absl::StatusOr<pay::PaymentHeld> p = Unpack<pay::PaymentHeld>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, *p);
    e.mutable_order_placed();
    return e;
  }
  if (topic == kDisputeOpenedTopic) {
    absl::StatusOr<pay::DisputeOpened> p = Unpack<pay::DisputeOpened>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, *p);
    e.mutable_dispute_opened();
    return e;
  }
  if (topic == kDisputeResolvedTopic) {
    absl::StatusOr<pay::DisputeResolved> p = Unpack<pay::DisputeResolved>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, *p);
    e.mutable_dispute_resolved()->set_outcome(OutcomeOf(p->outcome()));
    return e;
  }
  if (topic == kPaymentRefundedTopic) {
    absl::StatusOr<pay::PaymentRefunded> p = Unpack<pay::PaymentRefunded>(event);
    if (!p.ok()) return p.status();
    v1::SellerEvent e = Base(event, *p);
    v1::PaymentRefunded* r = e.mutable_payment_refunded();
    r->set_payment_id(p->payment_id());
    r->set_amount_minor(p->amount().amount_minor());
    r->set_currency_code(p->amount().currency_code());
    r->set_full(p->full());
    r->set_reason(p->reason());
    return e;
  }
  return absl::InvalidArgumentError(absl::StrCat("event.topic: ", topic, " is not consumed"));
}

void AddPaymentsConsumer(common::events::EventConsumer& consumer, Ingestion* ingestion) {
  for (const char* topic : {kPaymentHeldTopic, kDisputeOpenedTopic, kDisputeResolvedTopic,
                            kPaymentRefundedTopic}) {
    consumer.On(topic, {.prepare = [ingestion](const Event& event) -> absl::Status {
                  absl::StatusOr<v1::SellerEvent> mapped = FromPaymentsEvent(event);
                  if (!mapped.ok()) return mapped.status();
                  return ingestion->Record({*mapped}, "payments", /*from_api=*/false).status();
                }});
  }
}

}  // namespace marketplace::sellerkpi
