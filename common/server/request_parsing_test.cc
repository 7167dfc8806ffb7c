#include "common/server/request_parsing.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/echo.grpc.pb.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/executor.h"
#include "common/server/unary_call.h"
#include "google/protobuf/api.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;

constexpr char kMethod[] = "/marketplace.bench.v1.Echo/Echo";
const std::string kBadUtf8("ab\xc3(", 4);

std::vector<FieldViolation> Violations(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return FieldViolationsOf(status);
}

TEST(DescribeParseFailureTest, NamesEveryStringFieldThatIsNotUtf8ByItsPath) {
  google::protobuf::Api api;
  api.set_name("ok");
  api.add_methods()->set_name("fine");
  api.add_methods()->set_request_type_url(kBadUtf8);
  api.set_version(kBadUtf8);
  std::string bytes;
  ASSERT_TRUE(api.SerializePartialToString(&bytes));
  const std::vector<FieldViolation> found =
      Violations(DescribeParseFailure(*google::protobuf::Api::descriptor(), bytes));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].field, "methods[1].request_type_url");
  EXPECT_EQ(found[0].rule, "must be valid UTF-8");
  EXPECT_EQ(found[1].field, "version");
}

TEST(DescribeParseFailureTest, NamesAMapEntryByItsKey) {
  google::protobuf::Struct value;
  (*value.mutable_fields())["title"].set_string_value(kBadUtf8);
  std::string bytes;
  ASSERT_TRUE(value.SerializePartialToString(&bytes));
  const std::vector<FieldViolation> found =
      Violations(DescribeParseFailure(*google::protobuf::Struct::descriptor(), bytes));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].field, "fields[title].string_value");
}

TEST(DescribeParseFailureTest, BytesThatAreNotAMessageNameTheRequest) {
  const std::vector<FieldViolation> found = Violations(
      DescribeParseFailure(*EchoRequest::descriptor(), std::string("\x0a\x7f" "abc", 5)));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].field, "request");
  EXPECT_EQ(found[0].rule, "must be a serialized marketplace.bench.v1.EchoRequest");
}

// Echo through the runner, counting the bodies that ran.
class CountingEcho final : public Echo::CallbackService {
 public:
  explicit CountingEcho(UnaryRunner* runner) : runner_(runner) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    return runner_->Run(context, kMethod, [this, request, response](const CallContext&) {
      ++bodies;
      response->set_message(request->message());
      return absl::OkStatus();
    });
  }
  std::atomic<int> bodies{0};

 private:
  UnaryRunner* runner_;
};

class RequestParsingServerTest : public ::testing::Test {
 protected:
  void Start(bool check) {
    verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "test"}, &clock_);
    authenticator_ =
        std::make_unique<auth::Authenticator>(verifier_.get(), std::set<std::string>{kMethod});
    executor_ = std::make_unique<BoundedExecutor>(2, 16);
    runner_ = std::make_unique<UnaryRunner>(executor_.get(), authenticator_.get());
    service_ = std::make_unique<CountingEcho>(runner_.get());
    if (check) CheckRequestParsing(service_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = Echo::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                              grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (executor_) executor_->Shutdown();
  }

  grpc::Status Call(const std::string& message, EchoResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
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
  std::unique_ptr<CountingEcho> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
};

// What gRPC does by itself, and why CheckRequestParsing exists.
TEST_F(RequestParsingServerTest, WithoutTheCheckGrpcAnswersAnEmptyUnimplemented) {
  Start(/*check=*/false);
  EchoResponse response;
  const grpc::Status status = Call(kBadUtf8, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "");
}

TEST_F(RequestParsingServerTest, InvalidUtf8IsInvalidArgumentNamingTheFieldAndNothingRuns) {
  Start(/*check=*/true);
  EchoResponse response;
  const grpc::Status status = Call(kBadUtf8, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "message: must be valid UTF-8");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "message");
  EXPECT_EQ(service_->bodies.load(), 0);

  // The same server still serves good requests.
  ASSERT_TRUE(Call("héllo", &response).ok());
  EXPECT_EQ(response.message(), "héllo");
  EXPECT_EQ(service_->bodies.load(), 1);
}

}  // namespace
}  // namespace marketplace::common
