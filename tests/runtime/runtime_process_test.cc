// What every service gets from the shared runtime, checked on a real process: startup errors,
// health, metrics, readiness across a database restart, and graceful shutdown under load.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "common/testing/mariadb_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/subprocess.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

using bench::v1::Echo;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckResponse;

std::string ProbeBinary() { return RunfilePath("tests/runtime/probe_server"); }

std::vector<std::string> NonEmptyLines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class RuntimeProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = common::testing::MariaDbServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    db_ = *server;
    if (!db_->running()) {
      ASSERT_TRUE(db_->Start().ok());
    }
    auto database = common::testing::CreateTestDatabase("probe");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *database;
  }

  // Starts the probe on free ports and waits until it answers health checks.
  void StartProbe(std::vector<std::string> extra = {}) {
    grpc_port_ = PickFreePort();
    metrics_port_ = PickFreePort();
    const int health_port = PickFreePort();
    std::vector<std::string> args = {
        absl::StrCat("--health_address=127.0.0.1:", health_port),
        absl::StrCat("--listen_address=127.0.0.1:", grpc_port_),
        absl::StrCat("--metrics_address=127.0.0.1:", metrics_port_),
        "--db_host=127.0.0.1",
        absl::StrCat("--db_port=", db_->port()),
        absl::StrCat("--db_name=", database_.name),
        absl::StrCat("--db_user=", database_.options.user),
        absl::StrCat("--db_password=", database_.options.password),
        "--db_pool_size=4",
    };
    for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = Subprocess::Start(ProbeBinary(), args);
    ASSERT_TRUE(process.ok());
    probe_.emplace(*std::move(process));
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_), TestChannelCredentials());
    health_channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port),
                                          grpc::InsecureChannelCredentials());
    absl::Time end = absl::Now() + absl::Seconds(20);
    while (Check("") != HealthCheckResponse::SERVING && absl::Now() < end) {
      ASSERT_FALSE(probe_->WaitFor(absl::Milliseconds(100)).has_value()) << probe_->Output();
    }
    ASSERT_EQ(Check(""), HealthCheckResponse::SERVING) << probe_->Output();
  }

  // The status of `service` on the TLS port, or on the plaintext health port.
  HealthCheckResponse::ServingStatus Check(const std::string& service,
                                           bool health_port = false) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    if (!Health::NewStub(health_port ? health_channel_ : channel_)->Check(&ctx, req, &resp).ok()) {
      return HealthCheckResponse::UNKNOWN;
    }
    return resp.status();
  }

  grpc::Status Call(const std::string& message) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    bench::v1::EchoRequest req;
    req.set_message(message);
    bench::v1::EchoResponse resp;
    return Echo::NewStub(channel_)->Echo(&ctx, req, &resp);
  }

  std::string ScrapeMetrics() { return marketplace::testing::ScrapeMetrics(metrics_port_); }

  common::testing::MariaDbServer* db_ = nullptr;
  common::testing::TestDatabase database_;
  std::optional<Subprocess> probe_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::Channel> health_channel_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(RuntimeProcessTest, BadFlagValueIsOneLineAndExitCode2) {
  auto process = Subprocess::Start(ProbeBinary(), {"--db_port=abc"});
  ASSERT_TRUE(process.ok());
  auto code = process->WaitFor(absl::Seconds(10));
  ASSERT_TRUE(code.has_value()) << "hung on a bad flag";
  EXPECT_EQ(*code, 2);
  auto lines = NonEmptyLines(process->Output());
  ASSERT_EQ(lines.size(), 1u) << process->Output();
  EXPECT_TRUE(absl::StrContains(lines[0], "--db_port")) << lines[0];
}

