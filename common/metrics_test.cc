#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace marketplace::common {
namespace {

using ::marketplace::bench::v1::Echo;
using ::marketplace::bench::v1::EchoRequest;
using ::marketplace::bench::v1::EchoResponse;
using ::testing::HasSubstr;
using ::testing::Not;

using Labels = std::map<std::string, std::string>;

// Answers with the request's message, or INVALID_ARGUMENT when told to "fail".
class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->message() == "fail") {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "told to fail"));
    } else {
      response->set_message(request->message());
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
};

// Every method not registered otherwise is a bidi stream that returns each message it reads.
class EchoStreamService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&message_); }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::OK);
          return;
        }
        StartWrite(&message_);
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
          return;
        }
        StartRead(&message_);
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer message_;
    };
    return new Reactor();
  }
};

class GrpcServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = NewMetricsRegistry();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&echo_);
    builder.RegisterCallbackGenericService(&stream_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(NewGrpcServerMetricsInterceptorFactory(registry_));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    stub_ = Echo::NewStub(channel_);
  }

  void TearDown() override { server_->Shutdown(); }

  grpc::Status CallEcho(const std::string& message) {
    grpc::ClientContext context;
    EchoRequest request;
    request.set_message(message);
    EchoResponse response;
    return stub_->Echo(&context, request, &response);
  }

  // The sample of family `name` with exactly `labels`; nullopt when there is none.
  std::optional<prometheus::ClientMetric> Find(const std::string& name, const Labels& labels) {
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        Labels actual;
        for (const auto& label : metric.label) actual[label.name] = label.value;
        if (actual == labels) return metric;
      }
    }
    return std::nullopt;
  }

  double Counter(const std::string& name, const Labels& labels) {
    std::optional<prometheus::ClientMetric> metric = Find(name, labels);
    return metric ? metric->counter.value : -1;
  }

  static Labels EchoLabels() {
    return {{"grpc_service", "marketplace.bench.v1.Echo"},
            {"grpc_method", "Echo"},
            {"grpc_type", "unary"}};
  }

  static Labels WithCode(Labels labels, const std::string& code) {
    labels["grpc_code"] = code;
    return labels;
  }

  std::shared_ptr<prometheus::Registry> registry_;
  EchoService echo_;
  EchoStreamService stream_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(GrpcServerMetricsTest, CountsUnaryCallsByMethodAndCode) {
  ASSERT_TRUE(CallEcho("a").ok());
  ASSERT_TRUE(CallEcho("b").ok());
  ASSERT_EQ(CallEcho("fail").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Counter("grpc_server_started_total", EchoLabels()), 3);
  EXPECT_EQ(Counter("grpc_server_handled_total", WithCode(EchoLabels(), "OK")), 2);
  EXPECT_EQ(Counter("grpc_server_handled_total", WithCode(EchoLabels(), "INVALID_ARGUMENT")), 1);
  // Only codes that happened are exported.
  EXPECT_FALSE(Find("grpc_server_handled_total", WithCode(EchoLabels(), "UNKNOWN")));
  EXPECT_EQ(Counter("grpc_server_msg_received_total", EchoLabels()), 3);
  // A failed unary call sends no response message.
  EXPECT_EQ(Counter("grpc_server_msg_sent_total", EchoLabels()), 2);

  std::optional<prometheus::ClientMetric> latency =
      Find("grpc_server_handling_seconds", EchoLabels());
  ASSERT_TRUE(latency);
  EXPECT_EQ(latency->histogram.sample_count, 3u);
  EXPECT_GT(latency->histogram.sample_sum, 0);
  std::vector<double> bounds;
  for (const auto& bucket : latency->histogram.bucket) bounds.push_back(bucket.upper_bound);
  EXPECT_THAT(bounds, testing::ElementsAre(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10,
                                           std::numeric_limits<double>::infinity()));
  EXPECT_EQ(latency->histogram.bucket.back().cumulative_count, 3u);
}

