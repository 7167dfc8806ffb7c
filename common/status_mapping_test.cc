#include "common/status_mapping.h"

#include "common/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(StatusMappingTest, InvalidFieldNamesFieldAndRuleOnTheWire) {
  grpc::Status s = ToGrpcStatus(InvalidField("amount.amount_minor", "must be > 0"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "amount.amount_minor: must be > 0");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(s.error_details()));
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::BadRequest br;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 1);
  EXPECT_EQ(br.field_violations(0).field(), "amount.amount_minor");
  EXPECT_EQ(br.field_violations(0).description(), "must be > 0");
}

TEST(StatusMappingTest, ReasonBecomesErrorInfo) {
  grpc::Status s = ToGrpcStatus(FailedPrecondition("SELLER_NOT_APPROVED", "seller is pending"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(s.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "SELLER_NOT_APPROVED");
  EXPECT_EQ(info.domain(), "marketplace");
}

TEST(StatusMappingTest, RoundTripKeepsDetails) {
  absl::Status original = WithReason(
      InvalidFields({{"a", "required"}, {"b", "at most 5 characters"}}), "BAD_INPUT");
  absl::Status back = FromGrpcStatus(ToGrpcStatus(original));
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(back.message(), "a: required; b: at most 5 characters");
  auto violations = FieldViolationsOf(back);
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[1].field, "b");
  EXPECT_EQ(ReasonOf(back), "BAD_INPUT");
}

TEST(StatusMappingTest, OkMapsToOkAndPlainErrorsHaveNoDetails) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status s = ToGrpcStatus(absl::UnavailableError("db down"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(s.error_details().empty());
}

}  // namespace
}  // namespace marketplace::common
