#include "services/gateway/gateway.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/client/channel.h"
#include "common/logging.h"
#include "services/gateway/http_errors.h"

namespace marketplace::gateway {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *kBuckets;
}

HttpResponse FromError(const ErrorReply& e) {
  HttpResponse r;
  r.status = e.http_status;
  r.body = e.body;
  return r;
}

// A header value gRPC accepts as ASCII metadata: printable, no leading/trailing space.
bool IsMetadataValue(absl::string_view v) {
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

const std::string* HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

grpc::GenericStub* GrpcBackend::StubFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& stub = stubs_[address];
  if (stub == nullptr) {
    common::ChannelOptions options;
    options.target = address;
    options.max_message_bytes = max_message_bytes_;
    stub = std::make_unique<grpc::GenericStub>(common::MakeChannel(options));
  }
  return stub.get();
}

void GrpcBackend::Call(const Route& route, std::string request, const BackendCall& call,
                       std::function<void(const grpc::Status&, std::string)> done) {
  struct State {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto* state = new State();
  grpc::Slice slice(request);
  state->request = grpc::ByteBuffer(&slice, 1);
  state->context.set_deadline(absl::ToChronoTime(call.deadline));
  for (const auto& [k, v] : call.metadata) state->context.AddMetadata(k, v);
  StubFor(route.backend)->UnaryCall(
      &state->context, route.grpc_path, grpc::StubOptions(), &state->request, &state->response,
      [state, done = std::move(done)](grpc::Status status) {
        std::string out;
        if (status.ok()) {
          std::vector<grpc::Slice> slices;
          if (state->response.Dump(&slices).ok()) {
            for (const grpc::Slice& s : slices) {
              out.append(reinterpret_cast<const char*>(s.begin()), s.size());
            }
          }
        }
        delete state;
        done(status, std::move(out));
      });
}

Gateway::Gateway(const Api* api, Backend* backend, GatewayOptions options,
                 prometheus::Registry* registry, std::function<bool()> serving)
    : api_(api),
      backend_(backend),
      options_(std::move(options)),
      transcoder_(api, options_.allow_unknown_fields),
      serving_(std::move(serving)) {
  if (registry != nullptr) {
    requests_ = &prometheus::BuildCounter()
                     .Name("gateway_http_requests_total")
                     .Help("HTTP requests answered, by route (gRPC method) and HTTP status.")
                     .Register(*registry);
    duration_ = &prometheus::BuildHistogram()
                     .Name("gateway_http_request_duration_seconds")
                     .Help("Time from the request read to the response handed to the socket.")
                     .Register(*registry);
    backend_duration_ = &prometheus::BuildHistogram()
                             .Name("gateway_backend_request_duration_seconds")
                             .Help("gRPC call latency to the backend, by route and gRPC code.")
                             .Register(*registry);
  }
}

size_t Gateway::BodyLimit(absl::string_view method, absl::string_view target) const {
  if (options_.route_body_limits.empty()) return options_.max_body_bytes;
  const Router::Result match =
      api_->router().Match(method, target.substr(0, target.find('?')));
  if (match.outcome != Router::Outcome::kMatched) return options_.max_body_bytes;
  auto it = options_.route_body_limits.find(api_->routes()[match.id].name);
  return it == options_.route_body_limits.end() ? options_.max_body_bytes : it->second;
}

absl::Status Gateway::CheckRouteBodyLimits(const Api& api,
                                           const std::map<std::string, size_t>& limits) {
  for (const auto& [name, bytes] : limits) {
    const bool routed = std::any_of(api.routes().begin(), api.routes().end(),
                                    [&name = name](const Route& r) { return r.name == name; });
    if (!routed) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--route_body_limits: '", name,
          "' is not a routed method (<package>.<Service>.<Method> of a service in --backends)"));
    }
  }
  return absl::OkStatus();
}

std::optional<absl::Duration> Gateway::ParseGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n;
  if (!absl::SimpleAtoi(value.substr(0, value.size() - 1), &n) || n < 0) return std::nullopt;
  for (char c : value.substr(0, value.size() - 1)) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  switch (value.back()) {
    case 'H': return absl::Hours(n);
    case 'M': return absl::Minutes(n);
    case 'S': return absl::Seconds(n);
    case 'm': return absl::Milliseconds(n);
    case 'u': return absl::Microseconds(n);
    case 'n': return absl::Nanoseconds(n);
    default: return std::nullopt;
  }
}

