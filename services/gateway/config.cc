#include "services/gateway/config.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/server/service_runtime.h"

namespace marketplace::gateway {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", rule));
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

bool IsHeaderToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

}  // namespace

void AddFlags(common::Flags& flags, GatewayConfig* c) {
  flags.AddString("http_address", &c->http_address, "0.0.0.0:8080", "HTTP host:port.");
  flags.AddString("admin_address", &c->admin_address, "0.0.0.0:8081",
                  "gRPC health service (grpc.health.v1) host:port, for probes.");
  flags.AddString("metrics_address", &c->metrics_address, "0.0.0.0:9100",
                  "Prometheus /metrics host:port.");
  flags.AddString("descriptor_set", &c->descriptor_set, "",
                  "FileDescriptorSet of the APIs (//protos:api_descriptor_set).")
      .Required();
  flags.AddString("backends", &c->backends_text, "",
                  "Comma-separated <service full name>=<host:port>, e.g. "
                  "marketplace.catalog.v1.CatalogService=127.0.0.1:7002.");
  flags.AddBool("print_openapi", &c->print_openapi, false,
                "Print the OpenAPI 3.0 document of every annotated method of the descriptor set "
                "and exit (no --backends needed).");
  common::AddTransportSecurityFlags(flags, &c->security);
  flags.AddDuration("default_deadline", &c->default_deadline, absl::Seconds(10),
                    absl::Milliseconds(1), absl::Minutes(10),
                    "Deadline of each backend call; a Grpc-Timeout header can only shorten it.");
  flags.AddInt64("max_body_bytes", &c->max_body_bytes, 1024 * 1024, 1, 64 * 1024 * 1024,
                 "Largest request body; larger: 413.");
  flags.AddString("route_body_limits", &c->route_body_limits_text, "",
                  "Comma-separated <method full name>=<bytes> (1 to 67108864), the body limit "
                  "of those routes instead of --max_body_bytes, e.g. "
                  "marketplace.catalog.v1.CatalogService.CreateListing=4194304.");
  flags.AddInt64("max_header_bytes", &c->max_header_bytes, 16 * 1024, 1024, 1024 * 1024,
                 "Largest request line and headers; larger: 431.");
  flags.AddDuration("read_timeout", &c->read_timeout, absl::Seconds(30), absl::Milliseconds(10),
                    absl::Hours(1), "Time to read a request body or write a response.");
  flags.AddDuration("idle_timeout", &c->idle_timeout, absl::Seconds(60), absl::Milliseconds(10),
                    absl::Hours(1),
                    "Time a connection may wait for, and take to send, a request's head.");
  flags.AddInt64("max_connections", &c->max_connections, 10000, 1, 1000000,
                 "Open connections; one more is answered 503 and closed.");
  flags.AddInt64("io_threads", &c->io_threads, 0, 0, 256, "HTTP io threads; 0: one per core.");
  flags.AddInt64("max_message_bytes", &c->max_message_bytes, 4 * 1024 * 1024, 1024,
                 64 * 1024 * 1024, "Largest gRPC response accepted from a backend.");
  flags.AddString("cors_allowed_origins", &c->cors_origins_text, "",
                  "Comma-separated exact origins (https://shop.example.com) allowed by CORS; "
                  "empty: no CORS.");
  flags.AddBool("cors_allow_credentials", &c->cors_allow_credentials, false,
                "Send Access-Control-Allow-Credentials: true to allowed origins.");
  flags.AddDuration("cors_max_age", &c->cors_max_age, absl::Minutes(10), absl::ZeroDuration(),
                    absl::Hours(24), "Access-Control-Max-Age of preflight answers.");
  flags.AddString("forward_headers", &c->forward_headers_text, "",
                  "Comma-separated lower-case request headers also sent as gRPC metadata.");
  flags.AddBool("allow_unknown_fields", &c->allow_unknown_fields, false,
                "Drop unknown JSON body fields instead of answering 400.");
  flags.AddDuration("drain_timeout", &c->drain_timeout, absl::Seconds(20),
                    "After SIGTERM, time for in-flight requests to finish.");
  flags.AddDuration("shutdown_grace", &c->shutdown_grace, absl::ZeroDuration(),
                    "After SIGTERM, time health shows NOT_SERVING before draining.");
  flags.AddEnum("log_level", &c->log_level, "info", {"debug", "info", "warn", "error"},
                "Lowest level logged (debug: one line per request).");
}

