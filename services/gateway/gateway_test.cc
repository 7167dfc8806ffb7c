#include "services/gateway/gateway.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "services/gateway/api.h"
#include "services/gateway/http_server.h"

namespace marketplace::gateway {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// Records calls and answers what the test says: a backend double for the handler's logic
// (the real services are exercised in tests/gateway).
class RecordingBackend : public Backend {
 public:
  void Call(const Route& route, std::string request, const BackendCall& call,
            std::function<void(const grpc::Status&, std::string)> done) override {
    {
      absl::MutexLock lock(&mu_);
      calls.push_back({route.grpc_path, request, call});
    }
    done(status, response);
  }
  struct Recorded {
    std::string path;
    std::string request;
    BackendCall call;
  };
  absl::Mutex mu_;
  std::vector<Recorded> calls;
  grpc::Status status = grpc::Status::OK;
  std::string response;
};

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

std::string MetadataOf(const BackendCall& c, const std::string& name) {
  for (const auto& [k, v] : c.metadata) {
    if (k == name) return v;
  }
  return "<none>";
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = Api::Load("protos/api_descriptor_set.pb",
                         {{"marketplace.catalog.v1.CatalogService", "127.0.0.1:1"},
                          {"marketplace.identity.v1.Identity", "127.0.0.1:2"}});
    ASSERT_TRUE(api.ok()) << api.status().message();
    api_ = *std::move(api);
    GatewayOptions options;
    options.cors.allowed_origins = {"https://shop.example.com"};
    options.cors.allow_credentials = true;
    options.forward_headers = {"x-client-version"};
    options.openapi_json = R"({"openapi":"3.0.3"})";
    gateway_ = std::make_unique<Gateway>(api_.get(), &backend_, options, &registry_,
                                         [this] { return serving_; });
  }