TEST_F(GrpcServerMetricsTest, CountsStreamMessagesWithTheStreamType) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  auto await = [&cq](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(got, reinterpret_cast<void*>(tag));
    return ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, "/marketplace.test.v1.Chat/Talk", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(await(1));
  for (const char* text : {"one", "two", "three"}) {
    grpc::Slice slice(text);
    grpc::ByteBuffer out(&slice, 1);
    call->Write(out, reinterpret_cast<void*>(2));
    ASSERT_TRUE(await(2));
    grpc::ByteBuffer in;
    call->Read(&in, reinterpret_cast<void*>(3));
    ASSERT_TRUE(await(3));
  }
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(await(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(await(5));
  ASSERT_TRUE(status.ok()) << status.error_message();

  Labels labels = {{"grpc_service", "marketplace.test.v1.Chat"},
                   {"grpc_method", "Talk"},
                   {"grpc_type", "bidi_stream"}};
  EXPECT_EQ(Counter("grpc_server_started_total", labels), 1);
  EXPECT_EQ(Counter("grpc_server_msg_received_total", labels), 3);
  EXPECT_EQ(Counter("grpc_server_msg_sent_total", labels), 3);
  EXPECT_EQ(Counter("grpc_server_handled_total", WithCode(labels, "OK")), 1);
  cq.Shutdown();
}

TEST_F(GrpcServerMetricsTest, ConcurrentCallsAreAllCounted) {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kCallsPerThread; ++i) EXPECT_TRUE(CallEcho("x").ok());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(Counter("grpc_server_started_total", EchoLabels()), kThreads * kCallsPerThread);
  EXPECT_EQ(Counter("grpc_server_handled_total", WithCode(EchoLabels(), "OK")),
            kThreads * kCallsPerThread);
}

// GET `path` from 127.0.0.1:`port` over a plain socket; the whole response, headers included.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ADD_FAILURE() << "connect to port " << port << " failed";
    close(fd);
    return "";
  }
  std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST_F(GrpcServerMetricsTest, ExposerServesTheMetricsOnAFreePort) {
  ASSERT_TRUE(CallEcho("a").ok());
  ASSERT_EQ(CallEcho("fail").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartMetricsExposer("127.0.0.1", 0, registry_);
  ASSERT_TRUE(exposer.ok()) << exposer.status();
  std::vector<int> ports = (*exposer)->GetListeningPorts();
  ASSERT_EQ(ports.size(), 1u);
  ASSERT_GT(ports[0], 0);

  std::string response = HttpGet(ports[0], "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Echo\","
                                  "grpc_service=\"marketplace.bench.v1.Echo\",grpc_type=\"unary\"} "
                                  "1\n"));
  EXPECT_THAT(response, HasSubstr("grpc_server_handled_total{grpc_code=\"INVALID_ARGUMENT\","
                                  "grpc_method=\"Echo\",grpc_service=\"marketplace.bench.v1.Echo\","
                                  "grpc_type=\"unary\"} 1\n"));
  EXPECT_THAT(response, HasSubstr("grpc_server_started_total{grpc_method=\"Echo\",grpc_service="
                                  "\"marketplace.bench.v1.Echo\",grpc_type=\"unary\"} 2\n"));
  EXPECT_THAT(response, HasSubstr("grpc_server_handling_seconds_count{grpc_method=\"Echo\","
                                  "grpc_service=\"marketplace.bench.v1.Echo\",grpc_type=\"unary\"} "
                                  "2\n"));
  EXPECT_THAT(response, HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"Echo\","
                                  "grpc_service=\"marketplace.bench.v1.Echo\",grpc_type=\"unary\","
                                  "le=\"0.005\"}"));
  EXPECT_THAT(response, HasSubstr("# TYPE grpc_server_handling_seconds histogram\n"));
}

TEST(StartMetricsExposerTest, PortInUseIsAnErrorNamingTheAddress) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int port = ntohs(address.sin_port);

  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartMetricsExposer("127.0.0.1", port, NewMetricsRegistry());
  EXPECT_EQ(exposer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(exposer.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", port)));
  close(fd);
}

TEST(StartMetricsExposerTest, RejectsBadArguments) {
  EXPECT_EQ(StartMetricsExposer("127.0.0.1", 70000, NewMetricsRegistry()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StartMetricsExposer("127.0.0.1", 0, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> unroutable =
      StartMetricsExposer("203.0.113.7", 0, NewMetricsRegistry());
  EXPECT_EQ(unroutable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(unroutable.status().message(), HasSubstr("203.0.113.7:0"));
}

TEST(GrpcCodeNameTest, CanonicalNames) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace marketplace::common
