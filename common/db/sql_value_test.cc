#include "common/db/sql_value.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketplace::common::db {
namespace {

TEST(SqlValueTest, LiteralsPickTheIntendedAlternative) {
  // A string literal must not decay to bool, an int must become BIGINT.
  EXPECT_TRUE(std::holds_alternative<std::string>(SqlValue("text")));
  EXPECT_TRUE(std::holds_alternative<int64_t>(SqlValue(5)));
  EXPECT_TRUE(std::holds_alternative<bool>(SqlValue(true)));
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(SqlValue(nullptr)));
  EXPECT_TRUE(std::holds_alternative<absl::Time>(SqlValue(absl::UnixEpoch())));
}

TEST(PlaceholdersTest, ListsAndRows) {
  EXPECT_EQ(PlaceholderList(1), "?");
  EXPECT_EQ(PlaceholderList(3), "?, ?, ?");
  EXPECT_EQ(PlaceholderRows(2, 2), "(?, ?), (?, ?)");
  EXPECT_EQ(PlaceholderRows(1, 3), "(?, ?, ?)");
  EXPECT_EQ(PlaceholderRows(2, 1, ", TRUE"), "(?, TRUE), (?, TRUE)");
}

// Stands in for the client library's escaping: brackets make the quoted part visible.
std::string Bracket(absl::string_view text) { return absl::StrCat("[", text, "]"); }

TEST(InlineValuesTest, WritesEachValueAsItsLiteral) {
  absl::StatusOr<std::string> sql = InlineValues(
      "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
      {nullptr, int64_t{-42}, "it's", absl::FromUnixMicros(1500000), true, false}, Bracket);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql,
            "INSERT INTO t VALUES (NULL, -42, [it's], [1970-01-01 00:00:01.500000], TRUE, FALSE)");
}

TEST(InlineValuesTest, BytesThatAreNotUtf8BecomeHexLiterals) {
  const std::string bytes("\x08\x96\x01\xff", 4);
  absl::StatusOr<std::string> sql = InlineValues("SELECT ?, ?", {bytes, "caf\xc3\xa9"}, Bracket);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql, "SELECT X'089601ff', [caf\xc3\xa9]");
  // Overlong forms and surrogates are not UTF-8 either.
  EXPECT_EQ(*InlineValues("SELECT ?", {std::string("\xc0\xaf")}, Bracket), "SELECT X'c0af'");
  EXPECT_EQ(*InlineValues("SELECT ?", {std::string("\xed\xa0\x80")}, Bracket),
            "SELECT X'eda080'");
}

TEST(InlineValuesTest, LeavesMarksInQuotesAndCommentsAlone) {
  absl::StatusOr<std::string> sql = InlineValues(
      "SELECT '?', \"a\\\"?\", `?`, ? /* ? */, ? -- ?\n, ? # ?\n", {1, 2, 3}, Bracket);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql, "SELECT '?', \"a\\\"?\", `?`, 1 /* ? */, 2 -- ?\n, 3 # ?\n");
}

