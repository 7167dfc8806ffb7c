#include "common/money.h"
#include "common/money_proto.h"

#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;

v1::Money Proto(const std::string& currency, int64_t amount) {
  v1::Money m;
  m.set_currency_code(currency);
  m.set_amount_minor(amount);
  return m;
}

Money Of(absl::string_view currency, int64_t amount) { return *Money::Of(currency, amount); }

TEST(CurrencyTest, KnowsMinorDigits) {
  ASSERT_NE(FindCurrency("EUR"), nullptr);
  EXPECT_EQ(FindCurrency("EUR")->minor_digits, 2);
  EXPECT_EQ(FindCurrency("JPY")->minor_digits, 0);
  EXPECT_EQ(FindCurrency("KWD")->minor_digits, 3);
  EXPECT_EQ(FindCurrency("eur"), nullptr);
  EXPECT_EQ(FindCurrency("XXX"), nullptr);
  EXPECT_EQ(FindCurrency(""), nullptr);
  EXPECT_THAT(SupportedCurrencyCodes(), ::testing::HasSubstr("EUR, GBP"));
}

TEST(MoneyTest, FromProtoAcceptsAValidAmount) {
  auto m = MoneyFromProto(Proto("EUR", 1234), "amount", AmountRule::kPositive);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->currency_code(), "EUR");
  EXPECT_EQ(m->amount_minor(), 1234);
  EXPECT_EQ(MoneyToProto(*m).SerializeAsString(), Proto("EUR", 1234).SerializeAsString());
}

TEST(MoneyTest, FromProtoNamesEveryBadField) {
  auto m = MoneyFromProto(Proto("eur", 0), "price", AmountRule::kPositive);
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldViolationsOf(m.status()),
              ElementsAre(Field(&FieldViolation::field, "price.currency_code"),
                          Field(&FieldViolation::field, "price.amount_minor")));

  auto negative = MoneyFromProto(Proto("EUR", -1), "fee", AmountRule::kNonNegative);
  EXPECT_THAT(FieldViolationsOf(negative.status()),
              ElementsAre(AllOf(Field(&FieldViolation::field, "fee.amount_minor"),
                                Field(&FieldViolation::rule, "must be >= 0"))));
  EXPECT_TRUE(MoneyFromProto(Proto("EUR", 0), "fee", AmountRule::kNonNegative).ok());

  auto huge = MoneyFromProto(Proto("EUR", kMaxAmountMinor + 1), "amount", AmountRule::kPositive);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MoneyFromProto(Proto("EUR", kMaxAmountMinor), "amount", AmountRule::kPositive).ok());
}

TEST(MoneyTest, ArithmeticRefusesMixedCurrencies) {
  auto sum = Of("EUR", 100).Plus(Of("USD", 100));
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(sum.status()), "CURRENCY_MISMATCH");
  EXPECT_EQ(Of("EUR", 100).Minus(Of("GBP", 1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MoneyTest, ArithmeticIsExactAndChecked) {
  EXPECT_EQ(*Of("EUR", 100).Plus(Of("EUR", 250)), Of("EUR", 350));
  EXPECT_EQ(*Of("EUR", 100).Minus(Of("EUR", 250)), Of("EUR", -150));
  EXPECT_EQ(Of("EUR", 7).Negated(), Of("EUR", -7));
  Money big = Of("EUR", kMaxAmountMinor * 1000);
  EXPECT_EQ(big.Plus(Of("EUR", 1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(big.Negated().Minus(Of("EUR", 1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Money::Of("EUR", INT64_MAX).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Money::Of("ABC", 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoneyTest, FractionRoundsHalfAwayFromZero) {
  EXPECT_EQ(*Of("EUR", 10000).Fraction(1250), Of("EUR", 1250));  // 12.5 % of 100.00
  EXPECT_EQ(*Of("EUR", 1).Fraction(5000), Of("EUR", 1));          // 0.5 cent -> 1
  EXPECT_EQ(*Of("EUR", 1).Fraction(4999), Of("EUR", 0));
  EXPECT_EQ(*Of("EUR", -1).Fraction(5000), Of("EUR", -1));
  EXPECT_EQ(*Of("EUR", 999).Fraction(0), Of("EUR", 0));
  EXPECT_EQ(*Of("EUR", 999).Fraction(10000), Of("EUR", 999));
  EXPECT_EQ(*Of("JPY", 333).Fraction(1000), Of("JPY", 33));  // 33.3 -> 33
  EXPECT_EQ(*Of("EUR", kMaxAmountMinor * 1000).Fraction(10000), Of("EUR", kMaxAmountMinor * 1000));
  EXPECT_EQ(Of("EUR", 1).Fraction(10001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Of("EUR", 1).Fraction(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoneyTest, ToStringIsExactDecimal) {
  EXPECT_EQ(Of("EUR", 1234).ToString(), "12.34 EUR");
  EXPECT_EQ(Of("EUR", 5).ToString(), "0.05 EUR");
  EXPECT_EQ(Of("EUR", -105).ToString(), "-1.05 EUR");
  EXPECT_EQ(Of("JPY", 500).ToString(), "500 JPY");
  EXPECT_EQ(Of("KWD", 1001).ToString(), "1.001 KWD");
}

}  // namespace
}  // namespace marketplace::common
