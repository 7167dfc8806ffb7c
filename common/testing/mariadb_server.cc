#include "common/testing/mariadb_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connection.h"
#include "common/status_macros.h"
#include "common/testing/free_port.h"

namespace marketplace::common::testing {
namespace {

constexpr absl::Duration kInstallTimeout = absl::Seconds(120);
constexpr absl::Duration kReadyTimeout = absl::Seconds(60);
constexpr absl::Duration kStopTimeout = absl::Seconds(30);

// Bazel runs tests with a minimal PATH (no /usr/sbin), so the binaries are looked up here.
std::string FindExecutable(const char* env_override, const std::vector<std::string>& candidates) {
  if (const char* path = std::getenv(env_override); path != nullptr && *path != '\0') {
    return path;
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string CurrentUser() {
  const struct passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

absl::StatusOr<std::string> MakeTempDir(const std::string& pattern) {
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  return std::string(buffer.data());
}

// Starts `args` with stdout and stderr appended to `log_path`. With `die_with_parent`, the
// kernel kills the child when the calling thread exits, however it exits.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args, const std::string& log_path,
                            bool die_with_parent) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  static const char* const kEnv[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                                     "TMPDIR=/tmp", nullptr};
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // The server must not inherit the test's sockets (database connections, gRPC).
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < 65536; ++fd) close(fd);
    }
    execve(argv[0], argv.data(), const_cast<char* const*>(kEnv));
    _exit(127);
  }
  close(log_fd);
  return pid;
}

// Waits for `pid` up to `timeout`; true when it exited (and was reaped).
bool WaitForExit(pid_t pid, absl::Duration timeout, int* wait_status) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t r = waitpid(pid, wait_status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string Tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

MariaDbServer* g_server = nullptr;

}  // namespace

absl::StatusOr<MariaDbServer*> MariaDbServer::Shared() {
  static absl::StatusOr<MariaDbServer*>* const shared = [] {
    auto* server = new MariaDbServer();
    absl::Status status = server->Initialize();
    if (!status.ok()) return new absl::StatusOr<MariaDbServer*>(status);
    return new absl::StatusOr<MariaDbServer*>(server);
  }();
  return *shared;
}

absl::Status MariaDbServer::Initialize() {
  mariadbd_ = FindExecutable("MARIADBD",
                             {"/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/libexec/mariadbd",
                              "/usr/local/sbin/mariadbd", "/usr/local/bin/mariadbd"});
  const std::string install_db = FindExecutable(
      "MARIADB_INSTALL_DB", {"/usr/bin/mariadb-install-db", "/usr/sbin/mariadb-install-db",
                             "/usr/local/bin/mariadb-install-db"});
  if (mariadbd_.empty() || install_db.empty()) {
    return absl::FailedPreconditionError(
        "MariaDB not found: install mariadb-server (mariadbd and mariadb-install-db), or set "
        "MARIADBD and MARIADB_INSTALL_DB");
  }

  const char* test_tmpdir = std::getenv("TEST_TMPDIR");
  const std::string tmp = test_tmpdir != nullptr && *test_tmpdir != '\0' ? test_tmpdir : "/tmp";
  ASSIGN_OR_RETURN(base_dir_, MakeTempDir(tmp + "/mariadb.XXXXXX"));
  ASSIGN_OR_RETURN(socket_dir_, MakeTempDir("/tmp/mdb.XXXXXX"));
  g_server = this;
  std::atexit(&MariaDbServer::KillAtExit);

  // The server's own directory for temporary tables, not the shared /tmp: servers bootstrapped
  // at once by tests running side by side must not meet in each other's files.
  ASSIGN_OR_RETURN(tmp_dir_, MakeTempDir(base_dir_ + "/tmp.XXXXXX"));
  const std::string install_log = base_dir_ + "/install.log";
  ASSIGN_OR_RETURN(pid_t install,
                   Spawn({install_db, "--no-defaults", "--datadir=" + base_dir_ + "/data",
                          "--auth-root-authentication-method=normal", "--skip-test-db",
                          "--skip-name-resolve", "--user=" + CurrentUser(),
                          "--tmpdir=" + tmp_dir_},
                         install_log, /*die_with_parent=*/true));
  int wait_status = 0;
  if (!WaitForExit(install, kInstallTimeout, &wait_status)) {
    kill(install, SIGKILL);
    waitpid(install, nullptr, 0);
    return absl::DeadlineExceededError(absl::StrCat("mariadb-install-db did not finish in ",
                                                    absl::FormatDuration(kInstallTimeout)));
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return absl::InternalError(
        absl::StrCat("mariadb-install-db failed:\n", Tail(install_log, 2000)));
  }

  absl::MutexLock lock(&mu_);
  // A free port can be taken between the probe and the server's bind: try a few.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = PickFreePort();
    if (port_ == 0) return absl::InternalError("no free port on 127.0.0.1");
    status = StartLocked();
    if (status.ok() || !absl::StrContains(LogTail(), "Address already in use")) break;
  }
  RETURN_IF_ERROR(status);

  db::DbOptions admin = AdminOptions();
  admin.validate_idle_after = absl::ZeroDuration();  // survive Restart() transparently
  ASSIGN_OR_RETURN(admin_, db::ConnectionPool::Create(admin));
  return absl::OkStatus();
}

