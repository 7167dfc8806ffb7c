#include "common/tls/transport_security.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "common/client/channel.h"
#include "common/server/server.h"
#include "common/tls/test_tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::TestPki;
using testing::TestTransportSecurity;

class TestEcho final : public Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoResponse* response) override {
    response->set_message(request->message());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// TLS that checks the server against the main CA and presents no client certificate.
std::shared_ptr<grpc::ChannelCredentials> ServerAuthOnly() {
  std::ifstream in(TestTransportSecurity().ca_file);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::string(std::istreambuf_iterator<char>(in), {});
  return grpc::SslCredentials(options);
}

void ExpectRefused(const absl::Status& status, absl::string_view flag) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), absl::StrCat("--", flag, ":"))) << status;
}

TEST(ValidateTransportSecurityTest, TlsOrAnExplicitInsecure) {
  ExpectRefused(ValidateTransportSecurity({}), "tls_cert_file");
  TransportSecurity insecure;
  insecure.insecure = true;
  EXPECT_TRUE(ValidateTransportSecurity(insecure).ok());
  TransportSecurity both = TestTransportSecurity();
  both.insecure = true;
  ExpectRefused(ValidateTransportSecurity(both), "insecure");
  EXPECT_TRUE(ValidateTransportSecurity(TestTransportSecurity()).ok());
  TransportSecurity no_ca = TestTransportSecurity();
  no_ca.ca_file.clear();
  EXPECT_TRUE(ValidateTransportSecurity(no_ca).ok());
}

TEST(ValidateTransportSecurityTest, NamesTheFlagOfABadFile) {
  TransportSecurity no_key = TestTransportSecurity();
  no_key.key_file.clear();
  ExpectRefused(ValidateTransportSecurity(no_key), "tls_key_file");
  TransportSecurity no_cert = TestTransportSecurity();
  no_cert.cert_file.clear();
  ExpectRefused(ValidateTransportSecurity(no_cert), "tls_cert_file");
  TransportSecurity missing = TestTransportSecurity();
  missing.cert_file = "/nonexistent/cert.pem";
  ExpectRefused(ValidateTransportSecurity(missing), "tls_cert_file");
  TransportSecurity key_as_cert = TestTransportSecurity();
  key_as_cert.cert_file = key_as_cert.key_file;
  ExpectRefused(ValidateTransportSecurity(key_as_cert), "tls_cert_file");
  TransportSecurity cert_as_key = TestTransportSecurity();
  cert_as_key.key_file = cert_as_key.cert_file;
  ExpectRefused(ValidateTransportSecurity(cert_as_key), "tls_key_file");
  TransportSecurity wrong_key = TestTransportSecurity();
  wrong_key.key_file = TestTransportSecurity(TestPki::kOther).key_file;
  absl::Status s = ValidateTransportSecurity(wrong_key);
  ExpectRefused(s, "tls_key_file");
  EXPECT_TRUE(absl::StrContains(s.message(), "is not the key of")) << s;
  TransportSecurity key_as_ca = TestTransportSecurity();
  key_as_ca.ca_file = key_as_ca.key_file;
  ExpectRefused(ValidateTransportSecurity(key_as_ca), "tls_ca_file");
}

