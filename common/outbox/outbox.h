#ifndef MARKETPLACE_COMMON_OUTBOX_OUTBOX_H_
#define MARKETPLACE_COMMON_OUTBOX_OUTBOX_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace marketplace::common::outbox {

// The transactional outbox. A service that emits events:
//   1. at start-up: ApplyOutboxMigrations(pool) (component "outbox": tables outbox_events and
//      processed_events in the service's own database);
//   2. in the transaction that makes a change: outbox.Enqueue(tx, "payments.payment_held",
//      seller_id, payment_held) -- the event exists if and only if the change commits;
//   3. runs an OutboxRelay (outbox_relay.h) that delivers pending events to their consumers.
// A service that consumes events calls MarkEventProcessed in the transaction that applies one.

// Creates or upgrades the outbox tables (ApplyMigrations with component "outbox").
[[nodiscard]] absl::Status ApplyOutboxMigrations(db::ConnectionPool& pool);

// Writes events for one emitting service. Thread-safe; holds no connection of its own.
class Outbox {
 public:
  // `source` names the emitting service ("payments"); `clock` stamps occurred_at and must be
  // the relay's clock, since the relay finds due events by comparing with it. Both must
  // outlive the Outbox.
  explicit Outbox(std::string source, const Clock* clock = SystemClock::Get());

  // Adds an event to the caller's transaction and returns its new event_id. `topic` is
  // 1-255 characters of [a-z0-9._] ("payments.payment_held"); `key` (1-255 bytes) is the
  // entity the event is about, and fixes the delivery order: events of one key are delivered
  // in the order they were enqueued. INVALID_ARGUMENT for a bad topic or key.
  //
  // The payload is packed into a google.protobuf.Any; an Any is taken as it is (so raw bytes
  // go in an Any with the type URL of your choice).
  [[nodiscard]] absl::StatusOr<std::string> Enqueue(db::Transaction& tx, absl::string_view topic,
                                                    absl::string_view key,
                                                    const google::protobuf::Message& payload) const;
  [[nodiscard]] absl::StatusOr<std::string> Enqueue(db::Transaction& tx, absl::string_view topic,
                                                    absl::string_view key,
                                                    const google::protobuf::Any& payload) const;

  // Several events in one multi-row statement (one round trip), for work done in batches;
  // the same rules as Enqueue, the events of one key in the order given. Their event_ids in
  // that order; INVALID_ARGUMENT (and nothing added) when any topic or key is bad.
  struct Event {
    std::string topic;
    std::string key;
    google::protobuf::Any payload;
  };
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> EnqueueAll(
      db::Transaction& tx, absl::Span<const Event> events) const;
  // An Any holding `payload` (taken as it is when it is an Any already).
  [[nodiscard]] static absl::StatusOr<google::protobuf::Any> Pack(
      const google::protobuf::Message& payload);

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  const Clock* clock_;
};

// Consumer side: records `event_id` as applied, in the caller's transaction. True the first
// time; false when it was recorded before (the caller then skips the event and commits).
// Two concurrent deliveries of one event: the second waits for the first transaction, then
// sees false if it committed. INVALID_ARGUMENT for an id that is not 1-64 ASCII characters.
[[nodiscard]] absl::StatusOr<bool> MarkEventProcessed(db::Transaction& tx,
                                                      absl::string_view event_id);

// True for a topic Enqueue accepts.
bool IsValidTopic(absl::string_view topic);

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_OUTBOX_H_
