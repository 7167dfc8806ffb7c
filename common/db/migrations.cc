#include "common/db/migrations.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/db/sql_errors.h"
#include "common/status_macros.h"

namespace marketplace::common::db {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  component VARCHAR(64) NOT NULL,"
    "  version BIGINT NOT NULL,"
    "  name VARCHAR(255) NOT NULL,"
    "  checksum CHAR(64) NOT NULL COMMENT 'SHA-256 of the file, lowercase hex',"
    "  applied_at DATETIME(6) NOT NULL COMMENT 'UTC',"
    "  PRIMARY KEY (component, version)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

bool IsCommentLine(absl::string_view line) {
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
  return absl::StartsWith(trimmed, "--") || absl::StartsWith(trimmed, "#");
}

// True when `statement` holds something besides comments and blank lines.
bool HasCode(absl::string_view statement) {
  for (absl::string_view line : absl::StrSplit(statement, '\n')) {
    if (!IsCommentLine(line) && !absl::StripAsciiWhitespace(line).empty()) return true;
  }
  return false;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

struct Applied {
  std::string name;
  std::string checksum;
};

// A file or a code step, in version order.
struct Step {
  int64_t version;
  const std::string* name;
  const std::string* sql;         // a file's, else nullptr
  const MigrationCodeStep* code;  // a code step's, else nullptr
};

absl::StatusOr<std::vector<Step>> OrderSteps(const MigrationFiles& files,
                                             const MigrationCodeSteps& code_steps) {
  std::vector<Step> steps;
  int64_t previous = -1;
  for (const auto& [name, sql] : files) {
    ASSIGN_OR_RETURN(int64_t version, MigrationVersion(name));
    if (version <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration file '", name, "': versions must increase along the list"));
    }
    previous = version;
    steps.push_back({version, &name, &sql, nullptr});
  }
  previous = -1;
  for (const MigrationCodeStep& step : code_steps) {
    ASSIGN_OR_RETURN(int64_t version, CodeStepVersion(step.name));
    if (version <= previous) {
      return absl::InvalidArgumentError(absl::StrCat("migration code step '", step.name,
                                                     "': versions must increase along the list"));
    }
    previous = version;
    if (!step.run) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration code step '", step.name, "': has nothing to run"));
    }
    steps.push_back({version, &step.name, nullptr, &step});
  }
  absl::c_stable_sort(steps, [](const Step& a, const Step& b) { return a.version < b.version; });
  for (size_t i = 1; i < steps.size(); ++i) {
    if (steps[i].version == steps[i - 1].version) {
      return absl::InvalidArgumentError(absl::StrCat("migrations '", *steps[i - 1].name, "' and '",
                                                     *steps[i].name, "' share a version"));
    }
  }
  return steps;
}

absl::Status ApplyLocked(Connection& conn, absl::string_view component,
                         const std::vector<Step>& steps) {
  RETURN_IF_ERROR(conn.Execute(kCreateTable).status());
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      conn.Query("SELECT version, name, checksum FROM schema_migrations WHERE component = ?",
                 {std::string(component)}));
  absl::flat_hash_map<int64_t, Applied> applied;
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(int64_t version, row.GetInt64("version"));
    ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
    ASSIGN_OR_RETURN(std::string checksum, row.GetString("checksum"));
    applied[version] = Applied{std::move(name), std::move(checksum)};
  }

  for (const Step& step : steps) {
    const std::string& name = *step.name;
    // A code step has no text to change: its name stands for it.
    const std::string checksum = Sha256Hex(step.sql != nullptr ? *step.sql : name);
    auto it = applied.find(step.version);
    if (it != applied.end()) {
      if (it->second.checksum != checksum || it->second.name != name) {
        return absl::FailedPreconditionError(
            absl::StrCat("migration ", component, "/", name, " differs from the one applied as '",
                         it->second.name, "' (checksum ", it->second.checksum.substr(0, 12),
                         " recorded, ", checksum.substr(0, 12),
                         " now): a landed migration must never be edited; add a new file instead"));
      }
      continue;
    }
    if (step.code != nullptr) {
      absl::Status status = step.code->run(conn);
      if (!status.ok()) {
        return AnnotateStatus(status, absl::StrCat("migration ", component, "/", name));
      }
    } else {
      int index = 0;
      for (const std::string& statement : SplitSqlStatements(*step.sql)) {
        ++index;
        absl::Status status = conn.Execute(statement).status();
        if (!status.ok()) {
          return AnnotateStatus(
              status, absl::StrCat("migration ", component, "/", name, " statement ", index));
        }
      }
    }
    RETURN_IF_ERROR(
        conn.Execute("INSERT INTO schema_migrations (component, version, name, checksum, "
                     "applied_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))",
                     {std::string(component), step.version, name, checksum})
            .status());
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> SplitSqlStatements(absl::string_view sql) {
  std::vector<std::string> statements;
  std::string current;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    absl::StrAppend(&current, line, "\n");
    if (IsCommentLine(line)) continue;
    absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(line);
    if (!absl::EndsWith(trimmed, ";")) continue;
    // Drop the terminating `;` and what follows it on the line (blanks only).
    absl::string_view statement(current);
    statement = absl::StripTrailingAsciiWhitespace(statement);
    statement.remove_suffix(1);
    if (HasCode(statement)) {
      statements.emplace_back(absl::StripAsciiWhitespace(statement));
    }
    current.clear();
  }
  if (HasCode(current)) statements.emplace_back(absl::StripAsciiWhitespace(current));
  return statements;
}

