#ifndef MARKETPLACE_COMMON_TESTING_DATABASE_TEST_BASE_H_
#define MARKETPLACE_COMMON_TESTING_DATABASE_TEST_BASE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "common/db/db_options.h"
#include "common/testing/mariadb_server.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace marketplace::common::testing {

// A gtest fixture giving each test a fresh database on the binary's MariaDB server, and a
// pool on it whose metrics go to registry(). The database is dropped afterwards. A test that
// stops the server need not restart it: the next test's SetUp() does.
//
//   class StoreTest : public marketplace::common::testing::DatabaseTest {};
//   TEST_F(StoreTest, Works) { ASSERT_TRUE(pool().Execute("CREATE TABLE t (id INT)").ok()); }
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  MariaDbServer& server() { return *server_; }
  db::ConnectionPool& pool() { return *pool_; }
  prometheus::Registry& registry() { return *registry_; }
  const std::string& database_name() const { return database_.name; }
  // Options reaching this test's database; change a copy to make pools of other shapes.
  const db::DbOptions& db_options() const { return database_.options; }

  // Another pool on this test's database (no metrics), e.g. to play a second replica.
  absl::StatusOr<std::unique_ptr<db::ConnectionPool>> NewPool(int pool_size = 4) const;

  // Waits until at least `count` transactions on this test's database wait for a row lock
  // (InnoDB's trx_state LOCK WAIT), so that a race test knows its second side is blocked
  // instead of guessing with a sleep. DEADLINE_EXCEEDED after `timeout`: EXPECT it and let the
  // test release its threads either way.
  absl::Status WaitForLockWaits(int count = 1, absl::Duration timeout = absl::Seconds(20));

 private:
  MariaDbServer* server_ = nullptr;
  TestDatabase database_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<db::ConnectionPool> pool_;
};

}  // namespace marketplace::common::testing

#endif  // MARKETPLACE_COMMON_TESTING_DATABASE_TEST_BASE_H_
