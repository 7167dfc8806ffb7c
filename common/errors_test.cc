#include "common/errors.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(ErrorsTest, InvalidFieldNamesFieldAndRuleOnTheWire) {
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

TEST(ErrorsTest, ReasonBecomesErrorInfo) {
  grpc::Status s = ToGrpcStatus(FailedPrecondition("SELLER_NOT_APPROVED", "seller is pending"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(s.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "SELLER_NOT_APPROVED");
  EXPECT_EQ(info.domain(), "marketplace");
}

TEST(ErrorsTest, RoundTripKeepsDetails) {
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

TEST(ErrorsTest, OkMapsToOkAndPlainErrorsHaveNoDetails) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status s = ToGrpcStatus(absl::UnavailableError("db down"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(s.error_details().empty());
}

TEST(ErrorsTest, NotFoundCarriesReason) {
  absl::Status s = NotFound("payment", "p_1");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "payment p_1 not found");
  EXPECT_EQ(ReasonOf(s), "PAYMENT_NOT_FOUND");
}

TEST(ErrorsTest, ViolationsCollectEveryBadFieldIntoOneError) {
  Violations none;
  none.Check(absl::OkStatus());
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.Status().ok());

  Violations v;
  v.Check(InvalidFields({{"a", "must be set"}, {"b", "must be > 0"}}));
  v.Check(absl::NotFoundError("no field in it"));
  v.Add("c", "must be short");
  absl::Status s = v.Status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "a: must be set; b: must be > 0; c: must be short");
  ASSERT_EQ(FieldViolationsOf(s).size(), 3u);
  EXPECT_EQ(FieldViolationsOf(s)[2].field, "c");
}

}  // namespace
}  // namespace marketplace::common
