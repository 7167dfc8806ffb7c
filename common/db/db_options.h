#ifndef MARKETPLACE_COMMON_DB_DB_OPTIONS_H_
#define MARKETPLACE_COMMON_DB_DB_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace marketplace::common::db {

// How to reach one MySQL/MariaDB database, and how the pool in front of it behaves.
struct DbOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;
  // The schema every connection uses; empty for none (admin connections).
  std::string database;

  // Most connections open at once. Acquire() waits for one to come back beyond this.
  int pool_size = 8;
  // Opening a TCP connection and authenticating. The driver counts whole seconds (rounded up).
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long Acquire() waits for a free connection before RESOURCE_EXHAUSTED.
  absl::Duration acquire_timeout = absl::Seconds(2);
  // Socket read/write timeouts: a server that stops answering costs at most this per call.
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration write_timeout = absl::Seconds(30);
  // innodb_lock_wait_timeout of every session. Kept well below read_timeout so that a
  // statement blocked on a row lock fails with 1205 (retryable) and not with a lost connection.
  absl::Duration lock_wait_timeout = absl::Seconds(10);
  // An idle connection unused for longer than this is pinged before it is handed out, so a
  // restarted server or a dropped idle socket costs a reconnect and not a failed request.
  absl::Duration validate_idle_after = absl::Seconds(1);
  // Create() opens one connection at once so that a wrong host or password fails at startup.
  // False lets a process start before its database is up (Acquire() then reports UNAVAILABLE).
  bool connect_on_create = true;
};

// "host:port", as error messages name the database.
std::string Endpoint(const DbOptions& options);

// INVALID_ARGUMENT naming the first option that cannot work (empty host, pool_size < 1, ...).
absl::Status ValidateDbOptions(const DbOptions& options);

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_DB_OPTIONS_H_
