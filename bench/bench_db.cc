#include "bench/bench_db.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

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

Settled SettleDatabase(common::db::ConnectionPool& pool, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  Settled out;
  // The settings changed meanwhile, as they were (names: constants; values: the server's).
  std::vector<std::pair<std::string, std::string>> saved;
  for (const char* name : {"innodb_io_capacity_max", "innodb_io_capacity",
                           "innodb_max_dirty_pages_pct_lwm", "innodb_max_dirty_pages_pct"}) {
    auto rows = pool.Query(absl::StrCat("SELECT @@GLOBAL.", name, " AS v"), {});
    if (!rows.ok() || rows->empty()) continue;
    auto text = (*rows)[0].GetString("v");
    double value = 0;
    // Written back as the server printed it, once it is known to be a number.
    if (text.ok() && absl::SimpleAtod(*text, &value)) saved.emplace_back(name, *text);
  }
  // The maximum first: innodb_io_capacity may not exceed it.
  for (const char* statement :
       {"SET GLOBAL innodb_io_capacity_max = 100000", "SET GLOBAL innodb_io_capacity = 50000",
        "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0",
        "SET GLOBAL innodb_max_dirty_pages_pct = 0"}) {
    (void)pool.Execute(statement, {});
  }
  const std::vector<std::string> names = {"Innodb_buffer_pool_pages_dirty",
                                          "Innodb_history_list_length"};
  bool first_reading = true;
  while (true) {
    std::map<std::string, int64_t> status = ReadGlobalStatus(pool, names);
    // A counter the server does not report is unknown (-1), and not waited for.
    const int64_t dirty = status.count(names[0]) > 0 ? status[names[0]] : -1;
    const int64_t history = status.count(names[1]) > 0 ? status[names[1]] : -1;
    if (first_reading) {
      out.dirty_pages = dirty;
      out.history = history;
      first_reading = false;
    }
    // A few pages stay dirty (the server's own background writes), a few versions unpurged.
    if (dirty <= 64 && history <= 100) {
      out.settled = true;
      break;
    }
    if (absl::Now() - start > timeout) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  // innodb_io_capacity back before its maximum, for the same reason.
  for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
    (void)pool.Execute(absl::StrCat("SET GLOBAL ", it->first, " = ", it->second), {});
  }
  out.took = absl::Now() - start;
  return out;
}

}  // namespace marketplace::bench
