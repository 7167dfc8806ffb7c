#ifndef MARKETPLACE_COMMON_OUTBOX_GRPC_EVENT_SINK_PUBLISHER_H_
#define MARKETPLACE_COMMON_OUTBOX_GRPC_EVENT_SINK_PUBLISHER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/outbox/publisher.h"
#include "grpcpp/channel.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"

namespace marketplace::common::outbox {

struct GrpcEventSinkPublisherOptions {
  // Deadline of each Deliver call.
  absl::Duration deadline = absl::Seconds(5);
  // The emitting service's own SERVICE access token, sent as `authorization: Bearer` on every
  // Deliver (consumers accept an event only from a token with "<source>.events.publish").
  // Unset: no token is sent. An error fails the Publish with UNAVAILABLE, whatever its code
  // (the relay retries later and never counts it as the subscriber's refusal).
  std::function<absl::StatusOr<std::string>()> token;
  // Called when a sink answers UNAUTHENTICATED (e.g. to drop a cached token).
  std::function<void()> token_refused;
};

// Publishes by calling EventSink/Deliver on the consumers' channels.
class GrpcEventSinkPublisher final : public Publisher {
 public:
  // Topic -> the sinks that consume it; "*" matches topics not listed. Every sink of a topic
  // must accept an event for it to count as delivered (a retry repeats it to all of them,
  // which their idempotency absorbs). A topic with no route fails with FAILED_PRECONDITION,
  // so a missing route shows up as pending events and not as lost ones; route a topic to an
  // empty list to drop it on purpose.
  using Routes = std::map<std::string, std::vector<std::shared_ptr<grpc::Channel>>>;

  explicit GrpcEventSinkPublisher(Routes routes, GrpcEventSinkPublisherOptions options = {});
  // Every topic to one sink.
  explicit GrpcEventSinkPublisher(std::shared_ptr<grpc::Channel> sink,
                                  GrpcEventSinkPublisherOptions options = {});

  // The sink's status (through FromGrpcStatus, details kept), its message prefixed with the
  // topic and event id; the first failing sink ends the call.
  absl::Status Publish(const marketplace::events::v1::Event& event) override;

 private:
  using Stub = marketplace::events::v1::EventSink::Stub;

  GrpcEventSinkPublisherOptions options_;
  std::vector<std::unique_ptr<Stub>> stubs_;  // one per distinct channel
  std::map<std::string, std::vector<Stub*>> routes_;
};

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_GRPC_EVENT_SINK_PUBLISHER_H_
