#include "services/payments/release_worker.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/payments/mysql_payment_store.h"
#include "tests/payments/payments_harness.h"
#include "services/payments/sandbox_processor.h"
#include "common/identity_client/fake_seller_directory.h"

namespace marketplace::payments {
namespace {

using testing::TestPayments;

class ReleaseWorkerTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    sellers_.Set("5e11e700000000000000000000000001", true);
    service_ = std::make_unique<TestPayments>(&pool(), &processor_, &sellers_, &clock_);
  }

  void Create(int n) {
    for (int i = 0; i < n; ++i) {
      pb::CreatePaymentRequest req;
      req.set_request_id(absl::StrCat("c", i));
      req.set_order_id(absl::StrCat("o", i));
      req.set_buyer_id("b0b0b000000000000000000000000001");
      req.set_seller_id("5e11e700000000000000000000000001");
      req.mutable_amount()->set_currency_code("EUR");
      req.mutable_amount()->set_amount_minor(1000);
      req.set_payment_method_token("tok_sandbox_success");
      ASSERT_OK(service_->CreatePayment(Actor{"svc", true, false, false, true}, req).status());
    }
  }

  double Metric(prometheus::Registry& registry, const std::string& name) {
    for (const auto& family : registry.Collect()) {
      if (family.name == name && !family.metric.empty()) return family.metric[0].counter.value;
    }
    return -1;
  }

  common::ManualClock clock_;
  SandboxProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
  std::unique_ptr<TestPayments> service_;
};

TEST_F(ReleaseWorkerTest, PassReleasesEveryDuePaymentInBatchesAndCountsThem) {
  Create(7);
  prometheus::Registry registry;
  ReleaseWorker worker(&service_->domain(), registry, {.batch_size = 3});
  ASSERT_OK_AND_ASSIGN(int none, worker.RunOnce());
  EXPECT_EQ(none, 0);
  clock_.Advance(absl::Hours(14 * 24 + 1));
  ASSERT_OK_AND_ASSIGN(int released, worker.RunOnce());
  EXPECT_EQ(released, 7);
  EXPECT_EQ(Metric(registry, "payments_auto_released_total"), 7);
  auto rows = pool().Query("SELECT COUNT(*) AS n FROM payments WHERE state = 'RELEASED'");
  ASSERT_OK(rows.status());
  EXPECT_EQ(*(*rows)[0].GetInt64("n"), 7);
}

TEST_F(ReleaseWorkerTest, PassPurgesIdempotencyKeysOlderThanADay) {
  Create(2);
  clock_.Advance(absl::Hours(25));
  prometheus::Registry registry;
  ReleaseWorker worker(&service_->domain(), registry);
  ASSERT_OK(worker.RunOnce().status());
  auto rows = pool().Query("SELECT COUNT(*) AS n FROM idempotency_keys");
  ASSERT_OK(rows.status());
  EXPECT_EQ(*(*rows)[0].GetInt64("n"), 0);
}

// One payment whose release fails (its seller's escrow row no longer holds it) must not stop
// the release of the others, nor the purge: it is skipped, counted, and retried with backoff
// rather than failing first on every pass.
TEST_F(ReleaseWorkerTest, AFailingPaymentIsSkippedWithBackoffAndTheRestProceed) {
  sellers_.Set("5e11e700000000000000000000000002", true);
  pb::CreatePaymentRequest bad;
  bad.set_request_id("bad");
  bad.set_order_id("o-bad");
  bad.set_buyer_id("b0b0b000000000000000000000000001");
  bad.set_seller_id("5e11e700000000000000000000000002");
  bad.mutable_amount()->set_currency_code("EUR");
  bad.mutable_amount()->set_amount_minor(1000);
  bad.set_payment_method_token("tok_sandbox_success");
  ASSERT_OK(service_->CreatePayment(Actor{"svc", true, false, false, true}, bad).status());
  clock_.Advance(absl::Seconds(1));  // the bad one is the oldest: first in every round
  Create(5);
  // The bad payment's seller row lost its escrow: releasing it breaks the row's bound.
  ASSERT_OK(pool()
                .Execute("UPDATE seller_accounts SET escrow_minor = 0 WHERE seller_id = "
                         "'5e11e700000000000000000000000002'")
                .status());
  clock_.Advance(absl::Hours(14 * 24 + 1));
  prometheus::Registry registry;
  ReleaseWorker worker(&service_->domain(), registry, {.batch_size = 2});
  ASSERT_OK_AND_ASSIGN(int released, worker.RunOnce());
  EXPECT_EQ(released, 5);
  EXPECT_EQ(Metric(registry, "payments_auto_released_total"), 5);
  EXPECT_EQ(Metric(registry, "payments_release_failures_total"), 1);
  auto held = pool().Query("SELECT COUNT(*) AS n FROM payments WHERE state = 'HELD'");
  ASSERT_OK(held.status());
  EXPECT_EQ(*(*held)[0].GetInt64("n"), 1);
  // The purge ran in the same pass.
  auto keys = pool().Query("SELECT COUNT(*) AS n FROM idempotency_keys");
  ASSERT_OK(keys.status());
  EXPECT_EQ(*(*keys)[0].GetInt64("n"), 0);
  // Backoff: the next pass does not try it again at once; after the backoff it does.
  ASSERT_OK(worker.RunOnce().status());
  EXPECT_EQ(Metric(registry, "payments_release_failures_total"), 1);
  clock_.Advance(absl::Seconds(11));
  ASSERT_OK(worker.RunOnce().status());
  EXPECT_EQ(Metric(registry, "payments_release_failures_total"), 2);
  clock_.Advance(absl::Seconds(11));  // now 20 s
  ASSERT_OK(worker.RunOnce().status());
  EXPECT_EQ(Metric(registry, "payments_release_failures_total"), 2);
}

