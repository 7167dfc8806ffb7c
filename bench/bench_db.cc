#include "bench/bench_db.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace marketplace::bench {

void AddDbFlags(common::Flags& flags, common::db::DbOptions* db,
                const std::string& default_database, absl::string_view used_by) {
  const std::string suffix = absl::StrCat(" (", used_by, ").");
  flags.AddString("db_host", &db->host, "127.0.0.1", absl::StrCat("Database host", suffix));
  flags.AddPort("db_port", &db->port, 3306, absl::StrCat("Database port", suffix));
  flags.AddString("db_name", &db->database, default_database, absl::StrCat("Database", suffix));
  flags.AddString("db_user", &db->user, "root", absl::StrCat("Database user", suffix));
  flags.AddSecret("db_password", &db->password, absl::StrCat("Database password", suffix));
}

std::map<std::string, int64_t> ReadGlobalStatus(common::db::ConnectionPool& pool,
                                                const std::vector<std::string>& names) {
  std::map<std::string, int64_t> out;
  // The names are the caller's constants, never input.
  auto rows = pool.Query(absl::StrCat("SHOW GLOBAL STATUS WHERE Variable_name IN ('",
                                      absl::StrJoin(names, "', '"), "')"),
                         {});
  if (!rows.ok()) return out;
  for (const auto& row : *rows) {
    auto name = row.GetString("Variable_name");
    auto value = row.GetInt64("Value");
    if (name.ok() && value.ok()) out[*name] = *value;
  }
  return out;
}

}  // namespace marketplace::bench
