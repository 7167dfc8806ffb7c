#ifndef MARKETPLACE_COMMON_DB_MIGRATIONS_H_
#define MARKETPLACE_COMMON_DB_MIGRATIONS_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"

namespace marketplace::common::db {

// Schema migrations, one ordered list per component (a service, or a shared module such as
// the outbox) sharing a database.
//
// Files are (name, sql) pairs, as the sql_migrations() Bazel macro (migrations.bzl) embeds
// them. A name is `<version>_<words>.sql` with a decimal version ("0001_init.sql"); versions
// must increase along the list. A file is never edited once it has landed: its SHA-256 is
// recorded and a changed file stops the start-up.
//
// Statement splitting rule: a statement ends at a `;` that is the last non-blank character
// of a line. A `;` inside a line (in a string, a comment, a CHECK) does not split, so write
// one statement per `;`-terminated line ending, and never end a line inside a string literal
// with `;`. Lines whose first non-blank characters are `--` or `#` are comments: they never
// end a statement, and a chunk made only of comments and blank lines is skipped. The text
// after the last `;` counts as a final statement when it is not only comments.
//
// MariaDB commits DDL implicitly, so a file that fails halfway leaves its earlier statements
// applied and is not recorded: prefer one DDL statement per file, or make statements
// re-runnable (CREATE TABLE IF NOT EXISTS, ADD COLUMN IF NOT EXISTS).

using MigrationFiles = std::vector<std::pair<std::string, std::string>>;

// A step of code among the files, for what SQL cannot do (e.g. turning serialized messages
// into columns). Its name is `<version>_<words>` without an extension
// ("0004_fill_listing_columns"): the version orders it among the files' versions (it must
// differ from all of them), and it is recorded in schema_migrations like a file, with the
// SHA-256 of its name as checksum. It runs on the connection holding the migration lock, in
// autocommit, so exactly one replica runs it. It must be re-runnable: a step that fails
// halfway is not recorded and runs again, whole, at the next start.
struct MigrationCodeStep {
  std::string name;
  std::function<absl::Status(Connection&)> run;
};
using MigrationCodeSteps = std::vector<MigrationCodeStep>;

struct MigrationOptions {
  // How long a replica waits while another one applies the same database's migrations.
  absl::Duration lock_timeout = absl::Seconds(120);
};

// Applies, in order, the files of `component` not yet recorded in `schema_migrations`
// (created when missing), recording each one after its statements succeed. Safe when several
// replicas start at once: the work happens under GET_LOCK on one dedicated connection, named
// after the database, so exactly one replica applies each file and the others then see it
// recorded. Versions recorded but absent from `files` (a newer release rolled back) are left
// alone.
//
// Errors: INVALID_ARGUMENT for a bad file name or order; FAILED_PRECONDITION naming the file
// whose content changed after it was applied; DEADLINE_EXCEEDED when the lock is not had
// within `lock_timeout`; a failing statement's own status, prefixed with the file name.
[[nodiscard]] absl::Status ApplyMigrations(ConnectionPool& pool, absl::string_view component,
                                           const MigrationFiles& files,
                                           const MigrationOptions& options = {});

// The same with code steps, run in version order among the files (a step that converts rows
// runs after the file that adds their columns and before a later one that drops the old
// ones). INVALID_ARGUMENT also for a bad step name, steps out of order, or a step version
// equal to a file's; a failing step's own status, prefixed with its name.
[[nodiscard]] absl::Status ApplyMigrations(ConnectionPool& pool, absl::string_view component,
                                           const MigrationFiles& files,
                                           const MigrationCodeSteps& steps,
                                           const MigrationOptions& options = {});

// The statements of one file, by the splitting rule above, without their final `;`.
std::vector<std::string> SplitSqlStatements(absl::string_view sql);

// The version number of a file name: "0007_add_index.sql" -> 7.
absl::StatusOr<int64_t> MigrationVersion(absl::string_view name);

// The version number of a code step's name: "0004_fill_columns" -> 4.
absl::StatusOr<int64_t> CodeStepVersion(absl::string_view name);

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_MIGRATIONS_H_
