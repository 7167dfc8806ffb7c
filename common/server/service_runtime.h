#ifndef MARKETPLACE_COMMON_SERVER_SERVICE_RUNTIME_H_
#define MARKETPLACE_COMMON_SERVER_SERVICE_RUNTIME_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "common/db/db_options.h"
#include "common/executor.h"
#include "common/server/server.h"
#include "common/tls/transport_security.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace marketplace::common {

// The flags every service takes (README "Operating a service").
struct ServiceConfig {
  std::string listen_address = "0.0.0.0:7000";
  std::string metrics_address = "0.0.0.0:9100";
  // Plaintext gRPC health only (ServerOptions::health_address); empty: none.
  std::string health_address;
  // TLS of the gRPC port and of every outgoing channel (README "Transport security").
  TransportSecurity security;
  db::DbOptions db;  // pool_size is taken from db_pool_size
  int64_t db_pool_size = 8;
  int64_t executor_queue = 256;
  int64_t max_message_bytes = 4 * 1024 * 1024;
  absl::Duration drain_timeout = absl::Seconds(20);
  absl::Duration shutdown_grace = absl::ZeroDuration();
  std::string log_level = "info";
  // Apply migrations and exit instead of serving (a deploy step run by the database owner).
  bool migrate_only = false;
};

// Declares the core flags on `flags`; `service` names the default database and user.
void AddServiceFlags(Flags& flags, absl::string_view service, ServiceConfig* config);

// What every service's main() does, in order: logging, metrics exposer, database pool, the
// executor for blocking work, migrations, then serving until SIGTERM/SIGINT and draining.
// Failures before serving are one log line and a non-zero exit: the *OrExit calls.
class ServiceRuntime {
 public:
  // Logs the effective configuration (secrets redacted), checks the transport security flags
  // and makes them the process's for outgoing channels, starts the metrics exposer and
  // connects to the database. Exits 2 on a bad value, 1 when a resource is unavailable.
  static std::unique_ptr<ServiceRuntime> CreateOrExit(absl::string_view service,
                                                      const ServiceConfig& config,
                                                      const Flags& flags);

  // Applies `files` (name, sql) of `component`; exits 1 on failure.
  void ApplyMigrationsOrExit(absl::string_view component,
                             const std::vector<std::pair<std::string, std::string>>& files);

  db::ConnectionPool& pool() { return *pool_; }
  BoundedExecutor& executor() { return *executor_; }
  const std::shared_ptr<prometheus::Registry>& registry() { return registry_; }
  const ServiceConfig& config() const { return config_; }

  // Serves `services` with the metrics interceptor and readiness tied to the database, until
  // SIGTERM or SIGINT; then drains and returns main()'s exit code (0 on a clean stop).
  // With --migrate_only it returns 0 at once: the migrations applied before it were the job.
  // BlockTerminationSignals() must have been called first thing in main().
  int Serve(std::vector<Server::Entry> services);

  // Like Serve(), but returns the started server instead of waiting for a signal (tests).
  absl::StatusOr<std::unique_ptr<Server>> StartServer(std::vector<Server::Entry> services);

 private:
  ServiceRuntime(std::string service, ServiceConfig config)
      : service_(std::move(service)), config_(std::move(config)) {}

  std::string service_;
  ServiceConfig config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<BoundedExecutor> executor_;
};

// Writes `message: status` as one error log line and exits with `code`.
[[noreturn]] void ExitWithError(absl::string_view message, const absl::Status& status, int code);

// Splits "host:port"; the port must be in [0, 65535].
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(absl::string_view address);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_SERVICE_RUNTIME_H_
