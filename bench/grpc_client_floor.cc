// What a unary gRPC call costs its client on this machine: --concurrency Echo calls kept in
// flight, each completion starting the next. --api=cq: ONE thread drains a CompletionQueue, so
// the same thread does the network work, runs the completions and starts the next calls (the
// cheapest way found); --api=callback: gRPC's callback API, as the gateway calls its backends.
// Prints the calls per second and this process's CPU (user + system) per call: the floor
// under any client of a gRPC backend, such as the gateway (services/gateway/README.md
// "Benchmark"). With --with_server the process also runs the platform's gRPC server
// (common::Server: health and reflection, as the gateway's admin port), to show what a server in
// the same process does to the client's cost.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/echo.grpc.pb.h"
#include "bench/loadgen.h"
#include "common/config.h"
#include "common/server/server.h"
#include "grpcpp/grpcpp.h"

namespace {

using marketplace::bench::v1::Echo;
using marketplace::bench::v1::EchoRequest;
using marketplace::bench::v1::EchoResponse;

struct Call {
  grpc::ClientContext context;
  EchoResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<EchoResponse>> reader;
};

int Main(int argc, char** argv) {
  std::string target = "127.0.0.1:7999";
  int64_t concurrency = 32;
  absl::Duration duration = absl::Seconds(10), warmup = absl::Seconds(2);
  bool with_server = false;
  std::string api = "cq";
  marketplace::common::Flags flags(
      "grpc_client_floor",
      "A gRPC client's CPU per unary Echo call (CompletionQueue or callback API).");
  flags.AddString("target", &target, target, "Echo server host:port (bench/echo_server).");
  flags.AddInt64("concurrency", &concurrency, concurrency, 1, 10000, "Calls in flight.");
  flags.AddDuration("duration", &duration, duration, "Measured time.");
  flags.AddDuration("warmup", &warmup, warmup, "Unmeasured time first.");
  flags.AddBool("with_server", &with_server, false,
                "Also run a gRPC server (health and reflection) in this process.");
  flags.AddString("api", &api, api,
                  "cq: one thread drains a CompletionQueue; callback: gRPC's callback API.");
  flags.ParseOrExit(argc, argv);
  if (api != "cq" && api != "callback") {
    std::fprintf(stderr, "grpc_client_floor: --api must be cq or callback, not '%s'\n",
                 api.c_str());
    return 2;
  }

  // Left to the process's exit (ExitLoadTool), never destroyed: calls may still be in flight.
  struct Run {
    std::unique_ptr<marketplace::common::Server> server;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<Echo::Stub> stub;
    EchoRequest request;
    grpc::CompletionQueue cq;
    std::atomic<int64_t> completed{0}, failed{0};  // callback: so far
    std::function<void()> start_callback_call;
  };
  Run& run = *new Run();
  if (with_server) {
    marketplace::common::ServerOptions options;
    options.name = "floor";
    options.listen_address = "127.0.0.1:0";
    auto server = marketplace::common::Server::Start(options, {}, {}, nullptr);
    if (!server.ok()) {
      std::fprintf(stderr, "grpc_client_floor: %s\n",
                   std::string(server.status().message()).c_str());
      return 1;
    }
    run.server = *std::move(server);
  }
  run.channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::Channel* channel = run.channel.get();
  if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    std::fprintf(stderr, "grpc_client_floor: cannot connect to %s\n", target.c_str());
    return 1;
  }
  run.stub = Echo::NewStub(run.channel);
  Echo::Stub* stub = run.stub.get();
  EchoRequest& request = run.request;
  request.set_message(std::string(16, 'x'));  // echo_load's default payload
  grpc::CompletionQueue& cq = run.cq;
  std::atomic<int64_t>& completed = run.completed;
  std::atomic<int64_t>& failed = run.failed;
  std::function<void()>& start_callback_call = run.start_callback_call;
  start_callback_call = [&run] {
    auto* call = new Call();
    run.stub->async()->Echo(&call->context, &run.request, &call->response,
                            [&run, call](grpc::Status s) {
                              run.completed.fetch_add(1, std::memory_order_relaxed);
                              if (!s.ok()) run.failed.fetch_add(1, std::memory_order_relaxed);
                              delete call;
                              run.start_callback_call();
                            });
  };
  const auto start_call = [&] {
    auto* call = new Call();
    call->reader = stub->AsyncEcho(&call->context, request, &cq);
    call->reader->Finish(&call->response, &call->status, call);
  };
  for (int64_t i = 0; i < concurrency; ++i) {
    if (api == "cq") {
      start_call();
    } else {
      start_callback_call();
    }
  }

  // Runs until `until`; the calls completed and how many of them failed.
  const auto drive = [&](absl::Time until, int64_t* calls, int64_t* errors) {
    if (api == "callback") {
      const int64_t calls0 = completed.load(), errors0 = failed.load();
      absl::SleepFor(until - absl::Now());
      *calls = completed.load() - calls0;
      *errors = failed.load() - errors0;
      return;
    }
    while (absl::Now() < until) {
      void* tag;
      bool ok;
      if (!cq.Next(&tag, &ok)) return;
      auto* call = static_cast<Call*>(tag);
      ++*calls;
      if (!ok || !call->status.ok()) ++*errors;
      delete call;
      start_call();
    }
  };
  int64_t calls = 0, errors = 0;
  drive(absl::Now() + warmup, &calls, &errors);
  calls = errors = 0;
  auto before = marketplace::bench::ReadProcessStats(getpid());
  const absl::Time begin = absl::Now();
  drive(begin + duration, &calls, &errors);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  auto after = marketplace::bench::ReadProcessStats(getpid());
  if (!before.ok() || !after.ok() || calls == 0) {
    std::fprintf(stderr, "grpc_client_floor: no figures (calls %lld)\n",
                 static_cast<long long>(calls));
    return 1;
  }
  const std::string name =
      absl::StrCat("gRPC client floor, ", api, with_server ? ", server in-process" : "");
  std::printf("%-44s qps %8.0f  client CPU us/call %6.1f  errors %lld\n", name.c_str(),
              static_cast<double>(calls) / seconds,
              (after->cpu_seconds - before->cpu_seconds) / static_cast<double>(calls) * 1e6,
              static_cast<long long>(errors));
  std::fflush(stdout);
  return errors == 0 ? 0 : 1;
}

}  // namespace

// The calls still in flight are left to the exit (ExitLoadTool), as the other load tools do.
int main(int argc, char** argv) { marketplace::bench::ExitLoadTool(Main(argc, argv)); }
