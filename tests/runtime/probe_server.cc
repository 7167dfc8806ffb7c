// A minimal service on the shared runtime, for process-level tests of what every service gets:
// flags, database, migrations, health, metrics, the per-call runner, graceful shutdown.
// Echo "sleep:N" holds a database connection for N ms; anything else inserts a row.
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "bench/echo.grpc.pb.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/clock.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "tests/runtime/probe_migrations.h"

namespace {

using marketplace::bench::v1::Echo;
namespace common = marketplace::common;

class ProbeEcho final : public Echo::CallbackService {
 public:
  ProbeEcho(common::UnaryRunner* runner, common::db::ConnectionPool* pool)
      : runner_(runner), pool_(pool) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const marketplace::bench::v1::EchoRequest* request,
                                 marketplace::bench::v1::EchoResponse* response) override {
    return runner_->Run(context, "/marketplace.bench.v1.Echo/Echo",
                        [this, request, response](const common::CallContext&) -> absl::Status {
                          int ms = 0;
                          if (absl::StartsWith(request->message(), "sleep:") &&
                              absl::SimpleAtoi(request->message().substr(6), &ms)) {
                            auto rows = pool_->Query("SELECT SLEEP(? / 1000) AS s",
                                                     {static_cast<int64_t>(ms)});
                            if (!rows.ok()) return rows.status();
                          } else {
                            auto n = pool_->Execute("INSERT INTO calls (message) VALUES (?)",
                                                    {request->message()});
                            if (!n.ok()) return n.status();
                          }
                          response->set_message(request->message());
                          return absl::OkStatus();
                        });
  }

 private:
  common::UnaryRunner* runner_;
  common::db::ConnectionPool* pool_;
};

}  // namespace

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  common::Flags flags("probe_server", "Runtime probe service for tests.");
  common::AddServiceFlags(flags, "probe", &config);
  flags.ParseOrExit(argc, argv);
  auto runtime = common::ServiceRuntime::CreateOrExit("probe", config, flags);
  runtime->ApplyMigrationsOrExit("probe", marketplace::testing::ProbeMigrations());

  common::auth::FakeKeyFetcher keys;
  common::auth::TokenVerifier verifier(&keys, {.issuer = "identity", .audience = "probe"},
                                       common::SystemClock::Get());
  common::auth::Authenticator authenticator(&verifier, {"/marketplace.bench.v1.Echo/Echo"});
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  ProbeEcho service(&runner, &runtime->pool());
  return runtime->Serve({{Echo::service_full_name(), &service}});
}