db::DbOptions MariaDbServer::AdminOptions() const {
  db::DbOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.user = "root";
  options.password = "";
  options.pool_size = 2;
  options.connect_timeout = absl::Seconds(2);
  options.acquire_timeout = absl::Seconds(10);
  options.read_timeout = absl::Seconds(60);
  options.write_timeout = absl::Seconds(60);
  return options;
}

absl::Status MariaDbServer::StartLocked() {
  if (pid_ > 0) return absl::OkStatus();
  const std::vector<std::string> args = {
      mariadbd_,
      "--no-defaults",
      "--datadir=" + base_dir_ + "/data",
      "--socket=" + socket_dir_ + "/mysqld.sock",
      "--pid-file=" + base_dir_ + "/mariadbd.pid",
      "--tmpdir=" + tmp_dir_,
      "--log-error=" + base_dir_ + "/error.log",
      absl::StrCat("--port=", port_),
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--user=" + CurrentUser(),
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_unicode_ci",
      "--max-connections=500",
      "--skip-log-bin",
      "--skip-performance-schema",
      "--innodb-buffer-pool-size=64M",
      // Commits reach the OS at once and the disk within a second: a killed server keeps
      // them, only a machine crash could lose the last second.
      "--innodb-flush-log-at-trx-commit=2",
      "--innodb-doublewrite=0",
  };
  ASSIGN_OR_RETURN(pid_, Spawn(args, base_dir_ + "/mariadbd.out", /*die_with_parent=*/true));
  return WaitUntilReadyLocked();
}

absl::Status MariaDbServer::WaitUntilReadyLocked() {
  db::DbOptions probe = AdminOptions();
  probe.connect_timeout = absl::Seconds(1);
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  while (true) {
    int wait_status = 0;
    if (waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("mariadbd exited during start-up:\n", LogTail()));
    }
    if (db::Connection::Open(probe, nullptr).ok()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      StopLocked(SIGKILL).IgnoreError();
      return absl::DeadlineExceededError(absl::StrCat("mariadbd did not accept connections within ",
                                                      absl::FormatDuration(kReadyTimeout), ":\n",
                                                      LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::Status MariaDbServer::StopLocked(int signal) {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, signal);
  int wait_status = 0;
  if (!WaitForExit(pid_, kStopTimeout, &wait_status)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &wait_status, 0);
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status MariaDbServer::Stop() {
  absl::MutexLock lock(&mu_);
  return StopLocked(SIGTERM);
}

absl::Status MariaDbServer::Kill() {
  absl::MutexLock lock(&mu_);
  return StopLocked(SIGKILL);
}

absl::Status MariaDbServer::Start() {
  absl::MutexLock lock(&mu_);
  return StartLocked();
}

absl::Status MariaDbServer::Restart() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(StopLocked(SIGTERM));
  return StartLocked();
}

bool MariaDbServer::running() const {
  absl::MutexLock lock(&mu_);
  return pid_ > 0;
}

absl::Status MariaDbServer::AdminExecute(absl::string_view sql) {
  absl::MutexLock lock(&mu_);
  if (pid_ <= 0) return absl::FailedPreconditionError("the test MariaDB server is stopped");
  return admin_->Execute(sql).status();
}

std::string MariaDbServer::LogTail() const { return Tail(base_dir_ + "/error.log", 3000); }

void MariaDbServer::KillAtExit() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  MariaDbServer* server = g_server;
  if (server == nullptr) return;
  // The admin connections would only see their server vanish; close them first.
  server->admin_.reset();
  if (server->pid_ > 0) {
    kill(server->pid_, SIGKILL);
    waitpid(server->pid_, nullptr, 0);
    server->pid_ = -1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(server->socket_dir_, ignored);
  std::filesystem::remove_all(server->base_dir_, ignored);
}

namespace {

std::string SanitizePrefix(absl::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (out.size() >= 40) break;
    const char lower = absl::ascii_tolower(static_cast<unsigned char>(c));
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(lower)) ? lower : '_');
  }
  return out.empty() ? "test" : out;
}

bool IsSafeIdentifier(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<TestDatabase> CreateTestDatabase(absl::string_view prefix) {
  ASSIGN_OR_RETURN(MariaDbServer * server, MariaDbServer::Shared());
  static absl::Mutex gen_mu(absl::kConstInit);
  static absl::BitGen* const gen = new absl::BitGen();
  uint64_t suffix;
  {
    absl::MutexLock lock(&gen_mu);
    suffix = absl::Uniform<uint64_t>(*gen) & 0xffffffffffffULL;
  }
  TestDatabase db;
  db.name = absl::StrCat(SanitizePrefix(prefix), "_", absl::Hex(suffix, absl::kZeroPad12));
  // The name is made here of [a-z0-9_] only; identifiers cannot be bound as parameters.
  RETURN_IF_ERROR(server->AdminExecute(absl::StrCat(
      "CREATE DATABASE `", db.name, "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")));
  db.options = server->AdminOptions();
  db.options.database = db.name;
  db.options.pool_size = 8;
  db.options.acquire_timeout = absl::Seconds(5);
  return db;
}

absl::Status DropTestDatabase(absl::string_view name) {
  if (!IsSafeIdentifier(name)) {
    return absl::InvalidArgumentError(absl::StrCat("not a test database name: ", name));
  }
  ASSIGN_OR_RETURN(MariaDbServer * server, MariaDbServer::Shared());
  return server->AdminExecute(absl::StrCat("DROP DATABASE IF EXISTS `", name, "`"));
}

}  // namespace marketplace::common::testing
