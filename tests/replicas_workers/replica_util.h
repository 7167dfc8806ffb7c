#ifndef MARKETPLACE_TESTS_REPLICAS_WORKERS_REPLICA_UTIL_H_
#define MARKETPLACE_TESTS_REPLICAS_WORKERS_REPLICA_UTIL_H_

// Small helpers of the multi-replica tests: wait for a process to serve, sum a counter
// across the label sets of one scrape, and run one SQL count on a test database.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/db/connection_pool.h"
#include "common/testing/mariadb_server.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/subprocess.h"

namespace marketplace::testing {

// Waits (60 s at most) until `channel`'s overall health check answers SERVING; fails early
// with the process's output when `process` exits.
absl::Status WaitServing(const std::shared_ptr<grpc::Channel>& channel, Subprocess& process,
                         absl::string_view what);

// The sum of every sample of counter `name` whose label set contains each of `labels`
// (`key="value"` strings) in the Prometheus text `metrics`; 0 when none.
double SumSamples(absl::string_view metrics, absl::string_view name,
                  const std::vector<std::string>& labels = {});

// The --db_* flags of `db` on the shared test MariaDB.
std::vector<std::string> DbFlags(const common::testing::TestDatabase& db);

// `SELECT ... AS n` on `pool`: the first row's n, or -1 on error.
int64_t CountRows(common::db::ConnectionPool& pool, const std::string& sql);

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_REPLICAS_WORKERS_REPLICA_UTIL_H_
