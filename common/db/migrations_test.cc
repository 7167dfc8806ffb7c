#include "common/db/migrations.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/db/test_migrations.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::common::db {
namespace {

using ::marketplace::common::testing::DatabaseTest;

TEST(SplitSqlStatementsTest, SplitsOnSemicolonEndingALine) {
  EXPECT_EQ(SplitSqlStatements("CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);  \n"),
            (std::vector<std::string>{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}));
}

TEST(SplitSqlStatementsTest, SemicolonInsideALineDoesNotSplit) {
  EXPECT_EQ(SplitSqlStatements("INSERT INTO t VALUES ('a;b');\n"),
            (std::vector<std::string>{"INSERT INTO t VALUES ('a;b')"}));
}

TEST(SplitSqlStatementsTest, StatementsSpanLines) {
  EXPECT_EQ(SplitSqlStatements("CREATE TABLE a (\n  x INT\n);\n"),
            (std::vector<std::string>{"CREATE TABLE a (\n  x INT\n)"}));
}

TEST(SplitSqlStatementsTest, CommentsNeverSplitAndAloneAreSkipped) {
  EXPECT_EQ(SplitSqlStatements("-- header;\n# also;\n\nSELECT 1;\n-- trailing note\n"),
            (std::vector<std::string>{"-- header;\n# also;\n\nSELECT 1"}));
  EXPECT_TRUE(SplitSqlStatements("-- only a comment;\n\n").empty());
}

TEST(SplitSqlStatementsTest, FinalStatementMayOmitTheSemicolon) {
  EXPECT_EQ(SplitSqlStatements("SELECT 1;\nSELECT 2"),
            (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
}

TEST(MigrationVersionTest, ParsesLeadingNumber) {
  EXPECT_EQ(*MigrationVersion("0001_init.sql"), 1);
  EXPECT_EQ(*MigrationVersion("20240101_add.sql"), 20240101);
  EXPECT_FALSE(MigrationVersion("init.sql").ok());
  EXPECT_FALSE(MigrationVersion("0001_init.txt").ok());
  EXPECT_FALSE(MigrationVersion("_init.sql").ok());
  EXPECT_FALSE(MigrationVersion("v1_init.sql").ok());
}

TEST(CodeStepVersionTest, ParsesLeadingNumberWithoutExtension) {
  EXPECT_EQ(*CodeStepVersion("0004_fill_columns"), 4);
  EXPECT_FALSE(CodeStepVersion("0004_fill_columns.sql").ok());
  EXPECT_FALSE(CodeStepVersion("fill_columns").ok());
  EXPECT_FALSE(CodeStepVersion("0004_").ok());
}

TEST(SqlMigrationsMacroTest, EmbedsFilesInVersionOrder) {
  const MigrationFiles& files = testdata::TestMigrations();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].first, "0001_create_widgets.sql");
  EXPECT_EQ(files[1].first, "0002_add_column.sql");
  EXPECT_TRUE(absl::StrContains(files[1].second, "ALTER TABLE widgets"));
}

class MigrationsTest : public DatabaseTest {
 protected:
  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    if (!rows.ok()) return -1;
    return rows->at(0).GetInt64("n").value_or(-1);
  }
};

TEST_F(MigrationsTest, AppliesInOrderOnceAndRecordsEach) {
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations()));
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations()));  // no-op
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM widgets"), 1);  // seed row inserted once
  ASSERT_OK(pool().Query("SELECT color FROM widgets"));      // 0002 applied
  ASSERT_OK_AND_ASSIGN(
      auto rows, pool().Query("SELECT version, name, checksum, applied_at FROM schema_migrations "
                              "WHERE component = ? ORDER BY version",
                              {std::string("widgets")}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0].GetString("name"), "0001_create_widgets.sql");
  EXPECT_EQ(*rows[1].GetInt64("version"), 2);
  EXPECT_EQ(rows[0].GetString("checksum")->size(), 64u);
  EXPECT_OK(rows[0].GetTime("applied_at"));
}

TEST_F(MigrationsTest, LaterFilesApplyOnTheNextStart) {
  const MigrationFiles& all = testdata::TestMigrations();
  ASSERT_OK(ApplyMigrations(pool(), "widgets", {all[0]}));
  EXPECT_FALSE(pool().Query("SELECT color FROM widgets").ok());
  ASSERT_OK(ApplyMigrations(pool(), "widgets", all));
  EXPECT_OK(pool().Query("SELECT color FROM widgets"));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM widgets"), 1);
}

TEST_F(MigrationsTest, ChangedLandedFileIsRejected) {
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations()));
  MigrationFiles edited = testdata::TestMigrations();
  edited[0].second += "\n-- a harmless-looking edit\n";
  absl::Status status = ApplyMigrations(pool(), "widgets", edited);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "0001_create_widgets.sql")) << status;
}

TEST_F(MigrationsTest, ComponentsHaveTheirOwnVersions) {
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations()));
  ASSERT_OK(ApplyMigrations(pool(), "gadgets",
                            {{"0001_create_gadgets.sql", "CREATE TABLE gadgets (id INT);"}}));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations"), 3);
}

TEST_F(MigrationsTest, FailingStatementNamesTheFileAndIsNotRecorded) {
  absl::Status status =
      ApplyMigrations(pool(), "broken",
                      {{"0001_ok.sql", "CREATE TABLE ok_table (id INT);"},
                       {"0002_bad.sql", "CREATE TABLE bad_table (id INT);\nTHIS IS NOT SQL;\n"}});
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "0002_bad.sql statement 2")) << status;
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations WHERE component = 'broken'"), 1);
  // The lock was released: a fixed file goes through.
  EXPECT_OK(ApplyMigrations(pool(), "broken",
                            {{"0001_ok.sql", "CREATE TABLE ok_table (id INT);"},
                             {"0002_bad.sql", "CREATE TABLE IF NOT EXISTS bad_table (id INT);"}}));
}

