#ifndef MARKETPLACE_COMMON_DB_TRANSACTION_H_
#define MARKETPLACE_COMMON_DB_TRANSACTION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/db/connection.h"
#include "common/db/connection_pool.h"
#include "common/db/sql_value.h"

namespace marketplace::common::db {

enum class IsolationLevel {
  // InnoDB's default and every session's setting: one snapshot for the whole transaction.
  kRepeatableRead,
  // A fresh snapshot per statement and no gap locks: for queue-like tables (the outbox) whose
  // readers must not block concurrent inserts.
  kReadCommitted,
};

struct TransactionOptions {
  // Runs of the whole function, the first included, before giving up with ABORTED.
  int max_attempts = 5;
  // Sleep before retry n is uniform in [0, min(max_backoff, initial_backoff * 2^(n-1))]:
  // full jitter, so that the two sides of a deadlock do not collide again in step.
  absl::Duration initial_backoff = absl::Milliseconds(10);
  absl::Duration max_backoff = absl::Milliseconds(500);
  IsolationLevel isolation = IsolationLevel::kRepeatableRead;
  // START TRANSACTION READ ONLY: writes fail, InnoDB skips transaction-id bookkeeping.
  bool read_only = false;
  // Transaction::Write queues its statement instead of running it: the queue (START
  // TRANSACTION first) goes to the server in one round trip with the next Query, before the
  // next Execute, or with the COMMIT. A transaction of writes only is then ONE round trip.
  // The price: a queued write's error (a duplicate key, a row-count check) is returned by that
  // later call or by the commit, so the function cannot react to it; use it where any failure
  // means "do it another way" (e.g. a group commit that falls back to running items alone).
  bool defer_writes = false;
};

class Transaction;

namespace internal {
absl::Status RunInTransactionImpl(ConnectionPool& pool,
                                  const std::function<absl::Status(Transaction&)>& fn,
                                  const TransactionOptions& options);
}  // namespace internal

// The statements of one database transaction, handed to the function given to
// RunInTransaction. After a statement fails with a retryable error (the server has already
// rolled the transaction back) or a connection error, every later statement returns that same
// error, so a function that ignores an error cannot go on writing outside the transaction.
class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[nodiscard]] absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                                       absl::Span<const SqlValue> params = {});
  // Rows matched by the statement.
  [[nodiscard]] absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                                absl::Span<const SqlValue> params = {});
  [[nodiscard]] absl::StatusOr<int64_t> LastInsertId();
  // A statement whose only result the caller needs is success, and, with `expect_matched`,
  // that it matched exactly that many rows (else FAILED_PRECONDITION). Runs at once, or, with
  // TransactionOptions::defer_writes, is queued (see there) and returns OK.
  [[nodiscard]] absl::Status Write(absl::string_view sql, absl::Span<const SqlValue> params = {},
                                   std::optional<int64_t> expect_matched = std::nullopt);

  // 1 on the first run of the function, 2 on its first retry, ...
  int attempt() const { return attempt_; }

 private:
  friend absl::Status internal::RunInTransactionImpl(
      ConnectionPool& pool, const std::function<absl::Status(Transaction&)>& fn,
      const TransactionOptions& options);
  Transaction(Connection& conn, int attempt, bool defer_writes)
      : conn_(conn), attempt_(attempt), defer_writes_(defer_writes) {}
  absl::Status Track(absl::Status status);
  // Sends the queued statements, and `query` after them when given; the rows of the query.
  absl::StatusOr<std::vector<Row>> Flush(std::optional<ScriptStatement> query = std::nullopt);

  Connection& conn_;
  const int attempt_;
  const bool defer_writes_;
  std::vector<ScriptStatement> queued_;  // defer_writes: not sent yet, in order
  absl::Status broken_;                  // first retryable or connection error, if any
};

// Runs `fn` in a transaction: START TRANSACTION, fn, COMMIT; ROLLBACK when fn (or COMMIT)
// fails. When the failure is a deadlock (1213), lock wait timeout (1205) or snapshot conflict
// (1020), the WHOLE function runs again, on a fresh transaction, after a jittered backoff, up
// to `max_attempts` runs; then ABORTED (still IsRetryable). So `fn` must be safe to run more
// than once: no side effects outside the database, or idempotent ones.
//
// `fn` returns absl::Status, or absl::StatusOr<T> to hand a value out of the transaction:
//   absl::StatusOr<int64_t> id = RunInTransaction(pool, [&](Transaction& tx)
//       -> absl::StatusOr<int64_t> { ... });
//
// A COMMIT that fails with UNAVAILABLE may or may not have landed; it is returned as is.
template <typename Fn>
[[nodiscard]] auto RunInTransaction(ConnectionPool& pool, Fn&& fn,
                                    const TransactionOptions& options = {})
    -> std::invoke_result_t<Fn&, Transaction&> {
  using Result = std::invoke_result_t<Fn&, Transaction&>;
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return internal::RunInTransactionImpl(
        pool, [&fn](Transaction& tx) -> absl::Status { return fn(tx); }, options);
  } else {
    using T = typename Result::value_type;
    static_assert(std::is_same_v<Result, absl::StatusOr<T>>,
                  "the function must return absl::Status or absl::StatusOr<T>");
    std::optional<T> value;
    absl::Status status = internal::RunInTransactionImpl(
        pool,
        [&fn, &value](Transaction& tx) -> absl::Status {
          Result result = fn(tx);
          if (!result.ok()) return result.status();
          value.emplace(*std::move(result));
          return absl::OkStatus();
        },
        options);
    if (!status.ok()) return status;
    return *std::move(value);
  }
}

// Runs `fn` with a pooled connection in autocommit mode (each statement is its own
// transaction): several reads that need no common snapshot, without a transaction's cost.
[[nodiscard]] absl::Status WithConnection(ConnectionPool& pool,
                                          const std::function<absl::Status(Connection&)>& fn);

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_TRANSACTION_H_
