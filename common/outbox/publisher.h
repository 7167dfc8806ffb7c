#ifndef MARKETPLACE_COMMON_OUTBOX_PUBLISHER_H_
#define MARKETPLACE_COMMON_OUTBOX_PUBLISHER_H_

#include "absl/status/status.h"
#include "protos/marketplace/events/v1/events.pb.h"

namespace marketplace::common::outbox {

// Hands an event to whoever consumes it. The outbox relay calls it at least once per event,
// and again after any error, so consumers must be idempotent on event_id.
class Publisher {
 public:
  virtual ~Publisher() = default;

  // OK once every consumer of the event's topic has durably accepted it. Any error means
  // "not delivered, try again later".
  virtual absl::Status Publish(const marketplace::events::v1::Event& event) = 0;
};

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_PUBLISHER_H_
