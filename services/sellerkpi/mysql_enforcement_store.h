#ifndef MARKETPLACE_SERVICES_SELLERKPI_MYSQL_ENFORCEMENT_STORE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_MYSQL_ENFORCEMENT_STORE_H_

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "services/sellerkpi/enforcement_store.h"
#include "services/sellerkpi/mysql_kpi_store.h"

namespace marketplace::sellerkpi {

// EnforcementStore on MySQL / MariaDB (migrations/0003_enforcement.sql, 0004). Thread-safe.
// Also the evaluations' hook (MysqlKpiStore): in each evaluation's transaction it creates
// and closes the actions enforcement_policy.h decides.
class MysqlEnforcementStore final : public EnforcementStore, public EvaluationHook {
 public:
  // `pool` and `clock` (created_at, the first steps' due time) must outlive the store.
  explicit MysqlEnforcementStore(common::db::ConnectionPool* pool,
                                 const common::Clock* clock = common::SystemClock::Get())
      : pool_(pool), clock_(clock) {}

  absl::Status Evaluated(common::db::Transaction& tx,
                         const std::vector<EvaluationResult>& results) override;
  absl::StatusOr<std::vector<pb::EnforcementAction>> CurrentActions(
      const std::string& seller_id) override;

  absl::Status CreateAction(const pb::EnforcementAction& action,
                            const std::vector<std::string>& step_names, absl::Time now) override;
  absl::StatusOr<std::vector<ClaimedStep>> ClaimDueSteps(int limit, absl::Time now,
                                                         absl::Duration lease) override;
  absl::Status CompleteStep(const std::string& action_id, int step_no, const std::string& result,
                            absl::Time now) override;
  absl::Status FailStep(const std::string& action_id, int step_no, const std::string& error,
                        absl::Time retry_at, absl::Time now) override;
  absl::StatusOr<pb::EnforcementAction> Appeal(const std::string& action_id,
                                               const std::string& seller_id,
                                               const std::string& statement,
                                               const std::string& filed_by,
                                               absl::Time now) override;
  absl::StatusOr<pb::EnforcementAction> DecideAppeal(const std::string& action_id,
                                                     pb::AppealDecision decision,
                                                     const std::string& note,
                                                     const std::string& decided_by,
                                                     const std::optional<Restoration>& restoration,
                                                     absl::Time now) override;
  absl::StatusOr<std::optional<pb::EnforcementAction>> GetAction(
      const std::string& action_id) override;
  absl::StatusOr<ActionPage> ListActions(const std::string& seller_id,
                                         std::optional<std::pair<absl::Time, std::string>> after,
                                         int limit) override;

 private:
  common::db::ConnectionPool* const pool_;
  const common::Clock* const clock_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_MYSQL_ENFORCEMENT_STORE_H_
