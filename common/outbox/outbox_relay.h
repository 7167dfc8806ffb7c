#ifndef MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_
#define MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "common/periodic.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/outbox/publisher.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace marketplace::common::outbox {

struct OutboxRelayOptions {
  // Events claimed per round (one transaction).
  int batch_size = 100;
  // Pause between rounds when the last one delivered nothing (real time).
  absl::Duration poll_interval = absl::Milliseconds(500);
  // After the n-th failed attempt an event waits min(max_backoff, initial_backoff * 2^(n-1)),
  // measured on `clock`.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  // Delivered events are deleted once older than this (on `clock`); zero keeps them.
  absl::Duration delivered_retention = absl::Hours(7 * 24);
  // Decides which events are due; must be the clock the Outbox writing them uses.
  const Clock* clock = SystemClock::Get();
  // outbox_pending (gauge), outbox_delivered_total{topic}, outbox_delivery_failures_total{topic}.
  prometheus::Registry* registry = nullptr;
};

// What one round did.
struct RelayRound {
  int claimed = 0;    // due events this relay took
  int delivered = 0;  // published and marked delivered
  int failed = 0;     // publish failed; rescheduled with backoff
};

// Delivers the outbox's pending events through a Publisher, at least once each.
//
// A round claims due events with SELECT ... FOR UPDATE SKIP LOCKED in one READ COMMITTED
// transaction (no gap locks, so the services' inserts never wait for it), publishes them,
// and marks each delivered or reschedules it with exponential backoff and its error. Several
// relays (replicas) can run at once: each event is claimed by one of them, and an event is
// only claimed when no earlier event of its key is pending, so events of one key are
// delivered in order even across relays. A relay that dies between publishing and committing
// leaves the events pending: they are delivered again (consumers deduplicate on event_id).
//
// An event its consumer keeps rejecting is retried forever (at max_backoff), and holds back
// the later events of its key; last_error in outbox_events says why.
class OutboxRelay {
 public:
  // INVALID_ARGUMENT for unusable options. `pool`, `publisher`, the clock and the registry
  // must outlive the relay.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OutboxRelay>> Create(
      db::ConnectionPool& pool, Publisher& publisher, OutboxRelayOptions options = {});

  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;
  ~OutboxRelay();  // Stop()s

  // One round, on the calling thread. An error (database unavailable, ...) leaves every event
  // as it was.
  [[nodiscard]] absl::StatusOr<RelayRound> RunOnce();

  // Runs rounds on a background thread: back to back while they deliver, every poll_interval
  // otherwise. Stop() waits for the current round to finish. Each is idempotent.
  void Start();
  void Stop();

  // Events not delivered yet, due or not.
  [[nodiscard]] absl::StatusOr<int64_t> PendingCount();

 private:
  OutboxRelay(db::ConnectionPool& pool, Publisher& publisher, OutboxRelayOptions options);
  absl::Duration Backoff(int64_t attempts) const;
  void RecordPending();
  void PurgeDelivered();

  db::ConnectionPool& pool_;
  Publisher& publisher_;
  const OutboxRelayOptions options_;

  absl::Mutex round_mu_;  // one round at a time per relay
  absl::Time last_purge_ ABSL_GUARDED_BY(round_mu_) = absl::InfinitePast();

  prometheus::Gauge* pending_ = nullptr;
  prometheus::Family<prometheus::Counter>* delivered_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_
