#ifndef MARKETPLACE_SERVICES_SUPPORT_MYSQL_TICKET_STORE_H_
#define MARKETPLACE_SERVICES_SUPPORT_MYSQL_TICKET_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/change_poll_cache.h"
#include "common/clock.h"
#include "common/db/batched_reader.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "common/idempotency/idempotency.h"
#include "common/outbox/outbox.h"
#include "services/support/ticket_store.h"

namespace marketplace::support {

// Creates or upgrades support's tables (component "support") and those of the shared
// components it uses (outbox, idempotency).
[[nodiscard]] absl::Status ApplySupportMigrations(common::db::ConnectionPool& pool);

// TicketStore on support's MySQL / MariaDB database.
class MySqlTicketStore final : public TicketStore {
 public:
  // `pool` and `clock` must outlive the store. `read_threads`: ReadTicket statements at the
  // database at once, each on a pool connection. `ticket_cache`: ReadTicket's cache of ticket
  // rows (disabled unless its ttl is set; README "Reads"); its poller starts with the store and
  // its times are the database's (UTC), so it runs on the system clock, not on `clock`.
  // `cache_observer` (may be null) must outlive the store.
  MySqlTicketStore(common::db::ConnectionPool* pool, const common::Clock* clock,
                   int read_threads = 2, common::ChangePollCacheOptions ticket_cache = {},
                   common::ChangePollCacheObserver* cache_observer = nullptr);
  ~MySqlTicketStore() override;

  absl::StatusOr<std::optional<common::idempotency::StoredResult>> FindStored(
      const common::idempotency::RequestKey& key, absl::string_view request_hash) override {
    return idempotency_.Find(*pool_, key, request_hash);
  }
  absl::StatusOr<std::string> RunIdempotent(
      const common::idempotency::RequestKey& key, absl::string_view request_hash,
      const std::function<absl::StatusOr<std::string>(TicketTransaction&)>& effect) override;
  absl::Status RunUnit(const std::function<absl::Status(TicketTransaction&)>& effect) override;
  absl::StatusOr<std::vector<RefundCommand>> ClaimDueRefunds(absl::Time now, absl::Duration lease,
                                                             int limit) override;
  absl::StatusOr<std::vector<ChargeCommand>> ClaimDueCharges(absl::Time now, absl::Duration lease,
                                                             int limit) override;
  absl::StatusOr<std::optional<TicketRecord>> GetTicket(absl::string_view ticket_id) override;
  void ReadTicket(absl::string_view ticket_id, ReadDone done) override;
  absl::StatusOr<std::vector<ChangeRecord>> History(absl::string_view ticket_id) override;
  absl::StatusOr<std::vector<MessageRecord>> ListMessages(absl::string_view ticket_id,
                                                          bool include_internal, int after_seq,
                                                          int limit) override;
  absl::StatusOr<std::vector<TicketRecord>> ListTickets(const TicketFilter& filter,
                                                        const std::optional<TicketCursor>& after,
                                                        int limit) override;
  absl::StatusOr<ComplaintCounts> CountComplaints(absl::string_view seller_id, absl::Time start,
                                                 absl::Time end) override;
  absl::StatusOr<std::vector<BacklogCount>> CountBacklog() override;
  absl::StatusOr<int64_t> CountPaidOrders(absl::string_view buyer_id, absl::Time since) override;
  absl::StatusOr<std::optional<v1::SlaPolicy>> CurrentSlaPolicy() override;
  absl::StatusOr<std::optional<v1::SlaPolicy>> SlaPolicyVersion(int64_t version) override;
  absl::StatusOr<bool> SeedSlaPolicy(const v1::SlaPolicy& seed) override;
  absl::StatusOr<std::vector<DueClock>> ClaimDueClocks(absl::Time now, absl::Duration lease,
                                                       int limit) override;
  absl::Status ReleaseClockClaim(const DueClock& clock) override;
  absl::StatusOr<std::vector<std::string>> SolvedTicketsDue(absl::Time closes_before,
                                                            absl::Time csat_before,
                                                            int limit) override;
  absl::StatusOr<std::string> RefundResultReason(absl::string_view request_id) override;

  // The tickets whose rows changed at or after `from` (the database's clock), with the time:
  // what the cache's poll reads.
  absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> TicketsChangedSince(
      absl::Time from);
  common::ChangePollCacheCore::Totals ticket_cache_totals() const { return ticket_cache_.totals(); }

  // In an EventSink transaction (payments.payment_held): one paid order; a payment recorded
  // before is left as it is.
  [[nodiscard]] static absl::Status RecordPaidOrder(common::db::Transaction& tx,
                                                    absl::string_view payment_id,
                                                    absl::string_view buyer_id,
                                                    absl::string_view order_id, absl::Time held_at);

 private:
  common::db::ConnectionPool* pool_;
  common::idempotency::IdempotencyStore idempotency_;
  common::outbox::Outbox outbox_;
  // ReadTicket's ticket rows; evicted by this store's writes after their commit and by its
  // poll of the rows changed (by any replica). Before the reader: the reader's last callbacks,
  // which store rows here, run while it is destroyed.
  common::ChangePollCache<TicketRecord> ticket_cache_;
  std::unique_ptr<common::db::BatchedReader> reader_;  // ReadTicket's
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_MYSQL_TICKET_STORE_H_
