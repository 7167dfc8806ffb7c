#include "common/server/server.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "common/client/channel.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
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

// Writes each request on one reflection stream and reads its answer; the answers in order.
template <typename Reflection, typename Request, typename Response>
std::vector<Response> AskAll(const std::shared_ptr<grpc::Channel>& channel,
                             const std::vector<Request>& requests, grpc::Status* status) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = Reflection::NewStub(channel)->ServerReflectionInfo(&ctx);
  std::vector<Response> answers;
  for (const Request& request : requests) {
    if (!stream->Write(request)) break;
    Response response;
    if (!stream->Read(&response)) break;
    answers.push_back(response);
  }
  stream->WritesDone();
  *status = stream->Finish();
  return answers;
}

template <typename Reflection, typename Request, typename Response>
void CheckReflection(const std::shared_ptr<grpc::Channel>& channel,
                     const std::vector<std::string>& expected_services) {
  std::vector<Request> requests(6);
  requests[0].set_list_services("*");
  requests[1].set_file_containing_symbol("marketplace.bench.v1.Echo");
  requests[2].set_file_containing_symbol("no.such.Symbol");  // the stream stays open after it
  requests[3].set_file_by_filename("bench/echo.proto");
  requests[4].mutable_file_containing_extension()->set_containing_type(
      "google.protobuf.MethodOptions");
  requests[4].mutable_file_containing_extension()->set_extension_number(72295728);  // http
  // requests[5]: nothing set
  grpc::Status status;
  std::vector<Response> answers = AskAll<Reflection, Request, Response>(channel, requests, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), requests.size());

  std::vector<std::string> services;
  for (const auto& s : answers[0].list_services_response().service()) services.push_back(s.name());
  for (const std::string& name : expected_services) {
    EXPECT_NE(std::find(services.begin(), services.end(), name), services.end()) << name;
  }
  EXPECT_EQ(answers[0].original_request().list_services(), "*");

  // The file first, then what it imports, each once.
  for (int i : {1, 3}) {
    const auto& files = answers[i].file_descriptor_response().file_descriptor_proto();
    ASSERT_GE(files.size(), 2) << i;
    google::protobuf::FileDescriptorProto first;
    ASSERT_TRUE(first.ParseFromString(files[0]));
    EXPECT_EQ(first.name(), "bench/echo.proto");
    std::set<std::string> names;
    for (const std::string& bytes : files) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      EXPECT_TRUE(names.insert(file.name()).second) << file.name() << " twice";
    }
    EXPECT_TRUE(names.count("google/api/annotations.proto")) << i;
    EXPECT_TRUE(names.count("google/protobuf/descriptor.proto")) << i;
  }
  EXPECT_EQ(answers[2].error_response().error_code(), grpc::NOT_FOUND);
  google::protobuf::FileDescriptorProto extension_file;
  ASSERT_GE(answers[4].file_descriptor_response().file_descriptor_proto_size(), 1);
  ASSERT_TRUE(extension_file.ParseFromString(
      answers[4].file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(extension_file.name(), "google/api/annotations.proto");
  EXPECT_EQ(answers[5].error_response().error_code(), grpc::INVALID_ARGUMENT);
}

TEST_F(ServerTest, ReflectionV1AndV1AlphaListServicesAndServeTheirFiles) {
  StartServer();
  const std::vector<std::string> expected = {Echo::service_full_name(), "grpc.health.v1.Health",
                                             "grpc.reflection.v1.ServerReflection",
                                             "grpc.reflection.v1alpha.ServerReflection"};
  CheckReflection<grpc::reflection::v1alpha::ServerReflection,
                  grpc::reflection::v1alpha::ServerReflectionRequest,
                  grpc::reflection::v1alpha::ServerReflectionResponse>(channel_, expected);
  CheckReflection<grpc::reflection::v1::ServerReflection,
                  grpc::reflection::v1::ServerReflectionRequest,
                  grpc::reflection::v1::ServerReflectionResponse>(channel_, expected);
}

TEST(ServerHealthAddressTest, ServesHealthAndReflectionOnly) {
  TestEcho echo;
  ServerOptions options;
  options.name = "test";
  options.listen_address = "127.0.0.1:0";
  options.health_address = "127.0.0.1:0";
  auto server = Server::Start(options, {{Echo::service_full_name(), &echo}}, {}, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->health_port(), 0);
  auto channel = MakeChannel({.target = absl::StrCat("127.0.0.1:", (*server)->health_port())});

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse health;
  ASSERT_TRUE(Health::NewStub(channel)->Check(&ctx, HealthCheckRequest(), &health).ok());
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);

  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("*");
  grpc::Status status;
  auto answers =
      AskAll<grpc::reflection::v1alpha::ServerReflection,
             grpc::reflection::v1alpha::ServerReflectionRequest,
             grpc::reflection::v1alpha::ServerReflectionResponse>(channel, {list}, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), 1u);
  std::vector<std::string> services;
  for (const auto& s : answers[0].list_services_response().service()) services.push_back(s.name());
  EXPECT_EQ(services, (std::vector<std::string>{"grpc.health.v1.Health",
                                                "grpc.reflection.v1.ServerReflection",
                                                "grpc.reflection.v1alpha.ServerReflection"}));

  grpc::ClientContext echo_ctx;
  echo_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EchoResponse response;
  EXPECT_EQ(Echo::NewStub(channel)->Echo(&echo_ctx, EchoRequest(), &response).error_code(),
            grpc::UNIMPLEMENTED);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace marketplace::common
