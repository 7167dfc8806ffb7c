// The reference for every benchmark: a raw gRPC echo on the callback API with the same server
// options as the services (limits, keepalive, health, reflection), answering on gRPC's own
// threads with no other work than the request's `work_us` of busy-waiting (bench/echo.proto).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench/echo.grpc.pb.h"
#include "common/config.h"
#include "common/server/server.h"
#include "common/tls/transport_security.h"

namespace {

// EchoRequest.work_us is capped at this (bench/echo.proto).
constexpr int kMaxWorkMicros = 100000;

// Spins on the monotonic clock for `micros`: CPU work standing for a backend's own.
void BusyWait(int micros) {
  micros = std::clamp(micros, 0, kMaxWorkMicros);
  if (micros == 0) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  while (std::chrono::steady_clock::now() < until) {
  }
}

class EchoService final : public marketplace::bench::v1::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const marketplace::bench::v1::EchoRequest* request,
                                 marketplace::bench::v1::EchoResponse* response) override {
    BusyWait(request->work_us());
    response->set_message(request->message());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  marketplace::common::BlockTerminationSignals();
  marketplace::common::KeepFreedHeapMapped();
  marketplace::common::ServerOptions options;
  options.name = "echo";
  std::string listen = "127.0.0.1:0";
  marketplace::common::Flags flags("echo_server", "Raw gRPC echo: the benchmark reference.");
  flags.AddString("listen_address", &listen, listen, "gRPC host:port (0: any free port).");
  flags.AddDuration("drain_timeout", &options.drain_timeout, options.drain_timeout,
                    "After SIGTERM: time for in-flight calls to finish.");
  std::string tls_dir;
  flags.AddString("tls_dir", &tls_dir, "",
                  "Serve mutual TLS with DIR/cert.pem, DIR/key.pem and DIR/ca.pem "
                  "(scripts/make_tls.sh); empty: plaintext.");
  flags.ParseOrExit(argc, argv);
  options.listen_address = listen;
  if (!tls_dir.empty()) {
    marketplace::common::TransportSecurity security{.cert_file = tls_dir + "/cert.pem",
                                                    .key_file = tls_dir + "/key.pem",
                                                    .ca_file = tls_dir + "/ca.pem"};
    if (absl::Status s = marketplace::common::ValidateTransportSecurity(security); !s.ok()) {
      std::fprintf(stderr, "echo_server: %s\n", std::string(s.message()).c_str());
      return 2;
    }
    options.credentials = marketplace::common::ServerCredentials(security);
  }
  EchoService service;
  auto server = marketplace::common::Server::Start(
      options, {{marketplace::bench::v1::Echo::service_full_name(), &service}}, {}, nullptr);
  if (!server.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::printf("listening on port %d\n", (*server)->port());
  std::fflush(stdout);
  marketplace::common::WaitForTerminationSignal();
  (*server)->Shutdown();
  return 0;
}
