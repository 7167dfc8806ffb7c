#include "common/server/unary_call.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "bench/echo.grpc.pb.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/jwt.h"
#include "common/clock.h"
#include "common/errors.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;

constexpr char kMethod[] = "/marketplace.bench.v1.Echo/Echo";

// Echo through the runner: "whoami" answers the caller's subject, "fail" an invalid field,
// "block" waits for `release`. Messages starting "async:" go through RunAsync and finish
// from a thread of their own.
class RunnerEcho final : public Echo::CallbackService {
 public:
  explicit RunnerEcho(UnaryRunner* runner) : runner_(runner) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    if (absl::StartsWith(request->message(), "offload:")) {
      // RunAsync, then the answer made on the executor through Offload.
      return runner_->RunAsync(
          context, kMethod,
          [this, request, response](const CallContext& call, UnaryRunner::Done done) {
            absl::Status queued = runner_->Offload(call.request_id, [this, request, response,
                                                                     call, done] {
              done(Answer(request->message().substr(8), call, response));
            });
            if (!queued.ok()) done(queued);
          });
    }
    if (absl::StartsWith(request->message(), "async:")) {
      return runner_->RunAsync(
          context, kMethod,
          [this, request, response](const CallContext& call, UnaryRunner::Done done) {
            std::thread([this, request, response, call, done = std::move(done)] {
              done(Answer(request->message().substr(6), call, response));
            }).detach();
          });
    }
    return runner_->Run(context, kMethod, [this, request, response](const CallContext& call) {
      return Answer(request->message(), call, response);
    });
  }
  absl::Notification release;

 private:
  absl::Status Answer(const std::string& message, const CallContext& call,
                      EchoResponse* response) {
    if (message == "fail") return InvalidField("message", "must not be \"fail\"");
    if (message == "internal") {
      return WithReason(absl::InternalError("driver: Table './shop/t' is marked as crashed"),
                        "DB_FAULT");
    }
    if (message == "block") release.WaitForNotificationWithTimeout(absl::Seconds(5));
    if (message == "where") {
      response->set_message(call.on_grpc_thread ? "grpc" : "executor");
      return absl::OkStatus();
    }
    response->set_message(message == "whoami" && call.caller
                              ? call.caller->subject
                              : absl::StrCat(message, "|", call.request_id));
    return absl::OkStatus();
  }

 public:

 private:
  UnaryRunner* runner_;
};

