#ifndef MARKETPLACE_COMMON_EVENTS_EVENT_CONSUMER_H_
#define MARKETPLACE_COMMON_EVENTS_EVENT_CONSUMER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"

namespace marketplace::common::events {

// The scope a relay's SERVICE token must hold to deliver events of `source`:
// "<source>.events.publish".
std::string PublishScope(absl::string_view source);

// What a consuming service does with the events of one topic. Each part is optional.
struct TopicHandler {
  using Event = marketplace::events::v1::Event;
  // Before the transaction, for effects kept elsewhere than this database transaction (a
  // store's own transactions). Runs again when the event is redelivered before it was
  // recorded, so it must be idempotent. An error ends Deliver with it (the sender retries).
  std::function<absl::Status(const Event&)> prepare;
  // In the transaction that records the event id as processed: applied exactly once.
  std::function<absl::Status(db::Transaction&, const Event&)> apply;
  // After that transaction committed, on this replica (in-memory views). Not run for a
  // repeated event.
  std::function<void(const Event&)> committed;
};

// The consumer side of marketplace.events.v1.EventSink (events.proto): handlers registered by
// topic, the sender's authorization, and deduplication on event_id in processed_events
// (common/outbox migrations). Thread-safe once serving.
class EventConsumer {
 public:
  // `pool` holds the outbox tables (ApplyOutboxMigrations); it must outlive the consumer.
  explicit EventConsumer(db::ConnectionPool* pool) : pool_(pool) {}

  // Adds a handler for `topic`; several handlers of one topic run in the order added. Only
  // before serving.
  void On(absl::string_view topic, TopicHandler handler);
  bool Handles(absl::string_view topic) const { return handlers_.count(std::string(topic)) > 0; }

  // Deliver for an authenticated `caller`:
  // - PERMISSION_DENIED unless the caller is a SERVICE holding PublishScope(event.source);
  // - INVALID_ARGUMENT naming the field for a malformed event (events.proto's rules);
  // - OK without effect for a topic nobody handles, or an event_id already processed;
  // - else the handlers' prepare, then one transaction (record the id, apply), then committed.
  absl::Status Deliver(const std::optional<auth::Caller>& caller,
                       const marketplace::events::v1::Event& event);

 private:
  db::ConnectionPool* const pool_;
  std::map<std::string, std::vector<TopicHandler>> handlers_;
};

// The gRPC service marketplace.events.v1.EventSink over an EventConsumer; calls go through
// the service's UnaryRunner (request id, authentication with the service's Authenticator,
// executor). Register it beside the service's API in ServiceRuntime::Serve.
class EventSinkService final : public marketplace::events::v1::EventSink::CallbackService {
 public:
  // Both must outlive the service.
  EventSinkService(UnaryRunner* runner, EventConsumer* consumer)
      : runner_(runner), consumer_(consumer) {}

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const marketplace::events::v1::DeliverRequest* request,
                                    marketplace::events::v1::DeliverResponse* response) override;

  static std::string FullServiceName() {
    return std::string(marketplace::events::v1::EventSink::service_full_name());
  }

 private:
  UnaryRunner* const runner_;
  EventConsumer* const consumer_;
};

}  // namespace marketplace::common::events

#endif  // MARKETPLACE_COMMON_EVENTS_EVENT_CONSUMER_H_
