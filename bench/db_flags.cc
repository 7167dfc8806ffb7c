#include "bench/db_flags.h"

#include "absl/strings/str_cat.h"

namespace marketplace::bench {

void AddDbFlags(common::Flags& flags, common::db::DbOptions* db,
                const std::string& default_database, absl::string_view used_by) {
  const std::string suffix = absl::StrCat(" (", used_by, ").");
  flags.AddString("db_host", &db->host, "127.0.0.1", absl::StrCat("Database host", suffix));
  flags.AddPort("db_port", &db->port, 3306, absl::StrCat("Database port", suffix));
  flags.AddString("db_name", &db->database, default_database,
                  absl::StrCat("Database", suffix));
  flags.AddString("db_user", &db->user, "root", absl::StrCat("Database user", suffix));
  flags.AddSecret("db_password", &db->password, absl::StrCat("Database password", suffix));
}

}  // namespace marketplace::bench
