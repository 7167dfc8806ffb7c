#include "common/db/sql_value.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace marketplace::common::db {
namespace {

constexpr char kDatetimeFormat[] = "%Y-%m-%d %H:%M:%E6S";

absl::Status ColumnError(absl::string_view column, absl::string_view problem) {
  return absl::InternalError(absl::StrCat("result column '", column, "': ", problem));
}

template <typename T, typename Getter>
absl::StatusOr<std::optional<T>> Optional(const Row& row, absl::string_view column, Getter getter) {
  if (!row.HasColumn(column)) return ColumnError(column, "no such column in the result");
  if (row.IsNull(column)) return std::optional<T>();
  ASSIGN_OR_RETURN(T value, getter(column));
  return std::optional<T>(std::move(value));
}

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char t = static_cast<unsigned char>(s[i + k]);
      if ((t & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (t & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

std::string PlaceholderList(size_t count) {
  std::string out;
  out.reserve(count * 3);
  for (size_t i = 0; i < count; ++i) out.append(i == 0 ? "?" : ", ?");
  return out;
}

std::string PlaceholderRows(size_t rows, size_t columns, absl::string_view constants) {
  const std::string row = absl::StrCat("(", PlaceholderList(columns), constants, ")");
  std::string out;
  out.reserve(rows * (row.size() + 2));
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) out.append(", ");
    out.append(row);
  }
  return out;
}

absl::StatusOr<std::string> InlineValues(
    absl::string_view sql, absl::Span<const SqlValue> params,
    const std::function<std::string(absl::string_view)>& quote) {
  std::string out;
  out.reserve(sql.size() + params.size() * 8);
  size_t next = 0;  // the value for the next `?`
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      // Quoted text, copied as it is: a backslash escapes the next character (not in `...`),
      // a doubled quote closes and reopens it.
      size_t end = i + 1;
      while (end < sql.size() && sql[end] != c) {
        if (sql[end] == '\\' && c != '`') ++end;
        ++end;
      }
      absl::StrAppend(&out, sql.substr(i, end + 1 - i));
      i = end;
      continue;
    }
    const bool line_comment =
        c == '#' || (c == '-' && absl::StartsWith(sql.substr(i), "-- "));
    if (line_comment || absl::StartsWith(sql.substr(i), "/*")) {
      const size_t end = line_comment ? sql.find('\n', i) : sql.find("*/", i + 2);
      const size_t stop = end == absl::string_view::npos ? sql.size()
                                                         : end + (line_comment ? 0 : 2);
      absl::StrAppend(&out, sql.substr(i, stop - i));
      i = stop - 1;
      continue;
    }
    if (c != '?') {
      out.push_back(c);
      continue;
    }
    if (next == params.size()) {
      return absl::InternalError(absl::StrCat("statement has more than ", params.size(),
                                              " placeholders: ", sql.substr(0, 80)));
    }
    const SqlValue& value = params[next++];
    if (std::holds_alternative<std::nullptr_t>(value)) {
      out.append("NULL");
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      absl::StrAppend(&out, *n);
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      if (IsUtf8(*s)) {
        out.append(quote(*s));
      } else {
        // Bytes (a BLOB's content): a hex literal, which no character set reinterprets.
        absl::StrAppend(&out, "X'", absl::BytesToHexString(*s), "'");
      }
    } else if (const auto* t = std::get_if<absl::Time>(&value)) {
      RETURN_IF_ERROR(ValidateSqlTime(*t));
      out.append(quote(FormatSqlTime(*t)));
    } else if (const auto* b = std::get_if<bool>(&value)) {
      out.append(*b ? "TRUE" : "FALSE");
    }
  }
  if (next != params.size()) {
    return absl::InternalError(absl::StrCat("statement has ", next, " placeholders for ",
                                            params.size(), " values: ", sql.substr(0, 80)));
  }
  return out;
}

std::string FormatSqlTime(absl::Time t) {
  return absl::FormatTime(kDatetimeFormat, t, absl::UTCTimeZone());
}

