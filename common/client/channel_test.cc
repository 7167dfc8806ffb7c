#include "common/client/channel.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;

// Fails the first `failures` calls with UNAVAILABLE; records what the last call carried.
class FlakyEcho final : public Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    auto* reactor = context->DefaultReactor();
    ++attempts;
    const auto& md = context->client_metadata();
    auto rid = md.find("x-request-id");
    request_id = rid == md.end() ? "" : std::string(rid->second.data(), rid->second.size());
    auto auth = md.find("authorization");
    authorization = auth == md.end() ? "" : std::string(auth->second.data(), auth->second.size());
    deadline = absl::FromChrono(context->deadline());
    if (attempts <= failures) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "try again"));
    } else {
      response->set_message(request->message());
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  std::atomic<int> attempts{0};
  int failures = 0;
  std::string request_id;
  std::string authorization;
  absl::Time deadline;
};

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status Call(const std::vector<std::string>& idempotent, const OutgoingCall& call) {
    auto channel = MakeChannel({.target = absl::StrCat("127.0.0.1:", port_),
                                .idempotent_methods = idempotent,
                                .initial_backoff = absl::Milliseconds(10)});
    grpc::ClientContext ctx;
    PrepareClientContext(&ctx, call);
    EchoRequest req;
    req.set_message("hi");
    EchoResponse resp;
    return Echo::NewStub(channel)->Echo(&ctx, req, &resp);
  }

  FlakyEcho service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ChannelTest, IdempotentMethodIsRetriedOnUnavailable) {
  service_.failures = 2;
  grpc::Status s = Call({"marketplace.bench.v1.Echo/Echo"}, {});
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(service_.attempts.load(), 3);
}

TEST_F(ChannelTest, WholeServiceCanBeMarkedIdempotent) {
  service_.failures = 1;
  EXPECT_TRUE(Call({"marketplace.bench.v1.Echo"}, {}).ok());
  EXPECT_EQ(service_.attempts.load(), 2);
}

TEST_F(ChannelTest, OtherMethodsAreNotRetried) {
  service_.failures = 2;
  grpc::Status s = Call({}, {});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.attempts.load(), 1);
}

TEST_F(ChannelTest, CarriesRequestIdTokenAndDeadline) {
  OutgoingCall call;
  call.request_id = "req-42";
  call.bearer_token = "tok";
  call.timeout = absl::Seconds(30);
  call.incoming_deadline = absl::Now() + absl::Seconds(2);  // earlier: wins
  ASSERT_TRUE(Call({}, call).ok());
  EXPECT_EQ(service_.request_id, "req-42");
  EXPECT_EQ(service_.authorization, "Bearer tok");
  EXPECT_LT(service_.deadline, absl::Now() + absl::Seconds(3));
}

TEST_F(ChannelTest, TimeoutBoundsTheDeadlineWithoutIncomingOne) {
  OutgoingCall call;
  call.timeout = absl::Seconds(1);
  ASSERT_TRUE(Call({}, call).ok());
  EXPECT_LT(service_.deadline, absl::Now() + absl::Seconds(2));
}

TEST(RetryServiceConfigTest, NamesMethodsAndOnlyUnavailable) {
  ChannelOptions options;
  options.idempotent_methods = {"a.B/C", "a.D"};
  std::string json = RetryServiceConfig(options);
  EXPECT_NE(json.find(R"({"service":"a.B","method":"C"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"service":"a.D"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("retryableStatusCodes":["UNAVAILABLE"])"), std::string::npos) << json;
  EXPECT_EQ(RetryServiceConfig(ChannelOptions{}), "{}");
}

}  // namespace
}  // namespace marketplace::common
