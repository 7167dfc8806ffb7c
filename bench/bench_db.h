#ifndef MARKETPLACE_BENCH_BENCH_DB_H_
#define MARKETPLACE_BENCH_BENCH_DB_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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

// What SettleDatabase found and did.
struct Settled {
  int64_t dirty_pages = -1;  // InnoDB buffer pool pages not yet written, at the start (-1: unknown)
  int64_t history = -1;      // undo history not yet purged, at the start (-1: unknown)
  absl::Duration took;
  bool settled = false;  // both (those known) reached nearly zero before the timeout
};

// Waits, at most `timeout`, until the database server has written its changed pages and
// purged the old row versions of earlier phases, so that every phase starts on a database as
// settled as the first one (a phase after a write-heavy one otherwise pays for the page
// writes and the purge the earlier one left). Writes pages at full speed meanwhile
// (innodb_max_dirty_pages_pct 0, a high innodb_io_capacity), and puts the server's settings
// back. Needs the SUPER privilege (bench/lib.sh's root); without it, it only waits.
Settled SettleDatabase(common::db::ConnectionPool& pool, absl::Duration timeout);

}  // namespace marketplace::bench

#endif  // MARKETPLACE_BENCH_BENCH_DB_H_