// CreatePayment intents closed (COMMITTED here) more than the retention ago are purged with
// their outcomes by the same pass; an intent still open, however old, stays (the completion
// worker must still close it), and so does one closed within the retention.
TEST_F(ReleaseWorkerTest, PassPurgesResolvedIntentsPastTheirRetentionOnly) {
  Create(2);
  PaymentIntent open;
  open.intent_id = "int_0123456789abcdef0123456789abcdef";
  open.caller = "svc";
  open.method = "CreatePayment";
  open.request_id = "open";
  open.request_hash = std::string(32, 'h');
  open.payment_id = "pay_open";
  open.order_id = "o-open";
  open.buyer_id = "b0b0b000000000000000000000000001";
  open.seller_id = "5e11e700000000000000000000000001";
  open.currency = "EUR";
  open.amount_minor = 500;
  open.created_at = clock_.Now();
  std::vector<absl::StatusOr<PaymentIntent>> begun = service_->store().BeginIntents({open});
  ASSERT_EQ(begun.size(), 1u);
  ASSERT_OK(begun[0].status());
  clock_.Advance(absl::Hours(29 * 24));
  pb::CreatePaymentRequest late;
  late.set_request_id("late");
  late.set_order_id("o-late");
  late.set_buyer_id("b0b0b000000000000000000000000001");
  late.set_seller_id("5e11e700000000000000000000000001");
  late.mutable_amount()->set_currency_code("EUR");
  late.mutable_amount()->set_amount_minor(700);
  late.set_payment_method_token("tok_sandbox_success");
  ASSERT_OK(service_->CreatePayment(Actor{"svc", true, false, false, true}, late).status());
  auto count = [&](const std::string& sql) -> int64_t {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  };
  ASSERT_EQ(count("SELECT COUNT(*) AS n FROM payment_intents"), 4);
  ASSERT_EQ(count("SELECT COUNT(*) AS n FROM payment_intent_outcomes"), 3);

  clock_.Advance(absl::Hours(2 * 24));  // the first two closed 31 days ago, "late" 2 days ago
  prometheus::Registry registry;
  ReleaseWorker worker(&service_->domain(), registry,
                       {.resolved_intent_retention = absl::Hours(30 * 24)});
  ASSERT_OK(worker.RunOnce().status());
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_intents WHERE request_id IN ('c0', 'c1')"),
            0);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_intent_outcomes"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_intents WHERE request_id = 'late'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payment_intents WHERE intent_id = "
                  "'int_0123456789abcdef0123456789abcdef'"),
            1);
  // The payments themselves are not touched.
  EXPECT_EQ(count("SELECT COUNT(*) AS n FROM payments"), 3);
}

// The purge goes on batch after batch until nothing closed before the cutoff is left.
TEST_F(ReleaseWorkerTest, ResolvedIntentPurgeRunsInBatches) {
  Create(3);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(int64_t purged,
                       service_->domain().PurgeResolvedIntents(absl::Hours(1), /*batch_size=*/1));
  EXPECT_EQ(purged, 3);
  auto rows = pool().Query("SELECT COUNT(*) AS n FROM payment_intents");
  ASSERT_OK(rows.status());
  EXPECT_EQ(*(*rows)[0].GetInt64("n"), 0);
}

TEST_F(ReleaseWorkerTest, BackgroundThreadReleasesAndStops) {
  Create(3);
  clock_.Advance(absl::Hours(15 * 24));
  prometheus::Registry registry;
  ReleaseWorker worker(&service_->domain(), registry, {.interval = absl::Milliseconds(20)});
  worker.Start();
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (Metric(registry, "payments_auto_released_total") < 3 && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  worker.Stop();
  EXPECT_EQ(Metric(registry, "payments_auto_released_total"), 3);
}

}  // namespace
}  // namespace marketplace::payments
