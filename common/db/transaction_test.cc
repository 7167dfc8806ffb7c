#include "common/db/transaction.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/db/sql_errors.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::common::db {
namespace {

using ::marketplace::common::testing::DatabaseTest;

class TransactionTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(pool().Execute(
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB"));
    ASSERT_OK(pool().Execute("INSERT INTO accounts VALUES (1, 100), (2, 100)"));
  }

  int64_t Balance(int64_t id) {
    auto rows = pool().Query("SELECT balance FROM accounts WHERE id = ?", {id});
    if (!rows.ok() || rows->size() != 1) return -1;
    return rows->at(0).GetInt64("balance").value_or(-1);
  }
};

TEST_F(TransactionTest, CommitsWhenTheFunctionSucceeds) {
  ASSERT_OK(RunInTransaction(pool(), [](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE accounts SET balance = balance - 30 WHERE id = 1").status());
    return tx.Execute("UPDATE accounts SET balance = balance + 30 WHERE id = 2").status();
  }));
  EXPECT_EQ(Balance(1), 70);
  EXPECT_EQ(Balance(2), 130);
}

TEST_F(TransactionTest, RollsBackWhenTheFunctionFails) {
  absl::Status status = RunInTransaction(pool(), [](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE accounts SET balance = balance - 30 WHERE id = 1").status());
    return absl::FailedPreconditionError("insufficient funds");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "insufficient funds");
  EXPECT_EQ(Balance(1), 100);
  EXPECT_EQ(pool().GetStats().in_use, 0);
}

TEST_F(TransactionTest, RollsBackWhenAStatementFails) {
  int runs = 0;
  absl::Status status = RunInTransaction(pool(), [&runs](Transaction& tx) -> absl::Status {
    ++runs;
    RETURN_IF_ERROR(tx.Execute("UPDATE accounts SET balance = 0 WHERE id = 1").status());
    return tx.Execute("INSERT INTO accounts VALUES (2, 1)").status();  // duplicate key
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(runs, 1);  // not a retryable error
  EXPECT_EQ(Balance(1), 100);
}

TEST_F(TransactionTest, ReturnsAValue) {
  ASSERT_OK(pool().Execute(
      "CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL)"));
  absl::StatusOr<int64_t> id =
      RunInTransaction(pool(), [](Transaction& tx) -> absl::StatusOr<int64_t> {
        RETURN_IF_ERROR(
            tx.Execute("INSERT INTO notes (body) VALUES (?)", {std::string("hi")}).status());
        return tx.LastInsertId();
      });
  ASSERT_OK(id);
  EXPECT_GT(*id, 0);
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT body FROM notes WHERE id = ?", {*id}));
  ASSERT_EQ(rows.size(), 1u);

  absl::StatusOr<std::string> failed = RunInTransaction(
      pool(),
      [](Transaction&) -> absl::StatusOr<std::string> { return absl::NotFoundError("nothing"); });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
}

// Two transactions lock two rows in opposite order: InnoDB kills one with 1213. Its whole
// function must run again and both transfers must end committed.
TEST_F(TransactionTest, DeadlockRetriesTheWholeFunction) {
  absl::Barrier* both_hold_first_lock = new absl::Barrier(2);
  std::atomic<int> runs{0};
  std::atomic<int> retried_runs{0};

  auto transfer = [&](int64_t from, int64_t to) {
    return RunInTransaction(pool(), [&, from, to](Transaction& tx) -> absl::Status {
      ++runs;
      if (tx.attempt() > 1) ++retried_runs;
      RETURN_IF_ERROR(
          tx.Execute("UPDATE accounts SET balance = balance - 10 WHERE id = ?", {from}).status());
      if (tx.attempt() == 1) {
        // Wait until the other side holds its first row too, so the second locks cross.
        if (both_hold_first_lock->Block()) delete both_hold_first_lock;
      }
      return tx.Execute("UPDATE accounts SET balance = balance + 10 WHERE id = ?", {to}).status();
    });
  };

  absl::Status a_status, b_status;
  std::thread a([&] { a_status = transfer(1, 2); });
  std::thread b([&] { b_status = transfer(2, 1); });
  a.join();
  b.join();

  EXPECT_OK(a_status);
  EXPECT_OK(b_status);
  EXPECT_EQ(runs.load(), 3) << "one side must have run twice";
  EXPECT_EQ(retried_runs.load(), 1);
  EXPECT_EQ(Balance(1), 100);  // -10 +10
  EXPECT_EQ(Balance(2), 100);
  ASSERT_OK_AND_ASSIGN(auto total, pool().Query("SELECT SUM(balance) AS s FROM accounts"));
  EXPECT_EQ(*total[0].GetInt64("s"), 200);
  // Counted by the pool's metrics.
  bool counted = false;
  for (const auto& family : registry().Collect()) {
    if (family.name != "db_transaction_retries_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "code" && label.value == "1213" && metric.counter.value == 1) {
          counted = true;
        }
      }
    }
  }
  EXPECT_TRUE(counted);
}

TEST_F(TransactionTest, GivesUpAfterMaxAttemptsWithAborted) {
  int runs = 0;
  TransactionOptions options;
  options.max_attempts = 3;
  options.initial_backoff = absl::Milliseconds(1);
  absl::Status status = RunInTransaction(
      pool(),
      [&runs](Transaction& tx) -> absl::Status {
        ++runs;
        RETURN_IF_ERROR(tx.Execute("UPDATE accounts SET balance = 0 WHERE id = 1").status());
        return WithMySqlErrorCode(absl::AbortedError("deadlock, as the server would say"),
                                  kErrDeadlock);
      },
      options);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(IsRetryable(status));
  EXPECT_EQ(Balance(1), 100);
}

// After a lock wait timeout the function ignores the error and goes on: what it wrote must not
// be committed, and the whole function runs again.
TEST_F(TransactionTest, ASwallowedConflictIsNeverCommitted) {
  DbOptions options = db_options();
  options.lock_wait_timeout = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(auto impatient, ConnectionPool::Create(options));
  ASSERT_OK(pool().Execute("CREATE TABLE log (attempt BIGINT NOT NULL)"));

  // Another session holds row 1 for a while.
  absl::Notification locked, release;
  std::thread holder([&] {
    EXPECT_OK(RunInTransaction(pool(), [&](Transaction& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.Query("SELECT * FROM accounts WHERE id = 1 FOR UPDATE").status());
      locked.Notify();
      release.WaitForNotificationWithTimeout(absl::Seconds(10));
      return absl::OkStatus();
    }));
  });
  locked.WaitForNotification();

  std::vector<int> attempts;
  absl::Status status = RunInTransaction(*impatient, [&](Transaction& tx) -> absl::Status {
    attempts.push_back(tx.attempt());
    absl::Status update = tx.Execute("UPDATE accounts SET balance = 1 WHERE id = 1").status();
    if (tx.attempt() == 1) {
      EXPECT_TRUE(IsRetryable(update)) << update;
      release.Notify();
      // Ignoring the error: later statements fail the same way.
      EXPECT_EQ(tx.Execute("INSERT INTO log VALUES (1)").status().code(),
                absl::StatusCode::kAborted);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(update);
    return tx.Execute("INSERT INTO log VALUES (?)", {int64_t{tx.attempt()}}).status();
  });
  holder.join();
  EXPECT_OK(status);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2}));
  ASSERT_OK_AND_ASSIGN(auto log, pool().Query("SELECT attempt FROM log"));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(*log[0].GetInt64("attempt"), 2);
  EXPECT_EQ(Balance(1), 1);
}

