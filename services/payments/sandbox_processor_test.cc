#include "services/payments/sandbox_processor.h"

#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

common::Money Eur(int64_t minor) { return *common::Money::Of("EUR", minor); }

TEST(SandboxProcessorTest, EachTestTokenGivesItsOutcome) {
  SandboxProcessor processor;
  auto ok = processor.Authorize("k1", "tok_sandbox_success", Eur(100));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->accepted);
  EXPECT_EQ(ok->reference.rfind("sbx_auth_", 0), 0u) << ok->reference;

  auto declined = processor.Authorize("k2", "tok_sandbox_decline", Eur(100));
  ASSERT_TRUE(declined.ok());
  EXPECT_FALSE(declined->accepted);
  EXPECT_EQ(declined->decline, DeclineCode::kDeclined);

  auto poor = processor.Authorize("k3", "tok_sandbox_insufficient_funds", Eur(100));
  ASSERT_TRUE(poor.ok());
  EXPECT_EQ(poor->decline, DeclineCode::kInsufficientFunds);

  EXPECT_EQ(processor.Authorize("k4", "tok_sandbox_processor_error", Eur(1)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(processor.Authorize("k5", "tok_sandbox_timeout", Eur(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  auto unknown = processor.Authorize("k6", "4111111111111111", Eur(1));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->decline, DeclineCode::kInvalidPaymentMethod);
}

TEST(SandboxProcessorTest, ReferencesAreStablePerIdempotencyKey) {
  SandboxProcessor processor;
  auto a = processor.Capture("order-1", "auth", Eur(5));
  auto b = processor.Capture("order-1", "auth", Eur(5));
  auto c = processor.Capture("order-2", "auth", Eur(5));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->reference, b->reference);
  EXPECT_NE(a->reference, c->reference);
  EXPECT_NE(processor.Refund("order-1", "cap", Eur(5))->reference, a->reference);
  EXPECT_TRUE(processor.Payout("payout-1", "acct", Eur(5))->accepted);
  EXPECT_EQ(processor.Refund("", "cap", Eur(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::payments
