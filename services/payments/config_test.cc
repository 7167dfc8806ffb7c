#include "services/payments/config.h"

#include <vector>

#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

absl::Status Parse(std::vector<const char*> args, PaymentsConfig* config) {
  common::Flags flags("payments_server");
  AddFlags(flags, config);
  args.insert(args.begin(), "payments_server");
  return flags.Parse(static_cast<int>(args.size()), args.data(), {});
}

TEST(PaymentsConfigTest, DefaultsAreTheDocumentedOnes) {
  PaymentsConfig c;
  ASSERT_TRUE(Parse({}, &c).ok());
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.default_commission_bps, 1000);
  EXPECT_EQ(c.default_hold_period, absl::Hours(14 * 24));
  EXPECT_EQ(c.events.subscribers, "sellerkpi=127.0.0.1:7005:payments.");
  EXPECT_EQ(c.events.max_refusals, 5);
  EXPECT_EQ(c.release_interval, absl::Seconds(30));
  EXPECT_EQ(c.completion_interval, absl::Seconds(5));
  EXPECT_EQ(c.retry_initial_backoff, absl::Seconds(10));
  EXPECT_EQ(c.retry_max_backoff, absl::Hours(1));
  EXPECT_EQ(c.write_batch_max, 16);
  EXPECT_EQ(c.write_batches_in_flight, 2);
  EXPECT_EQ(c.write_batch_overlap_min, 8);
  const PaymentsOptions options = c.DomainOptions();
  EXPECT_EQ(options.default_commission_bps, 1000);
  EXPECT_EQ(options.write_batch_overlap_min, 8u);
}

TEST(PaymentsConfigTest, IntervalsAndBackoffsBelowOneSecondAreRefused) {
  for (const char* flag : {"--release_interval=500ms", "--completion_interval=0s",
                           "--processor_retry_initial_backoff=100ms"}) {
    PaymentsConfig c;
    EXPECT_EQ(Parse({flag}, &c).code(), absl::StatusCode::kInvalidArgument) << flag;
  }
}

TEST(PaymentsConfigTest, MaxBackoffBelowTheInitialIsRefused) {
  PaymentsConfig c;
  ASSERT_TRUE(
      Parse({"--processor_retry_initial_backoff=1m", "--processor_retry_max_backoff=30s"}, &c)
          .ok());
  EXPECT_EQ(c.Validate().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::payments
