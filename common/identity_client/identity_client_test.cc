#include "common/identity_client/identity_client.h"

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace marketplace::common::identity_client {
namespace {

namespace v1 = ::marketplace::identity::v1;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Identity's two client-facing methods, with what a test needs to steer and observe them.
class FakeIdentity final : public v1::Identity::Service {
 public:
  grpc::Status GetSigningKeys(grpc::ServerContext*, const v1::GetSigningKeysRequest*,
                              v1::GetSigningKeysResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++key_calls_;
    *response = keys_;
    return grpc::Status::OK;
  }

  grpc::Status IssueServiceToken(grpc::ServerContext*, const v1::IssueServiceTokenRequest* request,
                                 v1::IssueServiceTokenResponse* response) override {
    absl::Notification* hold = nullptr;
    {
      absl::MutexLock lock(&mu_);
      hold = std::exchange(hold_, nullptr);
      ++token_calls_;
    }
    if (hold != nullptr) hold->WaitForNotification();  // identity not answering
    absl::MutexLock lock(&mu_);
    last_request_ = *request;
    if (request->client_secret() != "cs1_right") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid client");
    }
    // Slow enough that concurrent callers overlap.
    absl::SleepFor(absl::Milliseconds(50));
    response->set_access_token("token-" + std::to_string(token_calls_));
    response->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire_at_));
    response->set_token_type("Bearer");
    return grpc::Status::OK;
  }

  void SetKeys(v1::GetSigningKeysResponse keys) {
    absl::MutexLock lock(&mu_);
    keys_ = std::move(keys);
  }
  // The next IssueServiceToken answers only once `hold` is notified.
  void HoldNextToken(absl::Notification* hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  void SetExpiry(absl::Time t) {
    absl::MutexLock lock(&mu_);
    expire_at_ = t;
  }
  int token_calls() {
    absl::MutexLock lock(&mu_);
    return token_calls_;
  }
  v1::IssueServiceTokenRequest last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

 private:
  absl::Mutex mu_;
  v1::GetSigningKeysResponse keys_ ABSL_GUARDED_BY(mu_);
  absl::Time expire_at_ ABSL_GUARDED_BY(mu_);
  int key_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int token_calls_ ABSL_GUARDED_BY(mu_) = 0;
  v1::IssueServiceTokenRequest last_request_ ABSL_GUARDED_BY(mu_);
  absl::Notification* hold_ ABSL_GUARDED_BY(mu_) = nullptr;
};

class IdentityClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  FakeIdentity fake_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(IdentityClientTest, KeyFetcherReturnsEveryPublishedKeyAndVerifiesRealTokens) {
  auto active = auth::GenerateEd25519KeyPair();
  auto next = auth::GenerateEd25519KeyPair();
  ASSERT_TRUE(active.ok() && next.ok());
  v1::GetSigningKeysResponse keys;
  auto* k1 = keys.add_keys();
  k1->set_kid("k-active");
  k1->set_alg("EdDSA");
  k1->set_public_key(active->public_key);
  k1->set_state(v1::SIGNING_KEY_ACTIVE);
  auto* k2 = keys.add_keys();
  k2->set_kid("k-next");
  k2->set_alg("EdDSA");
  k2->set_public_key(next->public_key);
  k2->set_state(v1::SIGNING_KEY_NEXT);
  fake_.SetKeys(keys);

  IdentityKeyFetcher fetcher(channel_);
  auto fetched = fetcher.FetchKeys();
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  std::vector<std::string> kids;
  for (const auto& k : *fetched) kids.push_back(k.kid);
  EXPECT_THAT(kids, UnorderedElementsAre("k-active", "k-next"));

