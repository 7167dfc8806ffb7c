#include "services/payments/events.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/payments/convert.h"

namespace marketplace::payments {
namespace {

namespace pb = ::marketplace::payments::v1;

absl::StatusOr<OutboxEvent> Event(absl::string_view topic, const PaymentRecord& p,
                                  const google::protobuf::Message& payload) {
  OutboxEvent event{std::string(topic), p.money.seller_id, {}};
  if (!event.payload.PackFrom(payload)) {
    return absl::InvalidArgumentError(absl::StrCat("event ", topic, ": cannot be serialized"));
  }
  return event;
}

// The ids every payment event carries about the deal.
template <typename Event>
void SetDeal(const PaymentRecord& p, Event& event) {
  event.set_payment_id(p.money.id);
  event.set_order_id(p.order_id);
  event.set_buyer_id(p.buyer_id);
  event.set_seller_id(p.money.seller_id);
}

}  // namespace

absl::StatusOr<OutboxEvent> PaymentHeldEvent(const PaymentRecord& p) {
  pb::PaymentHeld event;
  SetDeal(p, event);
  *event.mutable_amount() =
      MoneyProto(p.money.amount.currency_code(), p.money.amount.amount_minor());
  common::ToTimestamp(p.release_due_at, event.mutable_release_due_at());
  return Event("payments.payment_held", p, event);
}

absl::StatusOr<OutboxEvent> PaymentReleasedEvent(const PaymentRecord& p, bool automatic) {
  const std::string& currency = p.money.amount.currency_code();
  pb::PaymentReleased event;
  event.set_payment_id(p.money.id);
  event.set_order_id(p.order_id);
  event.set_seller_id(p.money.seller_id);
  *event.mutable_seller_net() = MoneyProto(currency, p.money.seller_net_minor);
  *event.mutable_commission() = MoneyProto(currency, p.money.commission_minor);
  event.set_automatic(automatic);
  return Event("payments.payment_released", p, event);
}

absl::StatusOr<OutboxEvent> PaymentRefundedEvent(const PaymentRecord& p,
                                                 const ProcessorOperation& refund,
                                                 absl::string_view reason) {
  pb::PaymentRefunded event;
  SetDeal(p, event);
  const std::string& currency = p.money.amount.currency_code();
  *event.mutable_amount() = MoneyProto(currency, refund.amount_minor);
  event.set_full(p.money.refunded_minor == p.money.amount.amount_minor());
  event.set_reason(std::string(reason));
  event.set_refund_id(refund.operation_id);
  event.set_funded_by(refund.funded_by == "GUARANTEE_FUND" ? pb::GUARANTEE_FUND
                                                           : pb::SELLER_BALANCE);
  *event.mutable_paid_by_seller() = MoneyProto(currency, refund.paid_by_seller_minor);
  *event.mutable_paid_by_guarantee_fund() = MoneyProto(currency, refund.paid_by_guarantee_minor);
  event.set_on_behalf_of_seller(refund.on_behalf_of_seller);
  return Event("payments.payment_refunded", p, event);
}

absl::StatusOr<OutboxEvent> DisputeOpenedEvent(const PaymentRecord& p,
                                               absl::string_view reason_code) {
  pb::DisputeOpened event;
  SetDeal(p, event);
  event.set_reason_code(std::string(reason_code));
  return Event("payments.dispute_opened", p, event);
}

absl::StatusOr<OutboxEvent> DisputeResolvedEvent(const PaymentRecord& p, DisputeOutcome outcome,
                                                 int64_t buyer_refund_minor) {
  pb::DisputeResolved event;
  SetDeal(p, event);
  event.set_outcome(ToProtoOutcome(outcome));
  *event.mutable_buyer_refund() = MoneyProto(p.money.amount.currency_code(), buyer_refund_minor);
  return Event("payments.dispute_resolved", p, event);
}

}  // namespace marketplace::payments
