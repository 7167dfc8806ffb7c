#include "common/server/service_runtime.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace marketplace::common {

void AddServiceFlags(Flags& flags, absl::string_view service, ServiceConfig* config) {
  flags.AddString("listen_address", &config->listen_address, config->listen_address,
                  "gRPC host:port (port 0: any free port).");
  flags.AddString("metrics_address", &config->metrics_address, config->metrics_address,
                  "Prometheus /metrics host:port (port 0: any free port).");
  flags.AddString("health_address", &config->health_address, "",
                  "Plaintext gRPC host:port serving only health (and reflection), for probes "
                  "that cannot speak TLS; empty: none.");
  AddTransportSecurityFlags(flags, &config->security);
  flags.AddString("db_host", &config->db.host, "127.0.0.1", "MySQL/MariaDB host.");
  flags.AddPort("db_port", &config->db.port, 3306, "MySQL/MariaDB port.");
  flags.AddString("db_name", &config->db.database, std::string(service),
                  "The service's own database.");
  flags.AddString("db_user", &config->db.user, std::string(service), "Database user.");
  flags.AddSecret("db_password", &config->db.password,
                  "Database password; prefer --db_password_file=PATH.");
  flags.AddInt64("db_pool_size", &config->db_pool_size, 8, 1, 256,
                 "Database connections; also the worker threads for blocking work.");
  flags.AddDuration("db_connect_timeout", &config->db.connect_timeout, absl::Seconds(5),
                    "Time to connect to the database.");
  flags.AddDuration("db_acquire_timeout", &config->db.acquire_timeout, absl::Seconds(2),
                    "Time a call waits for a free connection before RESOURCE_EXHAUSTED.");
  flags.AddInt64("executor_queue", &config->executor_queue, 256, 0, 100000,
                 "Calls that may wait for a worker; more get RESOURCE_EXHAUSTED.");
  flags.AddInt64("max_message_bytes", &config->max_message_bytes, 4 * 1024 * 1024, 1024,
                 64 * 1024 * 1024, "Largest request or response message, in bytes.");
  flags.AddDuration("drain_timeout", &config->drain_timeout, absl::Seconds(20),
                    "After SIGTERM: time for in-flight calls to finish.");
  flags.AddDuration("shutdown_grace", &config->shutdown_grace, absl::ZeroDuration(),
                    "After SIGTERM: time NOT_SERVING is shown before draining.");
  flags.AddEnum("log_level", &config->log_level, "info", {"debug", "info", "warn", "error"},
                "Least severe log level written.");
  flags.AddBool("migrate_only", &config->migrate_only, false,
                "Apply the database migrations, then exit 0 without serving.");
}

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not host:port with a port in [0, 65535]"));
  }
  return std::make_pair(std::string(address.substr(0, colon)), port);
}

void ExitWithError(absl::string_view message, const absl::Status& status, int code) {
  LogError(absl::StrCat(message, ": ", status.message()), {{"code", code}});
  std::exit(code);
}

std::unique_ptr<ServiceRuntime> ServiceRuntime::CreateOrExit(absl::string_view service,
                                                             const ServiceConfig& config,
                                                             const Flags& flags) {
  auto level = ParseLogLevel(config.log_level);
  InitLogging(std::string(service), level.ok() ? *level : LogLevel::kInfo);
  auto runtime = std::unique_ptr<ServiceRuntime>(new ServiceRuntime(std::string(service), config));
  runtime->config_.db.pool_size = static_cast<int>(config.db_pool_size);
  LogInfo("starting", {{"config", flags.DescribeEffectiveConfig()}});

  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{
                                         "listen_address", &config.listen_address},
                                     {"metrics_address", &config.metrics_address},
                                     {"health_address", &config.health_address}}) {
    if (value->empty() && std::string(flag) == "health_address") continue;
    auto split = SplitHostPort(*value);
    if (!split.ok()) ExitWithError(absl::StrCat("--", flag), split.status(), 2);
  }
  if (absl::Status s = ValidateTransportSecurity(config.security); !s.ok()) {
    ExitWithError("transport security", s, 2);
  }
  SetProcessTransportSecurity(config.security);
  if (absl::Status s = db::ValidateDbOptions(runtime->config_.db); !s.ok()) {
    ExitWithError("database options", s, 2);
  }

  runtime->registry_ = NewMetricsRegistry();
  auto metrics = SplitHostPort(config.metrics_address);
  auto exposer = StartMetricsExposer(metrics->first, metrics->second, runtime->registry_);
  if (!exposer.ok()) ExitWithError("metrics exposer", exposer.status(), 1);
  runtime->exposer_ = *std::move(exposer);

  auto pool = db::ConnectionPool::Create(runtime->config_.db, runtime->registry_.get());
  if (!pool.ok()) {
    ExitWithError(absl::StrCat("database ", db::Endpoint(runtime->config_.db), " unreachable"),
                  pool.status(), 1);
  }
  runtime->pool_ = *std::move(pool);
  runtime->executor_ = std::make_unique<BoundedExecutor>(
      runtime->config_.db.pool_size, static_cast<int>(config.executor_queue));
  return runtime;
}

void ServiceRuntime::ApplyMigrationsOrExit(
    absl::string_view component, const std::vector<std::pair<std::string, std::string>>& files) {
  if (absl::Status s = db::ApplyMigrations(*pool_, component, files); !s.ok()) {
    ExitWithError(absl::StrCat("migrations of ", component), s, 1);
  }
}

absl::StatusOr<std::unique_ptr<Server>> ServiceRuntime::StartServer(
    std::vector<Server::Entry> services) {
  ServerOptions options;
  options.name = service_;
  options.listen_address = config_.listen_address;
  options.credentials = ServerCredentials(config_.security);
  options.health_address = config_.health_address;
  options.max_message_bytes = static_cast<int>(config_.max_message_bytes);
  options.drain_timeout = config_.drain_timeout;
  options.shutdown_grace = config_.shutdown_grace;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewGrpcServerMetricsInterceptorFactory(registry_));
  db::ConnectionPool* pool = pool_.get();
  return Server::Start(std::move(options), std::move(services), std::move(interceptors),
                       [pool] { return pool->Ping(absl::Seconds(1)); });
}

int ServiceRuntime::Serve(std::vector<Server::Entry> services) {
  if (config_.migrate_only) {
    LogInfo("migrations applied; exiting (--migrate_only)");
    return 0;
  }
  auto server = StartServer(std::move(services));
  if (!server.ok()) ExitWithError("gRPC server", server.status(), 1);
  auto metrics_ports = exposer_->GetListeningPorts();
  LogInfo("serving", {{"grpc_port", (*server)->port()},
                      {"tls", config_.security.insecure ? "off (--insecure)"
                              : config_.security.ca_file.empty() ? "on"
                                                                 : "mutual"},
                      {"health_port", (*server)->health_port()},
                      {"metrics_port", metrics_ports.empty() ? 0 : metrics_ports.front()}});
  int sig = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", sig}});
  (*server)->Shutdown();
  executor_->Shutdown();
  LogInfo("stopped");
  return 0;
}

}  // namespace marketplace::common
