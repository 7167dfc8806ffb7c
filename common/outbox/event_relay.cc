#include "common/outbox/event_relay.h"

#include <utility>

#include "common/client/channel.h"
#include "common/status_macros.h"

namespace marketplace::common::outbox {

absl::StatusOr<std::unique_ptr<OutboxRelay>> StartEventRelay(
    db::ConnectionPool& pool, const RelayConfig& config,
    const GrpcEventSinkPublisherOptions& publish, const Clock* clock,
    prometheus::Registry* registry) {
  ASSIGN_OR_RETURN(std::vector<SubscriberSpec> subscribers,
                   ParseSubscriberSpecs(config.subscribers));
  if (subscribers.empty()) return std::unique_ptr<OutboxRelay>();
  OutboxRelayOptions options;
  options.clock = clock;
  options.registry = registry;
  options.max_refusals = static_cast<int>(config.max_refusals);
  ASSIGN_OR_RETURN(
      std::unique_ptr<OutboxRelay> relay,
      OutboxRelay::Create(
          pool, subscribers,
          [publish](const SubscriberSpec& spec) -> std::unique_ptr<Publisher> {
            return std::make_unique<GrpcEventSinkPublisher>(MakeChannel({.target = spec.target}),
                                                            publish);
          },
          options));
  relay->Start();
  return relay;
}

}  // namespace marketplace::common::outbox