TEST_F(TransactionTest, ReadCommittedSeesConcurrentCommitsRepeatableReadDoesNot) {
  // Each level twice, alternating: a session keeps its level between transactions
  // (Connection::SetSessionIsolation), so a transaction after one of the other level must
  // still get its own.
  for (const IsolationLevel level :
       {IsolationLevel::kRepeatableRead, IsolationLevel::kReadCommitted,
        IsolationLevel::kRepeatableRead, IsolationLevel::kReadCommitted,
        IsolationLevel::kRepeatableRead}) {
    ASSERT_OK(pool().Execute("UPDATE accounts SET balance = 100 WHERE id = 1"));
    TransactionOptions options;
    options.isolation = level;
    int64_t first = 0, second = 0;
    ASSERT_OK(RunInTransaction(
        pool(),
        [&](Transaction& tx) -> absl::Status {
          ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT balance FROM accounts WHERE id = 1"));
          ASSIGN_OR_RETURN(first, rows.at(0).GetInt64("balance"));
          RETURN_IF_ERROR(pool().Execute("UPDATE accounts SET balance = 5 WHERE id = 1").status());
          ASSIGN_OR_RETURN(rows, tx.Query("SELECT balance FROM accounts WHERE id = 1"));
          ASSIGN_OR_RETURN(second, rows.at(0).GetInt64("balance"));
          return absl::OkStatus();
        },
        options));
    EXPECT_EQ(first, 100);
    EXPECT_EQ(second, level == IsolationLevel::kReadCommitted ? 5 : 100);
  }
}

