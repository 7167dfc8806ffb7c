#ifndef MARKETPLACE_COMMON_TESTING_MARIADB_SERVER_H_
#define MARKETPLACE_COMMON_TESTING_MARIADB_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/db/connection_pool.h"
#include "common/db/db_options.h"

namespace marketplace::common::testing {

// A throwaway MariaDB server for one test binary: a fresh data directory (under
// $TEST_TMPDIR when Bazel runs the test), root without a password, listening on 127.0.0.1 at
// a free port. Started on first use, killed when the binary exits; the child dies with its
// parent (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
//
// Settings favour speed but keep InnoDB real: transactions, row locks, deadlock detection
// and crash recovery behave as in production; only durability per commit is relaxed.
//
// Thread-safe. PR_SET_PDEATHSIG fires when the *thread* that started the server exits, so
// call Start()/Restart() from the test's main thread (the one gtest runs tests on).
class MariaDbServer {
 public:
  // The binary's server, started on the first call. The error (binaries not found, server
  // not ready in time, with the tail of its log) is returned on every call.
  static absl::StatusOr<MariaDbServer*> Shared();

  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  int port() const { return port_; }
  // Root over TCP, no database selected, small pool, short timeouts.
  db::DbOptions AdminOptions() const;

  // Takes the database away: SIGTERM (a clean shutdown), SIGKILL after 30 s. The data
  // directory stays. A no-op when stopped.
  absl::Status Stop();
  // Kills the server without warning (SIGKILL), as a crash would.
  absl::Status Kill();
  // Starts it again on the same port and data directory; returns once it accepts
  // connections (bounded). A no-op when running.
  absl::Status Start();
  absl::Status Restart();
  bool running() const;

  // Runs one statement as root, e.g. "CREATE DATABASE ...". For test set-up only.
  absl::Status AdminExecute(absl::string_view sql);

 private:
  MariaDbServer() = default;
  absl::Status Initialize();
  absl::Status StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StopLocked(int signal) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WaitUntilReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LogTail() const;
  static void KillAtExit();

  std::string base_dir_;    // data directory and error log
  std::string socket_dir_;  // short path under /tmp: unix socket paths are limited
  std::string tmp_dir_;     // the server's temporary tables, under base_dir_
  std::string mariadbd_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = -1;
  std::unique_ptr<db::ConnectionPool> admin_ ABSL_GUARDED_BY(mu_);
};

// A fresh database on the shared server, named from `prefix` (sanitized to [a-z0-9_]) and a
// unique suffix, with utf8mb4. `options` connect to it as root.
struct TestDatabase {
  std::string name;
  db::DbOptions options;
};
absl::StatusOr<TestDatabase> CreateTestDatabase(absl::string_view prefix);
absl::Status DropTestDatabase(absl::string_view name);

}  // namespace marketplace::common::testing

#endif  // MARKETPLACE_COMMON_TESTING_MARIADB_SERVER_H_
