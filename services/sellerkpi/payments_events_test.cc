#include "services/sellerkpi/payments_events.h"

#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.pb.h"

namespace marketplace::sellerkpi {
namespace {

namespace pay = ::marketplace::payments::v1;
using ::marketplace::events::v1::Event;

template <typename Payload>
Event Of(const std::string& topic, const Payload& payload) {
  Event e;
  e.set_event_id("evt_0123456789abcdef01234567");
  e.set_topic(topic);
  e.set_source("payments");
  *e.mutable_occurred_at() = common::ToTimestamp(absl::FromUnixSeconds(1'800'000'000));
  e.mutable_payload()->PackFrom(payload);
  return e;
}

template <typename Payload>
Payload Deal() {
  Payload p;
  p.set_payment_id("pay_0123456789abcdef01234567");
  p.set_order_id("order 42/β");  // payments passes any 1-128 characters through
  p.set_seller_id("0123456789abcdef0123456789abcdef");
  return p;
}

TEST(PaymentsEventsTest, EachTopicBecomesItsSellerEvent) {
  auto held = FromPaymentsEvent(Of(kPaymentHeldTopic, Deal<pay::PaymentHeld>()));
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_TRUE(held->has_order_placed());
  EXPECT_EQ(held->event_id(), "evt_0123456789abcdef01234567");
  EXPECT_EQ(held->seller_id(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(held->links().order_id(), "order 42/β");
  EXPECT_EQ(held->links().dispute_id(), "pay_0123456789abcdef01234567");
  EXPECT_EQ(common::FromTimestamp(held->occurred_at(), "t").value(),
            absl::FromUnixSeconds(1'800'000'000));

  EXPECT_TRUE(FromPaymentsEvent(Of(kDisputeOpenedTopic, Deal<pay::DisputeOpened>()))
                  ->has_dispute_opened());
  pay::DisputeResolved resolved = Deal<pay::DisputeResolved>();
  resolved.set_outcome(pay::BUYER_WINS);
  auto r = FromPaymentsEvent(Of(kDisputeResolvedTopic, resolved));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dispute_resolved().outcome(), v1::BUYER_WINS);
  pay::PaymentRefunded refunded = Deal<pay::PaymentRefunded>();
  refunded.mutable_amount()->set_currency_code("EUR");
  refunded.mutable_amount()->set_amount_minor(1234);
  refunded.set_full(true);
  auto f = FromPaymentsEvent(Of(kPaymentRefundedTopic, refunded));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->payment_refunded().amount_minor(), 1234);
  EXPECT_EQ(f->payment_refunded().currency_code(), "EUR");
  EXPECT_TRUE(f->payment_refunded().full());
}

TEST(PaymentsEventsTest, AnotherPayloadIsRefused) {
  auto wrong = FromPaymentsEvent(Of(kPaymentHeldTopic, Deal<pay::DisputeOpened>()));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  auto unknown = FromPaymentsEvent(Of("payments.payment_released", Deal<pay::PaymentHeld>()));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::sellerkpi
