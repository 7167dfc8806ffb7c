#include "common/outbox/grpc_event_sink_publisher.h"

#include <chrono>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "grpcpp/client_context.h"

namespace marketplace::common::outbox {
namespace {

constexpr char kAnyTopic[] = "*";

}  // namespace

GrpcEventSinkPublisher::GrpcEventSinkPublisher(Routes routes, GrpcEventSinkPublisherOptions options)
    : options_(options) {
  std::map<grpc::Channel*, Stub*> by_channel;
  for (const auto& [topic, channels] : routes) {
    std::vector<Stub*>& stubs = routes_[topic];
    for (const std::shared_ptr<grpc::Channel>& channel : channels) {
      Stub*& stub = by_channel[channel.get()];
      if (stub == nullptr) {
        stubs_.push_back(marketplace::events::v1::EventSink::NewStub(channel));
        stub = stubs_.back().get();
      }
      stubs.push_back(stub);
    }
  }
}

GrpcEventSinkPublisher::GrpcEventSinkPublisher(std::shared_ptr<grpc::Channel> sink,
                                               GrpcEventSinkPublisherOptions options)
    : GrpcEventSinkPublisher(Routes{{kAnyTopic, {std::move(sink)}}}, options) {}

absl::Status GrpcEventSinkPublisher::Publish(const marketplace::events::v1::Event& event) {
  auto route = routes_.find(event.topic());
  if (route == routes_.end()) route = routes_.find(kAnyTopic);
  if (route == routes_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no EventSink is routed for topic '", event.topic(), "'"));
  }
  marketplace::events::v1::DeliverRequest request;
  *request.mutable_event() = event;
  std::string token;
  if (options_.token && !route->second.empty()) {
    absl::StatusOr<std::string> got = options_.token();
    if (!got.ok()) {
      // UNAVAILABLE whatever identity answered (an INVALID_ARGUMENT for a misconfigured client
      // id, say): it is this service's trouble, not the subscriber refusing the event, which the
      // relay would dead-letter after a few attempts.
      return absl::UnavailableError(absl::StrCat(
          "deliver ", event.topic(), " ", event.event_id(), ": no service token (",
          absl::StatusCodeToString(got.status().code()), "): ", got.status().message()));
    }
    token = *std::move(got);
  }
  for (Stub* stub : route->second) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    marketplace::events::v1::DeliverResponse response;
    const grpc::Status status = stub->Deliver(&context, request, &response);
    if (!status.ok()) {
      if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && options_.token_refused) {
        options_.token_refused();
      }
      absl::Status failed = FromGrpcStatus(status);
      absl::Status annotated(failed.code(), absl::StrCat("deliver ", event.topic(), " ",
                                                         event.event_id(), ": ", failed.message()));
      failed.ForEachPayload([&annotated](absl::string_view url, const absl::Cord& payload) {
        annotated.SetPayload(url, payload);
      });
      return annotated;
    }
  }
  return absl::OkStatus();
}

}  // namespace marketplace::common::outbox
