// Identity's real tokens through the shared auth stack of every other service: the real
// identity_server binary issues them, and a second gRPC server (standing for any service)
// verifies them locally with common/auth and identity_client's KeyFetcher.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/echo.grpc.pb.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/identity_client/identity_client.h"
#include "common/executor.h"
#include "common/server/unary_call.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_process.h"

namespace marketplace::testing {
namespace {

namespace v1 = ::marketplace::identity::v1;
using bench::v1::Echo;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kIssuer[] = "marketplace-identity";

// A service protected like every service of the platform: no public method, tokens verified
// locally. Echo answers "<subject>|<roles>|<scopes>" of the caller.
class ProtectedEcho final : public Echo::CallbackService {
 public:
  explicit ProtectedEcho(common::UnaryRunner* runner) : runner_(runner) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bench::v1::EchoRequest*,
                                 bench::v1::EchoResponse* response) override {
    return runner_->Run(context, "/marketplace.bench.v1.Echo/Echo",
                        [response](const common::CallContext& call) -> absl::Status {
                          response->set_message(absl::StrCat(
                              call.caller->subject, "|", absl::StrJoin(call.caller->roles, ","),
                              "|", absl::StrJoin(call.caller->scopes, ",")));
                          return absl::OkStatus();
                        });
  }

 private:
  common::UnaryRunner* runner_;
};

// The second server: its own verifier (clock controlled by the test), authenticator, runner.
class ProtectedServer {
 public:
  explicit ProtectedServer(std::shared_ptr<grpc::Channel> identity)
      : clock_(absl::Now()),
        keys_(std::move(identity)),
        verifier_(&keys_, {.issuer = kIssuer, .audience = "catalog"}, &clock_),
        authenticator_(&verifier_, {}),
        executor_(2, 16),
        runner_(&executor_, &authenticator_),
        service_(&runner_) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  ~ProtectedServer() {
    server_->Shutdown();
    executor_.Shutdown();
  }

  // Calls Echo with `token` (none when empty).
  grpc::Status Call(const std::string& token, std::string* answer = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) common::auth::AttachBearerToken(&ctx, token);
    bench::v1::EchoRequest req;
    bench::v1::EchoResponse resp;
    grpc::Status status = Echo::NewStub(channel_)->Echo(&ctx, req, &resp);
    if (answer != nullptr) *answer = resp.message();
    return status;
  }

  common::ManualClock& clock() { return clock_; }

 private:
  common::ManualClock clock_;
  common::identity_client::IdentityKeyFetcher keys_;
  common::auth::TokenVerifier verifier_;
  common::auth::Authenticator authenticator_;
  common::BoundedExecutor executor_;
  common::UnaryRunner runner_;
  ProtectedEcho service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

std::string KidOf(const std::string& token) {
  auto parsed = common::auth::ParseJwt(token);
  return parsed.ok() ? parsed->header.kid : "";
}

class IdentityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = IdentityProcess::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    identity_ = started->release();
  }
  static void TearDownTestSuite() {
    delete identity_;
    identity_ = nullptr;
  }

  v1::Identity::Stub* stub() { return identity_->stub(); }

  std::string AdminToken() {
    auto login = Login(stub(), identity_->admin_email(), identity_->admin_password());
    EXPECT_TRUE(login.ok()) << login.status();
    return login.ok() ? login->tokens().access_token() : "";
  }

  static IdentityProcess* identity_;
};

IdentityProcess* IdentityE2eTest::identity_ = nullptr;

TEST_F(IdentityE2eTest, SignUpLoginAndCallAnotherServiceWithTheAccessToken) {
  ProtectedServer other(identity_->channel());
  auto login = SignUpAndLogin(stub(), v1::SELLER, UniqueEmail("seller"));
  ASSERT_TRUE(login.ok()) << login.status();
  const std::string& token = login->tokens().access_token();

  // The token has the documented shape.
  auto parsed = common::auth::ParseJwt(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header.alg, "EdDSA");
  EXPECT_EQ(parsed->header.typ, "at+jwt");
  EXPECT_FALSE(parsed->header.kid.empty());
  EXPECT_EQ(parsed->claims.issuer, kIssuer);
  EXPECT_EQ(parsed->claims.subject, login->account().account_id());
  EXPECT_THAT(parsed->claims.roles, ElementsAre("SELLER"));
  EXPECT_THAT(parsed->claims.audiences, ::testing::Contains("catalog"));
  EXPECT_FALSE(parsed->claims.token_id.empty());
  EXPECT_LE(parsed->claims.expires_at - parsed->claims.issued_at, absl::Minutes(15));

  std::string answer;
  grpc::Status status = other.Call(token, &answer);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(answer, absl::StrCat(login->account().account_id(), "|SELLER|"));
}

