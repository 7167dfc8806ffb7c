// gateway: HTTP/JSON to gRPC transcoding from the google.api.http annotations (README.md).
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "common/config.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/server/server.h"
#include "common/server/service_runtime.h"
#include "services/gateway/api.h"
#include "services/gateway/config.h"
#include "services/gateway/gateway.h"
#include "services/gateway/http_server.h"
#include "services/gateway/openapi.h"

namespace common = marketplace::common;
namespace gateway = marketplace::gateway;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  gateway::GatewayConfig config;
  common::Flags flags("gateway", "HTTP/JSON to gRPC transcoding of the google.api.http rules.");
  gateway::AddFlags(flags, &config);
  flags.ParseOrExit(argc, argv);
  auto level = common::ParseLogLevel(config.log_level);
  common::InitLogging("gateway", level.ok() ? *level : common::LogLevel::kInfo);
  if (absl::Status s = config.Validate(); !s.ok()) common::ExitWithError("flags", s, 2);
  common::LogInfo("starting", {{"config", flags.DescribeEffectiveConfig()}});

  if (config.print_openapi) {
    auto all = gateway::Api::Load(config.descriptor_set, config.backends, /*all_services=*/true);
    if (!all.ok()) common::ExitWithError("descriptor set", all.status(), 2);
    std::cout << gateway::BuildOpenApi(**all) << std::endl;
    return 0;
  }
  // Every backend channel (MakeChannel) uses these credentials.
  common::SetProcessTransportSecurity(config.security);
  auto api = gateway::Api::Load(config.descriptor_set, config.backends);
  if (!api.ok()) common::ExitWithError("descriptor set", api.status(), 2);
  common::LogInfo("routes", {{"count", static_cast<int64_t>((*api)->routes().size())}});

  auto registry = common::NewMetricsRegistry();
  auto metrics = common::SplitHostPort(config.metrics_address);
  auto exposer = common::StartMetricsExposer(metrics->first, metrics->second, registry);
  if (!exposer.ok()) common::ExitWithError("metrics exposer", exposer.status(), 1);

  common::ServerOptions admin_options;
  admin_options.name = "gateway";
  admin_options.listen_address = config.admin_address;
  admin_options.drain_timeout = absl::Seconds(1);
  admin_options.shutdown_grace = config.shutdown_grace;
  auto admin = common::Server::Start(admin_options, {}, {}, nullptr);
  if (!admin.ok()) common::ExitWithError("admin server", admin.status(), 1);

  std::atomic<bool> serving{true};
  gateway::GrpcBackend backend(static_cast<int>(config.max_message_bytes));
  gateway::GatewayOptions options = config.Gateway();
  if (absl::Status s = gateway::Gateway::CheckRouteBodyLimits(**api, options.route_body_limits);
      !s.ok()) {
    common::ExitWithError("flags", s, 2);
  }
  options.openapi_json = gateway::BuildOpenApi(**api);
  gateway::Gateway handler(api->get(), &backend, std::move(options), registry.get(),
                           [&serving] { return serving.load(); });
  gateway::HttpServerOptions http_options = config.Http();
  http_options.body_limit = [&handler](absl::string_view method, absl::string_view target) {
    return handler.BodyLimit(method, target);
  };
  for (const auto& [method, bytes] : config.route_body_limits) {
    http_options.largest_body_limit = std::max(http_options.largest_body_limit, bytes);
  }
  auto http = gateway::HttpServer::Start(
      http_options, [&handler](const gateway::HttpRequest& request, gateway::ReplyFn reply) {
        handler.Handle(request, std::move(reply));
      });
  if (!http.ok()) common::ExitWithError("http server", http.status(), 1);
  common::LogInfo("serving", {{"http_port", (*http)->port()}, {"admin_port", (*admin)->port()}});

  common::WaitForTerminationSignal();
  // Drain: NOT_SERVING (health and /healthz), the grace period, no new connections, then the
  // requests in flight get up to --drain_timeout.
  serving = false;
  common::LogInfo("shutting down");
  std::thread admin_stop([&admin] { (*admin)->Shutdown(); });
  absl::SleepFor(config.shutdown_grace);
  (*http)->StopAccepting();
  const absl::Time until = absl::Now() + config.drain_timeout;
  while (handler.in_flight() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  if (handler.in_flight() > 0) {
    common::LogWarn("drain timeout: requests still in flight",
                    {{"in_flight", static_cast<int64_t>(handler.in_flight())}});
  }
  (*http)->Stop();
  admin_stop.join();
  common::LogInfo("stopped");
  return 0;
}