absl::StatusOr<int64_t> MigrationVersion(absl::string_view name) {
  const size_t underscore = name.find('_');
  int64_t version;
  if (underscore == 0 || underscore == absl::string_view::npos || !absl::EndsWith(name, ".sql") ||
      !absl::c_all_of(name.substr(0, underscore), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(name.substr(0, underscore), &version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "migration file '", name, "': name must be <version>_<words>.sql, e.g. 0001_init.sql"));
  }
  return version;
}

absl::StatusOr<int64_t> CodeStepVersion(absl::string_view name) {
  const size_t underscore = name.find('_');
  int64_t version;
  if (underscore == 0 || underscore == absl::string_view::npos || underscore + 1 == name.size() ||
      absl::StrContains(name, ".") ||
      !absl::c_all_of(name.substr(0, underscore), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(name.substr(0, underscore), &version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("migration code step '", name,
                     "': name must be <version>_<words>, e.g. 0004_fill_columns"));
  }
  return version;
}

absl::Status ApplyMigrations(ConnectionPool& pool, absl::string_view component,
                             const MigrationFiles& files, const MigrationOptions& options) {
  return ApplyMigrations(pool, component, files, MigrationCodeSteps(), options);
}

absl::Status ApplyMigrations(ConnectionPool& pool, absl::string_view component,
                             const MigrationFiles& files, const MigrationCodeSteps& code_steps,
                             const MigrationOptions& options) {
  if (component.empty() || component.size() > 64) {
    return absl::InvalidArgumentError("migration component: 1 to 64 characters");
  }
  ASSIGN_OR_RETURN(std::vector<Step> steps, OrderSteps(files, code_steps));

  // The lock and the work share one connection: GET_LOCK belongs to the session, and if the
  // session dies the lock goes with it, together with any half-done work.
  ASSIGN_OR_RETURN(PooledConnection conn, pool.Acquire());
  // Per database, so that services on one server do not queue behind each other; user lock
  // names are limited to 64 characters.
  ASSIGN_OR_RETURN(std::vector<Row> lock_name_rows,
                   conn->Query("SELECT LEFT(CONCAT('schema_migrations:', "
                               "IFNULL(DATABASE(), '')), 64) AS name"));
  ASSIGN_OR_RETURN(std::string lock_name, lock_name_rows.at(0).GetString("name"));
  const int64_t lock_seconds = static_cast<int64_t>(
      std::max<double>(0, std::ceil(absl::ToDoubleSeconds(options.lock_timeout))));
  ASSIGN_OR_RETURN(std::vector<Row> lock_rows,
                   conn->Query("SELECT GET_LOCK(?, ?) AS locked", {lock_name, lock_seconds}));
  ASSIGN_OR_RETURN(std::optional<int64_t> locked, lock_rows.at(0).GetOptionalInt64("locked"));
  if (!locked.has_value() || *locked != 1) {
    return absl::DeadlineExceededError(
        absl::StrCat("migrations of ", component, ": another replica held lock '", lock_name,
                     "' for ", absl::FormatDuration(options.lock_timeout)));
  }

  absl::Status status = ApplyLocked(*conn, component, steps);
  absl::Status released = conn->Query("SELECT RELEASE_LOCK(?) AS released", {lock_name}).status();
  if (!released.ok()) {
    // The session may still hold the lock: closing it is what frees it for certain.
    conn->MarkBroken();
  }
  return status.ok() ? released : status;
}

}  // namespace marketplace::common::db
