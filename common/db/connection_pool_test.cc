#include "common/db/connection_pool.h"

#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/sql_errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace marketplace::common::db {
namespace {

using ::marketplace::common::testing::DatabaseTest;

// The value of one series of `name` whose labels include every pair of `labels`.
double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      bool match = true;
      for (const auto& [key, value] : labels) {
        bool found = false;
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          found |= label.name == key && label.value == value;
        }
        match &= found;
      }
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

class ConnectionPoolTest : public DatabaseTest {};

TEST_F(ConnectionPoolTest, ReusesReturnedConnections) {
  {
    ASSERT_OK_AND_ASSIGN(PooledConnection a, pool().Acquire());
    ASSERT_OK_AND_ASSIGN(PooledConnection b, pool().Acquire());
    EXPECT_EQ(pool().GetStats().in_use, 2);
  }
  EXPECT_EQ(pool().GetStats().in_use, 0);
  EXPECT_EQ(pool().GetStats().idle, 2);
  ASSERT_OK_AND_ASSIGN(PooledConnection again, pool().Acquire());
  EXPECT_EQ(pool().GetStats().idle, 1);
  EXPECT_EQ(MetricValue(registry(), "db_pool_connections", {{"state", "in_use"}}), 1);
  EXPECT_EQ(MetricValue(registry(), "db_pool_connections", {{"state", "idle"}}), 1);
}

TEST_F(ConnectionPoolTest, ExhaustedPoolGivesUpAfterAcquireTimeout) {
  DbOptions options = db_options();
  options.pool_size = 2;
  options.acquire_timeout = absl::Milliseconds(300);
  prometheus::Registry metrics;
  ASSERT_OK_AND_ASSIGN(auto small, ConnectionPool::Create(options, &metrics));
  ASSERT_OK_AND_ASSIGN(PooledConnection a, small->Acquire());
  ASSERT_OK_AND_ASSIGN(PooledConnection b, small->Acquire());

  const absl::Time start = absl::Now();
  absl::StatusOr<PooledConnection> c = small->Acquire();
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(
      absl::StrContains(c.status().message(), "database pool exhausted: 2 connections in use for"))
      << c.status();
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(2));
  EXPECT_EQ(small->GetStats().exhausted, 1);
  EXPECT_EQ(MetricValue(metrics, "db_pool_exhausted_total", {}), 1);
}