TEST_F(TransactionTest, ReadOnlyTransactionRejectsWrites) {
  TransactionOptions options;
  options.read_only = true;
  absl::Status status = RunInTransaction(
      pool(),
      [](Transaction& tx) -> absl::Status {
        return tx.Execute("UPDATE accounts SET balance = 0 WHERE id = 1").status();
      },
      options);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(Balance(1), 100);
}

TEST_F(TransactionTest, WithConnectionRunsInAutocommit) {
  ASSERT_OK(WithConnection(pool(), [](Connection& conn) -> absl::Status {
    RETURN_IF_ERROR(conn.Execute("UPDATE accounts SET balance = 1 WHERE id = 1").status());
    ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT @@autocommit AS a"));
    if (*rows[0].GetInt64("a") != 1) return absl::InternalError("not autocommit");
    return absl::OkStatus();
  }));
  EXPECT_EQ(Balance(1), 1);
}


TransactionOptions Deferred() {
  TransactionOptions options;
  options.defer_writes = true;
  return options;
}

TEST_F(TransactionTest, DeferredWritesLandWithTheCommit) {
  TransactionOptions read_committed = Deferred();
  read_committed.isolation = IsolationLevel::kReadCommitted;
  for (const TransactionOptions& options : {Deferred(), read_committed}) {
    ASSERT_OK(RunInTransaction(
        pool(),
        [](Transaction& tx) -> absl::Status {
          RETURN_IF_ERROR(tx.Write("UPDATE accounts SET balance = balance - ? WHERE id = ?",
                                   {30, 1}, /*expect_matched=*/1));
          return tx.Write("UPDATE accounts SET balance = balance + ? WHERE id = ?", {30, 2}, 1);
        },
        options));
  }
  EXPECT_EQ(Balance(1), 40);
  EXPECT_EQ(Balance(2), 160);
}

TEST_F(TransactionTest, DeferredValuesArriveExactly) {
  ASSERT_OK(pool().Execute(
      "CREATE TABLE bodies (id BIGINT PRIMARY KEY, body VARCHAR(100) NOT NULL, raw BLOB NULL, "
      "at DATETIME(6) NULL, flag BOOLEAN NOT NULL)"));
  const std::string text = "it's \\ \"quoted\" \xe2\x82\xac -- ? /* ? */ \n;\0end";
  const std::string text_with_nul(text.data(), text.size());
  const std::string raw("\x00\x08\x96\x01\xff'\\", 7);
  const absl::Time at = absl::FromUnixMicros(1700000000123456);
  absl::StatusOr<std::vector<Row>> rows = RunInTransaction(
      pool(),
      [&](Transaction& tx) -> absl::StatusOr<std::vector<Row>> {
        RETURN_IF_ERROR(tx.Write("INSERT INTO bodies VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
                                 {1, text_with_nul, raw, at, true, 2, "", nullptr, nullptr, false}));
        // A query after queued writes goes with them and sees them.
        return tx.Query("SELECT id, body, raw, at, flag FROM bodies WHERE body = ? OR id = ? "
                        "ORDER BY id",
                        {text_with_nul, 2});
      },
      Deferred());
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(*(*rows)[0].GetString("body"), text_with_nul);
  EXPECT_EQ(*(*rows)[0].GetString("raw"), raw);
  EXPECT_EQ(*(*rows)[0].GetTime("at"), at);
  EXPECT_EQ(*(*rows)[0].GetInt64("flag"), 1);
  EXPECT_TRUE((*rows)[1].IsNull("raw"));
  EXPECT_EQ(*(*rows)[1].GetInt64("flag"), 0);
}

