#include "services/support/paid_order_events.h"

#include "common/proto_time.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/support/mysql_ticket_store.h"

namespace marketplace::support {

void AddPaidOrderConsumer(common::events::EventConsumer& consumer) {
  consumer.On(
      "payments.payment_held",
      {.apply = [](common::db::Transaction& tx,
                   const marketplace::events::v1::Event& event) -> absl::Status {
        marketplace::payments::v1::PaymentHeld held;
        if (!event.payload().UnpackTo(&held) || held.payment_id().empty() ||
            held.buyer_id().empty()) {
          return absl::InvalidArgumentError(
              "event.payload: must be a marketplace.payments.v1.PaymentHeld");
        }
        absl::Time at = absl::Now();
        if (event.has_occurred_at()) {
          absl::StatusOr<absl::Time> t = common::FromTimestamp(event.occurred_at(), "occurred_at");
          if (t.ok()) at = *t;
        }
        return MySqlTicketStore::RecordPaidOrder(tx, held.payment_id(), held.buyer_id(),
                                                 held.order_id(), at);
      }});
}

}  // namespace marketplace::support
