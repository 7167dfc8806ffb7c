// The Identity API over gRPC against the real identity_server binary on MariaDB: every method,
// the error codes its documentation promises, and the permission matrix methods x roles.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_process.h"

namespace marketplace::testing {
namespace {

namespace v1 = ::marketplace::identity::v1;
using Stub = v1::Identity::Stub;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::SizeIs;

constexpr grpc::StatusCode OK = grpc::StatusCode::OK;
constexpr grpc::StatusCode PD = grpc::StatusCode::PERMISSION_DENIED;
constexpr grpc::StatusCode UN = grpc::StatusCode::UNAUTHENTICATED;

// Who calls: a role, or nobody.
enum class Who { kBuyer, kSeller, kSupportAgent, kModerator, kAdmin, kService, kAnonymous };
constexpr Who kEveryone[] = {Who::kBuyer, Who::kSeller,  Who::kSupportAgent, Who::kModerator,
                             Who::kAdmin, Who::kService, Who::kAnonymous};

std::string WhoName(Who who) {
  switch (who) {
    case Who::kBuyer:
      return "BUYER";
    case Who::kSeller:
      return "SELLER";
    case Who::kSupportAgent:
      return "SUPPORT_AGENT";
    case Who::kModerator:
      return "MODERATOR";
    case Who::kAdmin:
      return "ADMIN";
    case Who::kService:
      return "SERVICE";
    case Who::kAnonymous:
      return "anonymous";
  }
  return "?";
}

// A caller with a fresh session (or service token).
struct Caller {
  std::string token;
  std::string account_id;
  std::string email;
  std::string password;
};

v1::SellerApplication GoodApplication() {
  v1::SellerApplication a;
  a.set_legal_name("Example Trading GmbH");
  a.set_registration_number("HRB 12345");
  a.set_country_code("DE");
  a.set_payout_account_ref("payout:acct_123");
  a.set_contact_email("onboarding@example.com");
  a.set_contact_phone("+4915112345678");
  return a;
}

class IdentityApiTest : public ::testing::Test {
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

  Stub* stub() { return identity_->stub(); }

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response, const std::string& token = "") {
    return CallIdentity(stub(), method, request, response, token);
  }

  std::string AdminToken() {
    auto login = Login(stub(), identity_->admin_email(), identity_->admin_password());
    EXPECT_TRUE(login.ok()) << login.status() << "\n" << identity_->process().Output();
    return login.ok() ? login->tokens().access_token() : "";
  }

  Caller Human(v1::Role role) {
    Caller c;
    c.email = UniqueEmail(v1::Role_Name(role));
    c.password = kGoodPassword;
    if (role == v1::BUYER || role == v1::SELLER) {
      auto login = SignUpAndLogin(stub(), role, c.email);
      EXPECT_TRUE(login.ok()) << login.status();
      if (!login.ok()) return c;
      c.token = login->tokens().access_token();
      c.account_id = login->account().account_id();
      return c;
    }
    v1::CreateStaffAccountRequest req;
    req.set_email(c.email);
    req.set_password(c.password);
    req.set_display_name("Staff member");
    req.set_role(role);
    v1::Account account;
    grpc::Status s = Call(&Stub::CreateStaffAccount, req, &account, AdminToken());
    EXPECT_TRUE(s.ok()) << s.error_message();
    auto login = Login(stub(), c.email, c.password);
    EXPECT_TRUE(login.ok()) << login.status();
    if (!login.ok()) return c;
    c.token = login->tokens().access_token();
    c.account_id = login->account().account_id();
    return c;
  }

  // A SERVICE with every scope identity interprets.
  Caller Service(std::vector<std::string> scopes = {"identity.accounts.read",
                                                    "identity.enforcement",
                                                    "identity.tokens.introspect"}) {
    v1::CreateServiceAccountRequest req;
    req.set_display_name("svc");
    for (const auto& s : scopes) req.add_scopes(s);
    v1::CreateServiceAccountResponse created;
    grpc::Status s = Call(&Stub::CreateServiceAccount, req, &created, AdminToken());
    EXPECT_TRUE(s.ok()) << s.error_message();
    Caller c;
    c.account_id = created.client_id();
    c.password = created.client_secret();
    v1::IssueServiceTokenRequest issue;
    issue.set_client_id(created.client_id());
    issue.set_client_secret(created.client_secret());
    v1::IssueServiceTokenResponse token;
    s = Call(&Stub::IssueServiceToken, issue, &token);
    EXPECT_TRUE(s.ok()) << s.error_message();
    c.token = token.access_token();
    return c;
  }