bool Gateway::OriginAllowed(const std::string* origin) const {
  if (origin == nullptr) return false;
  const auto& list = options_.cors.allowed_origins;
  return std::find(list.begin(), list.end(), *origin) != list.end();
}

void Gateway::AddCorsHeaders(const std::string* origin, HttpResponse& response) const {
  if (options_.cors.allowed_origins.empty()) return;
  response.headers.push_back({"Vary", "Origin"});
  if (!OriginAllowed(origin)) return;
  response.headers.push_back({"Access-Control-Allow-Origin", *origin});
  if (options_.cors.allow_credentials) {
    response.headers.push_back({"Access-Control-Allow-Credentials", "true"});
  }
  response.headers.push_back({"Access-Control-Expose-Headers", "X-Request-Id"});
}

void Gateway::Finish(const std::string& route, absl::Time start, const std::string& request_id,
                     const HttpRequest& request, HttpResponse response, const ReplyFn& reply) {
  if (response.status != 204 && !response.body.empty()) {
    response.headers.push_back({"Content-Type", "application/json"});
  }
  response.headers.push_back({"X-Request-Id", request_id});
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (requests_ != nullptr) {
    requests_->Add({{"route", route}, {"code", std::to_string(response.status)}}).Increment();
    duration_->Add({{"route", route}}, LatencyBuckets()).Observe(seconds);
  }
  {
    common::ScopedRequestId scoped(request_id);
    const size_t q = request.target.find('?');
    common::LogDebug("http request",
                     {{"method", request.method},
                      {"path", request.target.substr(0, q)},
                      {"route", route},
                      {"status", response.status},
                      {"duration_ms", seconds * 1000.0}});
  }
  in_flight_.fetch_sub(1);
  reply(std::move(response));
}

