#ifndef MARKETPLACE_BENCH_BENCH_DB_H_
#define MARKETPLACE_BENCH_BENCH_DB_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "common/db/db_options.h"

namespace marketplace::bench {

// The database flags of a load tool: --db_host, --db_port, --db_name (default
// `default_database`), --db_user (root: bench/lib.sh's private MariaDB) and --db_password,
// into `db`. `used_by` ends each help text (e.g. "seed": the modes that connect).
void AddDbFlags(common::Flags& flags, common::db::DbOptions* db,
                const std::string& default_database, absl::string_view used_by);

// The database server's SHOW GLOBAL STATUS counters `names` (e.g. Questions, Com_commit): what
// a phase sent the server, as the difference of two readings. A counter that cannot be read is
// absent.
std::map<std::string, int64_t> ReadGlobalStatus(common::db::ConnectionPool& pool,
                                                const std::vector<std::string>& names);

}  // namespace marketplace::bench

#endif  // MARKETPLACE_BENCH_BENCH_DB_H_
