#ifndef MARKETPLACE_COMMON_OUTBOX_EVENT_RELAY_H_
#define MARKETPLACE_COMMON_OUTBOX_EVENT_RELAY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/outbox/grpc_event_sink_publisher.h"
#include "common/outbox/outbox_relay.h"
#include "common/outbox/subscribers.h"
#include "prometheus/registry.h"

namespace marketplace::common::outbox {

// The outbox relay of a service that emits events, as every service runs it: one
// GrpcEventSinkPublisher per --event_subscribers entry, each Deliver carrying the service's
// own SERVICE token (`publish.token`), started. nullptr when no subscriber is configured (the
// events stay pending in outbox_events). INVALID_ARGUMENT for a bad --event_subscribers.
// `pool`, `clock` and `registry` must outlive the relay; Stop() it before they go.
[[nodiscard]] absl::StatusOr<std::unique_ptr<OutboxRelay>> StartEventRelay(
    db::ConnectionPool& pool, const RelayConfig& config,
    const GrpcEventSinkPublisherOptions& publish, const Clock* clock,
    prometheus::Registry* registry);

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_EVENT_RELAY_H_
