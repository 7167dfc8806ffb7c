#ifndef MARKETPLACE_COMMON_DB_CONNECTION_POOL_H_
#define MARKETPLACE_COMMON_DB_CONNECTION_POOL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/db/connection.h"
#include "common/db/db_metrics.h"
#include "common/db/db_options.h"
#include "common/db/sql_value.h"
#include "prometheus/registry.h"

namespace marketplace::common::db {

class ConnectionPool;

// A connection lent by the pool; goes back when destroyed (or is closed, when it saw a
// connection-level error). Movable, not copyable. Must not outlive its pool.
class PooledConnection {
 public:
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection();

  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  friend class ConnectionPool;
  PooledConnection(ConnectionPool* pool, std::unique_ptr<Connection> conn);
  void Return();

  ConnectionPool* pool_;
  std::unique_ptr<Connection> conn_;
};

// Up to `pool_size` connections to one database, opened on demand and reused. Thread-safe.
//
// Acquire() never waits longer than `acquire_timeout` for a connection to come back
// (RESOURCE_EXHAUSTED), and opening one fails with UNAVAILABLE within `connect_timeout`.
// An idle connection unused for `validate_idle_after` is pinged before reuse; one that saw a
// connection-level error is closed instead of returned, so a database restart heals itself.
//
// Metrics, when a registry is given (label database="<name>"):
//   db_pool_connections{state="in_use"|"idle"}, db_pool_acquire_seconds,
//   db_pool_exhausted_total, db_queries_total{result="ok"|"error"}, db_query_seconds,
//   db_transaction_retries_total{code="1213"|"1205"|"1020", or the MySQL error behind a
//   RetryableConflict, e.g. "1062"}.
class ConnectionPool {
 public:
  // INVALID_ARGUMENT for unusable options; with `connect_on_create`, UNAVAILABLE when the
  // first connection cannot be opened. `registry` may be null and must outlive the pool.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(
      DbOptions options, prometheus::Registry* registry = nullptr);

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  // Every PooledConnection must have been destroyed before.
  ~ConnectionPool();

  // A connection for the caller's exclusive use, waiting up to `acquire_timeout`.
  [[nodiscard]] absl::StatusOr<PooledConnection> Acquire();
  [[nodiscard]] absl::StatusOr<PooledConnection> Acquire(absl::Duration timeout);

  // One statement in autocommit mode on a pooled connection: for reads that need no
  // transaction, and for single-statement writes.
  [[nodiscard]] absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                                       absl::Span<const SqlValue> params = {});
  [[nodiscard]] absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                                absl::Span<const SqlValue> params = {});

  // Readiness probe: `SELECT 1` on a connection of its own whose connect and read timeouts
  // are `timeout` (whole seconds, at least one), so a hung server fails the probe quickly
  // and a busy pool does not.
  [[nodiscard]] absl::Status Ping(absl::Duration timeout = absl::Seconds(2));

  struct Stats {
    int in_use = 0;
    int idle = 0;
    int64_t exhausted = 0;  // Acquire() calls that timed out
  };
  Stats GetStats() const;

  const DbOptions& options() const { return options_; }

  // Counts a whole-transaction retry in db_transaction_retries_total (RunInTransaction).
  void RecordTransactionRetry(int mysql_error_code);

 private:
  friend class PooledConnection;
  ConnectionPool(DbOptions options, prometheus::Registry* registry);

  bool CanAcquireLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(std::unique_ptr<Connection> conn);
  void Discard(std::unique_ptr<Connection> conn);

  const DbOptions options_;
  DbMetrics metrics_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);  // most recent last
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int opening_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t exhausted_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex probe_mu_;
  std::unique_ptr<Connection> probe_ ABSL_GUARDED_BY(probe_mu_);
};

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_CONNECTION_POOL_H_
