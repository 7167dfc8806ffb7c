#include "common/ids.h"

#include <cctype>
#include <string>

#include "common/errors.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(IdsTest, NewIdsAreIssuedIds) {
  for (const char* prefix : {"pay_", "lst_", "po_", "tkt_", ""}) {
    std::string id = NewId(prefix);
    EXPECT_TRUE(IsIssuedId(id)) << id;
    EXPECT_TRUE(ValidateIssuedId("id", id).ok()) << id;
  }
  EXPECT_NE(NewId("pay_"), NewId("pay_"));
}

TEST(IdsTest, AccountIdsOf32HexDigitsAreIssuedIds) {
  EXPECT_TRUE(IsIssuedId(HexEncode(RandomBytes(16))));
}

TEST(IdsTest, AccountIdsAreExactly32HexDigitsWithoutPrefix) {
  const std::string account = HexEncode(RandomBytes(16));
  EXPECT_TRUE(IsAccountId(account));
  EXPECT_TRUE(ValidateAccountId("buyer_id", account).ok());
  // Issued ids of another form: a prefix, 24 digits, a 32-character prefixed id.
  for (const std::string& bad :
       {NewId("pay_"), account.substr(0, 24), std::string("abcdefg_") + account.substr(0, 24),
        account + "0", account.substr(1), " " + account.substr(1)}) {
    EXPECT_FALSE(IsAccountId(bad)) << bad;
    absl::Status status = ValidateAccountId("buyer_id", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    ASSERT_EQ(FieldViolationsOf(status).size(), 1u);
    EXPECT_EQ(FieldViolationsOf(status)[0].field, "buyer_id");
  }
  EXPECT_EQ(FieldViolationsOf(ValidateAccountId("buyer_id", ""))[0].rule, "is required");
}

TEST(IdsTest, OtherSpellingsAreRefusedNamingTheField) {
  const std::string good = NewId("pay_");
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad :
       {upper, " " + good, good + " ", good.substr(0, good.size() - 1), good + "0000000000",
        std::string("Pay_") + good.substr(4), std::string("pay-") + good.substr(4),
        std::string("toolongpre_") + good.substr(4), std::string("_") + good.substr(4),
        std::string("pay_") + std::string(24, 'g'), std::string("pay_lst_") + good.substr(4)}) {
    EXPECT_FALSE(IsIssuedId(bad)) << bad;
    absl::Status status = ValidateIssuedId("seller_id", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    ASSERT_EQ(FieldViolationsOf(status).size(), 1u);
    EXPECT_EQ(FieldViolationsOf(status)[0].field, "seller_id");
  }
  EXPECT_EQ(FieldViolationsOf(ValidateIssuedId("seller_id", ""))[0].rule, "is required");
}

}  // namespace
}  // namespace marketplace::common
