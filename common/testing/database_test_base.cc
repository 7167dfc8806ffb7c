#include "common/testing/database_test_base.h"

#include <memory>
#include <utility>

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

}  // namespace marketplace::common::testing