TEST_F(IdentityE2eTest, MissingTamperedForeignAndExpiredTokensAreRefused) {
  ProtectedServer other(identity_->channel());
  auto login = SignUpAndLogin(stub(), v1::BUYER, UniqueEmail("buyer"));
  ASSERT_TRUE(login.ok()) << login.status();
  const std::string token = login->tokens().access_token();

  EXPECT_EQ(other.Call("").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // One character of the payload changed: the signature no longer matches.
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload = parts[1];
  payload[payload.size() / 2] = payload[payload.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(other.Call(absl::StrCat(parts[0], ".", payload, ".", parts[2])).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The signature of another token.
  auto second = Login(stub(), login->account().email(), kGoodPassword);
  ASSERT_TRUE(second.ok());
  std::vector<std::string> other_parts = absl::StrSplit(second->tokens().access_token(), '.');
  EXPECT_EQ(other.Call(absl::StrCat(parts[0], ".", parts[1], ".", other_parts[2])).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Same claims, the same kid, signed with a key identity never had.
  auto foreign_key = common::auth::GenerateEd25519KeyPair();
  ASSERT_TRUE(foreign_key.ok());
  auto parsed = common::auth::ParseJwt(token);
  ASSERT_TRUE(parsed.ok());
  auto forged = common::auth::SignJwt(parsed->header, parsed->claims, foreign_key->private_key);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(other.Call(*forged).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // The genuine token works, until it expires (15 min + the 60 s skew on the verifier's clock).
  EXPECT_TRUE(other.Call(token).ok());
  other.clock().Advance(absl::Minutes(17));
  grpc::Status expired = other.Call(token);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(IdentityE2eTest, KeyRotationKeepsOldTokensValidAndSignsNewOnesWithTheNextKey) {
  ProtectedServer other(identity_->channel());
  const std::string email = UniqueEmail("rotation");
  auto before = SignUpAndLogin(stub(), v1::BUYER, email);
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string old_token = before->tokens().access_token();
  const std::string old_kid = KidOf(old_token);
  ASSERT_TRUE(other.Call(old_token).ok());

  v1::RotateSigningKeyRequest rotate;
  rotate.set_request_id(absl::StrCat("rotate-", absl::ToUnixMicros(absl::Now())));
  v1::RotateSigningKeyResponse rotated;
  grpc::Status status =
      CallIdentity(stub(), &v1::Identity::Stub::RotateSigningKey, rotate, &rotated, AdminToken());
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rotated.previous_key().kid(), old_kid);
  EXPECT_NE(rotated.active_key().kid(), old_kid);

  // New tokens carry the new kid (other replicas switch within 5 s; this one may too).
  std::string new_token;
  const absl::Time end = absl::Now() + absl::Seconds(15);
  while (absl::Now() < end) {
    auto after = Login(stub(), email, kGoodPassword);
    ASSERT_TRUE(after.ok()) << after.status();
    new_token = after->tokens().access_token();
    if (KidOf(new_token) == rotated.active_key().kid()) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_EQ(KidOf(new_token), rotated.active_key().kid());

  // The running verifier already knew the new key (published as NEXT before the rotation).
  EXPECT_TRUE(other.Call(new_token).ok());
  EXPECT_TRUE(other.Call(old_token).ok());
  // A verifier that starts now still accepts the old token: the retired key stays published.
  ProtectedServer fresh(identity_->channel());
  EXPECT_TRUE(fresh.Call(old_token).ok());
  EXPECT_TRUE(fresh.Call(new_token).ok());

  v1::GetSigningKeysResponse keys;
  ASSERT_TRUE(
      CallIdentity(stub(), &v1::Identity::Stub::GetSigningKeys, v1::GetSigningKeysRequest(), &keys)
          .ok());
  ASSERT_GE(keys.keys_size(), 3);
  EXPECT_EQ(keys.keys(0).kid(), rotated.active_key().kid());
  EXPECT_EQ(keys.keys(0).state(), v1::SIGNING_KEY_ACTIVE);
  EXPECT_EQ(keys.keys(1).state(), v1::SIGNING_KEY_NEXT);
  EXPECT_EQ(keys.keys(2).kid(), old_kid);
  EXPECT_EQ(keys.keys(2).state(), v1::SIGNING_KEY_RETIRED);
}

TEST_F(IdentityE2eTest, ServiceAccountTokenCallsAnotherService) {
  ProtectedServer other(identity_->channel());
  v1::CreateServiceAccountRequest create;
  create.set_display_name("sellerkpi");
  create.add_scopes("identity.enforcement");
  create.add_scopes("catalog.listings.read");
  v1::CreateServiceAccountResponse created;
  grpc::Status status = CallIdentity(stub(), &v1::Identity::Stub::CreateServiceAccount, create,
                                     &created, AdminToken());
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(created.client_secret().empty());
  EXPECT_EQ(created.client_id(), created.account().account_id());
  EXPECT_EQ(created.account().role(), v1::SERVICE);

  // Raw grant.
  v1::IssueServiceTokenRequest issue;
  issue.set_client_id(created.client_id());
  issue.set_client_secret(created.client_secret());
  issue.add_scopes("catalog.listings.read");
  v1::IssueServiceTokenResponse token;
  status = CallIdentity(stub(), &v1::Identity::Stub::IssueServiceToken, issue, &token);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string answer;
  ASSERT_TRUE(other.Call(token.access_token(), &answer).ok());
  EXPECT_EQ(answer, absl::StrCat(created.client_id(), "|SERVICE|catalog.listings.read"));

  // Through the shared client, as services do: all the account's scopes, cached.
  common::identity_client::ServiceTokenSource source(
      identity_->channel(),
      {.client_id = created.client_id(), .client_secret = created.client_secret()});
  auto cached = source.Token();
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE(other.Call(*cached, &answer).ok());
  EXPECT_THAT(answer, HasSubstr("|SERVICE|"));
  EXPECT_THAT(answer, HasSubstr("identity.enforcement"));
  EXPECT_EQ(*source.Token(), *cached);
  EXPECT_EQ(source.fetches(), 1);

  // A wrong secret gets nothing.
  common::identity_client::ServiceTokenSource wrong(
      identity_->channel(), {.client_id = created.client_id(), .client_secret = "cs1_wrong"});
  EXPECT_EQ(wrong.Token().status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace marketplace::testing
