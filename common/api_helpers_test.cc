// Page tokens, ids and proto times: the small API helpers every service shares.
#include "absl/strings/match.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(PageTokenTest, RoundTripsTheCursorForTheSameFilters) {
  const std::string token = EncodePageToken("1700000000000000:pay_1", "seller=s1|state=HELD");
  absl::StatusOr<std::string> cursor = DecodePageToken(token, "seller=s1|state=HELD");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(*cursor, "1700000000000000:pay_1");
}

TEST(PageTokenTest, RefusesOtherFiltersNamingThem) {
  const std::string token = EncodePageToken("c", "seller=s1");
  absl::StatusOr<std::string> cursor = DecodePageToken(token, "seller=s2", "seller_id");
  ASSERT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolationsOf(cursor.status()).size(), 1u);
  EXPECT_EQ(FieldViolationsOf(cursor.status())[0].field, "page_token");
  EXPECT_TRUE(absl::StrContains(cursor.status().message(), "(seller_id)"));
}

TEST(PageTokenTest, RefusesTokensNotMadeHere) {
  for (const char* token : {"", "!!!", "cDF8YWJj", "eDF8MDAwMDAwMDAwMDAwMDAwMHxj"}) {
    EXPECT_EQ(DecodePageToken(token, "f").status().code(), absl::StatusCode::kInvalidArgument)
        << token;
  }
}

TEST(PageTokenTest, TimeIdCursorKeepsMicrosecondsAndIdsWithColons) {
  const TimeIdCursor in{absl::FromUnixMicros(-1234567), "a:b"};
  absl::StatusOr<TimeIdCursor> out = DecodeTimeIdCursor(EncodeTimeIdCursor(in));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->time, in.time);
  EXPECT_EQ(out->id, "a:b");
  EXPECT_FALSE(DecodeTimeIdCursor("x:1").ok());
  EXPECT_FALSE(DecodeTimeIdCursor("12:").ok());
}

TEST(PageSizeTest, ZeroMeansDefaultAndTheRangeIsChecked) {
  EXPECT_EQ(*PageSize(0, 20, 100), 20);
  EXPECT_EQ(*PageSize(100, 20, 100), 100);
  absl::Status bad = PageSize(101, 20, 100).status();
  EXPECT_EQ(bad.message(), "page_size: must be 0-100 (0: 20)");
  EXPECT_FALSE(PageSize(-1, 20, 100).ok());
}

TEST(IdsTest, NewIdsArePrefixedHexAndDistinct) {
  const std::string a = NewId("pay_");
  const std::string b = NewId("pay_");
  EXPECT_EQ(a.size(), 4u + 24u);
  EXPECT_TRUE(absl::StartsWith(a, "pay_"));
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(IdsTest, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), 32u);
}

TEST(ProtoTimeTest, FloorsToTheMicrosecondAndKeepsNanosPositiveBeforeTheEpoch) {
  google::protobuf::Timestamp ts = ToTimestamp(absl::FromUnixNanos(1500));
  EXPECT_EQ(ts.seconds(), 0);
  EXPECT_EQ(ts.nanos(), 1000);
  ts = ToTimestamp(absl::FromUnixMicros(-1));
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999999000);
  absl::StatusOr<absl::Time> back = FromTimestamp(ts, "t");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, absl::FromUnixMicros(-1));
}

TEST(ProtoTimeTest, OutOfRangeTimestampsNameTheField) {
  google::protobuf::Timestamp ts;
  ts.set_nanos(-1);
  absl::Status bad = FromTimestamp(ts, "occurred_at").status();
  ASSERT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolationsOf(bad)[0].field, "occurred_at");
  ts.set_nanos(0);
  ts.set_seconds(253402300800);
  EXPECT_FALSE(FromTimestamp(ts, "t").ok());
}

}  // namespace
}  // namespace marketplace::common