absl::Status GatewayConfig::Validate() {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"http_address", http_address},
           {"admin_address", admin_address},
           {"metrics_address", metrics_address}}) {
    if (auto split = common::SplitHostPort(value); !split.ok()) {
      return FlagError(flag, split.status().message());
    }
  }
  backends.clear();
  for (const std::string& entry : SplitList(backends_text)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (kv.first.empty() || kv.second.empty() || absl::StrContains(kv.first, ' ')) {
      return FlagError("backends", absl::StrCat("'", entry, "' is not <service full name>=<host:port>"));
    }
    if (!backends.emplace(kv.first, kv.second).second) {
      return FlagError("backends", absl::StrCat("'", kv.first, "' is given twice"));
    }
  }
  if (backends.empty() && !print_openapi) {
    return FlagError("backends", "at least one <service>=<host:port>");
  }
  if (!print_openapi) {
    if (absl::Status s = common::ValidateTransportSecurity(security); !s.ok()) return s;
  }
  cors_origins.clear();
  for (const std::string& origin : SplitList(cors_origins_text)) {
    if (origin == "*") return FlagError("cors_allowed_origins", "'*' is not allowed; list exact origins");
    const bool scheme = absl::StartsWith(origin, "https://") || absl::StartsWith(origin, "http://");
    const absl::string_view rest = absl::StripPrefix(absl::StripPrefix(origin, "https://"), "http://");
    if (!scheme || rest.empty() || absl::StrContains(rest, '/') || absl::StrContains(rest, '*')) {
      return FlagError("cors_allowed_origins",
                       absl::StrCat("'", origin, "' is not an origin like https://host[:port]"));
    }
    cors_origins.push_back(origin);
  }
  route_body_limits.clear();
  for (const std::string& entry : SplitList(route_body_limits_text)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    int64_t bytes = 0;
    if (kv.first.empty() || absl::StrContains(kv.first, ' ') ||
        !absl::SimpleAtoi(kv.second, &bytes) || bytes < 1 || bytes > 64 * 1024 * 1024) {
      return FlagError("route_body_limits",
                       absl::StrCat("'", entry,
                                    "' is not <method full name>=<bytes, 1 to 67108864>"));
    }
    if (!route_body_limits.emplace(kv.first, static_cast<size_t>(bytes)).second) {
      return FlagError("route_body_limits", absl::StrCat("'", kv.first, "' is given twice"));
    }
  }
  forward_headers.clear();
  static const std::set<std::string>* const kReserved = new std::set<std::string>{
      "authorization", "x-request-id", "x-forwarded-for", "grpc-timeout", "content-type",
      "te", "host", "connection"};
  for (const std::string& h : SplitList(forward_headers_text)) {
    if (!IsHeaderToken(h) || absl::StartsWith(h, "grpc-") || absl::StartsWith(h, ":") ||
        kReserved->count(h)) {
      return FlagError("forward_headers",
                       absl::StrCat("'", h, "' must be a lower-case header name that the "
                                            "gateway does not set itself (no grpc-*)"));
    }
    forward_headers.push_back(h);
  }
  return absl::OkStatus();
}

GatewayOptions GatewayConfig::Gateway() const {
  GatewayOptions o;
  o.default_deadline = default_deadline;
  o.forward_headers = forward_headers;
  o.cors.allowed_origins = cors_origins;
  o.cors.allow_credentials = cors_allow_credentials;
  o.cors.max_age = cors_max_age;
  o.allow_unknown_fields = allow_unknown_fields;
  o.max_body_bytes = static_cast<size_t>(max_body_bytes);
  o.route_body_limits = route_body_limits;
  return o;
}

HttpServerOptions GatewayConfig::Http() const {
  HttpServerOptions o;
  auto split = common::SplitHostPort(http_address);
  if (split.ok()) {
    o.host = split->first;
    o.port = split->second;
  }
  o.io_threads = static_cast<int>(io_threads);
  o.max_header_bytes = static_cast<size_t>(max_header_bytes);
  o.max_body_bytes = static_cast<size_t>(max_body_bytes);
  o.idle_timeout = idle_timeout;
  o.read_timeout = read_timeout;
  o.max_connections = static_cast<int>(max_connections);
  // "Every answer has Vary: Origin once CORS is on" (README), the server's own ones too.
  if (!cors_origins.empty()) o.early_reply_headers.push_back({"Vary", "Origin"});
  return o;
}

}  // namespace marketplace::gateway
