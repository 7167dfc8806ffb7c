// Load on the echo server (closed loop, or a fixed rate with --rate); prints one row of the
// benchmark table.
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "bench/echo.grpc.pb.h"
#include "bench/loadgen.h"
#include "common/config.h"
#include "grpcpp/grpcpp.h"
#include "common/tls/transport_security.h"

int Main(int argc, char** argv) {
  using marketplace::bench::v1::Echo;
  std::string target = "127.0.0.1:7999";
  int64_t concurrency = 32, server_pid = 0, payload = 16;
  absl::Duration duration = absl::Seconds(10), warmup = absl::Seconds(2);
  bool header = false;
  marketplace::common::Flags flags("echo_load", "Load on the echo reference server.");
  flags.AddString("target", &target, target, "Echo server host:port.");
  flags.AddInt64("concurrency", &concurrency, concurrency, 1, 10000, "Calls in flight.");
  flags.AddInt64("payload_bytes", &payload, payload, 0, 1 << 20, "Message size.");
  int64_t work_us = 0;
  flags.AddInt64("work_us", &work_us, 0, 0, 100000,
                 "EchoRequest.work_us: microseconds the server busy-waits per call.");
  std::string name = "echo (reference)";
  flags.AddString("name", &name, name, "The row's name.");
  flags.AddDuration("duration", &duration, duration, "Measured time.");
  flags.AddDuration("warmup", &warmup, warmup, "Unmeasured time first.");
  flags.AddInt64("server_pid", &server_pid, 0, 0, 1 << 30, "Server process, for CPU and RSS.");
  int64_t rate = 0;
  flags.AddInt64("rate", &rate, 0, 0, 10000000,
                 "Calls per second at a fixed rate (open loop, at most --concurrency in flight; "
                 "to compare latencies at a given load); 0: closed loop, --concurrency always "
                 "in flight (the maximum rate).");
  flags.AddBool("header", &header, false, "Print the table header first.");
  std::string tls_dir;
  flags.AddString("tls_dir", &tls_dir, "",
                  "Call over mutual TLS with DIR/cert.pem, DIR/key.pem and DIR/ca.pem "
                  "(scripts/make_tls.sh); empty: plaintext.");
  flags.ParseOrExit(argc, argv);

  marketplace::common::TransportSecurity security{.insecure = true};
  if (!tls_dir.empty()) {
    security = {.cert_file = tls_dir + "/cert.pem",
                .key_file = tls_dir + "/key.pem",
                .ca_file = tls_dir + "/ca.pem"};
  }
  auto channel = grpc::CreateChannel(target, marketplace::common::ChannelCredentials(security));
  auto stub = Echo::NewStub(channel);
  marketplace::bench::v1::EchoRequest request;
  request.set_message(std::string(payload, 'x'));
  request.set_work_us(static_cast<int32_t>(work_us));
  struct Call {
    grpc::ClientContext context;
    marketplace::bench::v1::EchoResponse response;
  };
  marketplace::bench::IssueFn issue = [&](int, std::function<void(bool)> done) {
    auto call = std::make_shared<Call>();
    stub->async()->Echo(&call->context, &request, &call->response,
                        [call, done](grpc::Status s) mutable {
                          marketplace::bench::Report(call, done, s.ok());
                        });
  };
  auto before = marketplace::bench::ReadProcessStats(static_cast<pid_t>(server_pid));
  marketplace::bench::LoadResult result = marketplace::bench::RunLoad(
      static_cast<int>(concurrency), static_cast<double>(rate), warmup, duration, issue);
  auto after = marketplace::bench::ReadProcessStats(static_cast<pid_t>(server_pid));
  double cpu = before.ok() && after.ok() ? after->cpu_seconds - before->cpu_seconds : 0;
  int64_t rss = after.ok() ? after->rss_bytes : 0;
  if (header) std::printf("%s\n", marketplace::bench::HeaderRow().c_str());
  std::printf("%s\n",
              marketplace::bench::FormatRow(name, result, result.qps, cpu, rss)
                  .c_str());
  return result.calls > 0 ? 0 : 1;
}

int main(int argc, char** argv) { marketplace::bench::ExitLoadTool(Main(argc, argv)); }