  HttpResponse Send(HttpRequest request) {
    if (request.peer.empty()) request.peer = "10.0.0.9";
    std::promise<HttpResponse> promise;
    gateway_->Handle(request, [&promise](HttpResponse r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  std::unique_ptr<Api> api_;
  RecordingBackend backend_;
  prometheus::Registry registry_;
  std::unique_ptr<Gateway> gateway_;
  bool serving_ = true;
};

TEST_F(GatewayTest, CallsTheBackendAndAnswersJson) {
  backend_.response = std::string("\x0a\x03lst", 5);  // field 1 (listing) with 3 bytes
  HttpResponse r = Send({"GET", "/v1/listings/lst_0123456789abcdef01234567?x=1", {}, "", ""});
  EXPECT_EQ(r.status, 400);  // x is not a field of GetListingRequest
  EXPECT_THAT(r.body, HasSubstr(R"("field":"x")"));
  EXPECT_TRUE(backend_.calls.empty());

  backend_.response.clear();
  r = Send({"GET", "/v1/listings/lst_0123456789abcdef01234567",
            {{"authorization", "Bearer abc"},
             {"x-request-id", "req-1"},
             {"x-forwarded-for", "1.2.3.4"},
             {"x-client-version", "7"},
             {"cookie", "secret"}},
            "",
            ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(HeaderOf(r, "X-Request-Id"), "req-1");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  ASSERT_EQ(backend_.calls.size(), 1u);
  const auto& call = backend_.calls[0];
  EXPECT_EQ(call.path, "/marketplace.catalog.v1.CatalogService/GetListing");
  EXPECT_EQ(MetadataOf(call.call, "authorization"), "Bearer abc");
  EXPECT_EQ(MetadataOf(call.call, "x-request-id"), "req-1");
  EXPECT_EQ(MetadataOf(call.call, "x-forwarded-for"), "1.2.3.4, 10.0.0.9");
  EXPECT_EQ(MetadataOf(call.call, "x-client-version"), "7");
  EXPECT_EQ(MetadataOf(call.call, "cookie"), "<none>");
  EXPECT_EQ(call.call.metadata.size(), 4u);
  const absl::Duration left = call.call.deadline - absl::Now();
  EXPECT_GT(left, absl::Seconds(5));
  EXPECT_LE(left, absl::Seconds(10));
}

TEST_F(GatewayTest, BodyLimitPerRoute) {
  // Without entries every request gets --max_body_bytes.
  EXPECT_EQ(gateway_->BodyLimit("POST", "/v1/listings"), 1024u * 1024u);

  GatewayOptions options;
  options.max_body_bytes = 100;
  options.route_body_limits = {{"marketplace.catalog.v1.CatalogService.CreateListing", 4096}};
  ASSERT_TRUE(Gateway::CheckRouteBodyLimits(*api_, options.route_body_limits).ok());
  Gateway limited(api_.get(), &backend_, options, nullptr);
  EXPECT_EQ(limited.BodyLimit("POST", "/v1/listings"), 4096u);
  EXPECT_EQ(limited.BodyLimit("POST", "/v1/listings?validate_only=true"), 4096u);
  EXPECT_EQ(limited.BodyLimit("GET", "/v1/listings/lst_0123456789abcdef01234567"), 100u);
  EXPECT_EQ(limited.BodyLimit("POST", "/v1/nowhere"), 100u);

  absl::Status unknown = Gateway::CheckRouteBodyLimits(
      *api_, {{"marketplace.catalog.v1.CatalogService.CreateListingz", 10}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("CreateListingz"));
  // A method of a service without a backend is not routed either.
  EXPECT_FALSE(Gateway::CheckRouteBodyLimits(
                   *api_, {{"marketplace.payments.v1.Payments.CreatePayment", 10}})
                   .ok());
}

TEST_F(GatewayTest, RequestIdMadeWhenAbsentOrInvalidAndGrpcTimeoutShortens) {
  HttpResponse r = Send({"GET", "/v1/listings/lst_0123456789abcdef01234567",
                         {{"x-request-id", "bad id\n"}, {"grpc-timeout", "200m"}}, "", ""});
  EXPECT_EQ(r.status, 200);
  const std::string id = HeaderOf(r, "X-Request-Id");
  EXPECT_EQ(id.size(), 32u);
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(MetadataOf(backend_.calls[0].call, "x-request-id"), id);
  EXPECT_LE(backend_.calls[0].call.deadline - absl::Now(), absl::Milliseconds(200));
  r = Send({"GET", "/v1/listings/lst_0123456789abcdef01234567", {{"grpc-timeout", "soon"}}, "", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Gateway::ParseGrpcTimeout("5S"), absl::Seconds(5));
  EXPECT_EQ(Gateway::ParseGrpcTimeout("1H"), absl::Hours(1));
  EXPECT_EQ(Gateway::ParseGrpcTimeout("7u"), absl::Microseconds(7));
  EXPECT_FALSE(Gateway::ParseGrpcTimeout("-1S").has_value());
  EXPECT_FALSE(Gateway::ParseGrpcTimeout("S").has_value());
  EXPECT_FALSE(Gateway::ParseGrpcTimeout("123456789S").has_value());
}

TEST_F(GatewayTest, BackendErrorsBecomeAip193) {
  google::rpc::Status rich;
  google::rpc::ErrorInfo info;
  info.set_reason("EMAIL_TAKEN");
  info.set_domain("marketplace");
  rich.add_details()->PackFrom(info);
  backend_.status = grpc::Status(grpc::ALREADY_EXISTS, "email: taken", rich.SerializeAsString());
  HttpResponse r = Send({"POST", "/v1/accounts:signUp", {}, R"({"email":"a@b.c"})", ""});
  EXPECT_EQ(r.status, 409);
  EXPECT_THAT(r.body, HasSubstr(R"("status":"ALREADY_EXISTS")"));
  EXPECT_THAT(r.body, HasSubstr(R"("reason":"EMAIL_TAKEN")"));
  EXPECT_THAT(r.body, HasSubstr(R"("@type":"type.googleapis.com/google.rpc.ErrorInfo")"));
  backend_.status = grpc::Status(grpc::DEADLINE_EXCEEDED, "deadline");
  EXPECT_EQ(Send({"POST", "/v1/accounts:signUp", {}, "{}", ""}).status, 504);
}

// A real gRPC backend slower than the gateway's deadline: the gateway answers 504 while the
// backend is still working, and the backend sees the call cancelled.
class SlowIdentity final : public identity::v1::Identity::Service {
 public:
  grpc::Status Login(grpc::ServerContext* context, const identity::v1::LoginRequest*,
                     identity::v1::LoginResponse*) override {
    started.Notify();
    // Works until released or cancelled (the gateway's deadline passes).
    while (!release.HasBeenNotified() && !context->IsCancelled()) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    cancelled = context->IsCancelled();
    finished.Notify();
    return grpc::Status::OK;
  }
  absl::Notification started, release, finished;
  std::atomic<bool> cancelled{false};
};

TEST(GatewaySlowBackendTest, DeadlinePassingAnswers504BeforeTheBackendFinishes) {
  SlowIdentity slow;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&slow);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto api = Api::Load("protos/api_descriptor_set.pb",
                       {{"marketplace.identity.v1.Identity", absl::StrCat("127.0.0.1:", port)}});
  ASSERT_TRUE(api.ok()) << api.status().message();
  GrpcBackend backend(4 << 20);
  prometheus::Registry registry;
  GatewayOptions options;
  options.default_deadline = absl::Milliseconds(300);
  Gateway gateway(api->get(), &backend, options, &registry, [] { return true; });
  std::promise<HttpResponse> promise;
  gateway.Handle({"POST", "/v1/sessions:login", {}, R"({"email":"a@b.c","password":"x"})",
                  "10.0.0.9"},
                 [&promise](HttpResponse r) { promise.set_value(std::move(r)); });
  HttpResponse r = promise.get_future().get();
  EXPECT_TRUE(slow.started.HasBeenNotified());
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("status":"DEADLINE_EXCEEDED")"));
  // The backend learns that nobody waits any more (it never had to finish first).
  slow.finished.WaitForNotificationWithTimeout(absl::Seconds(30));
  EXPECT_TRUE(slow.cancelled);
  slow.release.Notify();
  server->Shutdown();
}

TEST_F(GatewayTest, NotFoundMethodNotAllowedHealthz) {
  HttpResponse r = Send({"GET", "/v1/nothing", {}, "", ""});
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("ROUTE_NOT_FOUND"));
  r = Send({"DELETE", "/v1/sessions:login", {}, "", ""});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "POST");
  EXPECT_THAT(r.body, HasSubstr(R"("code":405)"));
  r = Send({"GET", "/v1/listings/a%zz", {}, "", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Send({"GET", "/healthz", {}, "", ""}).status, 200);
  // HEAD: the status, no content.
  r = Send({"HEAD", "/healthz", {}, "", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  // A query value that is not valid UTF-8 (a surrogate, an overlong form): 400 naming it.
  for (const char* bad : {"%ED%A0%80", "%C0%AF"}) {
    r = Send({"GET", absl::StrCat("/v1/listings?query=", bad), {}, "", ""});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(r.body, HasSubstr(R"("field":"query")")) << r.body;
    EXPECT_THAT(r.body, HasSubstr("is not percent-encoded UTF-8")) << r.body;
  }
  r = Send({"GET", "/openapi.json", {}, "", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"openapi":"3.0.3"})");
  serving_ = false;
  EXPECT_EQ(Send({"GET", "/healthz", {}, "", ""}).status, 503);
  EXPECT_TRUE(backend_.calls.empty());
  // EventSink has no annotation: no route.
  EXPECT_EQ(Send({"POST", "/marketplace.events.v1.EventSink/Deliver", {}, "{}", ""}).status, 404);
}

TEST_F(GatewayTest, Cors) {
  // Preflight from an allowed origin: answered here.
  HttpResponse r = Send({"OPTIONS", "/v1/listings/x",
                         {{"origin", "https://shop.example.com"},
                          {"access-control-request-method", "GET"}},
                         "",
                         ""});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "https://shop.example.com");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Headers"), "Authorization, Content-Type, X-Request-Id");
  EXPECT_THAT(HeaderOf(r, "Access-Control-Allow-Methods"), HasSubstr("GET"));
  EXPECT_EQ(HeaderOf(r, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(HeaderOf(r, "Vary"), "Origin");
  // From another origin: 403 and no CORS headers.
  r = Send({"OPTIONS", "/v1/listings/x",
            {{"origin", "https://evil.example.com"}, {"access-control-request-method", "GET"}},
            "",
            ""});
  EXPECT_EQ(r.status, 403);
  for (const auto& [k, v] : r.headers) EXPECT_THAT(k, Not(HasSubstr("Access-Control"))) << k;
  EXPECT_TRUE(backend_.calls.empty());
  // Simple requests: allowed origin echoed (never "*"), others get none.
  r = Send({"GET", "/v1/listings/x", {{"origin", "https://shop.example.com"}}, "", ""});
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "https://shop.example.com");
  EXPECT_EQ(HeaderOf(r, "Vary"), "Origin");
  r = Send({"GET", "/v1/listings/x", {{"origin", "https://evil.example.com"}}, "", ""});
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(HeaderOf(r, "Vary"), "Origin");
}

TEST_F(GatewayTest, Metrics) {
  Send({"GET", "/v1/listings/x", {}, "", ""});
  Send({"GET", "/v1/nothing", {}, "", ""});
  bool saw_route = false, saw_unmatched = false;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "gateway_http_requests_total") continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : metric.label) labels[l.name] = l.value;
      saw_route |= labels["route"] == "marketplace.catalog.v1.CatalogService.GetListing" &&
                   labels["code"] == "200";
      saw_unmatched |= labels["route"] == "unmatched" && labels["code"] == "404";
    }
  }
  EXPECT_TRUE(saw_route);
  EXPECT_TRUE(saw_unmatched);
}

// The HTTP server's limits, over a real socket.
class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.io_threads = 2;
    auto server = HttpServer::Start(options, [](const HttpRequest& req, ReplyFn reply) {
      HttpResponse r;
      r.body = req.method + " " + req.target + " " + std::to_string(req.body.size());
      reply(std::move(r));
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Sends raw bytes on `socket` and reads one response into `res`.
  static boost::beast::error_code SendAndRead(
      boost::asio::ip::tcp::socket& socket, const std::string& bytes,
      boost::beast::http::response<boost::beast::http::string_body>& res) {
    boost::asio::write(socket, boost::asio::buffer(bytes));
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    boost::beast::http::read(socket, buffer, res, ec);
    return ec;
  }

  // Sends raw bytes on `socket`; returns the one response read: status, body, " [close]" when
  // the server closes after it.
  std::string Exchange(boost::asio::ip::tcp::socket& socket, const std::string& bytes) {
    boost::beast::http::response<boost::beast::http::string_body> res;
    if (auto ec = SendAndRead(socket, bytes, res)) return "read error: " + ec.message();
    return std::to_string(res.result_int()) + " " + res.body() +
           (res.keep_alive() ? "" : " [close]");
  }

  // Sends raw bytes on a new connection; returns `header` of the one response read ("<none>"
  // without one).
  std::string RequestIdOfReply(const std::string& bytes,
                               const std::string& header = "X-Request-Id") {
    auto socket = Connect();
    boost::beast::http::response<boost::beast::http::string_body> res;
    if (auto ec = SendAndRead(socket, bytes, res)) return "read error: " + ec.message();
    const auto it = res.find(header);
    return it == res.end() ? "<none>" : std::string(it->value());
  }

  boost::asio::ip::tcp::socket Connect() {
    boost::asio::ip::tcp::socket socket(ioc_);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(server_->port())});
    return socket;
  }

  boost::asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveAndLimits) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  options.max_header_bytes = 1024;
  StartServer(options);
  auto socket = Connect();
  EXPECT_EQ(Exchange(socket, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "200 GET /a 0");
  EXPECT_EQ(Exchange(socket, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
            "200 POST /b 3");  // same connection: keep-alive

  auto big_body = Connect();
  std::string reply = Exchange(big_body, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" +
                                             std::string(101, 'x'));
  EXPECT_THAT(reply, HasSubstr("413"));
  EXPECT_THAT(reply, HasSubstr("BODY_TOO_LARGE"));
  EXPECT_THAT(reply, HasSubstr("[close]"));

  auto big_head = Connect();
  reply = Exchange(big_head, "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'y') + "\r\n\r\n");
  EXPECT_THAT(reply, HasSubstr("431"));
  EXPECT_THAT(reply, HasSubstr("HEADERS_TOO_LARGE"));

  auto garbage = Connect();
  EXPECT_THAT(Exchange(garbage, "NOT HTTP\r\n\r\n"), HasSubstr("400"));
}

// The replies the server writes itself, before any handler, carry X-Request-Id too: the
// client's valid one when the request's head was read, otherwise a new one.
TEST_F(HttpServerTest, EarlyRepliesCarryARequestId) {
  HttpServerOptions options;
  options.max_body_bytes = 10;
  options.max_header_bytes = 1024;
  StartServer(options);
  EXPECT_EQ(RequestIdOfReply("POST /b HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-413\r\n"
                             "Content-Length: 11\r\n\r\n" +
                             std::string(11, 'x')),
            "req-413");
  EXPECT_EQ(RequestIdOfReply("POST /b HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-400\r\n"
                             "Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
            "req-400");
  const std::string hostile = RequestIdOfReply(
      "POST /b HTTP/1.1\r\nHost: x\r\nX-Request-Id: a b\r\nContent-Length: 11\r\n\r\n" +
      std::string(11, 'x'));
  EXPECT_NE(hostile, "a b");
  EXPECT_TRUE(common::IsValidRequestId(hostile)) << hostile;
  for (const std::string& head : {"GET /a HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-431\r\nX-Big: " +
                                      std::string(2000, 'y') + "\r\n\r\n",
                                  std::string("NOT HTTP\r\n\r\n")}) {
    const std::string id = RequestIdOfReply(head);
    EXPECT_TRUE(common::IsValidRequestId(id)) << id;
  }
}

TEST_F(HttpServerTest, EarlyRepliesCarryTheConfiguredHeaders) {
  HttpServerOptions options;
  options.max_body_bytes = 10;
  options.early_reply_headers = {{"Vary", "Origin"}};
  StartServer(options);
  EXPECT_EQ(RequestIdOfReply(
                "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n" + std::string(11, 'x'),
                "Vary"),
            "Origin");
  EXPECT_EQ(RequestIdOfReply("NOT HTTP\r\n\r\n", "Vary"), "Origin");
}

TEST_F(HttpServerTest, ConnectionCapRepliesCarryARequestId) {
  HttpServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  auto first = Connect();
  EXPECT_EQ(Exchange(first, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "200 GET /a 0");
  const std::string id = RequestIdOfReply("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(common::IsValidRequestId(id)) << id;
}

TEST_F(HttpServerTest, BodyLimitAskedPerRequestOnceItsHeadIsRead) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  options.body_limit = [](absl::string_view method, absl::string_view target) -> size_t {
    return method == "POST" && absl::StartsWith(target, "/small") ? 10 : 1000;
  };
  options.largest_body_limit = 1000;
  StartServer(options);
  auto socket = Connect();
  EXPECT_EQ(Exchange(socket, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" +
                                 std::string(500, 'x')),
            "200 POST /b 500");  // the route's limit, above max_body_bytes
  EXPECT_EQ(Exchange(socket, "POST /small?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n" +
                                 std::string(10, 'x')),
            "200 POST /small?q=1 10");
  auto over = Connect();
  std::string reply = Exchange(
      over, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n" + std::string(11, 'x'));
  EXPECT_THAT(reply, HasSubstr("413"));
  EXPECT_THAT(reply, HasSubstr("larger than 10 bytes"));
  EXPECT_THAT(reply, HasSubstr("[close]"));
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimAnswer) {
  StartServer(HttpServerOptions());
  auto socket = Connect();
  boost::asio::write(socket, boost::asio::buffer(std::string(
      "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")));
  boost::asio::streambuf interim;
  boost::asio::read_until(socket, interim, "\r\n\r\n");
  const std::string head(boost::asio::buffers_begin(interim.data()),
                         boost::asio::buffers_begin(interim.data()) + 12);
  EXPECT_EQ(head, "HTTP/1.1 100");
  interim.consume(interim.size());
  EXPECT_EQ(Exchange(socket, "ab"), "200 POST /c 2");
}

// Many clients at once, each with several requests on one keep-alive connection.
TEST_F(HttpServerTest, ConcurrentKeepAliveClients) {
  StartServer(HttpServerOptions());
  constexpr int kClients = 16;
  constexpr int kRequests = 20;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket socket(ioc);
      socket.connect({boost::asio::ip::make_address("127.0.0.1"),
                      static_cast<unsigned short>(server_->port())});
      for (int r = 0; r < kRequests; ++r) {
        const std::string path = "/c" + std::to_string(c) + "/" + std::to_string(r);
        if (Exchange(socket, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n") ==
            "200 GET " + path + " 0") {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_LE(server_->connections(), kClients);
}

TEST_F(HttpServerTest, ConnectionCapAnswers503) {
  HttpServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  auto first = Connect();
  EXPECT_EQ(Exchange(first, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "200 GET /a 0");
  auto second = Connect();
  const std::string reply = Exchange(second, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(reply, HasSubstr("503"));
  EXPECT_THAT(reply, HasSubstr("TOO_MANY_CONNECTIONS"));
  // The first connection still works.
  EXPECT_EQ(Exchange(first, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), "200 GET /b 0");
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  HttpServerOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  StartServer(options);
  auto socket = Connect();
  // Nothing sent: the server closes the connection (a read sees the end of the stream).
  char byte;
  boost::beast::error_code ec;
  socket.read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();
}

}  // namespace
}  // namespace marketplace::gateway
