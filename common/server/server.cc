#include "common/server/server.h"

#include <malloc.h>
#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/server/reflection.h"
#include "common/server/request_parsing.h"
#include "grpcpp/health_check_service_interface.h"

namespace marketplace::common {
namespace {

int ToMillis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

Server::Server(ServerOptions options, std::vector<std::string> service_names)
    : options_(std::move(options)), service_names_(std::move(service_names)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    ServerOptions options, std::vector<Entry> services,
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors,
    ReadinessCheck readiness) {
  // Lock-order (deadlock) detection is a debugging aid whose bookkeeping runs on every
  // absl::Mutex acquisition; Debian's Abseil leaves it on. Servers run without it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);

  std::vector<std::string> names;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      options.listen_address,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &port);
  for (const Entry& entry : services) {
    // A request that does not parse is answered INVALID_ARGUMENT naming the field, not
    // gRPC's empty UNIMPLEMENTED.
    CheckRequestParsing(entry.service);
    builder.RegisterService(entry.service);
    names.push_back(entry.full_name);
  }
  auto reflection = std::make_unique<ReflectionServices>(names);
  builder.RegisterService(reflection->v1());
  builder.RegisterService(reflection->v1alpha());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToMillis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ToMillis(options.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // gRPC turns SO_REUSEPORT on by default: a second process would then share a busy port
  // silently instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));

  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use or not valid)"));
  }
  std::unique_ptr<grpc::Server> health_server;
  std::unique_ptr<ReflectionServices> health_reflection;
  int health_port = 0;
  if (!options.health_address.empty()) {
    // No service of its own: the default health service (the builder adds it) and reflection.
    grpc::ServerBuilder health_builder;
    health_reflection = std::make_unique<ReflectionServices>(std::vector<std::string>{});
    health_builder.RegisterService(health_reflection->v1());
    health_builder.RegisterService(health_reflection->v1alpha());
    health_builder.AddListeningPort(options.health_address, grpc::InsecureServerCredentials(),
                                    &health_port);
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      grpc_server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.health_address,
                       " (health address in use or not valid)"));
    }
  }
  auto server = std::unique_ptr<Server>(new Server(std::move(options), std::move(names)));
  server->reflection_ = std::move(reflection);
  server->health_reflection_ = std::move(health_reflection);
  server->server_ = std::move(grpc_server);
  server->port_ = port;
  server->health_server_ = std::move(health_server);
  server->health_port_ = health_port;
  for (auto* health : server->HealthServices()) health->SetServingStatus(kLivenessService, true);
  if (readiness) {
    // Answer the first probe with the real state, then keep it current.
    server->SetServing(readiness().ok());
    server->readiness_thread_ =
        std::thread([s = server.get(), check = std::move(readiness)] { s->ReadinessLoop(check); });
  } else {
    server->SetServing(true);
  }
  return server;
}

Server::~Server() {
  Shutdown();
}

std::vector<grpc::HealthCheckServiceInterface*> Server::HealthServices() {
  std::vector<grpc::HealthCheckServiceInterface*> services = {server_->GetHealthCheckService()};
  if (health_server_ != nullptr) services.push_back(health_server_->GetHealthCheckService());
  return services;
}

void Server::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  for (auto* health : HealthServices()) {
    health->SetServingStatus("", serving);
    for (const auto& name : service_names_) health->SetServingStatus(name, serving);
  }
}

void Server::ReadinessLoop(ReadinessCheck check) {
  while (!stop_readiness_.WaitForNotificationWithTimeout(options_.readiness_interval)) {
    SetServing(check().ok());
  }
}

void Server::Shutdown() {
  bool first;
  {
    absl::MutexLock lock(&mu_);
    first = !shutting_down_;
    shutting_down_ = true;
  }
  if (!first) {
    shut_down_.WaitForNotification();
    return;
  }
  stop_readiness_.Notify();
  if (readiness_thread_.joinable()) readiness_thread_.join();
  // Readiness NOT_SERVING first so balancers stop sending new calls. Liveness stays SERVING
  // while the process drains: a liveness probe failing now would have the process killed
  // before its in-flight calls finish.
  for (auto* health : HealthServices()) {
    health->SetServingStatus("", false);
    for (const auto& name : service_names_) health->SetServingStatus(name, false);
  }
  if (options_.shutdown_grace > absl::ZeroDuration()) absl::SleepFor(options_.shutdown_grace);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.drain_timeout));
  server_->Wait();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server_->Wait();
  }
  shut_down_.Notify();
}

void Server::Wait() { shut_down_.WaitForNotification(); }

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void KeepFreedHeapMapped() {
  // mallopt answers 1 on success; a failure leaves glibc's defaults, which work, only slower.
  if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(kFreedHeapKeptBytes)) != 1 ||
      mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThresholdBytes)) != 1) {
    LogWarn("the allocator's trim and mmap thresholds could not be set; glibc defaults kept");
  }
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace marketplace::common
