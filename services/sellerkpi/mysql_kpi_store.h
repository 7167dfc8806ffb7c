#ifndef MARKETPLACE_SERVICES_SELLERKPI_MYSQL_KPI_STORE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_MYSQL_KPI_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// Applies sellerkpi's migrations (component "sellerkpi").
[[nodiscard]] absl::Status ApplySellerKpiMigrations(common::db::ConnectionPool& pool);

// What runs inside an evaluation's transaction after its evaluations are stored, while the
// sellers' seller_health rows are still locked (enforcement creates its actions there: README
// "Enforcement"). An error rolls the whole evaluation back.
class EvaluationHook {
 public:
  virtual ~EvaluationHook() = default;
  virtual absl::Status Evaluated(common::db::Transaction& tx,
                                 const std::vector<EvaluationResult>& results) = 0;
};

// KpiStore on MySQL / MariaDB (migrations/). Thread-safe.
class MysqlKpiStore final : public KpiStore {
 public:
  struct Options {
    // RecordEvents of at most this many events sends its writes with the COMMIT, in one round
    // trip after the read of the batch's order rows (common::db TransactionOptions::
    // defer_writes: two round trips in all instead of eight). Larger calls send each statement
    // with bound values: the server parses inlined values more slowly than it binds them,
    // which outweighs the round trips saved for a batch of a hundred (README "Benchmark").
    // 0: never.
    int one_round_trip_up_to = 49;
  };

  // `pool` (and `hook`, when given) must outlive the store.
  explicit MysqlKpiStore(common::db::ConnectionPool* pool, EvaluationHook* hook = nullptr)
      : MysqlKpiStore(pool, hook, Options()) {}
  MysqlKpiStore(common::db::ConnectionPool* pool, EvaluationHook* hook, Options options)
      : pool_(pool), hook_(hook), options_(options) {}

  absl::StatusOr<RecordCounts> RecordEvents(const std::vector<EventRecord>& events) override;
  absl::StatusOr<pb::SellerEvent> ExcludeEvent(const std::string& event_id,
                                               const pb::SellerEvent& exclusion) override;
  absl::StatusOr<ReplayReport> ReplayCounters(const std::vector<std::string>& seller_ids,
                                              int max_examples) override;
  absl::StatusOr<int64_t> ReplayStoredEvaluations(const std::vector<std::string>& seller_ids,
                                                  const EvaluationVisitor& visit) override;
  absl::StatusOr<std::map<int64_t, pb::Thresholds>> AllThresholds() override;
  absl::StatusOr<std::vector<CounterRow>> ReadCounters(const std::string& seller_id,
                                                       absl::CivilDay first,
                                                       absl::CivilDay last) override;
  absl::StatusOr<std::pair<int64_t, int64_t>> PlatformRatings(absl::CivilDay first,
                                                              absl::CivilDay last) override;
  absl::Status RememberTicket(const SupportTicket& ticket) override;
  absl::StatusOr<std::optional<SupportTicket>> FindTicket(const std::string& ticket_id) override;
  absl::StatusOr<bool> SellerKnown(const std::string& seller_id) override;
  absl::StatusOr<std::vector<pb::SellerEvent>> ListEvidence(
      const std::string& seller_id, pb::Kpi kpi, absl::CivilDay first, absl::CivilDay last,
      std::optional<std::pair<absl::Time, std::string>> after, int limit) override;
  absl::Status SeedThresholds(const pb::Thresholds& seed, absl::Time now) override;
  absl::StatusOr<pb::Thresholds> CurrentThresholds() override;
  absl::StatusOr<pb::Thresholds> UpdateThresholds(int64_t expected_version,
                                                  const pb::Thresholds& next,
                                                  const std::string& updated_by,
                                                  absl::Time now) override;
  absl::StatusOr<EvaluationCounts> EvaluateQueued(int limit, absl::Time stale_before,
                                                  absl::CivilDay first, absl::CivilDay last,
                                                  const Judge& judge) override;
  absl::StatusOr<EvaluationCounts> EvaluateSellers(const std::vector<std::string>& ids,
                                                   absl::CivilDay first, absl::CivilDay last,
                                                   const Judge& judge) override;
  absl::StatusOr<std::map<pb::HealthLevel, int64_t>> CountByHealth() override;
  absl::StatusOr<std::vector<std::string>> AllSellers() override;
  absl::StatusOr<std::optional<pb::SellerScorecard>> LatestScorecard(
      const std::string& seller_id) override;
  absl::StatusOr<HealthPage> ListByHealth(const std::vector<pb::HealthLevel>& levels,
                                          std::optional<std::pair<int, std::string>> after,
                                          int limit) override;

 private:
  common::db::ConnectionPool* const pool_;
  EvaluationHook* const hook_;
  const Options options_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_MYSQL_KPI_STORE_H_
