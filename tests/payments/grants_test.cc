// provision_db.sh on a real MariaDB: the service's user can run every payments operation but
// cannot UPDATE or DELETE the journal tables.
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "absl/time/clock.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "common/events/revocations.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/payments/payments_harness.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/sandbox_processor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "tests/support/subprocess.h"

namespace marketplace::payments {
namespace {

using testing::TestPayments;

common::v1::Money Eur(int64_t minor) {
  common::v1::Money m;
  m.set_currency_code("EUR");
  m.set_amount_minor(minor);
  return m;
}

class GrantsTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    // The owner applies the migrations; the stack gave the user database-wide rights first.
    ASSERT_OK(ApplyPaymentsMigrations(pool()));
    ASSERT_OK(common::events::ApplyRevocationMigrations(pool()));  // as payments_server does
    user_ = absl::StrCat("pay_", database_name().substr(database_name().size() - 8));
    for (char& c : user_) {
      if (!isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    ASSERT_OK(server().AdminExecute(
        absl::StrCat("CREATE USER IF NOT EXISTS '", user_, "'@'127.0.0.1' IDENTIFIED BY 'pw'")));
    ASSERT_OK(server().AdminExecute(absl::StrCat("GRANT ALL PRIVILEGES ON `", database_name(),
                                                 "`.* TO '", user_, "'@'127.0.0.1'")));
    setenv("MP_MYSQL",
           absl::StrCat("mariadb --no-defaults -uroot -h127.0.0.1 -P", server().port(),
                        " --protocol=tcp")
               .c_str(),
           1);
    setenv("MP_DB_NAME", database_name().c_str(), 1);
    setenv("MP_DB_USER", user_.c_str(), 1);
    auto script = marketplace::testing::Subprocess::Start(
        "/bin/bash",
        {marketplace::testing::RunfilePath("services/payments/provision_db.sh"), "payments"});
    ASSERT_OK(script.status());
    std::optional<int> code = script->WaitFor(absl::Seconds(60));
    ASSERT_EQ(code, 0) << script->Output();
    common::db::DbOptions options = db_options();
    options.user = user_;
    options.password = "pw";
    ASSERT_OK_AND_ASSIGN(user_pool_, common::db::ConnectionPool::Create(options));
  }
  void TearDown() override {
    user_pool_.reset();
    (void)server().AdminExecute(absl::StrCat("DROP USER IF EXISTS '", user_, "'@'127.0.0.1'"));
    DatabaseTest::TearDown();
  }

  std::string user_;
  std::unique_ptr<common::db::ConnectionPool> user_pool_;
};

TEST_F(GrantsTest, ServiceUserRunsEveryOperation) {
  ASSERT_OK(ApplyPaymentsMigrations(*user_pool_));  // nothing pending: start-up works
  ASSERT_OK(common::events::ApplyRevocationMigrations(*user_pool_));
  // The revocation consumer's writes and every replica's refresh.
  ASSERT_OK(common::db::RunInTransaction(*user_pool_, [](common::db::Transaction& tx) {
    return common::events::RecordRevocation(tx, "acct-1", absl::Now());
  }));
  common::events::RevocationView revocations(user_pool_.get());
  ASSERT_OK(revocations.Refresh());
  EXPECT_EQ(revocations.list().size(), 1u);
  SandboxProcessor processor;
  common::identity_client::FakeSellerDirectory sellers;
  sellers.Set("5e11e700000000000000000000000001", true);
  common::ManualClock clock;
  TestPayments service(user_pool_.get(), &processor, &sellers, &clock);
  Actor checkout{"svc", true, false, false, true};
  std::string ids[3];
  for (int i = 0; i < 3; ++i) {
    pb::CreatePaymentRequest req;
    req.set_request_id(absl::StrCat("c", i));
    req.set_order_id(absl::StrCat("o", i));
    req.set_buyer_id("b0b0b000000000000000000000000001");
    req.set_seller_id("5e11e700000000000000000000000001");
    *req.mutable_amount() = Eur(10000);
    req.set_payment_method_token("tok_sandbox_success");
    ASSERT_OK_AND_ASSIGN(pb::Payment p, service.CreatePayment(checkout, req));
    ids[i] = p.payment_id();
  }
  pb::ConfirmDeliveryRequest confirm;
  confirm.set_request_id("d");
  confirm.set_payment_id(ids[0]);
  ASSERT_OK(service.ConfirmDelivery(checkout, confirm).status());
  pb::RefundPaymentRequest refund;
  refund.set_request_id("r");
  refund.set_payment_id(ids[0]);
  *refund.mutable_amount() = Eur(100);
  refund.set_reason("x");
  ASSERT_OK(service.RefundPayment(checkout, refund).status());
  pb::OpenDisputeRequest open;
  open.set_request_id("o");
  open.set_payment_id(ids[1]);
  open.set_reason_code("OTHER");
  open.set_description("x");
  ASSERT_OK(service.OpenDispute(checkout, open).status());
  pb::ResolveDisputeRequest resolve;
  resolve.set_request_id("s");
  resolve.set_payment_id(ids[1]);
  resolve.set_outcome(pb::PLATFORM_GUARANTEE);
  resolve.set_explanation("lost parcel");
  ASSERT_OK(service.ResolveDispute(checkout, resolve).status());
  pb::CreatePayoutRequest payout;
  payout.set_request_id("p");
  payout.set_seller_id("5e11e700000000000000000000000001");
  *payout.mutable_amount() = Eur(1000);
  ASSERT_OK(service.CreatePayout(Actor{"admin", true, false, false, false}, payout).status());
  pb::SetSellerHoldPolicyRequest policy;
  policy.set_seller_id("5e11e700000000000000000000000001");
  policy.mutable_hold_period()->set_seconds(3600);
  policy.set_reason("x");
  ASSERT_OK(service.SetSellerHoldPolicy(checkout, policy).status());
  clock.Advance(absl::Hours(15 * 24));
  ASSERT_OK_AND_ASSIGN(int released, service.ReleaseDuePayments());
  EXPECT_EQ(released, 1);
  ASSERT_OK(service.PurgeIdempotencyKeys().status());
  ASSERT_OK_AND_ASSIGN(auto verified, service.VerifyLedger());
  EXPECT_TRUE(verified.consistent()) << verified.DebugString();
}

TEST_F(GrantsTest, JournalTablesAreAppendOnlyForTheServiceUser) {
  SandboxProcessor processor;
  common::identity_client::FakeSellerDirectory sellers;
  sellers.Set("5e11e700000000000000000000000001", true);
  common::ManualClock clock;
  TestPayments service(user_pool_.get(), &processor, &sellers, &clock);
  pb::CreatePaymentRequest req;
  req.set_request_id("c");
  req.set_order_id("o");
  req.set_buyer_id("b0b0b000000000000000000000000001");
  req.set_seller_id("5e11e700000000000000000000000001");
  *req.mutable_amount() = Eur(10000);
  req.set_payment_method_token("tok_sandbox_success");
  ASSERT_OK(service.CreatePayment(Actor{"svc", true, false, false, true}, req).status());

  for (const char* table : {"ledger_entries", "ledger_transactions", "payment_events"}) {
    SCOPED_TRACE(table);
    auto update = user_pool_->Execute(absl::StrCat("UPDATE ", table, " SET id = id + 1000"));
    EXPECT_FALSE(update.ok());
    auto del = user_pool_->Execute(absl::StrCat("DELETE FROM ", table));
    EXPECT_FALSE(del.ok());
    ASSERT_OK_AND_ASSIGN(auto rows,
                         pool().Query(absl::StrCat("SELECT COUNT(*) AS n FROM ", table)));
    EXPECT_GT(*rows[0].GetInt64("n"), 0);
  }
  // The grants themselves, as the server records them.
  ASSERT_OK_AND_ASSIGN(
      auto privileges,
      pool().Query("SELECT table_name, privilege_type FROM information_schema.table_privileges "
                   "WHERE grantee = ? AND table_schema = ?",
                   {absl::StrCat("'", user_, "'@'127.0.0.1'"), database_name()}));
  int journal_rights = 0;
  for (const auto& row : privileges) {
    std::string table = *row.GetString("table_name");
    std::string right = *row.GetString("privilege_type");
    if (table == "ledger_entries" || table == "ledger_transactions" || table == "payment_events") {
      EXPECT_TRUE(right == "SELECT" || right == "INSERT") << table << " " << right;
      ++journal_rights;
    }
  }
  EXPECT_EQ(journal_rights, 6);
  ASSERT_OK_AND_ASSIGN(
      auto schema_wide,
      pool().Query("SELECT COUNT(*) AS n FROM information_schema.schema_privileges "
                   "WHERE grantee = ? AND table_schema = ?",
                   {absl::StrCat("'", user_, "'@'127.0.0.1'"), database_name()}));
  EXPECT_EQ(*schema_wide[0].GetInt64("n"), 0) << "no database-wide right is left";
}

}  // namespace
}  // namespace marketplace::payments
