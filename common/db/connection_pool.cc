#include "common/db/connection_pool.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace marketplace::common::db {

PooledConnection::PooledConnection(ConnectionPool* pool, std::unique_ptr<Connection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    Return();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PooledConnection::~PooledConnection() { Return(); }

void PooledConnection::Return() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    DbOptions options, prometheus::Registry* registry) {
  RETURN_IF_ERROR(ValidateDbOptions(options));
  std::unique_ptr<ConnectionPool> pool(new ConnectionPool(std::move(options), registry));
  if (pool->options_.connect_on_create) {
    // Opened and returned at once: the pool starts with one idle connection.
    absl::StatusOr<PooledConnection> first = pool->Acquire();
    if (!first.ok()) return first.status();
  }
  return pool;
}

ConnectionPool::ConnectionPool(DbOptions options, prometheus::Registry* registry)
    : options_(std::move(options)), metrics_(registry, options_.database) {}

ConnectionPool::~ConnectionPool() {
  absl::MutexLock lock(&mu_);
  metrics_.ConnectionsChanged(-in_use_, -static_cast<int>(idle_.size()));
  idle_.clear();
}

bool ConnectionPool::CanAcquireLocked() const {
  return !idle_.empty() || in_use_ + opening_ < options_.pool_size;
}

absl::StatusOr<PooledConnection> ConnectionPool::Acquire() {
  return Acquire(options_.acquire_timeout);
}

absl::StatusOr<PooledConnection> ConnectionPool::Acquire(absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  while (true) {
    std::unique_ptr<Connection> conn;
    {
      absl::MutexLock lock(&mu_);
      if (!mu_.AwaitWithDeadline(absl::Condition(this, &ConnectionPool::CanAcquireLocked),
                                 deadline)) {
        ++exhausted_;
        metrics_.PoolExhausted();
        return absl::ResourceExhaustedError(
            absl::StrCat("database pool exhausted: ", in_use_, " connections in use for ",
                         absl::FormatDuration(absl::Now() - start), " (pool_size ",
                         options_.pool_size, ", database '", options_.database, "')"));
      }
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
        metrics_.ConnectionsChanged(+1, -1);
      } else {
        ++opening_;
      }
    }

    if (conn == nullptr) {
      // Opened outside the lock: connecting takes a round trip or a timeout.
      absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(options_, &metrics_);
      absl::MutexLock lock(&mu_);
      --opening_;
      if (!opened.ok()) return opened.status();
      ++in_use_;
      metrics_.ConnectionsChanged(+1, 0);
      metrics_.Acquired(absl::Now() - start);
      return PooledConnection(this, std::move(*opened));
    }

    if (absl::Now() - conn->last_used() > options_.validate_idle_after && !conn->CheckAlive()) {
      Discard(std::move(conn));
      continue;
    }
    metrics_.Acquired(absl::Now() - start);
    return PooledConnection(this, std::move(conn));
  }
}

void ConnectionPool::Release(std::unique_ptr<Connection> conn) {
  if (!conn->healthy()) {
    Discard(std::move(conn));
    return;
  }
  absl::MutexLock lock(&mu_);
  --in_use_;
  idle_.push_back(std::move(conn));
  metrics_.ConnectionsChanged(-1, +1);
}

void ConnectionPool::Discard(std::unique_ptr<Connection> conn) {
  conn.reset();  // closes the socket outside the lock
  absl::MutexLock lock(&mu_);
  --in_use_;
  metrics_.ConnectionsChanged(-1, 0);
}

absl::StatusOr<std::vector<Row>> ConnectionPool::Query(absl::string_view sql,
                                                       absl::Span<const SqlValue> params) {
  ASSIGN_OR_RETURN(PooledConnection conn, Acquire());
  return conn->Query(sql, params);
}

absl::StatusOr<int64_t> ConnectionPool::Execute(absl::string_view sql,
                                                absl::Span<const SqlValue> params) {
  ASSIGN_OR_RETURN(PooledConnection conn, Acquire());
  return conn->Execute(sql, params);
}

absl::Status ConnectionPool::Ping(absl::Duration timeout) {
  absl::MutexLock lock(&probe_mu_);
  if (probe_ == nullptr || !probe_->healthy()) {
    DbOptions probe_options = options_;
    probe_options.connect_timeout = timeout;
    probe_options.read_timeout = timeout;
    probe_options.write_timeout = timeout;
    probe_.reset();
    ASSIGN_OR_RETURN(probe_, Connection::Open(probe_options, nullptr));
  }
  absl::StatusOr<std::vector<Row>> rows = probe_->Query("SELECT 1 AS ok");
  if (!rows.ok()) {
    probe_.reset();
    return rows.status();
  }
  return absl::OkStatus();
}

ConnectionPool::Stats ConnectionPool::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats;
  stats.in_use = in_use_;
  stats.idle = static_cast<int>(idle_.size());
  stats.exhausted = exhausted_;
  return stats;
}

void ConnectionPool::RecordTransactionRetry(int mysql_error_code) {
  metrics_.TransactionRetry(mysql_error_code);
}

}  // namespace marketplace::common::db