TEST_F(ConnectionPoolTest, WaiterGetsTheConnectionAnotherThreadReturns) {
  DbOptions options = db_options();
  options.pool_size = 1;
  options.acquire_timeout = absl::Seconds(5);
  ASSERT_OK_AND_ASSIGN(auto single, ConnectionPool::Create(options));
  absl::StatusOr<PooledConnection> held = single->Acquire();
  ASSERT_OK(held);
  std::thread releaser([&held] {
    absl::SleepFor(absl::Milliseconds(200));
    held = absl::CancelledError("given back");  // destroys the handle
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<PooledConnection> next = single->Acquire();
  EXPECT_OK(next);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  releaser.join();
}

TEST_F(ConnectionPoolTest, UnreachableDatabaseIsUnavailableQuickly) {
  DbOptions options = db_options();
  options.port = 1;  // nothing listens there
  options.connect_timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(pool.status().message(), "127.0.0.1:1")) << pool.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  // A lazy pool starts, then reports the same on use.
  options.connect_on_create = false;
  ASSERT_OK_AND_ASSIGN(auto lazy, ConnectionPool::Create(options));
  EXPECT_EQ(lazy->Query("SELECT 1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(lazy->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(lazy->GetStats().in_use, 0);
}

TEST_F(ConnectionPoolTest, WrongPasswordIsUnavailableNamingTheServer) {
  DbOptions options = db_options();
  options.user = "nobody";
  options.password = "wrong";
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(
      absl::StrContains(pool.status().message(), absl::StrCat("127.0.0.1:", server().port())))
      << pool.status();
  EXPECT_FALSE(absl::StrContains(pool.status().message(), "wrong")) << pool.status();
}

TEST_F(ConnectionPoolTest, InvalidOptionsAreRejected) {
  DbOptions options = db_options();
  options.pool_size = 0;
  EXPECT_EQ(ConnectionPool::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionPoolTest, KilledConnectionIsDiscardedNotReused) {
  ASSERT_OK_AND_ASSIGN(auto other, NewPool(1));
  int64_t victim_id = 0;
  {
    ASSERT_OK_AND_ASSIGN(PooledConnection victim, pool().Acquire());
    ASSERT_OK_AND_ASSIGN(auto rows, victim->Query("SELECT CONNECTION_ID() AS id"));
    ASSERT_OK_AND_ASSIGN(victim_id, rows.at(0).GetInt64("id"));
    ASSERT_OK(other->Execute(absl::StrCat("KILL ", victim_id)));
    absl::StatusOr<std::vector<Row>> after = victim->Query("SELECT 1");
    EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
    EXPECT_FALSE(victim->healthy());
  }
  EXPECT_EQ(pool().GetStats().in_use, 0);
  EXPECT_EQ(pool().GetStats().idle, 0);
  // The next caller gets a fresh session.
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT CONNECTION_ID() AS id"));
  EXPECT_NE(*rows.at(0).GetInt64("id"), victim_id);
}

TEST_F(ConnectionPoolTest, SurvivesADatabaseOutage) {
  DbOptions options = db_options();
  options.validate_idle_after = absl::ZeroDuration();
  options.connect_timeout = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(auto resilient, ConnectionPool::Create(options));
  ASSERT_OK(resilient->Execute("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  ASSERT_OK(resilient->Execute("INSERT INTO t VALUES (?)", {int64_t{1}}));
  EXPECT_OK(resilient->Ping());

  ASSERT_OK(server().Stop());
  const absl::Time start = absl::Now();
  EXPECT_EQ(resilient->Query("SELECT id FROM t").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(resilient->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  ASSERT_OK(server().Start());
  ASSERT_OK_AND_ASSIGN(auto rows, resilient->Query("SELECT id FROM t"));
  ASSERT_EQ(rows.size(), 1u);  // committed data survived the restart
  EXPECT_OK(resilient->Ping());
}

TEST_F(ConnectionPoolTest, ParametersRoundTripEveryType) {
  ASSERT_OK(
      pool().Execute("CREATE TABLE v (id BIGINT PRIMARY KEY, n BIGINT NULL, s VARCHAR(255) NULL, "
                     "t DATETIME(6) NULL, b BOOL NULL, blob_value LONGBLOB NULL)"));
  const std::string tricky =
      "O'Brien \"quoted\" \\ back; -- not a comment ;\n"
      "Grüße 日本語 emoji 🙂";
  const std::string bytes("\x00\x01\xff\xfe'\"\\\x00z", 9);
  const absl::Time t = absl::FromUnixMicros(1'700'000'000'123'456);
  ASSERT_OK(
      pool().Execute("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)",
                     {int64_t{1}, int64_t{-9'000'000'000'000'000'000}, tricky, t, true, bytes}));
  ASSERT_OK(pool().Execute("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)",
                           {int64_t{2}, nullptr, nullptr, nullptr, false, nullptr}));

  // Through a prepared statement (binary protocol) and a plain one (text protocol).
  for (const bool prepared : {true, false}) {
    SCOPED_TRACE(prepared ? "prepared" : "text");
    absl::StatusOr<std::vector<Row>> rows =
        prepared ? pool().Query("SELECT * FROM v WHERE id >= ? ORDER BY id", {int64_t{0}})
                 : pool().Query("SELECT * FROM v ORDER BY id");
    ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), 2u);
    const Row& full = (*rows)[0];
    EXPECT_EQ(*full.GetInt64("n"), -9'000'000'000'000'000'000);
    EXPECT_EQ(*full.GetString("s"), tricky);
    EXPECT_EQ(*full.GetTime("t"), t);
    EXPECT_TRUE(*full.GetBool("b"));
    EXPECT_EQ(*full.GetString("blob_value"), bytes);
    const Row& empty = (*rows)[1];
    EXPECT_TRUE(empty.IsNull("n"));
    EXPECT_TRUE(empty.IsNull("s"));
    EXPECT_TRUE(empty.IsNull("t"));
    EXPECT_FALSE(*empty.GetBool("b"));
    EXPECT_EQ(*empty.GetOptionalTime("t"), std::nullopt);
  }

  // Values are never interpreted as SQL.
  ASSERT_OK_AND_ASSIGN(auto matched,
                       pool().Query("SELECT id FROM v WHERE s = ?", {std::string("x' OR '1'='1")}));
  EXPECT_TRUE(matched.empty());
  // A time with whole seconds comes back equal too.
  ASSERT_OK_AND_ASSIGN(auto echoed,
                       pool().Query("SELECT ? AS t", {absl::FromUnixSeconds(1'700'000'000)}));
  EXPECT_EQ(*echoed.at(0).GetTime("t"), absl::FromUnixSeconds(1'700'000'000));
}

TEST_F(ConnectionPoolTest, TimeOutsideDatetimeRangeIsInvalidArgument) {
  EXPECT_EQ(pool().Query("SELECT ? AS t", {absl::InfiniteFuture()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionPoolTest, SessionsAreUtcAndStrict) {
  ASSERT_OK_AND_ASSIGN(auto rows,
                       pool().Query("SELECT @@session.time_zone AS tz, @@session.sql_mode AS m, "
                                    "@@session.tx_isolation AS iso, @@character_set_client AS cs"));
  EXPECT_EQ(*rows[0].GetString("tz"), "+00:00");
  EXPECT_TRUE(absl::StrContains(*rows[0].GetString("m"), "STRICT_ALL_TABLES"));
  EXPECT_EQ(*rows[0].GetString("iso"), "REPEATABLE-READ");
  EXPECT_EQ(*rows[0].GetString("cs"), "utf8mb4");
  // Strict mode: too long is an error, not a silent truncation.
  ASSERT_OK(pool().Execute("CREATE TABLE s (v VARCHAR(3))"));
  EXPECT_EQ(pool().Execute("INSERT INTO s VALUES (?)", {std::string("abcd")}).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(ConnectionPoolTest, DuplicateKeyIsAlreadyExists) {
  ASSERT_OK(
      pool().Execute("CREATE TABLE u (email VARCHAR(64) NOT NULL, UNIQUE KEY by_email (email))"));
  ASSERT_OK(pool().Execute("INSERT INTO u VALUES (?)", {std::string("a@example.com")}));
  absl::Status dup =
      pool().Execute("INSERT INTO u VALUES (?)", {std::string("a@example.com")}).status();
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_TRUE(absl::StrContains(dup.message(), "by_email")) << dup;
  EXPECT_FALSE(absl::StrContains(dup.message(), "a@example.com")) << dup;
}

TEST_F(ConnectionPoolTest, ExecuteCountsMatchedRows) {
  ASSERT_OK(pool().Execute("CREATE TABLE c (id BIGINT PRIMARY KEY, v BIGINT)"));
  ASSERT_OK(pool().Execute("INSERT INTO c VALUES (1, 5), (2, 5)"));
  // Rows matched, not rows changed: an idempotent write still reports what it found.
  ASSERT_OK_AND_ASSIGN(int64_t same,
                       pool().Execute("UPDATE c SET v = ? WHERE id = 1", {int64_t{5}}));
  EXPECT_EQ(same, 1);
  ASSERT_OK_AND_ASSIGN(int64_t none, pool().Execute("UPDATE c SET v = 1 WHERE id = 9"));
  EXPECT_EQ(none, 0);
  ASSERT_OK_AND_ASSIGN(int64_t both, pool().Execute("DELETE FROM c"));
  EXPECT_EQ(both, 2);
}

TEST_F(ConnectionPoolTest, QueryMetricsAreRecorded) {
  ASSERT_OK(pool().Query("SELECT 1"));
  EXPECT_FALSE(pool().Query("SELECT * FROM no_such_table").ok());
  EXPECT_GE(MetricValue(registry(), "db_queries_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(MetricValue(registry(), "db_queries_total",
                        {{"result", "error"}, {"database", database_name()}}),
            1);
  EXPECT_GE(MetricValue(registry(), "db_query_seconds", {}), 2);
  EXPECT_GE(MetricValue(registry(), "db_pool_acquire_seconds", {}), 2);
}

TEST_F(ConnectionPoolTest, ManyThreadsShareASmallPool) {
  DbOptions options = db_options();
  options.pool_size = 3;
  options.acquire_timeout = absl::Seconds(10);
  ASSERT_OK_AND_ASSIGN(auto shared, ConnectionPool::Create(options));
  ASSERT_OK(shared->Execute("CREATE TABLE hits (id BIGINT AUTO_INCREMENT PRIMARY KEY)"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&shared] {
      for (int j = 0; j < 25; ++j) {
        EXPECT_OK(shared->Execute("INSERT INTO hits VALUES ()"));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_OK_AND_ASSIGN(auto rows, shared->Query("SELECT COUNT(*) AS n FROM hits"));
  EXPECT_EQ(*rows[0].GetInt64("n"), 200);
  EXPECT_LE(shared->GetStats().idle, 3);
}

}  // namespace
}  // namespace marketplace::common::db
