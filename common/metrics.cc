#include "common/metrics.h"

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"

namespace marketplace::common {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// grpc::StatusCode runs from OK (0) to UNAUTHENTICATED (16).
constexpr int kNumStatusCodes = 17;

absl::string_view GrpcTypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

// The metric objects of one method with their labels resolved, so a call touches no label map.
struct MethodMetrics {
  prometheus::Labels labels;
  prometheus::Counter* started;
  prometheus::Counter* msg_received;
  prometheus::Counter* msg_sent;
  prometheus::Histogram* handling_seconds;
  // Filled on the first call that ends with each code, so that only codes that happened
  // appear in the output.
  std::array<std::atomic<prometheus::Counter*>, kNumStatusCodes> handled{};
};

class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)),
        started_(prometheus::BuildCounter()
                     .Name("grpc_server_started_total")
                     .Help("Total number of RPCs started on the server.")
                     .Register(*registry_)),
        handled_(prometheus::BuildCounter()
                     .Name("grpc_server_handled_total")
                     .Help("Total number of RPCs completed on the server, regardless of success "
                           "or failure.")
                     .Register(*registry_)),
        msg_received_(prometheus::BuildCounter()
                          .Name("grpc_server_msg_received_total")
                          .Help("Total number of RPC stream messages received on the server.")
                          .Register(*registry_)),
        msg_sent_(prometheus::BuildCounter()
                      .Name("grpc_server_msg_sent_total")
                      .Help("Total number of gRPC stream messages sent by the server.")
                      .Register(*registry_)),
        handling_seconds_(prometheus::BuildHistogram()
                              .Name("grpc_server_handling_seconds")
                              .Help("Histogram of response latency (seconds) of gRPC that had "
                                    "been application-level handled by the server.")
                              .Register(*registry_)) {}

  // Looked up once per call; the write lock is taken only the first time a method is seen.
  MethodMetrics* ForMethod(const char* method, ServerRpcInfo::Type type) {
    absl::string_view name = method != nullptr ? method : "";
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = methods_.find(name);
      if (it != methods_.end()) return it->second.get();
    }
    absl::MutexLock lock(&mu_);
    auto& slot = methods_[name];
    if (slot == nullptr) slot = Resolve(name, type);
    return slot.get();
  }

  prometheus::Counter* Handled(MethodMetrics* method, grpc::StatusCode code) {
    int index = static_cast<int>(code);
    if (index < 0 || index >= kNumStatusCodes) {
      index = static_cast<int>(grpc::StatusCode::UNKNOWN);
    }
    prometheus::Counter* counter = method->handled[index].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Family::Add returns the existing counter for labels it already has, so a race between
      // two first calls resolves to the same object.
      prometheus::Labels labels = method->labels;
      labels.emplace("grpc_code", std::string(GrpcCodeName(static_cast<grpc::StatusCode>(index))));
      counter = &handled_.Add(labels);
      method->handled[index].store(counter, std::memory_order_release);
    }
    return counter;
  }

 private:
  std::unique_ptr<MethodMetrics> Resolve(absl::string_view method, ServerRpcInfo::Type type) {
    // "/marketplace.payments.v1.Payments/ReleaseEscrow" -> service and method.
    absl::string_view path = method;
    absl::ConsumePrefix(&path, "/");
    std::string service = "unknown";
    std::string name(path);
    if (size_t slash = path.rfind('/'); slash != absl::string_view::npos) {
      service = std::string(path.substr(0, slash));
      name = std::string(path.substr(slash + 1));
    }
    auto metrics = std::make_unique<MethodMetrics>();
    metrics->labels = {{"grpc_type", std::string(GrpcTypeName(type))},
                       {"grpc_service", service},
                       {"grpc_method", name}};
    metrics->started = &started_.Add(metrics->labels);
    metrics->msg_received = &msg_received_.Add(metrics->labels);
    metrics->msg_sent = &msg_sent_.Add(metrics->labels);
    metrics->handling_seconds = &handling_seconds_.Add(
        metrics->labels,
        prometheus::Histogram::BucketBoundaries{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10});
    return metrics;
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Counter>& msg_received_;
  prometheus::Family<prometheus::Counter>& msg_sent_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> methods_ ABSL_GUARDED_BY(mu_);
};

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::shared_ptr<GrpcServerMetrics> metrics, MethodMetrics* method)
      : metrics_(std::move(metrics)), method_(method), start_(std::chrono::steady_clock::now()) {
    method_->started->Increment();
  }

  ~MetricsInterceptor() override {
    // The call ended without a status from the server: the client cancelled or the server shut
    // down. Counted so that started - handled stays the number of calls in flight.
    if (!handled_) Handle(grpc::StatusCode::CANCELLED);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    // One batch may carry several operations (a unary response and its status), so every hook
    // point is checked.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_->msg_received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_->msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && !handled_) {
      Handle(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Handle(grpc::StatusCode code) {
    handled_ = true;
    metrics_->Handled(method_, code)->Increment();
    method_->handling_seconds->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

  std::shared_ptr<GrpcServerMetrics> metrics_;
  MethodMetrics* method_;
  std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(std::shared_ptr<prometheus::Registry> registry)
      : metrics_(std::make_shared<GrpcServerMetrics>(std::move(registry))) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, metrics_->ForMethod(info->method(), info->type()));
  }

 private:
  std::shared_ptr<GrpcServerMetrics> metrics_;
};

}  // namespace

std::shared_ptr<prometheus::Registry> NewMetricsRegistry() {
  return std::make_shared<prometheus::Registry>();
}

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetricsExposer(
    const std::string& bind_address, int port, std::shared_ptr<prometheus::Registry> registry) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics port must be in [0, 65535], got ", port));
  }
  if (registry == nullptr) return absl::InvalidArgumentError("metrics registry is null");
  // An IPv6 address needs brackets before the port ("[::]:9090").
  const bool bare_ipv6 =
      absl::StrContains(bind_address, ':') && !absl::StartsWith(bind_address, "[");
  std::string address = bare_ipv6 ? absl::StrCat("[", bind_address, "]:", port)
                                  : absl::StrCat(bind_address, ":", port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb reports a failed bind by throwing from the constructor.
    exposer = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  return exposer;
}

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewGrpcServerMetricsInterceptorFactory(std::shared_ptr<prometheus::Registry> registry) {
  return std::make_unique<MetricsInterceptorFactory>(std::move(registry));
}

}  // namespace marketplace::common
