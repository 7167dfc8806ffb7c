#include "services/catalog/paid_order_events.h"

#include <string>

#include "common/proto_time.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/catalog/listing_record.h"
#include "services/catalog/reports.h"

namespace marketplace::catalog {

void AddPaidOrderConsumer(common::events::EventConsumer& consumer, ListingStore* store) {
  consumer.On(kPaymentHeldTopic,
              {.prepare = [store](const marketplace::events::v1::Event& event) -> absl::Status {
                marketplace::payments::v1::PaymentHeld payload;
                if (!event.payload().UnpackTo(&payload)) {
                  return absl::InvalidArgumentError(
                      "event.payload: must be a marketplace.payments.v1.PaymentHeld");
                }
                absl::StatusOr<absl::Time> at =
                    common::FromTimestamp(event.occurred_at(), "event.occurred_at");
                if (!at.ok()) return at.status();
                PaidOrder order{.buyer_id = payload.buyer_id(),
                                .payment_id = payload.payment_id(),
                                .order_id = payload.order_id(),
                                .event_id = event.event_id(),
                                .paid_at = *at};
                return RecordPaidOrder(store, order, "event.payload.").status();
              }});
}

}  // namespace marketplace::catalog
