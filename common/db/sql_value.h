#ifndef MARKETPLACE_COMMON_DB_SQL_VALUE_H_
#define MARKETPLACE_COMMON_DB_SQL_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace marketplace::common::db {

// A statement parameter. SQL text written by callers never carries values: every value goes
// through `?` (bound by the driver, or written in by InlineValues for statements sent as text).
//   nullptr     -> NULL
//   int64_t     -> BIGINT
//   std::string -> string or bytes (VARCHAR, TEXT, BLOB: the bytes are sent as they are)
//   absl::Time  -> DATETIME(6) in UTC, "YYYY-MM-DD HH:MM:SS.ffffff"
//   bool        -> 0 / 1
// A string literal converts to std::string (C++17 P0608, as implemented by GCC >= 10); other
// integer types convert to int64_t only when that does not narrow (cast a size_t yourself).
using SqlValue = std::variant<std::nullptr_t, int64_t, std::string, absl::Time, bool>;

// Placeholders for a multi-row statement: `rows` groups of `columns` marks,
// "(?, ?), (?, ?)" for 2 x 2, each group ending with `constants` when given
// ("(?, ?, TRUE)" for constants ", TRUE"); "?, ?, ?" for PlaceholderList(3) (an IN list).
std::string PlaceholderRows(size_t rows, size_t columns, absl::string_view constants = "");
std::string PlaceholderList(size_t count);

// `sql` with each `?` outside quoted text and comments replaced by the literal of the matching
// value: NULL, decimal digits, TRUE / FALSE, quote(text) for a UTF-8 string and for a time (its
// DATETIME(6) text), X'hex' for a string of other bytes. `quote` must return its argument as one string literal, quotes included,
// escaped by the client library for the connection's character set. INTERNAL when the number
// of `?` and of values differ or a time does not fit DATETIME (INVALID_ARGUMENT). For several
// statements sent as text in one round trip (Connection::RunScript).
absl::StatusOr<std::string> InlineValues(
    absl::string_view sql, absl::Span<const SqlValue> params,
    const std::function<std::string(absl::string_view)>& quote);

// DATETIME(6) text of `t` in UTC. Only 1000-01-01 .. 9999-12-31 can be stored; see
// ValidateSqlTime.
std::string FormatSqlTime(absl::Time t);

// INVALID_ARGUMENT unless `t` fits a DATETIME column (years 1000..9999, finite).
absl::Status ValidateSqlTime(absl::Time t);

// Parses "YYYY-MM-DD HH:MM:SS[.f{1,6}]" as UTC.
absl::StatusOr<absl::Time> ParseSqlTime(absl::string_view text);

// The column labels of a result (the `AS` names), shared by its rows, with the position of
// each for lookups by name ignoring ASCII case, as MySQL does: the first column of that name.
class ColumnNames {
 public:
  explicit ColumnNames(std::vector<std::string> names);

  const std::vector<std::string>& names() const { return names_; }
  // The position of the first column named `name` (ASCII case ignored); nullopt when none is.
  std::optional<size_t> IndexOf(absl::string_view name) const;

 private:
  std::vector<std::string> names_;
  // Lower-cased label -> its first position: a lower-case `name` (what the code asks for) is
  // found without a scan; any other is compared with every label.
  absl::flat_hash_map<std::string, size_t> lower_;
};

// One row of a result, copied out of the driver so nothing of it outlives the statement.
// Columns are found by their label (the `AS` name), ignoring ASCII case as MySQL does. A
// getter fails with INTERNAL for an unknown column, a NULL (non-optional getters) or a value
// that does not parse as the type asked for: these are bugs in the query, not user errors.
class Row {
 public:
  // `column_names`: shared by the rows of one result.
  Row(std::shared_ptr<const ColumnNames> column_names,
      std::vector<std::optional<std::string>> values);
  Row(std::shared_ptr<const std::vector<std::string>> column_names,
      std::vector<std::optional<std::string>> values);

  size_t size() const { return values_.size(); }
  const std::vector<std::string>& column_names() const { return column_names_->names(); }
  bool HasColumn(absl::string_view column) const;
  // False for an unknown column too; the typed getters report that one.
  bool IsNull(absl::string_view column) const;

  absl::StatusOr<int64_t> GetInt64(absl::string_view column) const;
  // Bytes as stored: text for character columns, raw bytes for BLOB/VARBINARY.
  absl::StatusOr<std::string> GetString(absl::string_view column) const;
  absl::StatusOr<absl::Time> GetTime(absl::string_view column) const;
  // 0 is false, any other integer is true (BOOL is TINYINT(1)).
  absl::StatusOr<bool> GetBool(absl::string_view column) const;

  // As above, with NULL read as std::nullopt.
  absl::StatusOr<std::optional<int64_t>> GetOptionalInt64(absl::string_view column) const;
  absl::StatusOr<std::optional<std::string>> GetOptionalString(absl::string_view column) const;
  absl::StatusOr<std::optional<absl::Time>> GetOptionalTime(absl::string_view column) const;
  absl::StatusOr<std::optional<bool>> GetOptionalBool(absl::string_view column) const;

 private:
  absl::StatusOr<const std::optional<std::string>*> Find(absl::string_view column) const;
  absl::StatusOr<const std::string*> FindNonNull(absl::string_view column) const;

  std::shared_ptr<const ColumnNames> column_names_;
  std::vector<std::optional<std::string>> values_;
};

// Every row of a result turned into a record by `parse` (a function of const Row& returning
// absl::StatusOr<T>); the first error stops it.
template <typename Parse>
auto ParseRows(const std::vector<Row>& rows, Parse parse)
    -> absl::StatusOr<std::vector<typename std::invoke_result_t<Parse, const Row&>::value_type>> {
  std::vector<typename std::invoke_result_t<Parse, const Row&>::value_type> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    auto parsed = parse(row);
    if (!parsed.ok()) return parsed.status();
    out.push_back(*std::move(parsed));
  }
  return out;
}

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_SQL_VALUE_H_
