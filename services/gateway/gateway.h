#ifndef MARKETPLACE_SERVICES_GATEWAY_GATEWAY_H_
#define MARKETPLACE_SERVICES_GATEWAY_GATEWAY_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/gateway/api.h"
#include "services/gateway/transcoder.h"

namespace marketplace::gateway {

// One HTTP exchange, independent of the server library. Header names are lower case.
struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // the client's IP address

  // The first value of header `name` (lower case), or nullptr.
  const std::string* Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using ReplyFn = std::function<void(HttpResponse)>;

// How a call reaches a backend: the metadata and deadline the gateway decided.
struct BackendCall {
  std::vector<std::pair<std::string, std::string>> metadata;
  absl::Time deadline;
};

// Calls gRPC methods on raw bytes. `done` runs on a gRPC thread.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void Call(const Route& route, std::string request, const BackendCall& call,
                    std::function<void(const grpc::Status&, std::string)> done) = 0;
};

// grpc::GenericStub callback UnaryCall, one channel per backend address.
class GrpcBackend : public Backend {
 public:
  explicit GrpcBackend(int max_message_bytes) : max_message_bytes_(max_message_bytes) {}
  void Call(const Route& route, std::string request, const BackendCall& call,
            std::function<void(const grpc::Status&, std::string)> done) override;

 private:
  grpc::GenericStub* StubFor(const std::string& address);
  int max_message_bytes_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_ ABSL_GUARDED_BY(mu_);
};

// CORS (README "CORS"): origins are exact ("https://shop.example.com"), never "*".
struct CorsOptions {
  std::vector<std::string> allowed_origins;
  bool allow_credentials = false;
  absl::Duration max_age = absl::Minutes(10);
};

struct GatewayOptions {
  absl::Duration default_deadline = absl::Seconds(10);
  // Request headers (lower case) sent as metadata besides authorization and x-request-id.
  std::vector<std::string> forward_headers;
  CorsOptions cors;
  bool allow_unknown_fields = false;
  // Served as GET /openapi.json (empty: 404).
  std::string openapi_json;
  // Largest request body of every route, and per method full name
  // ("marketplace.catalog.v1.CatalogService.CreateListing") for the routes that differ
  // (--route_body_limits). Beyond: 413.
  size_t max_body_bytes = 1024 * 1024;
  std::map<std::string, size_t> route_body_limits;
};

// The transcoding HTTP handler: routes a request, builds the gRPC request, calls the
// backend, answers JSON (README "How a request is transcoded").
class Gateway {
 public:
  // `registry` may be null (no metrics). `serving` says whether /healthz answers 200.
  Gateway(const Api* api, Backend* backend, GatewayOptions options,
          prometheus::Registry* registry, std::function<bool()> serving = nullptr);

  // `reply` is called exactly once, possibly on another thread.
  void Handle(const HttpRequest& request, ReplyFn reply);

  // The body limit of the route `method` and `target` (path and query) match: its
  // route_body_limits entry, else max_body_bytes (also for no route). For the HTTP server,
  // once a request's head is read.
  size_t BodyLimit(absl::string_view method, absl::string_view target) const;

  // INVALID_ARGUMENT naming the entry when a route_body_limits key is not a routed method.
  static absl::Status CheckRouteBodyLimits(const Api& api,
                                           const std::map<std::string, size_t>& limits);

  // Requests being handled (for draining).
  int in_flight() const { return in_flight_.load(); }

  // The grpc-timeout header's duration ("100m", "5S"), or nullopt when malformed.
  static std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

 private:
  void Finish(const std::string& route, absl::Time start, const std::string& request_id,
              const HttpRequest& request, HttpResponse response, const ReplyFn& reply);
  bool OriginAllowed(const std::string* origin) const;
  void AddCorsHeaders(const std::string* origin, HttpResponse& response) const;

  const Api* api_;
  Backend* backend_;
  GatewayOptions options_;
  Transcoder transcoder_;
  std::function<bool()> serving_;
  std::atomic<int> in_flight_{0};
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* duration_ = nullptr;
  prometheus::Family<prometheus::Histogram>* backend_duration_ = nullptr;
};

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_GATEWAY_H_
