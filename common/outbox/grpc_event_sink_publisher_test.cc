#include "common/outbox/grpc_event_sink_publisher.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"

namespace marketplace::common::outbox {
namespace {

using ::marketplace::events::v1::DeliverRequest;
using ::marketplace::events::v1::DeliverResponse;
using ::marketplace::events::v1::Event;

// A consumer on a real gRPC server bound to port 0.
class FakeSink final : public marketplace::events::v1::EventSink::CallbackService {
 public:
  FakeSink() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  ~FakeSink() override { server_->Shutdown(absl::ToChronoTime(absl::Now())); }

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const DeliverRequest* request,
                                    DeliverResponse* /*response*/) override {
    grpc::Status status;
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(request->event());
      auto auth = context->client_metadata().find("authorization");
      authorization_.push_back(auth == context->client_metadata().end()
                                   ? std::string()
                                   : std::string(auth->second.data(), auth->second.size()));
      status = reply_;
      delay = delay_;
    }
    if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  void Reply(grpc::Status status, absl::Duration delay = absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    reply_ = std::move(status);
    delay_ = delay;
  }
  std::vector<Event> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  std::vector<std::string> authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  absl::Mutex mu_;
  grpc::Status reply_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<Event> received_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorization_ ABSL_GUARDED_BY(mu_);
};

Event MakeEvent(const std::string& topic) {
  Event event;
  event.set_event_id("0b6f2c1e-7d7c-4a55-9d8c-3f0e8e1b2a11");
  event.set_topic(topic);
  event.set_source("payments");
  event.set_key("seller-1");
  event.mutable_occurred_at()->set_seconds(1'800'000'000);
  event.mutable_payload()->set_type_url("type.googleapis.com/google.protobuf.StringValue");
  return event;
}

TEST(GrpcEventSinkPublisherTest, DeliversTheEventToTheSink) {
  FakeSink sink;
  GrpcEventSinkPublisher publisher(sink.channel());
  ASSERT_TRUE(publisher.Publish(MakeEvent("payments.payment_held")).ok());
  ASSERT_EQ(sink.received().size(), 1u);
  EXPECT_EQ(sink.received()[0].SerializeAsString(),
            MakeEvent("payments.payment_held").SerializeAsString());
}

TEST(GrpcEventSinkPublisherTest, SinkErrorIsReturnedWithTheEvent) {
  FakeSink sink;
  sink.Reply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "draining"));
  GrpcEventSinkPublisher publisher(sink.channel());
  absl::Status status = publisher.Publish(MakeEvent("payments.payment_held"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(), "payments.payment_held")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "draining")) << status;
}

TEST(GrpcEventSinkPublisherTest, SlowSinkHitsTheDeadline) {
  FakeSink sink;
  sink.Reply(grpc::Status::OK, absl::Milliseconds(500));
  GrpcEventSinkPublisherOptions options;
  options.deadline = absl::Milliseconds(100);
  GrpcEventSinkPublisher publisher(sink.channel(), options);
  const absl::Time start = absl::Now();
  EXPECT_EQ(publisher.Publish(MakeEvent("t.slow")).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(450));
}

TEST(GrpcEventSinkPublisherTest, RoutesByTopicAndFansOut) {
  FakeSink orders, notifications;
  GrpcEventSinkPublisher publisher(GrpcEventSinkPublisher::Routes{
      {"payments.payment_held", {orders.channel(), notifications.channel()}},
      {"payments.audit_only", {}},
  });
  ASSERT_TRUE(publisher.Publish(MakeEvent("payments.payment_held")).ok());
  EXPECT_EQ(orders.received().size(), 1u);
  EXPECT_EQ(notifications.received().size(), 1u);

  // Routed to nobody on purpose: done without a call.
  ASSERT_TRUE(publisher.Publish(MakeEvent("payments.audit_only")).ok());
  // Not routed at all: a configuration gap, kept pending.
  EXPECT_EQ(publisher.Publish(MakeEvent("payments.unknown")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(orders.received().size(), 1u);
}

TEST(GrpcEventSinkPublisherTest, SendsTheServiceTokenAndReportsItsRefusal) {
  FakeSink sink;
  int refusals = 0;
  GrpcEventSinkPublisherOptions options;
  options.token = []() -> absl::StatusOr<std::string> { return std::string("svc.token.1"); };
  options.token_refused = [&refusals] { ++refusals; };
  GrpcEventSinkPublisher publisher(sink.channel(), options);
  ASSERT_TRUE(publisher.Publish(MakeEvent("payments.payment_held")).ok());
  ASSERT_EQ(sink.authorization().size(), 1u);
  EXPECT_EQ(sink.authorization()[0], "Bearer svc.token.1");
  EXPECT_EQ(refusals, 0);

  sink.Reply(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token expired"));
  EXPECT_EQ(publisher.Publish(MakeEvent("payments.payment_held")).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(refusals, 1);

  // No token to be had: not delivered, nothing sent.
  GrpcEventSinkPublisherOptions broken;
  broken.token = []() -> absl::StatusOr<std::string> {
    return absl::UnavailableError("identity unreachable");
  };
  GrpcEventSinkPublisher without(sink.channel(), broken);
  EXPECT_EQ(without.Publish(MakeEvent("payments.payment_held")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink.received().size(), 2u);
  // Nor when identity refuses the request (a misconfigured client id): the relay would count an
  // INVALID_ARGUMENT as the subscriber refusing the event and dead-letter every event.
  GrpcEventSinkPublisherOptions misconfigured;
  misconfigured.token = []() -> absl::StatusOr<std::string> {
    return absl::InvalidArgumentError("client_id: is required");
  };
  GrpcEventSinkPublisher unconfigured(sink.channel(), misconfigured);
  absl::Status failed = unconfigured.Publish(MakeEvent("payments.payment_held"));
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(failed.message(), "client_id: is required")) << failed;
  EXPECT_EQ(sink.received().size(), 2u);
}

TEST(GrpcEventSinkPublisherTest, OneFailingSinkFailsTheDelivery) {
  FakeSink healthy, failing;
  failing.Reply(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full"));
  GrpcEventSinkPublisher publisher(GrpcEventSinkPublisher::Routes{
      {"*", {healthy.channel(), failing.channel()}},
  });
  EXPECT_EQ(publisher.Publish(MakeEvent("t.any")).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace marketplace::common::outbox
