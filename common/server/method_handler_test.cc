#include "common/server/method_handler.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/echo.grpc.pb.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/executor.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;

enum class Method { kEcho };

// Echo through MethodHandler: the guard refuses "deny"; "plain:" bodies return absl::Status
// and fill the response themselves; "fail" fails in the body; anything else returns
// StatusOr<EchoResponse>.
class HandledEcho final : public Echo::CallbackService {
 public:
  explicit HandledEcho(UnaryRunner* runner)
      : handler_(runner, "marketplace.bench.v1.Echo", {"Echo"},
                 [this](Method method, const CallContext& call) -> absl::Status {
                   ++guarded;
                   EXPECT_EQ(method, Method::kEcho);
                   EXPECT_EQ(call.method, "/marketplace.bench.v1.Echo/Echo");
                   return current_ == "deny" ? PermissionDenied("not for you") : absl::OkStatus();
                 }) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    current_ = request->message();
    if (absl::StartsWith(request->message(), "plain:")) {
      return handler_.Unary(context, Method::kEcho, response,
                            [request, response](const CallContext&) -> absl::Status {
                              response->set_message(request->message().substr(6));
                              return absl::OkStatus();
                            });
    }
    return handler_.Unary(
        context, Method::kEcho, response,
        [this, request](const CallContext& call) -> absl::StatusOr<EchoResponse> {
          ++bodies;
          if (request->message() == "fail") return InvalidField("message", "must not be fail");
          EchoResponse out;
          out.set_message(absl::StrCat(request->message(), "|", call.request_id));
          return out;
        });
  }

  int guarded = 0;
  int bodies = 0;

 private:
  std::string current_;  // the tests call one at a time
  MethodHandler<Method, 1> handler_;
};

class MethodHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "test"}, &clock_);
    authenticator_ = std::make_unique<auth::Authenticator>(
        verifier_.get(), std::set<std::string>{"/marketplace.bench.v1.Echo/Echo"});
    executor_ = std::make_unique<BoundedExecutor>(2, 16);
    runner_ = std::make_unique<UnaryRunner>(executor_.get(), authenticator_.get());
    service_ = std::make_unique<HandledEcho>(runner_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = Echo::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                              grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown();
    executor_->Shutdown();
  }

  grpc::Status Call(const std::string& message, EchoResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("x-request-id", "req-1");
    EchoRequest request;
    request.set_message(message);
    return stub_->Echo(&ctx, request, response);
  }

  SystemClock clock_;
  auth::FakeKeyFetcher fetcher_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<BoundedExecutor> executor_;
  std::unique_ptr<UnaryRunner> runner_;
  std::unique_ptr<HandledEcho> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(MethodHandlerTest, AStatusOrBodyFillsTheResponse) {
  EchoResponse response;
  ASSERT_TRUE(Call("hi", &response).ok());
  EXPECT_EQ(response.message(), "hi|req-1");
  EXPECT_EQ(service_->guarded, 1);
}

TEST_F(MethodHandlerTest, AStatusBodyFillsTheResponseItself) {
  EchoResponse response;
  ASSERT_TRUE(Call("plain:hello", &response).ok());
  EXPECT_EQ(response.message(), "hello");
}

TEST_F(MethodHandlerTest, TheGuardRefusesBeforeTheBodyRuns) {
  EchoResponse response;
  grpc::Status status = Call("deny", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "not for you");
  EXPECT_EQ(service_->bodies, 0);
}

TEST_F(MethodHandlerTest, ABodyErrorReachesTheClientMappedAndTheResponseStaysEmpty) {
  EchoResponse response;
  grpc::Status status = Call("fail", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "message: must not be fail");
  EXPECT_TRUE(response.message().empty());
}

}  // namespace
}  // namespace marketplace::common