  Caller Make(Who who) {
    switch (who) {
      case Who::kBuyer:
        return Human(v1::BUYER);
      case Who::kSeller:
        return Human(v1::SELLER);
      case Who::kSupportAgent:
        return Human(v1::SUPPORT_AGENT);
      case Who::kModerator:
        return Human(v1::MODERATOR);
      // A fresh ADMIN, so that a cell changing its password or sessions leaves the
      // bootstrap admin alone.
      case Who::kAdmin:
        return Human(v1::ADMIN);
      case Who::kService:
        return Service();
      case Who::kAnonymous:
        return Caller{};
    }
    return Caller{};
  }

  // A SELLER with a pending application.
  Caller PendingSeller() {
    Caller seller = Human(v1::SELLER);
    v1::SubmitSellerApplicationRequest req;
    req.set_name("accounts/me/sellerProfile");
    *req.mutable_application() = GoodApplication();
    v1::SellerProfile profile;
    grpc::Status s = Call(&Stub::SubmitSellerApplication, req, &profile, seller.token);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return seller;
  }

  static IdentityProcess* identity_;
};

IdentityProcess* IdentityApiTest::identity_ = nullptr;

// --- the permission matrix -------------------------------------------------------------------

TEST_F(IdentityApiTest, PermissionMatrixOfEveryMethodAndRole) {
  // Shared targets. Each cell gets a fresh caller, so what one cell changes (a logout, a
  // password) cannot decide another.
  Caller other_buyer = Human(v1::BUYER);
  Caller other_seller = PendingSeller();
  Caller matrix_service = Service();
  const std::string other_name = "accounts/" + other_buyer.account_id;

  using Body = std::function<grpc::Status(const Caller& caller)>;
  struct Row {
    std::string method;
    Body body;
    // BUYER, SELLER, SUPPORT_AGENT, MODERATOR, ADMIN, SERVICE, anonymous.
    std::vector<grpc::StatusCode> expected;
  };
  std::vector<Row> rows = {
      {"SignUp",
       [&](const Caller& c) {
         v1::SignUpRequest r;
         r.set_email(UniqueEmail("matrix.signup"));
         r.set_password(kGoodPassword);
         r.set_display_name("New");
         r.set_role(v1::BUYER);
         v1::Account out;
         return Call(&Stub::SignUp, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, OK}},
      {"Login",
       [&](const Caller& c) {
         v1::LoginRequest r;
         r.set_email(other_buyer.email);
         r.set_password(kGoodPassword);
         v1::LoginResponse out;
         return Call(&Stub::Login, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, OK}},
      {"RefreshSession",
       [&](const Caller& c) {
         auto login = Login(stub(), other_buyer.email, kGoodPassword);
         v1::RefreshSessionRequest r;
         r.set_refresh_token(login.ok() ? login->tokens().refresh_token() : "");
         v1::RefreshSessionResponse out;
         return Call(&Stub::RefreshSession, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, OK}},
      {"Logout",
       [&](const Caller& c) {
         v1::LogoutResponse out;
         return Call(&Stub::Logout, v1::LogoutRequest(), &out, c.token);
       },
       {OK, OK, OK, OK, OK, PD, UN}},
      {"LogoutAll",
       [&](const Caller& c) {
         v1::LogoutAllResponse out;
         return Call(&Stub::LogoutAll, v1::LogoutAllRequest(), &out, c.token);
       },
       {OK, OK, OK, OK, OK, PD, UN}},
      {"GetAccount (another account)",
       [&](const Caller& c) {
         v1::GetAccountRequest r;
         r.set_name(other_name);
         v1::Account out;
         return Call(&Stub::GetAccount, r, &out, c.token);
       },
       {PD, PD, OK, OK, OK, OK, UN}},
      {"GetAccount (own)",
       [&](const Caller& c) {
         v1::GetAccountRequest r;
         r.set_name(c.token.empty() ? "accounts/" + other_buyer.account_id : "accounts/me");
         v1::Account out;
         return Call(&Stub::GetAccount, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, UN}},
      {"ListAccounts",
       [&](const Caller& c) {
         v1::ListAccountsResponse out;
         return Call(&Stub::ListAccounts, v1::ListAccountsRequest(), &out, c.token);
       },
       {PD, PD, PD, PD, OK, PD, UN}},
      {"UpdateProfile (own)",
       [&](const Caller& c) {
         v1::UpdateProfileRequest r;
         r.mutable_account()->set_name(c.token.empty() ? other_name : "accounts/me");
         r.mutable_account()->set_display_name("Renamed");
         r.mutable_update_mask()->add_paths("display_name");
         v1::Account out;
         return Call(&Stub::UpdateProfile, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, PD, UN}},
      {"UpdateProfile (another account)",
       [&](const Caller& c) {
         v1::UpdateProfileRequest r;
         r.mutable_account()->set_name(other_name);
         r.mutable_account()->set_display_name("Hijacked");
         r.mutable_update_mask()->add_paths("display_name");
         v1::Account out;
         return Call(&Stub::UpdateProfile, r, &out, c.token);
       },
       {PD, PD, PD, PD, PD, PD, UN}},
      {"ChangePassword (own)",
       [&](const Caller& c) {
         v1::ChangePasswordRequest r;
         r.set_name(c.token.empty() ? other_name : "accounts/me");
         r.set_current_password(c.password);
         r.set_new_password("a different passphrase of mine 7");
         v1::ChangePasswordResponse out;
         return Call(&Stub::ChangePassword, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, PD, UN}},
      {"GetSigningKeys",
       [&](const Caller& c) {
         v1::GetSigningKeysResponse out;
         return Call(&Stub::GetSigningKeys, v1::GetSigningKeysRequest(), &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, OK}},
      {"RotateSigningKey",
       [&](const Caller& c) {
         v1::RotateSigningKeyResponse out;
         return Call(&Stub::RotateSigningKey, v1::RotateSigningKeyRequest(), &out, c.token);
       },
       {PD, PD, PD, PD, OK, PD, UN}},
      {"CreateStaffAccount",
       [&](const Caller& c) {
         v1::CreateStaffAccountRequest r;
         r.set_email(UniqueEmail("matrix.staff"));
         r.set_password(kGoodPassword);
         r.set_display_name("Agent");
         r.set_role(v1::SUPPORT_AGENT);
         v1::Account out;
         return Call(&Stub::CreateStaffAccount, r, &out, c.token);
       },
       {PD, PD, PD, PD, OK, PD, UN}},
      {"CreateServiceAccount",
       [&](const Caller& c) {
         v1::CreateServiceAccountRequest r;
         r.set_display_name("catalog");
         v1::CreateServiceAccountResponse out;
         return Call(&Stub::CreateServiceAccount, r, &out, c.token);
       },
       {PD, PD, PD, PD, OK, PD, UN}},
      {"IssueServiceToken",
       [&](const Caller& c) {
         v1::IssueServiceTokenRequest r;
         r.set_client_id(matrix_service.account_id);
         r.set_client_secret(matrix_service.password);
         v1::IssueServiceTokenResponse out;
         return Call(&Stub::IssueServiceToken, r, &out, c.token);
       },
       {OK, OK, OK, OK, OK, OK, OK}},
      {"SubmitSellerApplication (own)",
       [&](const Caller& c) {
         v1::SubmitSellerApplicationRequest r;
         r.set_name(c.token.empty() ? "accounts/" + other_seller.account_id + "/sellerProfile"
                                    : "accounts/me/sellerProfile");
         *r.mutable_application() = GoodApplication();
         v1::SellerProfile out;
         return Call(&Stub::SubmitSellerApplication, r, &out, c.token);
       },
       {PD, OK, PD, PD, PD, PD, UN}},
      {"ReviewSellerApplication",
       [&](const Caller& c) {
         Caller pending = PendingSeller();
         v1::ReviewSellerApplicationRequest r;
         r.set_name("accounts/" + pending.account_id + "/sellerProfile");
         r.set_decision(v1::APPROVE);
         v1::SellerProfile out;
         return Call(&Stub::ReviewSellerApplication, r, &out, c.token);
       },
       {PD, PD, PD, OK, OK, PD, UN}},
      {"GetSellerProfile (another seller)",
       [&](const Caller& c) {
         v1::GetSellerProfileRequest r;
         r.set_name("accounts/" + other_seller.account_id + "/sellerProfile");
         v1::SellerProfile out;
         return Call(&Stub::GetSellerProfile, r, &out, c.token);
       },
       {PD, PD, OK, OK, OK, OK, UN}},
      {"SuspendAccount (a buyer)",
       [&](const Caller& c) {
         Caller target = Human(v1::BUYER);
         v1::SuspendAccountRequest r;
         r.set_name("accounts/" + target.account_id);
         r.set_reason_code("FRAUD_SUSPECTED");
         r.set_reason("Matrix test");
         v1::Account out;
         return Call(&Stub::SuspendAccount, r, &out, c.token);
       },
       {PD, PD, PD, PD, OK, OK, UN}},
      {"ReinstateAccount (a buyer)",
       [&](const Caller& c) {
         v1::ReinstateAccountRequest r;
         r.set_name(other_name);
         r.set_reason_code("APPEAL_GRANTED");
         r.set_reason("Matrix test");
         v1::Account out;
         return Call(&Stub::ReinstateAccount, r, &out, c.token);
       },
       {PD, PD, PD, PD, OK, OK, UN}},
      {"IntrospectToken",
       [&](const Caller& c) {
         v1::IntrospectTokenRequest r;
         r.set_token(other_buyer.token);
         v1::IntrospectTokenResponse out;
         return Call(&Stub::IntrospectToken, r, &out, c.token);
       },
       {PD, PD, PD, PD, OK, OK, UN}},
  };

  int cells = 0;
  for (const Row& row : rows) {
    ASSERT_EQ(row.expected.size(), std::size(kEveryone)) << row.method;
    for (size_t i = 0; i < std::size(kEveryone); ++i) {
      const Who who = kEveryone[i];
      Caller caller = Make(who);
      ASSERT_TRUE(who == Who::kAnonymous || !caller.token.empty()) << WhoName(who);
      grpc::Status status = row.body(caller);
      EXPECT_EQ(status.error_code(), row.expected[i])
          << row.method << " as " << WhoName(who) << ": " << status.error_message();
      ++cells;
    }
  }
  EXPECT_EQ(cells, static_cast<int>(rows.size() * std::size(kEveryone)));
}

TEST_F(IdentityApiTest, OneAccountCannotReadAnothersData) {
  Caller alice = Human(v1::BUYER);
  Caller bob = Human(v1::BUYER);
  v1::GetAccountRequest r;
  r.set_name("accounts/" + bob.account_id);
  v1::Account out;
  grpc::Status s = Call(&Stub::GetAccount, r, &out, alice.token);
  EXPECT_EQ(s.error_code(), PD);
  EXPECT_TRUE(out.email().empty());
  // Not even whether an account exists: an unknown id answers the same.
  r.set_name("accounts/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Call(&Stub::GetAccount, r, &out, alice.token).error_code(), PD);

  Caller seller = PendingSeller();
  Caller other_seller = Human(v1::SELLER);
  v1::GetSellerProfileRequest pr;
  pr.set_name("accounts/" + seller.account_id + "/sellerProfile");
  v1::SellerProfile profile;
  EXPECT_EQ(Call(&Stub::GetSellerProfile, pr, &profile, other_seller.token).error_code(), PD);
  EXPECT_FALSE(profile.has_application());
  // The owner reads it.
  ASSERT_TRUE(Call(&Stub::GetSellerProfile, pr, &profile, seller.token).ok());
  EXPECT_EQ(profile.application().legal_name(), "Example Trading GmbH");
}

}  // namespace
}  // namespace marketplace::testing