absl::Status ValidateSqlTime(absl::Time t) {
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast() || civil.year() < 1000 ||
      civil.year() > 9999) {
    return absl::InvalidArgumentError(
        "time value: must be between 1000-01-01 and 9999-12-31 to fit DATETIME");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseSqlTime(absl::string_view text) {
  absl::Time t;
  std::string error;
  // %E*S takes the seconds with any number of fraction digits, including none.
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("not a DATETIME value: ", error));
  }
  return t;
}

ColumnNames::ColumnNames(std::vector<std::string> names) : names_(std::move(names)) {
  lower_.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) lower_.emplace(absl::AsciiStrToLower(names_[i]), i);
}

std::optional<size_t> ColumnNames::IndexOf(absl::string_view name) const {
  // Found as it is: `name` is its own lower case, so this is the first label equal to it
  // ignoring case.
  if (auto it = lower_.find(name); it != lower_.end()) return it->second;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (absl::EqualsIgnoreCase(names_[i], name)) return i;
  }
  return std::nullopt;
}

Row::Row(std::shared_ptr<const ColumnNames> column_names,
         std::vector<std::optional<std::string>> values)
    : column_names_(std::move(column_names)), values_(std::move(values)) {}

Row::Row(std::shared_ptr<const std::vector<std::string>> column_names,
         std::vector<std::optional<std::string>> values)
    : Row(std::make_shared<const ColumnNames>(*column_names), std::move(values)) {}

absl::StatusOr<const std::optional<std::string>*> Row::Find(absl::string_view column) const {
  std::optional<size_t> i = column_names_->IndexOf(column);
  if (!i || *i >= values_.size()) return ColumnError(column, "no such column in the result");
  return &values_[*i];
}

absl::StatusOr<const std::string*> Row::FindNonNull(absl::string_view column) const {
  ASSIGN_OR_RETURN(const std::optional<std::string>* value, Find(column));
  if (!value->has_value()) return ColumnError(column, "is NULL");
  return &**value;
}

bool Row::HasColumn(absl::string_view column) const { return Find(column).ok(); }

bool Row::IsNull(absl::string_view column) const {
  auto value = Find(column);
  return value.ok() && !(*value)->has_value();
}

absl::StatusOr<int64_t> Row::GetInt64(absl::string_view column) const {
  ASSIGN_OR_RETURN(const std::string* text, FindNonNull(column));
  int64_t value;
  if (!absl::SimpleAtoi(*text, &value)) return ColumnError(column, "is not a 64-bit integer");
  return value;
}

absl::StatusOr<std::string> Row::GetString(absl::string_view column) const {
  ASSIGN_OR_RETURN(const std::string* text, FindNonNull(column));
  return *text;
}

absl::StatusOr<absl::Time> Row::GetTime(absl::string_view column) const {
  ASSIGN_OR_RETURN(const std::string* text, FindNonNull(column));
  auto t = ParseSqlTime(*text);
  if (!t.ok()) return ColumnError(column, t.status().message());
  return *t;
}

absl::StatusOr<bool> Row::GetBool(absl::string_view column) const {
  ASSIGN_OR_RETURN(int64_t value, GetInt64(column));
  return value != 0;
}

absl::StatusOr<std::optional<int64_t>> Row::GetOptionalInt64(absl::string_view column) const {
  return Optional<int64_t>(*this, column, [this](absl::string_view c) { return GetInt64(c); });
}

absl::StatusOr<std::optional<std::string>> Row::GetOptionalString(absl::string_view column) const {
  return Optional<std::string>(*this, column, [this](absl::string_view c) { return GetString(c); });
}

absl::StatusOr<std::optional<absl::Time>> Row::GetOptionalTime(absl::string_view column) const {
  return Optional<absl::Time>(*this, column, [this](absl::string_view c) { return GetTime(c); });
}

absl::StatusOr<std::optional<bool>> Row::GetOptionalBool(absl::string_view column) const {
  return Optional<bool>(*this, column, [this](absl::string_view c) { return GetBool(c); });
}

}  // namespace marketplace::common::db
