#include "common/testing/database_test_base.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace marketplace::common::testing {

void DatabaseTest::SetUp() {
  absl::StatusOr<MariaDbServer*> server = MariaDbServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *server;
  if (!server_->running()) {
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  absl::StatusOr<TestDatabase> database =
      CreateTestDatabase(info != nullptr ? info->name() : "test");
  ASSERT_TRUE(database.ok()) << database.status();
  database_ = *std::move(database);
  registry_ = std::make_unique<prometheus::Registry>();
  auto pool = db::ConnectionPool::Create(database_.options, registry_.get());
  ASSERT_TRUE(pool.ok()) << pool.status();
  pool_ = *std::move(pool);
}

void DatabaseTest::TearDown() {
  pool_.reset();
  if (server_ == nullptr || database_.name.empty()) return;
  if (!server_->running()) {
    absl::Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started;
  }
  absl::Status dropped = DropTestDatabase(database_.name);
  EXPECT_TRUE(dropped.ok()) << dropped;
}

absl::StatusOr<std::unique_ptr<db::ConnectionPool>> DatabaseTest::NewPool(int pool_size) const {
  db::DbOptions options = database_.options;
  options.pool_size = pool_size;
  return db::ConnectionPool::Create(options);
}

absl::Status DatabaseTest::WaitForLockWaits(int count, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int64_t waiting = 0;
  while (true) {
    absl::StatusOr<std::vector<db::Row>> rows = pool_->Query(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN "
        "information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE "
        "t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()");
    if (!rows.ok()) return rows.status();
    absl::StatusOr<int64_t> n = rows->at(0).GetInt64("n");
    if (!n.ok()) return n.status();
    waiting = *n;
    if (waiting >= count) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::DeadlineExceededError(absl::StrCat("waited for ", count,
                                                  " transactions in LOCK WAIT; ", waiting,
                                                  " after ", absl::FormatDuration(timeout)));
}

}  // namespace marketplace::common::testing
