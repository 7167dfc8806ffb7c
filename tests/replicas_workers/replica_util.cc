#include "tests/replicas_workers/replica_util.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace marketplace::testing {

absl::Status WaitServing(const std::shared_ptr<grpc::Channel>& channel, Subprocess& process,
                         absl::string_view what) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    if (process.WaitFor(absl::ZeroDuration()).has_value()) {
      return absl::InternalError(absl::StrCat(what, " exited: ", process.Output()));
    }
    if (absl::Now() > end) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " not serving after 60 s: ", process.Output()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

double SumSamples(absl::string_view metrics, absl::string_view name,
                  const std::vector<std::string>& labels) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    absl::string_view rest = line.substr(name.size());
    // The exact name: followed by the labels or by the value.
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;
    const size_t space = rest.rfind(' ');
    if (space == absl::string_view::npos) continue;
    const absl::string_view label_set = rest.substr(0, space);
    bool all = true;
    for (const std::string& l : labels) all = all && absl::StrContains(label_set, l);
    double value = 0;
    if (all && absl::SimpleAtod(rest.substr(space + 1), &value)) sum += value;
  }
  return sum;
}

std::vector<std::string> DbFlags(const common::testing::TestDatabase& db) {
  return {absl::StrCat("--db_host=", db.options.host),
          absl::StrCat("--db_port=", db.options.port), absl::StrCat("--db_name=", db.name),
          absl::StrCat("--db_user=", db.options.user),
          absl::StrCat("--db_password=", db.options.password)};
}

int64_t CountRows(common::db::ConnectionPool& pool, const std::string& sql) {
  auto rows = pool.Query(sql);
  if (!rows.ok() || rows->empty()) return -1;
  auto n = (*rows)[0].GetInt64("n");
  return n.ok() ? *n : -1;
}

}  // namespace marketplace::testing
