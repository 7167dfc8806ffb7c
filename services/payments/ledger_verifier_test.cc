#include "services/payments/ledger_verifier.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/payments/ledger_audit.h"
#include "services/payments/metrics.h"
#include "services/payments/mysql_payment_store.h"

namespace marketplace::payments {
namespace {

double GaugeValue(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].gauge.value;
  }
  return -1;
}

// One replica: its own store and metrics, on the shared database.
struct Replica {
  Replica(common::db::ConnectionPool* pool, const common::Clock* clock, const std::string& name)
      : store(pool, clock),
        metrics(registry),
        audit(&store, &metrics),
        verifier(&store, &audit, &metrics, clock,
                 {.interval = absl::Hours(1), .tick = absl::Seconds(1), .replica = name}) {}
  MySqlPaymentStore store;
  prometheus::Registry registry;
  PaymentsMetrics metrics;
  LedgerAudit audit;
  LedgerVerifier verifier;
};

class LedgerVerifierTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
  }
  common::ManualClock clock_;
};

TEST_F(LedgerVerifierTest, OneReplicaVerifiesPerIntervalAndEveryReplicaExportsTheResult) {
  Replica a(&pool(), &clock_, "a");
  Replica b(&pool(), &clock_, "b");
  EXPECT_EQ(GaugeValue(a.registry, "payments_ledger_verification_ok"), -1);  // before any run
  int ran_a = 0, ran_b = 0;
  for (int round = 0; round < 6; ++round) {
    // Both replicas tick at once, twice per interval: one run per interval.
    for (int tick = 0; tick < 2; ++tick) {
      std::atomic<int> ran{0};
      std::thread ta([&] {
        absl::StatusOr<bool> r = a.verifier.RunOnce();
        EXPECT_OK(r.status());
        if (r.ok() && *r) ++ran, ++ran_a;
      });
      std::thread tb([&] {
        absl::StatusOr<bool> r = b.verifier.RunOnce();
        EXPECT_OK(r.status());
        if (r.ok() && *r) ++ran, ++ran_b;
      });
      ta.join();
      tb.join();
      EXPECT_EQ(ran.load(), tick == 0 ? 1 : 0) << "round " << round << " tick " << tick;
      clock_.Advance(absl::Minutes(30));
    }
  }
  EXPECT_EQ(ran_a + ran_b, 6);
  // Whichever ran, both export the last result.
  EXPECT_OK(a.verifier.RunOnce().status());
  EXPECT_OK(b.verifier.RunOnce().status());
  EXPECT_EQ(GaugeValue(a.registry, "payments_ledger_verification_ok"), 1);
  EXPECT_EQ(GaugeValue(b.registry, "payments_ledger_verification_ok"), 1);
  EXPECT_GT(GaugeValue(b.registry, "payments_ledger_verification_last_run_timestamp_seconds"), 0);
}

TEST_F(LedgerVerifierTest, AViolationTurnsTheGaugeToZeroOnEveryReplica) {
  Replica a(&pool(), &clock_, "a");
  Replica b(&pool(), &clock_, "b");
  ASSERT_OK_AND_ASSIGN(bool ran, a.verifier.RunOnce());
  ASSERT_TRUE(ran);
  EXPECT_EQ(GaugeValue(a.registry, "payments_ledger_verification_ok"), 1);
  // A balance row the ledger's entries do not explain (as a bad manual fix would leave).
  ASSERT_OK(pool()
                .Execute("INSERT INTO seller_accounts (seller_id, currency, escrow_minor, "
                         "updated_at) VALUES ('5e11e700000000000000000000000001', 'EUR', 500, "
                         "UTC_TIMESTAMP(6))")
                .status());
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(bool ran_b, b.verifier.RunOnce());
  ASSERT_TRUE(ran_b);
  EXPECT_EQ(GaugeValue(b.registry, "payments_ledger_verification_ok"), 0);
  // Replica a did not run it, and exports it all the same.
  ASSERT_OK_AND_ASSIGN(bool ran_again, a.verifier.RunOnce());
  EXPECT_FALSE(ran_again);
  EXPECT_EQ(GaugeValue(a.registry, "payments_ledger_verification_ok"), 0);
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerVerificationRecord> last,
                       a.store.LastLedgerVerification());
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->ok);
  EXPECT_EQ(last->ran_by, "b");
  EXPECT_NE(last->detail.find("balances differ"), std::string::npos) << last->detail;
}

TEST_F(LedgerVerifierTest, ARunLeftByADeadReplicaIsTakenAfterItsLease) {
  Replica a(&pool(), &clock_, "a");
  Replica b(&pool(), &clock_, "b");
  // a claims and dies before recording (its lease of 10 minutes stands).
  ASSERT_OK_AND_ASSIGN(bool claimed, a.store.ClaimLedgerVerification(
                                         clock_.Now(), clock_.Now() + absl::Minutes(10), "a"));
  ASSERT_TRUE(claimed);
  ASSERT_OK_AND_ASSIGN(bool ran, b.verifier.RunOnce());
  EXPECT_FALSE(ran);
  clock_.Advance(absl::Minutes(10));
  ASSERT_OK_AND_ASSIGN(ran, b.verifier.RunOnce());
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace marketplace::payments