TEST_F(RuntimeProcessTest, UnknownFlagIsAnError) {
  auto process = Subprocess::Start(ProbeBinary(), {"--db_prot=3306"});
  ASSERT_TRUE(process.ok());
  auto code = process->WaitFor(absl::Seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_TRUE(absl::StrContains(process->Output(), "--db_prot")) << process->Output();
}

TEST_F(RuntimeProcessTest, UnreachableDatabaseIsOneErrorLineAndExitCode1) {
  int nobody = PickFreePort();
  auto process = Subprocess::Start(
      ProbeBinary(), {absl::StrCat("--db_port=", nobody), "--db_connect_timeout=1s",
                      "--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                      "--insecure"});
  ASSERT_TRUE(process.ok());
  auto code = process->WaitFor(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << "hung on an unreachable database";
  EXPECT_EQ(*code, 1);
  int error_lines = 0;
  for (const auto& line : NonEmptyLines(process->Output())) {
    if (absl::StrContains(line, "\"level\":\"error\"")) {
      ++error_lines;
      EXPECT_TRUE(absl::StrContains(line, absl::StrCat(nobody))) << line;
    }
  }
  EXPECT_EQ(error_lines, 1) << process->Output();
}

TEST_F(RuntimeProcessTest, ServesHealthAndMetricsAfterACall) {
  StartProbe();
  EXPECT_EQ(Check("marketplace.bench.v1.Echo"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("liveness"), HealthCheckResponse::SERVING);
  ASSERT_TRUE(Call("hello").ok());
  std::string metrics = ScrapeMetrics();
  EXPECT_TRUE(absl::StrContains(metrics, "grpc_server_handled_total{")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "grpc_method=\"Echo\"")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "db_pool_connections")) << metrics;
}

// A string field that is not UTF-8 cannot be parsed: the service answers INVALID_ARGUMENT
// with a BadRequest naming the field (gRPC alone answers an empty UNIMPLEMENTED), runs
// nothing, and libprotobuf's complaint is a JSON line of the service log like every other.
TEST_F(RuntimeProcessTest, InvalidUtf8IsInvalidArgumentNamingTheFieldAndLogsStayJson) {
  StartProbe();
  const grpc::Status status = Call(std::string("ab\xc3(", 4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "message: must be valid UTF-8");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "message");
  EXPECT_TRUE(Call("fine").ok());

  probe_->Signal(SIGTERM);
  ASSERT_TRUE(probe_->WaitFor(absl::Seconds(30)).has_value());
  bool saw_protobuf_line = false;
  for (const std::string& line : NonEmptyLines(probe_->Output())) {
    if (!absl::StrContains(line, "UTF-8")) continue;
    EXPECT_TRUE(absl::StartsWith(line, "{") && absl::EndsWith(line, "}")) << "not JSON: " << line;
    if (absl::StrContains(line, "\"component\":\"protobuf\"")) saw_protobuf_line = true;
  }
  EXPECT_TRUE(saw_protobuf_line) << probe_->Output();
}

TEST_F(RuntimeProcessTest, ReadinessFollowsTheDatabaseAndRecovers) {
  StartProbe();
  ASSERT_TRUE(db_->Stop().ok());
  absl::Time end = absl::Now() + absl::Seconds(15);
  while (Check("") != HealthCheckResponse::NOT_SERVING && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("liveness"), HealthCheckResponse::SERVING);
  // The plaintext health port (kubelet's probes) says the same.
  EXPECT_EQ(Check("", /*health_port=*/true), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("liveness", /*health_port=*/true), HealthCheckResponse::SERVING);
  grpc::Status down = Call("while down");
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();

  ASSERT_TRUE(db_->Start().ok());
  end = absl::Now() + absl::Seconds(15);
  while (Check("") != HealthCheckResponse::SERVING && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("", /*health_port=*/true), HealthCheckResponse::SERVING);
  EXPECT_TRUE(Call("after restart").ok());
  EXPECT_FALSE(probe_->WaitFor(absl::ZeroDuration()).has_value()) << "the process must not die";
}

TEST_F(RuntimeProcessTest, SigtermDrainsInFlightCallsAndExitsZero) {
  StartProbe({"--drain_timeout=5s"});
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, ok_after_signal{0}, refused{0}, other{0};
  std::atomic<bool> signalled{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        bool sent_after = signalled;
        grpc::Status s = Call("sleep:300");
        if (s.ok()) {
          ++ok;
          if (signalled && !sent_after) ++ok_after_signal;
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
          ++refused;  // not accepted: the server was already stopping
          absl::SleepFor(absl::Milliseconds(50));
        } else {
          ++other;
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  absl::Time sent = absl::Now();
  signalled = true;
  probe_->Signal(SIGTERM);
  auto code = probe_->WaitFor(absl::Seconds(8));
  absl::Duration took = absl::Now() - sent;
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(code.has_value()) << "did not exit within the drain deadline";
  EXPECT_EQ(*code, 0) << probe_->Output();
  EXPECT_LT(took, absl::Seconds(6));
  EXPECT_GT(ok_after_signal.load(), 0) << "calls in flight at SIGTERM must complete";
  EXPECT_EQ(other.load(), 0) << "no accepted call may be cut off";
  EXPECT_GT(ok.load(), 6);
}

}  // namespace
}  // namespace marketplace::testing
