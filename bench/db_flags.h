#ifndef MARKETPLACE_BENCH_DB_FLAGS_H_
#define MARKETPLACE_BENCH_DB_FLAGS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "common/config.h"
#include "common/db/db_options.h"

namespace marketplace::bench {

// The database flags of a load tool: --db_host, --db_port, --db_name (default
// `default_database`), --db_user (root: bench/lib.sh's private MariaDB) and --db_password,
// into `db`. `used_by` ends each help text (e.g. "seed": the modes that connect).
void AddDbFlags(common::Flags& flags, common::db::DbOptions* db,
                const std::string& default_database, absl::string_view used_by);

}  // namespace marketplace::bench

#endif  // MARKETPLACE_BENCH_DB_FLAGS_H_
