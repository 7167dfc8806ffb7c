#include "services/gateway/http_errors.h"

#include "gmock/gmock.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace marketplace::gateway {
namespace {

using ::testing::HasSubstr;

TEST(HttpErrorsTest, EveryCodeHasItsStatus) {
  const std::vector<std::pair<grpc::StatusCode, int>> table = {
      {grpc::OK, 200},
      {grpc::CANCELLED, 499},
      {grpc::UNKNOWN, 500},
      {grpc::INVALID_ARGUMENT, 400},
      {grpc::DEADLINE_EXCEEDED, 504},
      {grpc::NOT_FOUND, 404},
      {grpc::ALREADY_EXISTS, 409},
      {grpc::PERMISSION_DENIED, 403},
      {grpc::RESOURCE_EXHAUSTED, 429},
      {grpc::FAILED_PRECONDITION, 400},
      {grpc::ABORTED, 409},
      {grpc::OUT_OF_RANGE, 400},
      {grpc::UNIMPLEMENTED, 501},
      {grpc::INTERNAL, 500},
      {grpc::UNAVAILABLE, 503},
      {grpc::DATA_LOSS, 500},
      {grpc::UNAUTHENTICATED, 401},
  };
  ASSERT_EQ(table.size(), 17u);
  for (const auto& [code, status] : table) {
    EXPECT_EQ(HttpStatusForCode(code), status) << CodeName(code);
  }
  EXPECT_EQ(HttpStatusForCode(99), 500);
  EXPECT_EQ(CodeName(grpc::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(CodeName(99), "UNKNOWN");
}

TEST(HttpErrorsTest, BackendDetailsBecomeAip193) {
  google::rpc::Status rich;
  rich.set_code(grpc::FAILED_PRECONDITION);
  rich.set_message("listing is LIVE");
  google::rpc::ErrorInfo info;
  info.set_reason("LISTING_NOT_DRAFT");
  info.set_domain("marketplace");
  rich.add_details()->PackFrom(info);
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("title");
  v->set_description("must not be empty");
  rich.add_details()->PackFrom(bad);
  rich.add_details()->set_type_url("type.googleapis.com/unknown.Thing");
  grpc::Status status(grpc::FAILED_PRECONDITION, "listing is LIVE", rich.SerializeAsString());
  ErrorReply reply = FromGrpcStatus(status);
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_EQ(reply.body,
            R"({"error":{"code":400,"message":"listing is LIVE","status":"FAILED_PRECONDITION",)"
            R"("details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",)"
            R"("reason":"LISTING_NOT_DRAFT","domain":"marketplace"},)"
            R"({"@type":"type.googleapis.com/google.rpc.BadRequest",)"
            R"("fieldViolations":[{"field":"title","description":"must not be empty"}]},)"
            R"({"@type":"type.googleapis.com/unknown.Thing"}]}})");
}

TEST(HttpErrorsTest, GatewayErrorsHaveTheSameShape) {
  ErrorReply reply = GatewayError(grpc::INVALID_ARGUMENT, "page_size: bad", {{"page_size", "bad"}},
                                  "BAD_QUERY");
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_THAT(reply.body, HasSubstr(R"("status":"INVALID_ARGUMENT")"));
  EXPECT_THAT(reply.body, HasSubstr(R"("fieldViolations":[{"field":"page_size","description":"bad"}])"));
  EXPECT_THAT(reply.body, HasSubstr(R"("reason":"BAD_QUERY","domain":"marketplace")"));
  EXPECT_EQ(GatewayError(grpc::NOT_FOUND, "no route").body,
            R"({"error":{"code":404,"message":"no route","status":"NOT_FOUND","details":[]}})");
}

TEST(HttpErrorsTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01<>"), R"("a\"b\\c\n\u0001\u003c\u003e")");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonQuote("bad\xff"), R"("bad\ufffd")");
}

// A violation quoting invalid UTF-8 from the client keeps its field, with U+FFFD in place of
// each bad byte (found by fuzzing: the BadRequest used to lose its violations).
TEST(HttpErrorsTest, ViolationsQuotingInvalidUtf8StayValid) {
  ErrorReply r = GatewayError(grpc::INVALID_ARGUMENT, "bad",
                              {{std::string("na\xffme"), std::string("rule \xc3\x28 x")}});
  EXPECT_THAT(r.body, HasSubstr("\"field\":\"na\xEF\xBF\xBDme\""));
  EXPECT_THAT(r.body, HasSubstr("rule \xEF\xBF\xBD( x"));
}

}  // namespace
}  // namespace marketplace::gateway
