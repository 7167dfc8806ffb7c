#ifndef MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_
#define MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_

#include "absl/status/status.h"
#include "common/db/connection_pool.h"
#include "services/identity/identity_store.h"

namespace marketplace::identity {

// IdentityStore on MySQL/MariaDB (schema in migrations/). Transactions are retried whole on
// deadlock, lock-wait timeout and snapshot conflict (common/db RunInTransaction).
class MySqlIdentityStore final : public IdentityStore {
 public:
  // `pool` must outlive the store.
  explicit MySqlIdentityStore(common::db::ConnectionPool* pool) : pool_(pool) {}

  absl::Status Transact(const Work& work) override;
  absl::Status Read(const Work& work) override;
  absl::Status Ping() override;

 private:
  common::db::ConnectionPool* const pool_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_MYSQL_IDENTITY_STORE_H_
