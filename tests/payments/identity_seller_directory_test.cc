// IdentitySellerDirectory against a small in-test fake of identity's gRPC API.
#include "services/payments/identity_seller_directory.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/client/channel.h"
#include "common/identity_client/identity_client.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::payments {
namespace {

namespace idv1 = marketplace::identity::v1;

class FakeIdentity final : public idv1::Identity::Service {
 public:
  grpc::Status IssueServiceToken(grpc::ServerContext*, const idv1::IssueServiceTokenRequest* req,
                                 idv1::IssueServiceTokenResponse* resp) override {
    if (req->client_secret() != "secret") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad secret");
    }
    resp->set_access_token("service-token");
    resp->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    return grpc::Status::OK;
  }
  grpc::Status GetSellerProfile(grpc::ServerContext* ctx, const idv1::GetSellerProfileRequest* req,
                                idv1::SellerProfile* resp) override {
    auto auth = ctx->client_metadata().find("authorization");
    if (auth == ctx->client_metadata().end() ||
        std::string(auth->second.data(), auth->second.size()) != "Bearer service-token") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token");
    }
    absl::string_view name = req->name();
    if (!absl::ConsumePrefix(&name, "accounts/") || !absl::ConsumeSuffix(&name, "/sellerProfile")) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name");
    }
    if (name == "approved") {
      resp->set_status(idv1::APPROVED);
      resp->mutable_application()->set_payout_account_ref("acct_42");
    } else if (name == "pending") {
      resp->set_status(idv1::PENDING);
    } else if (name == "suspended") {
      resp->set_status(idv1::SELLER_SUSPENDED);
    } else {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such seller");
    }
    return grpc::Status::OK;
  }
};

class IdentitySellerDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&identity_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = common::MakeChannel({.target = absl::StrCat("127.0.0.1:", port_)});
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  FakeIdentity identity_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(IdentitySellerDirectoryTest, OnlyApprovedSellersCount) {
  common::identity_client::ServiceTokenSource tokens(
      channel_, {.client_id = "payments", .client_secret = "secret"});
  IdentitySellerDirectory directory(channel_, &tokens);
  ASSERT_OK_AND_ASSIGN(SellerStatus approved, directory.GetSeller("approved"));
  EXPECT_TRUE(approved.found);
  EXPECT_TRUE(approved.approved_active);
  EXPECT_EQ(approved.payout_account, "acct_42");
  ASSERT_OK_AND_ASSIGN(SellerStatus pending, directory.GetSeller("pending"));
  EXPECT_TRUE(pending.found);
  EXPECT_FALSE(pending.approved_active);
  ASSERT_OK_AND_ASSIGN(SellerStatus suspended, directory.GetSeller("suspended"));
  EXPECT_FALSE(suspended.approved_active);
  ASSERT_OK_AND_ASSIGN(SellerStatus missing, directory.GetSeller("nobody"));
  EXPECT_FALSE(missing.found);
}

TEST_F(IdentitySellerDirectoryTest, NoTokenOrNoIdentityIsUnavailable) {
  common::identity_client::ServiceTokenSource wrong(
      channel_, {.client_id = "payments", .client_secret = "nope"});
  IdentitySellerDirectory directory(channel_, &wrong);
  EXPECT_EQ(directory.GetSeller("approved").status().code(), absl::StatusCode::kUnavailable);
  server_->Shutdown();
  server_.reset();
  common::identity_client::ServiceTokenSource tokens(
      channel_, {.client_id = "payments", .client_secret = "secret"});
  IdentitySellerDirectory down(channel_, &tokens, absl::Milliseconds(500));
  EXPECT_EQ(down.GetSeller("approved").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace marketplace::payments