TEST_F(TransactionTest, AFailingDeferredWriteFailsTheCommitAndNothingLands) {
  int runs = 0;
  absl::Status status = RunInTransaction(
      pool(),
      [&runs](Transaction& tx) -> absl::Status {
        ++runs;
        RETURN_IF_ERROR(tx.Write("UPDATE accounts SET balance = 0 WHERE id = 1"));
        RETURN_IF_ERROR(tx.Write("INSERT INTO accounts VALUES (2, 1)"));  // duplicate key
        return tx.Write("UPDATE accounts SET balance = 0 WHERE id = 2");
      },
      Deferred());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_NE(status.message().find("script of 5 statements"), absl::string_view::npos) << status;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Balance(1), 100);
  EXPECT_EQ(Balance(2), 100);
  EXPECT_EQ(pool().GetStats().in_use, 0);
  // The connection went back to the pool in a clean state.
  ASSERT_OK(RunInTransaction(pool(), [](Transaction& tx) -> absl::Status {
    return tx.Write("UPDATE accounts SET balance = 5 WHERE id = 1", {}, 1);
  }));
  EXPECT_EQ(Balance(1), 5);
}

TEST_F(TransactionTest, ARowCountCheckStopsTheTransaction) {
  for (bool deferred : {true, false}) {
    SCOPED_TRACE(deferred);
    TransactionOptions options;
    options.defer_writes = deferred;
    absl::Status status = RunInTransaction(
        pool(),
        [](Transaction& tx) -> absl::Status {
          RETURN_IF_ERROR(tx.Write("UPDATE accounts SET balance = 0 WHERE id = 1", {}, 1));
          // Found rows, not changed ones: the same values still match.
          RETURN_IF_ERROR(tx.Write("UPDATE accounts SET balance = 0 WHERE id = 1", {}, 1));
          RETURN_IF_ERROR(tx.Write("UPDATE accounts SET balance = 0 WHERE id IN (2, 3)", {}, 2));
          return tx.Write("UPDATE accounts SET balance = 1 WHERE id = 2");
        },
        options);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_EQ(Balance(1), 100);
    EXPECT_EQ(Balance(2), 100);
  }
}

TEST_F(TransactionTest, AStatementAfterAFailedFlushIsRefused) {
  absl::Status later;
  absl::Status status = RunInTransaction(
      pool(),
      [&later](Transaction& tx) -> absl::Status {
        RETURN_IF_ERROR(tx.Write("INSERT INTO accounts VALUES (1, 1)"));  // duplicate key
        absl::Status flushed = tx.Execute("UPDATE accounts SET balance = 0 WHERE id = 2").status();
        // Ignoring the error does not let the function go on in a half-run transaction.
        later = tx.Write("UPDATE accounts SET balance = 0 WHERE id = 2");
        (void)flushed;
        return absl::OkStatus();
      },
      Deferred());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(later.code(), absl::StatusCode::kAlreadyExists) << later;
  EXPECT_EQ(Balance(2), 100);
}

TEST_F(TransactionTest, DeadlockedDeferredTransactionsAreRunAgain) {
  // Two transactions lock the rows in opposite orders, each in one round trip after its
  // first lock: one of them deadlocks and must be retried whole. With a row-count check the
  // queued writes go as one compound statement, without one as statements one after the
  // other: each way must report the deadlock.
  for (bool checked : {true, false}) {
    SCOPED_TRACE(checked);
    absl::Barrier both_locked(2);
    std::atomic<int> runs{0};
    const auto transfer = [&](int64_t from, int64_t to) {
      bool first_run = true;
      return RunInTransaction(
          pool(),
          [&](Transaction& tx) -> absl::Status {
            ++runs;
            RETURN_IF_ERROR(
                tx.Execute("UPDATE accounts SET balance = balance - 1 WHERE id = ?", {from})
                    .status());
            if (first_run) {
              first_run = false;
              both_locked.Block();
            }
            return tx.Write("UPDATE accounts SET balance = balance + 1 WHERE id = ?", {to},
                            checked ? std::optional<int64_t>(1) : std::nullopt);
          },
          Deferred());
    };
    absl::Status a, b;
    std::thread ta([&] { a = transfer(1, 2); });
    std::thread tb([&] { b = transfer(2, 1); });
    ta.join();
    tb.join();
    ASSERT_OK(a);
    ASSERT_OK(b);
    EXPECT_EQ(runs.load(), 3);
    EXPECT_EQ(Balance(1), 100);
    EXPECT_EQ(Balance(2), 100);
  }
}

}  // namespace
}  // namespace marketplace::common::db
