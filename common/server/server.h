#ifndef MARKETPLACE_COMMON_SERVER_SERVER_H_
#define MARKETPLACE_COMMON_SERVER_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/server/reflection.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"

namespace marketplace::common {

// Health service names every server answers besides each registered gRPC service's full name:
// "" (the whole server) and the services follow readiness; "liveness" stays SERVING while the
// process runs, so an orchestrator restarts a wedged process but not one whose database is away.
inline constexpr char kLivenessService[] = "liveness";

struct ServerOptions {
  // Name used in logs and metrics, e.g. "identity".
  std::string name;
  // host:port to listen on; port 0 picks a free one (read it back with Server::port()).
  std::string listen_address = "0.0.0.0:0";
  // Credentials of listen_address (common/tls/transport_security.h); null: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // When set, a second host:port that serves only grpc.health.v1.Health, in plaintext, with
  // the same statuses ("", each service, "liveness"): kubelet's gRPC probes cannot speak TLS.
  // Port 0 picks a free one (Server::health_port()).
  std::string health_address;
  // Largest request or response message; larger ones fail with RESOURCE_EXHAUSTED.
  int max_message_bytes = 4 * 1024 * 1024;
  // After SIGTERM: how long in-flight calls may take before they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(20);
  // After SIGTERM and before draining: time for load balancers to see NOT_SERVING.
  absl::Duration shutdown_grace = absl::ZeroDuration();
  // HTTP/2 keepalive pings from the server, and the least interval it accepts from clients.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // How often the readiness check runs.
  absl::Duration readiness_interval = absl::Seconds(2);
};

// A gRPC server on the callback API with the standard health service, server reflection,
// explicit limits and keepalive, interceptors, a readiness loop, and graceful shutdown.
class Server {
 public:
  using ReadinessCheck = std::function<absl::Status()>;

  // A service to register, with its full name for health checks, e.g.
  // {Identity::service_full_name(), &identity_service}.
  struct Entry {
    std::string full_name;
    grpc::Service* service;
  };

  // Builds and starts the server. `services` must outlive it. `readiness` (may be empty) is
  // run every readiness_interval; while it fails, health reports NOT_SERVING for "" and every
  // service, and liveness stays SERVING.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      ServerOptions options, std::vector<Entry> services,
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
          interceptors,
      ReadinessCheck readiness);

  ~Server();

  int port() const { return port_; }
  // The port of health_address; 0 when there is none.
  int health_port() const { return health_port_; }
  grpc::Server* grpc_server() { return server_.get(); }

  // NOT_SERVING everywhere, waits shutdown_grace, then lets in-flight calls finish within
  // drain_timeout (later ones are cancelled) and stops. Idempotent.
  void Shutdown();

  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  Server(ServerOptions options, std::vector<std::string> service_names);
  void SetServing(bool serving);
  void ReadinessLoop(ReadinessCheck check);

  ServerOptions options_;
  std::vector<std::string> service_names_;
  // Every health service this server answers on: the main port's, then health_address's.
  std::vector<grpc::HealthCheckServiceInterface*> HealthServices();

  // Before the servers: destroyed after them.
  std::unique_ptr<ReflectionServices> reflection_;
  std::unique_ptr<ReflectionServices> health_reflection_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_readiness_;
  absl::Notification shut_down_;
  std::thread readiness_thread_;
};

// Call first thing in main(), before any thread starts: SIGTERM and SIGINT are then only
// received by WaitForTerminationSignal().
void BlockTerminationSignals();

// Call first thing in main(), before any thread starts (every server of the platform does):
// glibc's allocator then keeps up to kFreedHeapKeptBytes of freed memory at the top of each of
// its arenas instead of handing it back to the kernel at once, and serves blocks up to
// kMmapThresholdBytes from its heap rather than from a fresh mapping each. Its defaults
// (128 KiB, adjusted as it goes) make a busy server shrink and grow its heaps over and over:
// every grow costs page faults, every shrink an madvise, which a virtualised host makes
// expensive (services/gateway/README.md "Benchmark"). The memory kept stays counted in the
// process's RSS and is reused by its next allocations.
inline constexpr size_t kFreedHeapKeptBytes = size_t{16} << 20;
inline constexpr size_t kMmapThresholdBytes = size_t{4} << 20;
void KeepFreedHeapMapped();

// Blocks until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_SERVER_H_
