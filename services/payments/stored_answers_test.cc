#include "services/payments/stored_answers.h"

#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

// A retry gets the first answer back: what is decoded must encode to the same bytes, since
// the API layer converts a fresh record and a decoded one alike.
TEST(StoredAnswersTest, APaymentSurvivesTheRoundTrip) {
  PaymentRecord p;
  p.money.id = "pay_1";
  p.money.seller_id = "5e11e700000000000000000000000001";
  p.money.amount = common::Money::Of("EUR", 12345).value();
  p.money.commission_bps = 750;
  p.money.state = PaymentState::kRefunded;
  p.money.refunded_minor = 345;
  p.money.commission_minor = 900;
  p.money.seller_net_minor = 11100;
  p.money.guarantee_minor = 7;
  p.order_id = "order-1";
  p.buyer_id = "b0b0b000000000000000000000000001";
  p.processor_reference = "cap_1";
  p.created_at = absl::FromUnixMicros(1800000000123456);
  p.release_due_at = p.created_at + absl::Hours(24);
  p.released_at = p.created_at + absl::Hours(1);
  const std::string bytes = EncodePaymentAnswer(p);
  absl::StatusOr<PaymentRecord> decoded = DecodePaymentAnswer(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(EncodePaymentAnswer(*decoded), bytes);
  EXPECT_EQ(decoded->money.id, "pay_1");
  EXPECT_EQ(decoded->money.state, PaymentState::kRefunded);
  EXPECT_EQ(decoded->released_at, p.released_at);

  p.released_at.reset();
  absl::StatusOr<PaymentRecord> held = DecodePaymentAnswer(EncodePaymentAnswer(p));
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->released_at.has_value());
}

TEST(StoredAnswersTest, APayoutIsStoredAsAnsweredBeforeTheProcessor) {
  PayoutRecord p{"po_1",   "5e11e700000000000000000000000001", "EUR", 500,
                 "acct-x", "PENDING",  "",    absl::FromUnixSeconds(1800000000)};
  absl::StatusOr<PayoutRecord> decoded = DecodePayoutAnswer(EncodePayoutAnswer(p));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->payout_id, "po_1");
  EXPECT_EQ(decoded->amount_minor, 500);
  EXPECT_EQ(decoded->created_at, p.created_at);
  EXPECT_EQ(decoded->state, "");  // no state before the processor answered
}

TEST(StoredAnswersTest, BytesThatAreNotAnAnswerAreInternal) {
  EXPECT_EQ(DecodePaymentAnswer("\xff\xff not a message").status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace marketplace::payments
