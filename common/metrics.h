#ifndef MARKETPLACE_COMMON_METRICS_H_
#define MARKETPLACE_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status_code_enum.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace marketplace::common {

// Prometheus metrics. Every service has one registry, shared by the gRPC interceptor, the DB
// pool and its business metrics, and served on its own port by the exposer.

// A new, empty registry.
std::shared_ptr<prometheus::Registry> NewMetricsRegistry();

// Serves `registry` as text on http://bind_address:port/metrics. `port` 0 picks a free port:
// read it back with exposer->GetListeningPorts(). An address that cannot be bound (in use,
// not local, malformed) is an Unavailable error naming it. The exposer keeps only a weak
// reference: the caller keeps `registry` alive.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetricsExposer(
    const std::string& bind_address, int port, std::shared_ptr<prometheus::Registry> registry);

// A gRPC server interceptor factory recording the metrics of go-grpc-prometheus, so that the
// same dashboards and alerts work for every service:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
// grpc_type is unary, client_stream, server_stream or bidi_stream; grpc_code is the canonical
// code name ("OK", "INVALID_ARGUMENT"). A call that ends without sending a status (the client
// went away, the server stopped) is counted as CANCELLED.
// Register with ServerBuilder::experimental().SetInterceptorCreators(); the factory keeps
// `registry` alive.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewGrpcServerMetricsInterceptorFactory(std::shared_ptr<prometheus::Registry> registry);

// "OK", "INVALID_ARGUMENT", ... as in google.rpc.Code.
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_METRICS_H_
