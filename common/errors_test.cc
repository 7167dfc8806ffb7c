#include "common/errors.h"

#include "google/rpc/error_details.pb.h"

#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(ErrorsTest, ReasonCarriesItsMetadata) {
  absl::Status s = WithReason(absl::FailedPreconditionError("declined"), "PAYMENT_DECLINED",
                              {{"decline_code", "INSUFFICIENT_FUNDS"}});
  EXPECT_EQ(ReasonOf(s), "PAYMENT_DECLINED");
  auto payload = s.GetPayload("type.googleapis.com/google.rpc.ErrorInfo");
  ASSERT_TRUE(payload.has_value());
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(info.ParseFromString(std::string(*payload)));
  EXPECT_EQ(info.metadata().at("decline_code"), "INSUFFICIENT_FUNDS");
  EXPECT_EQ(info.domain(), "marketplace");
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
