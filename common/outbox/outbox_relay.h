#ifndef MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_
#define MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/outbox/publisher.h"
#include "common/outbox/subscribers.h"
#include "common/periodic.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace marketplace::common::outbox {

struct OutboxRelayOptions {
  // Deliveries claimed per round and subscriber (one short transaction).
  int batch_size = 20;
  // Pause between a subscriber's rounds when the last one delivered nothing (real time).
  absl::Duration poll_interval = absl::Milliseconds(500);
  // After the n-th failed attempt a delivery waits min(max_backoff, initial_backoff * 2^(n-1)),
  // measured on `clock`.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  // How long a claimed delivery belongs to the relay that claimed it (on `clock`). A relay
  // that dies leaves its claimed deliveries to be claimed again once this has passed; it must
  // exceed the time a round takes to publish (batch_size x the publisher's deadline).
  absl::Duration lease_duration = absl::Minutes(2);
  // A delivery the subscriber refuses this many times (INVALID_ARGUMENT or
  // FAILED_PRECONDITION: it will never accept it) goes to outbox_dead_letters.
  int max_refusals = 5;
  // Events whose deliveries are all done are deleted once fanned out longer ago than this
  // (on `clock`); zero keeps them. Events in outbox_dead_letters are kept.
  absl::Duration delivered_retention = absl::Hours(7 * 24);
  // Decides which events are due; must be the clock the Outbox writing them uses.
  const Clock* clock = SystemClock::Get();
  // outbox_pending{subscriber}, outbox_dead_letters{subscriber} (gauges),
  // outbox_delivered_total{subscriber,topic}, outbox_delivery_failures_total{subscriber,topic},
  // outbox_dead_lettered_total{subscriber,topic}.
  prometheus::Registry* registry = nullptr;
};

// What one round did (summed over the subscribers it served).
struct RelayRound {
  int claimed = 0;        // due deliveries this relay took
  int delivered = 0;      // published and marked delivered
  int failed = 0;         // publish failed; rescheduled with backoff
  int dead_lettered = 0;  // refused max_refusals times; moved to outbox_dead_letters
};

// Delivers the outbox's events to every subscriber whose topic prefix matches, at least once
// each, through one Publisher per subscriber (a message broker can replace the relay behind
// the same interface).
//
// A round, for each subscriber:
//   1. fan-out (shared by the subscribers): events not fanned out yet get one
//      outbox_deliveries row per matching subscriber, in one short transaction;
//   2. claim: in one short READ COMMITTED transaction, SELECT ... FOR UPDATE SKIP LOCKED the
//      subscriber's due deliveries that are first of their key among its pending ones, set
//      lease_owner / lease_expires_at on them, commit;
//   3. publish each, outside any transaction and holding no connection;
//   4. mark: a failed one right after its attempt (rescheduled with backoff and its error, or,
//      refused max_refusals times, moved to outbox_dead_letters, then the next event of its
//      key proceeds); the delivered ones deleted together, in one statement, once the round's
//      publishing ends (a batch holds at most one delivery per key).
// After a publish fails with UNAVAILABLE or DEADLINE_EXCEEDED the subscriber is taken as down:
// the rest of its claimed deliveries are released, due when the failed one is, without an
// attempt. Each subscriber has its own delivery state and, with Start(), its own thread, so a
// slow or absent subscriber delays only itself. Several relays (replicas) can run at once:
// each delivery is claimed by one of them, and events of one key reach each subscriber in the
// order they were enqueued. A relay that dies leaves its claimed deliveries to be claimed again
// after lease_duration: they may be delivered twice (consumers deduplicate on event_id).
//
// An event that matches no subscriber when it is fanned out is delivered to nobody.
class OutboxRelay {
 public:
  struct Subscriber {
    // 1-64 characters of [a-z0-9_-], unique: the name of its delivery state.
    std::string name;
    // Topics it receives: those starting with one of these; "*" is every topic.
    std::vector<std::string> topic_prefixes;
    // Must outlive the relay.
    Publisher* publisher = nullptr;
  };

  // INVALID_ARGUMENT for unusable options or subscribers. `pool`, the publishers, the clock
  // and the registry must outlive the relay.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OutboxRelay>> Create(
      db::ConnectionPool& pool, std::vector<Subscriber> subscribers,
      OutboxRelayOptions options = {});
  // One subscriber, "default", of every topic.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OutboxRelay>> Create(
      db::ConnectionPool& pool, Publisher& publisher, OutboxRelayOptions options = {});
  // The subscribers of `specs` (ParseSubscriberSpecs), each with the Publisher `factory`
  // makes from its spec (owned by the relay).
  using PublisherFactory = std::function<std::unique_ptr<Publisher>(const SubscriberSpec&)>;
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OutboxRelay>> Create(
      db::ConnectionPool& pool, const std::vector<SubscriberSpec>& specs,
      const PublisherFactory& factory, OutboxRelayOptions options = {});

  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;
  ~OutboxRelay();  // Stop()s

  // One round for every subscriber in turn, on the calling thread. An error (database
  // unavailable, ...) leaves the deliveries not yet published as they were.
  [[nodiscard]] absl::StatusOr<RelayRound> RunOnce();
  // One round for one subscriber (NOT_FOUND for an unknown name).
  [[nodiscard]] absl::StatusOr<RelayRound> RunOnce(absl::string_view subscriber);

  // Runs rounds on one background thread per subscriber: back to back while they deliver,
  // every poll_interval otherwise. Stop() waits for the current rounds to finish. Each is
  // idempotent.
  void Start();
  void Stop();

  // Deliveries not done yet (all subscribers, due or not, dead letters excluded), plus the
  // events not fanned out yet.
  [[nodiscard]] absl::StatusOr<int64_t> PendingCount();
  // Rows of outbox_dead_letters (all subscribers).
  [[nodiscard]] absl::StatusOr<int64_t> DeadLetterCount();
  // Puts a dead letter back in its subscriber's queue, due at once, with its counts reset
  // (the same as the SQL in common/outbox/README.md). NOT_FOUND when there is no such dead
  // letter.
  [[nodiscard]] absl::Status ReplayDeadLetter(absl::string_view subscriber,
                                              absl::string_view event_id);

 private:
  struct SubscriberState;

  OutboxRelay(db::ConnectionPool& pool, std::vector<Subscriber> subscribers,
              OutboxRelayOptions options);
  absl::Duration Backoff(int64_t attempts) const;
  absl::Status FanOut();
  absl::StatusOr<RelayRound> Round(SubscriberState& subscriber);
  void RecordGauges(SubscriberState& subscriber);
  void PurgeDelivered();

  db::ConnectionPool& pool_;
  const OutboxRelayOptions options_;
  const std::string lease_owner_;  // this relay, in lease_owner
  std::vector<std::unique_ptr<Publisher>> owned_publishers_;
  std::vector<std::unique_ptr<SubscriberState>> subscribers_;

  absl::Mutex fan_out_mu_;  // one fan-out at a time per relay
  absl::Mutex purge_mu_;
  absl::Time last_purge_ ABSL_GUARDED_BY(purge_mu_) = absl::InfinitePast();

  prometheus::Family<prometheus::Gauge>* pending_ = nullptr;
  prometheus::Family<prometheus::Gauge>* dead_letters_ = nullptr;
  prometheus::Family<prometheus::Counter>* delivered_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  prometheus::Family<prometheus::Counter>* dead_lettered_ = nullptr;
};

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_OUTBOX_RELAY_H_