class TlsServerTest : public ::testing::Test {
 protected:
  void Start(const TransportSecurity& security) {
    ServerOptions options;
    options.name = "test";
    options.listen_address = "127.0.0.1:0";
    options.health_address = "127.0.0.1:0";
    options.credentials = ServerCredentials(security);
    auto server = Server::Start(options, {{Echo::service_full_name(), &service_}}, {}, nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A new channel (own subchannel pool: a fresh handshake) to the TLS port.
  std::shared_ptr<grpc::Channel> Channel(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                         const std::string& host = "127.0.0.1",
                                         const std::string& server_name = "") {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
    return grpc::CreateCustomChannel(absl::StrCat(host, ":", server_->port()), credentials, args);
  }

  grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    EchoRequest request;
    request.set_message("hello");
    EchoResponse response;
    grpc::Status status = Echo::NewStub(channel)->Echo(&context, request, &response);
    if (status.ok()) EXPECT_EQ(response.message(), "hello");
    return status;
  }

  TestEcho service_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsServerTest, MutualTlsAcceptsOnlyClientsTheCaSigned) {
  Start(TestTransportSecurity());
  EXPECT_TRUE(Call(Channel(ChannelCredentials(TestTransportSecurity()))).ok());
  EXPECT_TRUE(Call(Channel(ChannelCredentials(TestTransportSecurity()), "localhost")).ok());
  // MakeChannel takes the process's credentials.
  SetProcessTransportSecurity(TestTransportSecurity());
  EXPECT_TRUE(Call(MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())})).ok());

  // Plaintext.
  EXPECT_EQ(Call(Channel(grpc::InsecureChannelCredentials())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Trusts the CA but has no client certificate.
  EXPECT_EQ(Call(Channel(ServerAuthOnly())).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A client certificate from another authority.
  TransportSecurity stranger = TestTransportSecurity(TestPki::kOther);
  stranger.ca_file = TestTransportSecurity().ca_file;
  EXPECT_EQ(Call(Channel(ChannelCredentials(stranger))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // A client that trusts another authority does not accept this server.
  TransportSecurity other_roots = TestTransportSecurity();
  other_roots.ca_file = TestTransportSecurity(TestPki::kOther).ca_file;
  EXPECT_EQ(Call(Channel(ChannelCredentials(other_roots))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // A server whose certificate does not name the host dialled is refused.
  EXPECT_EQ(Call(Channel(ChannelCredentials(TestTransportSecurity()), "127.0.0.1",
                         "identity.example"))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, WithoutACaBundleTheServerAsksForNoClientCertificate) {
  TransportSecurity server_only = TestTransportSecurity();
  server_only.ca_file.clear();
  Start(server_only);
  EXPECT_TRUE(Call(Channel(ServerAuthOnly())).ok());
  EXPECT_EQ(Call(Channel(grpc::InsecureChannelCredentials())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, ThePlaintextHealthPortServesHealthOnly) {
  Start(TestTransportSecurity());
  ASSERT_GT(server_->health_port(), 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->health_port()),
                                     grpc::InsecureChannelCredentials());
  for (const std::string service : {"", "liveness", Echo::service_full_name()}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    ASSERT_TRUE(Health::NewStub(channel)->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
  EXPECT_EQ(Call(channel).error_code(), grpc::StatusCode::UNIMPLEMENTED);

  // Shutting down shows NOT_SERVING on the health port too.
  std::thread stop([this] { server_->Shutdown(); });
  stop.join();
}

TEST_F(TlsServerTest, ARenewedCertificateIsServedWithoutARestart) {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/renewal");
  std::filesystem::create_directories(dir);
  auto copy = [](const std::string& from, const std::string& to) {
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  };
  TransportSecurity watched;
  watched.cert_file = dir + "/cert.pem";
  watched.key_file = dir + "/key.pem";
  watched.ca_file = dir + "/ca.pem";
  watched.reload_interval = absl::Seconds(1);
  copy(TestTransportSecurity().cert_file, watched.cert_file);
  copy(TestTransportSecurity().key_file, watched.key_file);
  copy(TestTransportSecurity().ca_file, watched.ca_file);
  Start(watched);
  // Clients present the main certificate; one trusts the main CA, one the other.
  TransportSecurity trusts_other = TestTransportSecurity();
  trusts_other.ca_file = TestTransportSecurity(TestPki::kOther).ca_file;
  ASSERT_TRUE(Call(Channel(ChannelCredentials(TestTransportSecurity()))).ok());
  ASSERT_FALSE(Call(Channel(ChannelCredentials(trusts_other))).ok());

  // The renewal: a certificate from the other authority, written in place (key first, as
  // a renewal writes them; the watcher skips a key that does not match its certificate).
  std::string key_tmp = watched.key_file + ".new", cert_tmp = watched.cert_file + ".new";
  copy(TestTransportSecurity(TestPki::kOther).key_file, key_tmp);
  copy(TestTransportSecurity(TestPki::kOther).cert_file, cert_tmp);
  std::filesystem::rename(key_tmp, watched.key_file);
  std::filesystem::rename(cert_tmp, watched.cert_file);

  // Waits (not a timing assertion) for the watcher's next read, up to 30 s.
  bool renewed = false;
  for (absl::Time end = absl::Now() + absl::Seconds(30); !renewed && absl::Now() < end;) {
    renewed = Call(Channel(ChannelCredentials(trusts_other))).ok();
    if (!renewed) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed) << "the renewed certificate was not served";
  EXPECT_FALSE(Call(Channel(ChannelCredentials(TestTransportSecurity()))).ok());
}

}  // namespace
}  // namespace marketplace::common