  // A verifier on this fetcher accepts a token signed by the next key (published ahead).
  auth::TokenVerifier verifier(&fetcher, {.issuer = "iss", .audience = "catalog"},
                               SystemClock::Get());
  auth::JwtHeader header;
  header.kid = "k-next";
  auth::JwtClaims claims;
  claims.issuer = "iss";
  claims.subject = "acct";
  claims.audiences = {"catalog"};
  claims.issued_at = absl::Now();
  claims.expires_at = absl::Now() + absl::Minutes(5);
  claims.token_id = "jti";
  claims.roles = {"BUYER"};
  auto token = auth::SignJwt(header, claims, next->private_key);
  ASSERT_TRUE(token.ok()) << token.status();
  auto caller = verifier.Verify(*token);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "acct");
  EXPECT_THAT(caller->roles, ElementsAre("BUYER"));
}

TEST_F(IdentityClientTest, KeyFetcherReportsNoKeysAndUnreachableIdentity) {
  IdentityKeyFetcher fetcher(channel_);
  EXPECT_EQ(fetcher.FetchKeys().status().code(), absl::StatusCode::kInternal);

  server_->Shutdown();
  server_.reset();
  auto unreachable = fetcher.FetchKeys();
  EXPECT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(IdentityClientTest, ServiceTokenIsCachedUntilShortlyBeforeExpiry) {
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  fake_.SetExpiry(clock.Now() + absl::Minutes(15));
  ServiceTokenSource source(channel_,
                            {.client_id = "svc1",
                             .client_secret = "cs1_right",
                             .scopes = {"identity.enforcement"},
                             .refresh_before_expiry = absl::Seconds(60)},
                            &clock);
  auto first = source.Token();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "token-1");
  EXPECT_EQ(fake_.last_request().client_id(), "svc1");
  EXPECT_EQ(fake_.last_request().client_secret(), "cs1_right");
  EXPECT_THAT(fake_.last_request().scopes(), ElementsAre("identity.enforcement"));

  clock.Advance(absl::Minutes(13));
  EXPECT_EQ(*source.Token(), "token-1");
  EXPECT_EQ(source.fetches(), 1);

  // Within the last minute before expiry: renewed.
  clock.Advance(absl::Minutes(1) + absl::Seconds(1));
  fake_.SetExpiry(clock.Now() + absl::Minutes(15));
  EXPECT_EQ(*source.Token(), "token-2");
  EXPECT_EQ(source.fetches(), 2);

  source.Invalidate();
  EXPECT_EQ(*source.Token(), "token-3");
}

TEST_F(IdentityClientTest, ConcurrentCallersShareOneRenewal) {
  fake_.SetExpiry(absl::Now() + absl::Minutes(15));
  ServiceTokenSource source(channel_, {.client_id = "svc1", .client_secret = "cs1_right"});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto token = source.Token();
      if (token.ok() && *token == "token-1") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(fake_.token_calls(), 1);
}

// A caller that saw its token refused (Invalidate) does not wait for a renewal in flight, and
// the token that renewal brings back is not kept: it was asked for before the refusal.
TEST_F(IdentityClientTest, InvalidateNeverWaitsForARenewalInFlight) {
  fake_.SetExpiry(absl::Now() + absl::Minutes(15));
  ServiceTokenSource source(channel_, {.client_id = "svc1", .client_secret = "cs1_right"});
  absl::Notification hold;
  fake_.HoldNextToken(&hold);
  absl::StatusOr<std::string> first;
  std::thread renewing([&] { first = source.Token(); });
  while (fake_.token_calls() < 1) absl::SleepFor(absl::Milliseconds(1));
  absl::Notification invalidated;
  std::thread refused([&] {
    source.Invalidate();
    invalidated.Notify();
  });
  EXPECT_TRUE(invalidated.WaitForNotificationWithTimeout(absl::Seconds(2)));
  hold.Notify();
  renewing.join();
  refused.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "token-1");
  absl::StatusOr<std::string> next = source.Token();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "token-2");
  EXPECT_EQ(fake_.token_calls(), 2);
}

TEST_F(IdentityClientTest, ErrorsAreReturnedAndNotCached) {
  fake_.SetExpiry(absl::Now() + absl::Minutes(15));
  ServiceTokenSource source(channel_, {.client_id = "svc1", .client_secret = "cs1_wrong"});
  EXPECT_EQ(source.Token().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(source.Token().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(fake_.token_calls(), 2);
}

}  // namespace
}  // namespace marketplace::common::identity_client