class UnaryRunnerTest : public ::testing::Test {
 protected:
  void Start(std::set<std::string> public_methods, int threads = 2, int queue = 16) {
    keys_ = *auth::GenerateEd25519KeyPair();
    fetcher_.SetKeys({{"k1", "EdDSA", keys_.public_key}});
    verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "test"}, &clock_);
    authenticator_ = std::make_unique<auth::Authenticator>(verifier_.get(), public_methods);
    executor_ = std::make_unique<BoundedExecutor>(threads, queue);
    runner_ = std::make_unique<UnaryRunner>(executor_.get(), authenticator_.get());
    service_ = std::make_unique<RunnerEcho>(runner_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = Echo::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                              grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (service_ && !service_->release.HasBeenNotified()) service_->release.Notify();
    if (server_) server_->Shutdown();
    if (executor_) executor_->Shutdown();
  }

  std::string Token(const std::string& subject) {
    auth::JwtHeader header;
    header.kid = "k1";
    auth::JwtClaims claims;
    claims.issuer = "identity";
    claims.subject = subject;
    claims.audiences = {"test"};
    claims.issued_at = clock_.Now();
    claims.expires_at = clock_.Now() + absl::Minutes(15);
    claims.token_id = "t1";
    claims.roles = {"BUYER"};
    return *auth::SignJwt(header, claims, keys_.private_key);
  }

  grpc::Status Call(const std::string& message, const std::string& token, EchoResponse* response,
                    grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    EchoRequest request;
    request.set_message(message);
    return stub_->Echo(ctx, request, response);
  }

  SystemClock clock_;
  auth::Ed25519KeyPair keys_;
  auth::FakeKeyFetcher fetcher_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<BoundedExecutor> executor_;
  std::unique_ptr<UnaryRunner> runner_;
  std::unique_ptr<RunnerEcho> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(UnaryRunnerTest, DeniesCallsWithoutTokenByDefault) {
  Start({});
  EchoResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(Call("hi", "", &resp, &ctx).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext ctx2;
  EXPECT_EQ(Call("hi", "garbage", &resp, &ctx2).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(UnaryRunnerTest, ServerFaultsReachTheClientWithoutTheirTextOrDetails) {
  Start({kMethod});
  EchoResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "req-fault-1");
  grpc::Status status = Call("internal", "", &resp, &ctx);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message().find("crashed"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("req-fault-1"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(status.error_details().empty());
}

TEST_F(UnaryRunnerTest, PublicMethodRunsWithoutToken) {
  Start({kMethod});
  EchoResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(Call("hi", "", &resp, &ctx).ok());
  EXPECT_EQ(resp.message().substr(0, 3), "hi|");
}

TEST_F(UnaryRunnerTest, HandlerSeesTheVerifiedCaller) {
  Start({});
  EchoResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = Call("whoami", Token("acct_7"), &resp, &ctx);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.message(), "acct_7");
}

TEST_F(UnaryRunnerTest, RequestIdIsKeptAndReturned) {
  Start({kMethod});
  EchoResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "abc-123");
  ASSERT_TRUE(Call("hi", "", &resp, &ctx).ok());
  EXPECT_EQ(resp.message(), "hi|abc-123");
  auto it = ctx.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(it, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "abc-123");
}

TEST_F(UnaryRunnerTest, DomainErrorsCarryDetails) {
  Start({kMethod});
  EchoResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = Call("fail", "", &resp, &ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "message: must not be \"fail\"");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  EXPECT_EQ(details.details_size(), 1);
}

TEST_F(UnaryRunnerTest, FullQueueIsResourceExhausted) {
  Start({kMethod}, /*threads=*/1, /*queue=*/1);
  std::vector<std::thread> blocked;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {  // one running, one queued
    blocked.emplace_back([&] {
      EchoResponse resp;
      grpc::ClientContext ctx;
      if (Call("block", "", &resp, &ctx).ok()) ++ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  EchoResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = Call("hi", "", &resp, &ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  service_->release.Notify();
  for (auto& t : blocked) t.join();
  EXPECT_EQ(ok.load(), 2) << "accepted calls still complete";
}

TEST_F(UnaryRunnerTest, AsyncCallsTakeTheSameStepsAndFinishFromAnyThread) {
  Start({kMethod});
  EchoResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "req-9");
  ASSERT_TRUE(Call("async:hi", "", &resp, &ctx).ok());
  EXPECT_EQ(resp.message(), "hi|req-9");
  grpc::ClientContext ctx2;
  grpc::Status s = Call("async:whoami", Token("acct_8"), &resp, &ctx2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.message(), "acct_8");
  grpc::ClientContext ctx3;
  s = Call("async:fail", "", &resp, &ctx3);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "message: must not be \"fail\"");
  grpc::ClientContext ctx4;
  EXPECT_EQ(Call("async:hi", "garbage", &resp, &ctx4).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(UnaryRunnerTest, AsyncCallsOfNonPublicMethodsNeedAToken) {
  Start({});
  EchoResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(Call("async:hi", "", &resp, &ctx).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(UnaryRunnerTest, AnonymousAsyncCallsDoNotWaitForTheExecutor) {
  Start({kMethod}, /*threads=*/1, /*queue=*/0);
  std::thread blocker([&] {  // the executor's only thread, until release
    EchoResponse resp;
    grpc::ClientContext ctx;
    (void)Call("block", "", &resp, &ctx);
  });
  absl::SleepFor(absl::Milliseconds(300));
  EchoResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(Call("hi", "", &resp, &ctx).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext ctx2;
  EXPECT_TRUE(Call("async:hi", "", &resp, &ctx2).ok());
  // With a token the call is authenticated on the executor, which is full.
  grpc::ClientContext ctx3;
  EXPECT_EQ(Call("async:whoami", Token("acct_8"), &resp, &ctx3).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Work handed back to the executor is refused the same way, and the call ends with it.
  grpc::ClientContext ctx4;
  EXPECT_EQ(Call("offload:hi", "", &resp, &ctx4).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  service_->release.Notify();
  blocker.join();
}

// A token verified once is not verified again: its later calls start on gRPC's thread, so
// they neither wait for the executor nor are refused when it is full.
TEST_F(UnaryRunnerTest, AsyncCallsWithAVerifiedTokenDoNotWaitForTheExecutor) {
  Start({}, /*threads=*/1, /*queue=*/0);
  const std::string token = Token("acct_8");
  EchoResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(Call("where", token, &resp, &ctx).ok());
    grpc::ClientContext ctx2;
    ASSERT_TRUE(Call("async:where", token, &resp, &ctx2).ok());
    EXPECT_EQ(resp.message(), "grpc");
    grpc::ClientContext ctx3;
    ASSERT_TRUE(Call("offload:hi", token, &resp, &ctx3).ok());
    EXPECT_EQ(resp.message().substr(0, 3), "hi|");
  }
  std::thread blocker([&] {
    EchoResponse r;
    grpc::ClientContext ctx;
    (void)Call("block", token, &r, &ctx);
  });
  absl::SleepFor(absl::Milliseconds(300));
  grpc::ClientContext ctx;
  EXPECT_EQ(Call("whoami", token, &resp, &ctx).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext ctx2;
  grpc::Status s = Call("async:whoami", token, &resp, &ctx2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.message(), "acct_8");
  // A token never verified still goes to the (full) executor.
  grpc::ClientContext ctx3;
  EXPECT_EQ(Call("async:whoami", Token("acct_9"), &resp, &ctx3).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  service_->release.Notify();
  blocker.join();
}

}  // namespace
}  // namespace marketplace::common
