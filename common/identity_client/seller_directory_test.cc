// IdentitySellerDirectory against a small in-process stand-in for identity's gRPC API
// (IssueServiceToken + GetSellerProfile), as the real one is a remote service.
#include "common/identity_client/identity_seller_directory.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace marketplace::common::identity_client {
namespace {

namespace idv1 = marketplace::identity::v1;

class FakeIdentity final : public idv1::Identity::Service {
 public:
  grpc::Status IssueServiceToken(grpc::ServerContext*, const idv1::IssueServiceTokenRequest* req,
                                 idv1::IssueServiceTokenResponse* resp) override {
    absl::MutexLock lock(&mu_);
    ++tokens_issued_;
    if (req->client_id() != "catalog" || req->client_secret() != "s3cret") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad client credentials");
    }
    resp->set_access_token("service-token");
    resp->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 900);
    resp->set_token_type("Bearer");
    return grpc::Status::OK;
  }

  grpc::Status GetSellerProfile(grpc::ServerContext* ctx, const idv1::GetSellerProfileRequest* req,
                                idv1::SellerProfile* resp) override {
    absl::MutexLock lock(&mu_);
    auto auth = ctx->client_metadata().find("authorization");
    if (auth == ctx->client_metadata().end() ||
        std::string(auth->second.data(), auth->second.size()) != "Bearer service-token") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no service token");
    }
    if (down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
    last_name_ = req->name();
    last_deadline_ = absl::FromChrono(ctx->deadline());
    auto rid = ctx->client_metadata().find("x-request-id");
    last_request_id_ = rid == ctx->client_metadata().end()
                           ? ""
                           : std::string(rid->second.data(), rid->second.size());
    if (req->name().find(' ') != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: malformed account id");
    }
    for (const auto& [id, status] : sellers_) {
      if (req->name() == absl::StrCat("accounts/", id, "/sellerProfile")) {
        resp->set_name(req->name());
        resp->set_account_id(id);
        resp->set_status(status);
        resp->mutable_application()->set_payout_account_ref(absl::StrCat("acct_", id));
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such seller");
  }

  void Set(const std::string& id, idv1::SellerStatus status) {
    absl::MutexLock lock(&mu_);
    sellers_[id] = status;
  }
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  std::string last_name() {
    absl::MutexLock lock(&mu_);
    return last_name_;
  }
  absl::Time last_deadline() {
    absl::MutexLock lock(&mu_);
    return last_deadline_;
  }
  std::string last_request_id() {
    absl::MutexLock lock(&mu_);
    return last_request_id_;
  }
  int tokens_issued() {
    absl::MutexLock lock(&mu_);
    return tokens_issued_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, idv1::SellerStatus> sellers_;
  bool down_ = false;
  std::string last_name_;
  absl::Time last_deadline_;
  std::string last_request_id_;
  int tokens_issued_ = 0;
};

class SellerDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&identity_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(); }

  FakeIdentity identity_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(SellerDirectoryTest, MapsIdentitysSellerStatus) {
  ServiceTokenSource tokens(
      channel_, {.client_id = "catalog", .client_secret = "s3cret"});
  IdentitySellerDirectory directory(channel_, &tokens);
  identity_.Set("s1", idv1::APPROVED);
  identity_.Set("s2", idv1::SELLER_SUSPENDED);
  identity_.Set("s3", idv1::PENDING);

  absl::StatusOr<SellerStatus> s1 = directory.GetSeller("s1");
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_TRUE(s1->found);
  EXPECT_TRUE(s1->approved_active);
  EXPECT_EQ(identity_.last_name(), "accounts/s1/sellerProfile");
  EXPECT_EQ(s1->payout_account, "acct_s1");

  for (const char* id : {"s2", "s3"}) {
    absl::StatusOr<SellerStatus> s = directory.GetSeller(id);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(s->found) << id;
    EXPECT_FALSE(s->approved_active) << id;
  }
  absl::StatusOr<SellerStatus> missing = directory.GetSeller("nobody");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->found);
  EXPECT_FALSE(missing->approved_active);
  // One token served every call.
  EXPECT_EQ(identity_.tokens_issued(), 1);

  identity_.SetDown(true);
  EXPECT_TRUE(absl::IsUnavailable(directory.GetSeller("s1").status()));
}

TEST_F(SellerDirectoryTest, WrongCredentialsAreUnavailableNotApproval) {
  ServiceTokenSource tokens(
      channel_, {.client_id = "catalog", .client_secret = "wrong"});
  IdentitySellerDirectory directory(channel_, &tokens);
  identity_.Set("s1", idv1::APPROVED);
  absl::StatusOr<SellerStatus> s = directory.GetSeller("s1");
  EXPECT_TRUE(absl::IsUnavailable(s.status())) << s.status();
}

// A lookup made for a caller carries the caller's deadline (not the directory's longer
// timeout) and its x-request-id.
TEST_F(SellerDirectoryTest, CarriesTheCallersDeadlineAndRequestId) {
  ServiceTokenSource tokens(channel_, {.client_id = "catalog", .client_secret = "s3cret"});
  IdentitySellerDirectory directory(channel_, &tokens, absl::Seconds(30));
  identity_.Set("s1", idv1::APPROVED);
  const absl::Time deadline = absl::Now() + absl::Seconds(4);
  absl::StatusOr<SellerStatus> s =
      directory.GetSellerFor("s1", CallOrigin{deadline, "req-abc-123"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_LE(identity_.last_deadline(), deadline + absl::Milliseconds(50));
  EXPECT_GT(identity_.last_deadline(), deadline - absl::Seconds(2));
  EXPECT_EQ(identity_.last_request_id(), "req-abc-123");
}

// An id identity refuses as malformed is INVALID_ARGUMENT: a retry can never succeed.
TEST_F(SellerDirectoryTest, MalformedIdIsInvalidArgumentNotUnavailable) {
  ServiceTokenSource tokens(channel_, {.client_id = "catalog", .client_secret = "s3cret"});
  IdentitySellerDirectory directory(channel_, &tokens);
  absl::StatusOr<SellerStatus> s = directory.GetSeller(" s1 ");
  EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
}

}  // namespace
}  // namespace marketplace::common::identity_client
