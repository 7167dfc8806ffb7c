#ifndef MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_
#define MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/outbox/outbox.h"
#include "services/identity/identity_store.h"

namespace marketplace::identity {

// IdentityStore on MySQL/MariaDB (schema in migrations/). Transactions are retried whole on
// deadlock, lock-wait timeout and snapshot conflict (common/db RunInTransaction).
class MySqlIdentityStore final : public IdentityStore {
 public:
  // `pool` must outlive the store; so must `clock`, which stamps events and must be the
  // outbox relay's clock.
  explicit MySqlIdentityStore(common::db::ConnectionPool* pool,
                              const common::Clock* clock = common::SystemClock::Get())
      : pool_(pool), outbox_("identity", clock) {}

  absl::Status Transact(const Work& work) override;
  absl::Status Read(const Work& work) override;
  absl::Status Ping() override;

 private:
  common::db::ConnectionPool* const pool_;
  const common::outbox::Outbox outbox_;
};

// Creates or upgrades identity's tables: its own (component "identity") and the outbox's
// (component "outbox": outbox_events, processed_events).
[[nodiscard]] absl::Status ApplyIdentityMigrations(common::db::ConnectionPool& pool);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_
