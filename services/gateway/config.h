#ifndef MARKETPLACE_SERVICES_GATEWAY_CONFIG_H_
#define MARKETPLACE_SERVICES_GATEWAY_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/tls/transport_security.h"
#include "services/gateway/gateway.h"
#include "services/gateway/http_server.h"

namespace marketplace::gateway {

// gateway's settings (README "Flags"), read once at start-up.
struct GatewayConfig {
  std::string http_address;
  std::string admin_address;
  std::string metrics_address;
  std::string descriptor_set;
  std::string backends_text;  // "pkg.Service=host:port,..."
  absl::Duration default_deadline;
  int64_t max_body_bytes = 0;
  int64_t max_header_bytes = 0;
  absl::Duration read_timeout;
  absl::Duration idle_timeout;
  int64_t max_connections = 0;
  int64_t io_threads = 0;
  int64_t max_message_bytes = 0;
  std::string cors_origins_text;
  bool cors_allow_credentials = false;
  absl::Duration cors_max_age;
  std::string forward_headers_text;
  std::string route_body_limits_text;  // "pkg.Service.Method=bytes,..."
  bool allow_unknown_fields = false;
  absl::Duration drain_timeout;
  absl::Duration shutdown_grace;
  std::string log_level;
  bool print_openapi = false;
  // TLS of the calls to the backends (the HTTP side and the admin port are not TLS).
  common::TransportSecurity security;

  // Filled by Validate().
  std::map<std::string, std::string> backends;
  std::vector<std::string> cors_origins;
  std::vector<std::string> forward_headers;
  std::map<std::string, size_t> route_body_limits;

  // Parses and checks what the flags' own rules cannot say (addresses, lists); the error
  // names the flag and the rule.
  [[nodiscard]] absl::Status Validate();

  GatewayOptions Gateway() const;
  HttpServerOptions Http() const;
};

// Declares every flag with its default, bounds and environment variable.
void AddFlags(common::Flags& flags, GatewayConfig* config);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_CONFIG_H_