TEST(InlineValuesTest, CountsMustAgree) {
  EXPECT_EQ(InlineValues("SELECT ?, ?", {1}, Bracket).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(InlineValues("SELECT ?", {1, 2}, Bracket).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(InlineValues("SELECT ?", {absl::InfiniteFuture()}, Bracket).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SqlTimeTest, FormatsUtcWithMicroseconds) {
  const absl::Time t = absl::FromUnixMicros(1'700'000'000'123'456);
  EXPECT_EQ(FormatSqlTime(t), "2023-11-14 22:13:20.123456");
}

TEST(SqlTimeTest, ParsesWithAndWithoutFraction) {
  auto with = ParseSqlTime("2023-11-14 22:13:20.123456");
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(*with, absl::FromUnixMicros(1'700'000'000'123'456));
  auto without = ParseSqlTime("2023-11-14 22:13:20");
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(*without, absl::FromUnixSeconds(1'700'000'000));
  auto short_fraction = ParseSqlTime("2023-11-14 22:13:20.5");
  ASSERT_TRUE(short_fraction.ok()) << short_fraction.status();
  EXPECT_EQ(*short_fraction, absl::FromUnixMillis(1'700'000'000'500));
  EXPECT_FALSE(ParseSqlTime("yesterday").ok());
}

TEST(SqlTimeTest, RoundTripsMicroseconds) {
  for (int64_t micros : {int64_t{0}, int64_t{1}, int64_t{999'999}, int64_t{-1}}) {
    const absl::Time t = absl::FromUnixMicros(1'800'000'000'000'000 + micros);
    auto parsed = ParseSqlTime(FormatSqlTime(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t) << FormatSqlTime(t);
  }
}

TEST(SqlTimeTest, OnlyDatetimeRangeIsValid) {
  EXPECT_TRUE(ValidateSqlTime(absl::UnixEpoch()).ok());
  EXPECT_EQ(ValidateSqlTime(absl::InfiniteFuture()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ValidateSqlTime(absl::FromCivil(absl::CivilSecond(999, 12, 31, 0, 0, 0), absl::UTCTimeZone()))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ValidateSqlTime(absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone()))
          .code(),
      absl::StatusCode::kInvalidArgument);
}

Row MakeRow() {
  auto names = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"id", "Name", "created_at", "deleted_at", "active"});
  return Row(names, {std::string("42"), std::string("O'Brien"),
                     std::string("2023-11-14 22:13:20.000001"), std::nullopt, std::string("1")});
}

TEST(RowTest, TypedGettersByColumnName) {
  const Row row = MakeRow();
  EXPECT_EQ(row.size(), 5u);
  EXPECT_EQ(*row.GetInt64("id"), 42);
  EXPECT_EQ(*row.GetString("name"), "O'Brien");  // labels match ignoring case
  EXPECT_EQ(*row.GetTime("created_at"), absl::FromUnixMicros(1'700'000'000'000'001));
  EXPECT_TRUE(*row.GetBool("active"));
  EXPECT_TRUE(row.IsNull("deleted_at"));
  EXPECT_FALSE(row.IsNull("id"));
}

// The first column of a name wins whatever the case on either side, as a scan would find it.
TEST(RowTest, ColumnsAreFoundIgnoringCaseTheFirstOfANameWinning) {
  auto names = std::make_shared<const ColumnNames>(
      std::vector<std::string>{"ID", "name", "Name", "n"});
  const Row row(names, {std::string("1"), std::string("first"), std::string("second"),
                        std::string("3")});
  EXPECT_EQ(names->IndexOf("id"), 0u);
  EXPECT_EQ(names->IndexOf("Id"), 0u);
  EXPECT_EQ(names->IndexOf("name"), 1u);
  EXPECT_EQ(names->IndexOf("NAME"), 1u);
  EXPECT_EQ(names->IndexOf("nam"), std::nullopt);
  EXPECT_EQ(*row.GetString("NaMe"), "first");
  EXPECT_EQ(*row.GetInt64("N"), 3);
  EXPECT_EQ(row.GetString("missing").status().code(), absl::StatusCode::kInternal);
  // A row shorter than its names (never made by the driver) finds no value past its end.
  const Row short_row(names, {std::string("1")});
  EXPECT_EQ(short_row.GetString("n").status().code(), absl::StatusCode::kInternal);
}

TEST(RowTest, OptionalGettersReadNullAsNullopt) {
  const Row row = MakeRow();
  EXPECT_EQ(*row.GetOptionalTime("deleted_at"), std::nullopt);
  EXPECT_EQ(*row.GetOptionalInt64("id"), std::optional<int64_t>(42));
  EXPECT_EQ(*row.GetOptionalString("name"), std::optional<std::string>("O'Brien"));
  EXPECT_EQ(row.GetOptionalInt64("missing").status().code(), absl::StatusCode::kInternal);
}

TEST(RowTest, MistakesAreInternalErrors) {
  const Row row = MakeRow();
  EXPECT_EQ(row.GetInt64("missing").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(row.GetInt64("name").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(row.GetTime("deleted_at").status().code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(row.HasColumn("missing"));
  EXPECT_FALSE(row.IsNull("missing"));
}

TEST(ParseRowsTest, ParsesEveryRowAndStopsAtTheFirstError) {
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"n"});
  const std::vector<Row> rows = {Row(names, {std::string("1")}), Row(names, {std::string("2")})};
  auto parsed = ParseRows(rows, [](const Row& r) { return r.GetInt64("n"); });
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<int64_t>{1, 2}));
  auto failed = ParseRows(rows, [](const Row& r) { return r.GetInt64("missing"); });
  EXPECT_FALSE(failed.ok());
  auto none = ParseRows(std::vector<Row>{}, [](const Row& r) { return r.GetInt64("n"); });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace marketplace::common::db
