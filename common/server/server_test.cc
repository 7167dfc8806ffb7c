#include "common/server/server.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "common/client/channel.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// "sleep:N" answers after N ms on a thread of its own (a call in flight), or CANCELLED as soon as
// the call is cancelled, as real handlers do; anything else at once.
class TestEcho final : public Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    auto* reactor = context->DefaultReactor();
    response->set_message(request->message());
    int ms = 0;
    if (absl::StartsWith(request->message(), "sleep:") &&
        absl::SimpleAtoi(request->message().substr(6), &ms)) {
      std::thread([context, reactor, ms] {
        absl::Time end = absl::Now() + absl::Milliseconds(ms);
        while (absl::Now() < end) {
          if (context->IsCancelled()) {
            reactor->Finish(grpc::Status::CANCELLED);
            return;
          }
          absl::SleepFor(absl::Milliseconds(5));
        }
        reactor->Finish(grpc::Status::OK);
      }).detach();
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    options.name = "test";
    options.listen_address = "127.0.0.1:0";
    options.readiness_interval = absl::Milliseconds(50);
    auto server = Server::Start(options, {{Echo::service_full_name(), &service_}}, {},
                                [this]() -> absl::Status {
                                  return ready_ ? absl::OkStatus()
                                                : absl::UnavailableError("db down");
                                });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
  }

  HealthCheckResponse::ServingStatus Check(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = Health::NewStub(channel_)->Check(&ctx, req, &resp);
    if (!s.ok()) return HealthCheckResponse::SERVICE_UNKNOWN;
    return resp.status();
  }

  grpc::Status Call(const std::string& message, EchoResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EchoRequest req;
    req.set_message(message);
    return Echo::NewStub(channel_)->Echo(&ctx, req, response);
  }

  std::atomic<bool> ready_{true};
  TestEcho service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServerTest, HealthServesOverallServiceAndLiveness) {
  StartServer();
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(Echo::service_full_name()), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(kLivenessService), HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, ReadinessFollowsTheCheckAndLivenessDoesNot) {
  StartServer();
  ready_ = false;
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(Echo::service_full_name()), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(kLivenessService), HealthCheckResponse::SERVING);
  ready_ = true;
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, ShutdownTurnsReadinessOffButLivenessStaysServingWhileDraining) {
  ServerOptions options;
  options.shutdown_grace = absl::Seconds(2);
  StartServer(options);
  std::thread stopper([this] { server_->Shutdown(); });
  absl::SleepFor(absl::Milliseconds(300));  // inside the grace period
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(Echo::service_full_name()), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(kLivenessService), HealthCheckResponse::SERVING);
  stopper.join();
}

TEST_F(ServerTest, OversizeMessageIsResourceExhausted) {
  ServerOptions options;
  options.max_message_bytes = 1024;
  StartServer(options);
  EchoResponse resp;
  EXPECT_TRUE(Call("small", &resp).ok());
  grpc::Status s = Call(std::string(4096, 'x'), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

TEST_F(ServerTest, ShutdownLetsInFlightCallsFinish) {
  ServerOptions options;
  options.drain_timeout = absl::Seconds(5);
  StartServer(options);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      EchoResponse resp;
      if (Call("sleep:500", &resp).ok() && resp.message() == "sleep:500") ++ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(150));  // the calls are in flight
  absl::Time start = absl::Now();
  server_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
  EchoResponse resp;
  EXPECT_FALSE(Call("after", &resp).ok());
}

TEST_F(ServerTest, ShutdownCancelsCallsPastTheDrainDeadline) {
  ServerOptions options;
  options.drain_timeout = absl::Milliseconds(200);
  StartServer(options);
  grpc::Status status;
  std::thread client([&] {
    EchoResponse resp;
    status = Call("sleep:3000", &resp);
  });
  absl::SleepFor(absl::Milliseconds(100));
  absl::Time start = absl::Now();
  server_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  client.join();
  EXPECT_FALSE(status.ok());
}

TEST_F(ServerTest, ListeningOnABusyPortIsAnError) {
  StartServer();
  ServerOptions options;
  options.listen_address = absl::StrCat("127.0.0.1:", server_->port());
  TestEcho other;
  auto second = Server::Start(options, {{Echo::service_full_name(), &other}}, {}, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace marketplace::common