void Gateway::Handle(const HttpRequest& request, ReplyFn reply) {
  in_flight_.fetch_add(1);
  const absl::Time start = absl::Now();
  const std::string* sent_id = request.Header("x-request-id");
  const std::string request_id =
      sent_id != nullptr && common::IsValidRequestId(*sent_id) ? *sent_id : common::NewRequestId();
  const std::string* origin = request.Header("origin");
  const size_t q = request.target.find('?');
  const absl::string_view target(request.target);
  const absl::string_view path = target.substr(0, q);
  const absl::string_view query = q == std::string::npos ? absl::string_view() : target.substr(q + 1);

  auto finish_error = [&](const std::string& route, const ErrorReply& e,
                          std::vector<std::pair<std::string, std::string>> extra = {}) {
    HttpResponse r = FromError(e);
    for (auto& h : extra) r.headers.push_back(std::move(h));
    AddCorsHeaders(origin, r);
    Finish(route, start, request_id, request, std::move(r), reply);
  };

  if (path == "/healthz" && (request.method == "GET" || request.method == "HEAD")) {
    const bool up = !serving_ || serving_();
    HttpResponse r;
    r.status = up ? 200 : 503;
    // HEAD: the status without content (a body would be read as the next response).
    if (request.method == "GET") {
      r.body = up ? R"({"status":"SERVING"})" : R"({"status":"NOT_SERVING"})";
    }
    AddCorsHeaders(origin, r);
    Finish("healthz", start, request_id, request, std::move(r), reply);
    return;
  }

  if (path == "/openapi.json" && request.method == "GET" && !options_.openapi_json.empty()) {
    HttpResponse r;
    r.body = options_.openapi_json;
    AddCorsHeaders(origin, r);
    Finish("openapi", start, request_id, request, std::move(r), reply);
    return;
  }

  // CORS preflight: answered here, never sent to a backend.
  const std::string* preflight_method = request.Header("access-control-request-method");
  if (request.method == "OPTIONS" && origin != nullptr && preflight_method != nullptr) {
    if (!OriginAllowed(origin)) {
      HttpResponse r;
      r.status = 403;
      r.body = GatewayError(grpc::PERMISSION_DENIED, "origin not allowed", {}, "CORS_ORIGIN_NOT_ALLOWED").body;
      r.status = 403;
      if (!options_.cors.allowed_origins.empty()) r.headers.push_back({"Vary", "Origin"});
      Finish("preflight", start, request_id, request, std::move(r), reply);
      return;
    }
    const std::vector<std::string> methods = api_->router().AllowedMethods(path);
    if (methods.empty()) {
      finish_error("preflight", GatewayError(grpc::NOT_FOUND, absl::StrCat("no route for ", JsonQuote(path)), {}, "ROUTE_NOT_FOUND"));
      return;
    }
    HttpResponse r;
    r.status = 204;
    AddCorsHeaders(origin, r);
    r.headers.push_back({"Access-Control-Allow-Methods", absl::StrJoin(methods, ", ")});
    r.headers.push_back({"Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id"});
    r.headers.push_back({"Access-Control-Max-Age",
                         std::to_string(absl::ToInt64Seconds(options_.cors.max_age))});
    Finish("preflight", start, request_id, request, std::move(r), reply);
    return;
  }

  Router::Result match = api_->router().Match(request.method, path);
  switch (match.outcome) {
    case Router::Outcome::kNotFound:
      finish_error("unmatched", GatewayError(grpc::NOT_FOUND, "no route matches this path",
                                             {}, "ROUTE_NOT_FOUND"));
      return;
    case Router::Outcome::kMethodNotAllowed: {
      ErrorReply e = GatewayError(
          grpc::UNIMPLEMENTED,
          absl::StrCat("method not allowed; allowed: ", absl::StrJoin(match.allowed, ", ")), {},
          "METHOD_NOT_ALLOWED", 405);
      finish_error("unmatched", e, {{"Allow", absl::StrJoin(match.allowed, ", ")}});
      return;
    }
    case Router::Outcome::kBadPath:
      finish_error("unmatched", GatewayError(grpc::INVALID_ARGUMENT, match.error,
                                             {{match.error.substr(0, match.error.find(':')),
                                               "bad percent-encoding"}}));
      return;
    case Router::Outcome::kMatched:
      break;
  }
  const Route& route = api_->routes()[match.id];
  std::string binary;
  if (auto e = transcoder_.BuildRequest(route, match.values, query, request.body, &binary)) {
    finish_error(route.name, *e);
    return;
  }

  BackendCall call;
  absl::Duration timeout = options_.default_deadline;
  if (const std::string* t = request.Header("grpc-timeout")) {
    auto parsed = ParseGrpcTimeout(*t);
    if (!parsed) {
      finish_error(route.name, GatewayError(grpc::INVALID_ARGUMENT,
                                            "Grpc-Timeout: must be digits and a unit (H M S m u n)",
                                            {{"Grpc-Timeout", "must be digits and a unit"}}));
      return;
    }
    timeout = std::min(timeout, *parsed);
  }
  call.deadline = start + timeout;
  call.metadata.push_back({common::kRequestIdHeader, request_id});
  if (const std::string* auth = request.Header("authorization")) {
    if (IsMetadataValue(*auth)) call.metadata.push_back({"authorization", *auth});
  }
  std::string forwarded_for = request.peer;
  if (const std::string* xff = request.Header("x-forwarded-for")) {
    if (IsMetadataValue(*xff)) forwarded_for = absl::StrCat(*xff, ", ", request.peer);
  }
  call.metadata.push_back({"x-forwarded-for", forwarded_for});
  for (const std::string& name : options_.forward_headers) {
    if (const std::string* v = request.Header(name)) {
      if (IsMetadataValue(*v)) call.metadata.push_back({name, *v});
    }
  }

  // The callback may run after `request` is gone: keep what it needs.
  auto kept = std::make_shared<HttpRequest>();
  kept->method = request.method;
  kept->target = request.target;
  std::string kept_origin = origin == nullptr ? "" : *origin;
  const bool had_origin = origin != nullptr;
  const absl::Time call_start = absl::Now();
  backend_->Call(
      route, std::move(binary), call,
      [this, &route, start, call_start, request_id, kept, kept_origin, had_origin,
       reply = std::move(reply)](const grpc::Status& status, std::string response) {
        if (backend_duration_ != nullptr) {
          backend_duration_
              ->Add({{"route", route.name}, {"code", CodeName(status.error_code())}},
                    LatencyBuckets())
              .Observe(absl::ToDoubleSeconds(absl::Now() - call_start));
        }
        HttpResponse r;
        if (status.ok()) {
          if (auto e = transcoder_.ResponseToJson(route, response, &r.body)) {
            r = FromError(*e);
          }
        } else {
          r = FromError(FromGrpcStatus(status));
        }
        AddCorsHeaders(had_origin ? &kept_origin : nullptr, r);
        Finish(route.name, start, request_id, *kept, std::move(r), reply);
      });
}

}  // namespace marketplace::gateway