TEST_F(MigrationsTest, RejectsBadNamesAndOrder) {
  EXPECT_EQ(ApplyMigrations(pool(), "x", {{"init.sql", "SELECT 1;"}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyMigrations(pool(), "x", {{"0002_b.sql", "SELECT 1;"}, {"0001_a.sql", "SELECT 1;"}})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyMigrations(pool(), "", testdata::TestMigrations()).code(),
            absl::StatusCode::kInvalidArgument);
}

// Four replicas start at once, each with its own pool: each file is applied exactly once.
TEST_F(MigrationsTest, ConcurrentStartsApplyEachFileOnce) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<ConnectionPool>> pools;
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_OK_AND_ASSIGN(auto replica_pool, NewPool(2));
    pools.push_back(std::move(replica_pool));
  }
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back(
        [&, i] { results[i] = ApplyMigrations(*pools[i], "widgets", testdata::TestMigrations()); });
  }
  for (auto& t : replicas) t.join();
  for (const absl::Status& status : results) EXPECT_OK(status);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM widgets"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations"), 2);
}

TEST_F(MigrationsTest, WaitingReplicaGivesUpAfterLockTimeout) {
  // Someone else holds this database's migration lock.
  ASSERT_OK_AND_ASSIGN(PooledConnection holder, pool().Acquire());
  ASSERT_OK_AND_ASSIGN(
      auto locked,
      holder->Query("SELECT GET_LOCK(LEFT(CONCAT('schema_migrations:', DATABASE()), 64), 0) AS l"));
  ASSERT_EQ(*locked[0].GetInt64("l"), 1);
  MigrationOptions options;
  options.lock_timeout = absl::Seconds(1);
  absl::Status status = ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

// A code step that paints the widgets 0002 gave a color column: re-runnable (it only touches
// rows still unpainted), counting its runs.
MigrationCodeStep PaintStep(std::atomic<int>* runs, bool fail = false) {
  return {"0003_paint_widgets", [runs, fail](Connection& conn) -> absl::Status {
            ++*runs;
            absl::Status painted =
                conn.Execute("UPDATE widgets SET color = 'red' WHERE color IS NULL").status();
            if (!painted.ok()) return painted;
            if (fail) return absl::UnavailableError("the step broke off");
            return absl::OkStatus();
          }};
}

TEST_F(MigrationsTest, CodeStepRunsAfterItsFilesOnceAndIsRecorded) {
  std::atomic<int> runs{0};
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), {PaintStep(&runs)}));
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), {PaintStep(&runs)}));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM widgets WHERE color = 'red'"), 1);
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT name FROM schema_migrations WHERE "
                                               "component = 'widgets' AND version = 3"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].GetString("name"), "0003_paint_widgets");
}

TEST_F(MigrationsTest, CodeStepsAndFilesRunInVersionOrder) {
  const MigrationFiles& files = testdata::TestMigrations();
  std::atomic<int> runs{0};
  // Version 3 runs before a file 0004 that depends on it.
  MigrationFiles with_later = files;
  with_later.push_back(
      {"0004_require_color.sql", "ALTER TABLE widgets MODIFY COLUMN color VARCHAR(16) NOT NULL;"});
  ASSERT_OK(ApplyMigrations(pool(), "widgets", with_later, {PaintStep(&runs)}));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM widgets WHERE color = 'red'"), 1);
}

TEST_F(MigrationsTest, FailedCodeStepIsNotRecordedAndRunsAgain) {
  std::atomic<int> runs{0};
  absl::Status failed = ApplyMigrations(pool(), "widgets", testdata::TestMigrations(),
                                        {PaintStep(&runs, /*fail=*/true)});
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(failed.message(), "0003_paint_widgets")) << failed;
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = 3"), 0);
  ASSERT_OK(ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), {PaintStep(&runs)}));
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = 3"), 1);
}

TEST_F(MigrationsTest, RejectsBadCodeSteps) {
  std::atomic<int> runs{0};
  MigrationCodeStep clash = PaintStep(&runs);
  clash.name = "0002_paint_widgets";
  EXPECT_EQ(ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), {clash}).code(),
            absl::StatusCode::kInvalidArgument);
  MigrationCodeStep unnamed = PaintStep(&runs);
  unnamed.name = "paint_widgets";
  EXPECT_EQ(ApplyMigrations(pool(), "widgets", testdata::TestMigrations(), {unnamed}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runs.load(), 0);
}

// Four replicas start at once: the code step runs exactly once, under the lock.
TEST_F(MigrationsTest, ConcurrentStartsRunACodeStepOnce) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<ConnectionPool>> pools;
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_OK_AND_ASSIGN(auto replica_pool, NewPool(2));
    pools.push_back(std::move(replica_pool));
  }
  std::atomic<int> runs{0};
  std::vector<absl::Status> results(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([&, i] {
      results[i] =
          ApplyMigrations(*pools[i], "widgets", testdata::TestMigrations(), {PaintStep(&runs)});
    });
  }
  for (auto& t : replicas) t.join();
  for (const absl::Status& status : results) EXPECT_OK(status);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM schema_migrations"), 3);
}

}  // namespace
}  // namespace marketplace::common::db
