#include "common/db/transaction.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/db/sql_errors.h"
#include "common/status_macros.h"

namespace marketplace::common::db {
namespace {

absl::Duration Backoff(const TransactionOptions& options, int failed_attempt) {
  absl::Duration cap = options.initial_backoff;
  for (int i = 1; i < failed_attempt && cap < options.max_backoff; ++i) cap *= 2;
  cap = std::min(cap, options.max_backoff);
  if (cap <= absl::ZeroDuration()) return absl::ZeroDuration();
  thread_local absl::BitGen gen;
  return absl::Microseconds(
      absl::Uniform<int64_t>(absl::IntervalClosed, gen, 0, absl::ToInt64Microseconds(cap)));
}

}  // namespace

absl::Status Transaction::Track(absl::Status status) {
  if (!status.ok() && broken_.ok() &&
      (IsRetryable(status) || status.code() == absl::StatusCode::kUnavailable)) {
    broken_ = status;
  }
  return status;
}

absl::StatusOr<std::vector<Row>> Transaction::Flush(std::optional<ScriptStatement> query) {
  std::vector<ScriptStatement> script = std::move(queued_);
  queued_.clear();
  if (script.empty() && !query) return std::vector<Row>();
  absl::StatusOr<std::vector<Row>> rows = conn_.RunScript(script, query);
  if (!rows.ok()) {
    // A statement before the failing one left the transaction in a state the function has
    // not seen: nothing more may run in it.
    if (broken_.ok()) broken_ = rows.status();
    return rows.status();
  }
  return rows;
}

absl::StatusOr<std::vector<Row>> Transaction::Query(absl::string_view sql,
                                                    absl::Span<const SqlValue> params) {
  if (!broken_.ok()) return broken_;
  if (!queued_.empty()) {
    // The query rides with the queued statements: one round trip.
    return Flush(ScriptStatement{std::string(sql), {params.begin(), params.end()}, std::nullopt});
  }
  absl::StatusOr<std::vector<Row>> rows = conn_.Query(sql, params);
  if (!rows.ok()) return Track(rows.status());
  return rows;
}

absl::StatusOr<int64_t> Transaction::Execute(absl::string_view sql,
                                             absl::Span<const SqlValue> params) {
  if (!broken_.ok()) return broken_;
  RETURN_IF_ERROR(Flush().status());
  absl::StatusOr<int64_t> affected = conn_.Execute(sql, params);
  if (!affected.ok()) return Track(affected.status());
  return affected;
}

absl::StatusOr<int64_t> Transaction::LastInsertId() {
  if (!broken_.ok()) return broken_;
  RETURN_IF_ERROR(Flush().status());
  absl::StatusOr<int64_t> id = conn_.LastInsertId();
  if (!id.ok()) return Track(id.status());
  return id;
}

absl::Status Transaction::Write(absl::string_view sql, absl::Span<const SqlValue> params,
                                std::optional<int64_t> expect_matched) {
  if (!broken_.ok()) return broken_;
  if (defer_writes_) {
    queued_.push_back(ScriptStatement{std::string(sql), {params.begin(), params.end()},
                                      expect_matched});
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(int64_t matched, Execute(sql, params));
  if (expect_matched && matched != *expect_matched) {
    return absl::FailedPreconditionError(absl::StrCat("statement matched ", matched,
                                                      " rows instead of ", *expect_matched, " (",
                                                      sql.substr(0, 60), ")"));
  }
  return absl::OkStatus();
}

namespace internal {

absl::Status RunInTransactionImpl(ConnectionPool& pool,
                                  const std::function<absl::Status(Transaction&)>& fn,
                                  const TransactionOptions& options) {
  // One run of `fn` in one transaction on one connection.
  const auto run_attempt = [&](int attempt) -> absl::Status {
    ASSIGN_OR_RETURN(PooledConnection conn, pool.Acquire());
    // Unless the transaction ends in COMMIT or ROLLBACK, the connection may still hold it
    // open and must not go back to the pool.
    bool settled = false;
    struct Guard {
      Connection& conn;
      bool& settled;
      ~Guard() {
        if (!settled) conn.MarkBroken();
      }
    } guard{*conn, settled};

    // The session keeps its level between transactions: a round trip only when it changes.
    RETURN_IF_ERROR(conn->SetSessionIsolation(
        options.isolation == IsolationLevel::kReadCommitted ? "READ COMMITTED"
                                                            : "REPEATABLE READ"));
    std::vector<std::string> begin;
    begin.push_back(options.read_only ? "START TRANSACTION READ ONLY" : "START TRANSACTION");
    Transaction tx(*conn, attempt, options.defer_writes);
    for (std::string& statement : begin) {
      if (options.defer_writes) {
        tx.queued_.push_back(ScriptStatement{std::move(statement), {}, std::nullopt});
      } else {
        RETURN_IF_ERROR(conn->Execute(statement).status());
      }
    }

    absl::Status status = fn(tx);
    // A function that swallowed a deadlock must not commit what is left.
    if (status.ok()) status = tx.broken_;
    if (status.ok()) {
      if (tx.queued_.empty()) {
        status = conn->Execute("COMMIT").status();
      } else {
        tx.queued_.push_back(ScriptStatement{"COMMIT", {}, std::nullopt});
        status = tx.Flush().status();
      }
      if (status.ok()) {
        settled = true;
        return absl::OkStatus();
      }
      status = AnnotateStatus(status, "commit");
    }
    if (conn->healthy() && conn->Execute("ROLLBACK").ok()) settled = true;
    return status;
  };

  const int max_attempts = std::max(1, options.max_attempts);
  absl::Status last;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    last = run_attempt(attempt);
    if (last.ok() || !IsRetryable(last)) return last;
    if (attempt == max_attempts) break;
    pool.RecordTransactionRetry(MySqlErrorCodeOf(last).value_or(0));
    absl::SleepFor(Backoff(options, attempt));
  }
  return AnnotateStatus(last,
                        absl::StrCat("transaction gave up after ", max_attempts, " attempts"));
}

}  // namespace internal

absl::Status WithConnection(ConnectionPool& pool,
                            const std::function<absl::Status(Connection&)>& fn) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool.Acquire());
  return fn(*conn);
}

}  // namespace marketplace::common::db
