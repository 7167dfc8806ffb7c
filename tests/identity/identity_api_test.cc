// The Identity API over gRPC against the real identity_server binary on MariaDB: every method,
// the error codes its documentation promises, and the permission matrix methods x roles.
#include <atomic>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/db/connection_pool.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/testing/mariadb_server.h"
#include "google/rpc/error_details.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
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
    // Several tests rotate the signing key; the minimum interval has its own process test.
    auto started = IdentityProcess::Start({"--min_key_rotation_interval=0"});
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

  // A connection to the server's own database, for tests that watch its progress.
  absl::StatusOr<std::unique_ptr<common::db::ConnectionPool>> IdentityDatabase() {
    auto server = common::testing::MariaDbServer::Shared();
    if (!server.ok()) return server.status();
    common::db::DbOptions options = (*server)->AdminOptions();
    for (const std::string& arg : identity_->db_args()) {
      if (absl::StartsWith(arg, "--db_name=")) options.database = arg.substr(strlen("--db_name="));
    }
    options.pool_size = 1;
    return common::db::ConnectionPool::Create(options);
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

// A SERVICE with identity.enforcement acts on BUYER and SELLER accounts only. An account it may
// neither act on nor read (staff, ADMIN, another SERVICE) answers exactly like an unknown id,
// so its ids cannot be probed; one it may read answers PERMISSION_DENIED.
TEST_F(IdentityApiTest, EnforcementCannotProbeAccountsItMayNotRead) {
  Caller enforcer = Service({"identity.enforcement"});
  Caller reading_enforcer = Service({"identity.accounts.read", "identity.enforcement"});
  const std::string unknown = "0123456789abcdef0123456789abcdef";
  std::vector<std::string> hidden = {Human(v1::ADMIN).account_id,
                                     Human(v1::SUPPORT_AGENT).account_id,
                                     Service({"identity.accounts.read"}).account_id};
  const auto suspend = [&](const std::string& id, const std::string& token) {
    v1::SuspendAccountRequest r;
    r.set_name("accounts/" + id);
    r.set_reason_code("FRAUD_SUSPECTED");
    r.set_reason("Probe test");
    v1::Account out;
    return Call(&Stub::SuspendAccount, r, &out, token);
  };
  const auto reinstate = [&](const std::string& id, const std::string& token) {
    v1::ReinstateAccountRequest r;
    r.set_name("accounts/" + id);
    r.set_reason_code("APPEAL_GRANTED");
    r.set_reason("Probe test");
    v1::Account out;
    return Call(&Stub::ReinstateAccount, r, &out, token);
  };
  for (const auto& call :
       {std::function<grpc::Status(const std::string&, const std::string&)>(suspend),
        std::function<grpc::Status(const std::string&, const std::string&)>(reinstate)}) {
    const grpc::Status made_up = call(unknown, enforcer.token);
    EXPECT_EQ(made_up.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(ReasonOf(made_up), "ACCOUNT_NOT_FOUND");
    EXPECT_EQ(made_up.error_message(), "account " + unknown + " not found");
    for (const std::string& id : hidden) {
      SCOPED_TRACE("account " + id);
      const grpc::Status s = call(id, enforcer.token);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
      EXPECT_EQ(ReasonOf(s), "ACCOUNT_NOT_FOUND");
      EXPECT_EQ(s.error_message(), "account " + id + " not found");
      // A SERVICE that may read the account is told it may not change it.
      EXPECT_EQ(call(id, reading_enforcer.token).error_code(), PD);
    }
  }
  // Its own account, which it may read: refused, not hidden.
  EXPECT_EQ(suspend(enforcer.account_id, enforcer.token).error_code(), PD);
  // BUYER accounts it does act on.
  Caller buyer = Human(v1::BUYER);
  EXPECT_TRUE(suspend(buyer.account_id, enforcer.token).ok());
  EXPECT_TRUE(reinstate(buyer.account_id, enforcer.token).ok());
}

// --- every method and its documented errors --------------------------------------------------

TEST_F(IdentityApiTest, SignUpNormalisesEmailAndEnforcesItsRules) {
  const std::string local = UniqueEmail("Case.Kept");
  const std::string email = local.substr(0, local.find('@')) + "@EXAMPLE.com";
  v1::SignUpRequest r;
  r.set_email("  " + email + " ");
  r.set_password(kGoodPassword);
  r.set_display_name("Casey");
  r.set_role(v1::BUYER);
  r.set_request_id("signup-" + std::to_string(absl::ToUnixMicros(absl::Now())));
  v1::Account account;
  grpc::Status s = Call(&Stub::SignUp, r, &account);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(account.email(), local.substr(0, local.find('@')) + "@example.com");
  EXPECT_EQ(account.role(), v1::BUYER);
  EXPECT_EQ(account.status(), v1::ACTIVE);
  EXPECT_EQ(account.name(), "accounts/" + account.account_id());

  // The same request again (a lost reply): the same account.
  v1::Account again;
  ASSERT_TRUE(Call(&Stub::SignUp, r, &again).ok());
  EXPECT_EQ(again.account_id(), account.account_id());
  // The same request id for another request with this email: what a fresh sign-up with it
  // answers. (Request ids are per email: another email with it is a new sign-up.)
  v1::SignUpRequest other = r;
  other.set_display_name("Someone else");
  s = Call(&Stub::SignUp, other, &again);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "EMAIL_TAKEN");

  // Duplicate email, whatever the case of its domain.
  v1::SignUpRequest dup = r;
  dup.clear_request_id();
  dup.set_email(local);
  s = Call(&Stub::SignUp, dup, &again);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "EMAIL_TAKEN");

  struct Bad {
    std::string email, password, display_name;
    v1::Role role;
    std::string field;
  };
  const std::string fresh = UniqueEmail("bad");
  const std::vector<Bad> bad = {
      {"not-an-email", kGoodPassword, "X", v1::BUYER, "email"},
      {fresh, "short", "X", v1::BUYER, "password"},
      {fresh, std::string(129, 'x'), "X", v1::BUYER, "password"},
      {fresh, fresh, "X", v1::BUYER, "password"},
      {fresh, "password1234", "X", v1::BUYER, "password"},
      {fresh, kGoodPassword, "", v1::BUYER, "display_name"},
      {fresh, kGoodPassword, std::string(101, 'n'), v1::BUYER, "display_name"},
      {fresh, kGoodPassword, "X", v1::ADMIN, "role"},
      {fresh, kGoodPassword, "X", v1::ROLE_UNSPECIFIED, "role"},
  };
  for (const Bad& b : bad) {
    v1::SignUpRequest req;
    req.set_email(b.email);
    req.set_password(b.password);
    req.set_display_name(b.display_name);
    req.set_role(b.role);
    s = Call(&Stub::SignUp, req, &again);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.field;
    EXPECT_THAT(BadFieldsOf(s), Contains(b.field)) << s.error_message();
  }
  // Nothing was created by the refused requests.
  auto login = Login(stub(), fresh, kGoodPassword);
  EXPECT_EQ(login.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(IdentityApiTest, LoginFailsAlikeForUnknownEmailAndWrongPasswordAndIsThrottled) {
  Caller buyer = Human(v1::BUYER);
  v1::LoginRequest wrong;
  wrong.set_email(buyer.email);
  wrong.set_password("not the password at all");
  v1::LoginRequest unknown;
  unknown.set_email(UniqueEmail("nobody"));
  unknown.set_password("not the password at all");
  v1::LoginResponse out;
  grpc::Status w = Call(&Stub::Login, wrong, &out);
  grpc::Status u = Call(&Stub::Login, unknown, &out);
  EXPECT_EQ(w.error_code(), UN);
  EXPECT_EQ(u.error_code(), UN);
  EXPECT_EQ(ReasonOf(w), "INVALID_CREDENTIALS");
  EXPECT_EQ(ReasonOf(u), "INVALID_CREDENTIALS");
  EXPECT_EQ(w.error_message(), u.error_message());

  v1::LoginRequest empty;
  EXPECT_EQ(Call(&Stub::Login, empty, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Keep failing: throttled within a few attempts, for both, and then even the right password
  // waits.
  for (v1::LoginRequest* req : {&wrong, &unknown}) {
    grpc::Status last;
    int attempts = 1;
    for (; attempts < 10; ++attempts) {
      last = Call(&Stub::Login, *req, &out);
      if (last.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) break;
      EXPECT_EQ(ReasonOf(last), "INVALID_CREDENTIALS");
    }
    EXPECT_EQ(last.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << req->email();
    EXPECT_EQ(ReasonOf(last), "LOGIN_THROTTLED");
    EXPECT_LE(attempts, 7);
    EXPECT_TRUE(common::FromGrpcStatus(last)
                    .GetPayload("type.googleapis.com/google.rpc.RetryInfo")
                    .has_value());
  }
  // The first waits are short (1 s, then doubling): keep failing, waiting out each wait, until
  // one is long enough that the checks below run inside it however slow this machine is.
  for (int i = 0; i < 6; ++i) {
    grpc::Status last = Call(&Stub::Login, wrong, &out);
    if (last.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
    auto payload = common::FromGrpcStatus(last).GetPayload("type.googleapis.com/google.rpc.RetryInfo");
    ASSERT_TRUE(payload.has_value());
    google::rpc::RetryInfo info;
    ASSERT_TRUE(info.ParseFromString(std::string(*payload)));
    if (info.retry_delay().seconds() >= 8) break;
    absl::SleepFor(absl::Seconds(info.retry_delay().seconds()) +
                   absl::Nanoseconds(info.retry_delay().nanos()) + absl::Milliseconds(50));
  }
  v1::LoginRequest right = wrong;
  right.set_password(kGoodPassword);
  grpc::Status throttled = Call(&Stub::Login, right, &out);
  EXPECT_EQ(throttled.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Admins see the throttle state; the account holder does not.
  v1::GetAccountRequest get;
  get.set_name("accounts/" + buyer.account_id);
  v1::Account seen;
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &seen, AdminToken()).ok());
  ASSERT_TRUE(seen.has_login_throttle());
  EXPECT_GE(seen.login_throttle().consecutive_failures(), 6);
  EXPECT_TRUE(seen.login_throttle().has_next_attempt_time());
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &seen, buyer.token).ok());
  EXPECT_FALSE(seen.has_login_throttle());
}

TEST_F(IdentityApiTest, RefreshRotatesDetectsReuseAndLetsOneOfTwoConcurrentRefreshesWin) {
  Caller buyer = Human(v1::BUYER);
  auto login = Login(stub(), buyer.email, kGoodPassword);
  ASSERT_TRUE(login.ok());
  const std::string first = login->tokens().refresh_token();
  EXPECT_EQ(login->tokens().token_type(), "Bearer");

  v1::RefreshSessionRequest r;
  r.set_refresh_token(first);
  v1::RefreshSessionResponse rotated;
  ASSERT_TRUE(Call(&Stub::RefreshSession, r, &rotated).ok());
  EXPECT_NE(rotated.tokens().refresh_token(), first);
  EXPECT_EQ(rotated.tokens().session_id(), login->tokens().session_id());
  EXPECT_FALSE(rotated.tokens().access_token().empty());

  v1::RefreshSessionResponse out;
  v1::GetAccountRequest me;
  me.set_name("accounts/me");
  v1::Account account;
  EXPECT_TRUE(Call(&Stub::GetAccount, me, &account, rotated.tokens().access_token()).ok());

  // The used token again: theft. The whole session ends, including the newest token.
  grpc::Status reuse = Call(&Stub::RefreshSession, r, &out);
  EXPECT_EQ(reuse.error_code(), UN);
  EXPECT_EQ(ReasonOf(reuse), "REFRESH_TOKEN_REUSED");
  v1::RefreshSessionRequest newest;
  newest.set_refresh_token(rotated.tokens().refresh_token());
  grpc::Status after = Call(&Stub::RefreshSession, newest, &out);
  EXPECT_EQ(after.error_code(), UN);
  EXPECT_EQ(ReasonOf(after), "SESSION_REVOKED");
  // Its access tokens are refused by identity too.
  EXPECT_EQ(Call(&Stub::GetAccount, me, &account, rotated.tokens().access_token()).error_code(),
            UN);

  v1::RefreshSessionRequest junk;
  junk.set_refresh_token("not-a-token");
  EXPECT_EQ(Call(&Stub::RefreshSession, junk, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  junk.set_refresh_token("rt1_unknownunknownunknownunknown");
  grpc::Status unknown = Call(&Stub::RefreshSession, junk, &out);
  EXPECT_EQ(unknown.error_code(), UN);
  EXPECT_EQ(ReasonOf(unknown), "INVALID_REFRESH_TOKEN");

  // Two concurrent refreshes of one token: exactly one wins.
  for (int round = 0; round < 3; ++round) {
    auto fresh = Login(stub(), buyer.email, kGoodPassword);
    ASSERT_TRUE(fresh.ok());
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&] {
        v1::RefreshSessionRequest req;
        req.set_refresh_token(fresh->tokens().refresh_token());
        v1::RefreshSessionResponse resp;
        if (CallIdentity(stub(), &Stub::RefreshSession, req, &resp).ok()) ++ok;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
  }
}

TEST_F(IdentityApiTest, LogoutEndsTheSessionAndLogoutAllEveryOne) {
  Caller buyer = Human(v1::BUYER);  // session 1
  auto second = Login(stub(), buyer.email, kGoodPassword);
  auto third = Login(stub(), buyer.email, kGoodPassword);
  ASSERT_TRUE(second.ok() && third.ok());

  v1::LogoutResponse lo;
  ASSERT_TRUE(Call(&Stub::Logout, v1::LogoutRequest(), &lo, second->tokens().access_token()).ok());
  // Idempotent.
  EXPECT_TRUE(Call(&Stub::Logout, v1::LogoutRequest(), &lo, second->tokens().access_token()).ok());
  v1::RefreshSessionRequest r;
  r.set_refresh_token(second->tokens().refresh_token());
  v1::RefreshSessionResponse out;
  EXPECT_EQ(Call(&Stub::RefreshSession, r, &out).error_code(), UN);
  v1::GetAccountRequest me;
  me.set_name("accounts/me");
  v1::Account account;
  grpc::Status refused = Call(&Stub::GetAccount, me, &account, second->tokens().access_token());
  EXPECT_EQ(refused.error_code(), UN);
  EXPECT_EQ(ReasonOf(refused), "SESSION_REVOKED");
  // The other sessions are untouched.
  EXPECT_TRUE(Call(&Stub::GetAccount, me, &account, third->tokens().access_token()).ok());

  v1::LogoutAllResponse all;
  ASSERT_TRUE(Call(&Stub::LogoutAll, v1::LogoutAllRequest(), &all, buyer.token).ok());
  EXPECT_EQ(all.revoked_sessions(), 2);
  EXPECT_EQ(Call(&Stub::GetAccount, me, &account, third->tokens().access_token()).error_code(), UN);
  EXPECT_EQ(Call(&Stub::GetAccount, me, &account, buyer.token).error_code(), UN);
}

TEST_F(IdentityApiTest, WriteAnswersCarryTheTimesThatLaterReadsReturn) {
  v1::SignUpRequest signup;
  signup.set_email(UniqueEmail("times"));
  signup.set_password(kGoodPassword);
  signup.set_display_name("Timely");
  signup.set_role(v1::SELLER);
  v1::Account created;
  ASSERT_TRUE(Call(&Stub::SignUp, signup, &created).ok());
  const std::string admin = AdminToken();
  v1::GetAccountRequest get;
  get.set_name("accounts/" + created.account_id());
  v1::Account read;
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &read, admin).ok());
  EXPECT_EQ(read.create_time().SerializeAsString(), created.create_time().SerializeAsString());
  EXPECT_EQ(read.update_time().SerializeAsString(), created.update_time().SerializeAsString());
  EXPECT_EQ(created.create_time().nanos() % 1000, 0);  // microseconds, as stored

  auto login = Login(stub(), signup.email(), kGoodPassword);
  ASSERT_TRUE(login.ok()) << login.status();
  v1::UpdateProfileRequest update;
  update.mutable_account()->set_name("accounts/me");
  update.mutable_account()->set_display_name("Renamed");
  update.mutable_update_mask()->add_paths("display_name");
  v1::Account updated;
  grpc::Status updating =
      Call(&Stub::UpdateProfile, update, &updated, login->tokens().access_token());
  ASSERT_TRUE(updating.ok()) << updating.error_message();
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &read, admin).ok());
  EXPECT_EQ(read.update_time().SerializeAsString(), updated.update_time().SerializeAsString());

  v1::SuspendAccountRequest suspend;
  suspend.set_name("accounts/" + created.account_id());
  suspend.set_reason_code("POLICY_TEST");
  suspend.set_reason("policy test");
  v1::Account suspended;
  ASSERT_TRUE(Call(&Stub::SuspendAccount, suspend, &suspended, admin).ok());
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &read, admin).ok());
  EXPECT_EQ(read.suspension().suspend_time().SerializeAsString(),
            suspended.suspension().suspend_time().SerializeAsString());
  EXPECT_EQ(read.update_time().SerializeAsString(), suspended.update_time().SerializeAsString());
}

TEST_F(IdentityApiTest, GetListAndUpdateAccounts) {
  const std::string admin = AdminToken();
  Caller buyer = Human(v1::BUYER);
  v1::GetAccountRequest get;
  v1::Account account;
  get.set_name("accounts/0123456789abcdef0123456789abcdef");
  grpc::Status s = Call(&Stub::GetAccount, get, &account, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "ACCOUNT_NOT_FOUND");
  for (const char* bad : {"", "users/abc", "accounts/", "accounts/a b", "accounts/x/y"}) {
    get.set_name(bad);
    s = Call(&Stub::GetAccount, get, &account, admin);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(BadFieldsOf(s), ElementsAre("name")) << bad;
  }
  get.set_name("accounts/me");
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &account, buyer.token).ok());
  EXPECT_EQ(account.account_id(), buyer.account_id);
  EXPECT_EQ(account.email(), buyer.email);

  // UpdateProfile.
  v1::UpdateProfileRequest up;
  up.mutable_account()->set_name("accounts/me");
  up.mutable_account()->set_display_name("Renamed Buyer");
  s = Call(&Stub::UpdateProfile, up, &account, buyer.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("update_mask"));
  up.mutable_update_mask()->add_paths("email");
  s = Call(&Stub::UpdateProfile, up, &account, buyer.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("update_mask.paths[0]"));
  up.mutable_update_mask()->set_paths(0, "display_name");
  up.mutable_account()->set_display_name("");
  s = Call(&Stub::UpdateProfile, up, &account, buyer.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("account.display_name"));
  up.mutable_account()->set_display_name("Renamed Buyer");
  ASSERT_TRUE(Call(&Stub::UpdateProfile, up, &account, buyer.token).ok());
  EXPECT_EQ(account.display_name(), "Renamed Buyer");
  get.set_name("accounts/" + buyer.account_id);
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &account, admin).ok());
  EXPECT_EQ(account.display_name(), "Renamed Buyer");

  // ListAccounts: filtered, paginated, oldest first, each page within page_size.
  for (int i = 0; i < 3; ++i) Human(v1::SELLER);
  v1::ListAccountsRequest list;
  list.set_role(v1::SELLER);
  list.set_page_size(2);
  std::vector<std::string> ids;
  for (int page = 0; page < 100; ++page) {
    v1::ListAccountsResponse resp;
    s = Call(&Stub::ListAccounts, list, &resp, admin);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.accounts_size(), 2);
    for (const auto& a : resp.accounts()) {
      EXPECT_EQ(a.role(), v1::SELLER);
      EXPECT_TRUE(a.has_login_throttle());
      ids.push_back(a.account_id());
    }
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_GE(ids.size(), 3u);
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());

  v1::ListAccountsResponse resp;
  v1::ListAccountsRequest bad;
  bad.set_page_size(-1);
  s = Call(&Stub::ListAccounts, bad, &resp, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("page_size"));
  // Every bad field at once.
  bad.set_role(static_cast<v1::Role>(99));
  s = Call(&Stub::ListAccounts, bad, &resp, admin);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("role", "page_size"));
  bad.clear_role();
  bad.set_page_size(0);
  bad.set_page_token("garbage");
  s = Call(&Stub::ListAccounts, bad, &resp, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("page_token"));
  v1::ListAccountsRequest suspended;
  suspended.set_status(v1::SUSPENDED);
  ASSERT_TRUE(Call(&Stub::ListAccounts, suspended, &resp, admin).ok());
  for (const auto& a : resp.accounts()) EXPECT_EQ(a.status(), v1::SUSPENDED);
}

TEST_F(IdentityApiTest, ChangePasswordRevokesOtherSessions) {
  Caller buyer = Human(v1::BUYER);
  auto other = Login(stub(), buyer.email, kGoodPassword);
  ASSERT_TRUE(other.ok());

  v1::ChangePasswordRequest r;
  r.set_name("accounts/me");
  r.set_current_password("a wrong current password");
  r.set_new_password("my brand new passphrase 99");
  v1::ChangePasswordResponse out;
  grpc::Status s = Call(&Stub::ChangePassword, r, &out, buyer.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), Contains("current_password"));
  r.set_current_password(kGoodPassword);
  r.set_new_password("short");
  s = Call(&Stub::ChangePassword, r, &out, buyer.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), Contains("new_password"));

  r.set_new_password("my brand new passphrase 99");
  s = Call(&Stub::ChangePassword, r, &out, buyer.token);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.revoked_sessions(), 1);

  v1::GetAccountRequest me;
  me.set_name("accounts/me");
  v1::Account account;
  EXPECT_TRUE(Call(&Stub::GetAccount, me, &account, buyer.token).ok());
  EXPECT_EQ(Call(&Stub::GetAccount, me, &account, other->tokens().access_token()).error_code(), UN);
  EXPECT_EQ(Login(stub(), buyer.email, kGoodPassword).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Login(stub(), buyer.email, "my brand new passphrase 99").ok());
}

TEST_F(IdentityApiTest, SigningKeysAndIdempotentRotation) {
  v1::GetSigningKeysResponse keys;
  ASSERT_TRUE(Call(&Stub::GetSigningKeys, v1::GetSigningKeysRequest(), &keys).ok());
  ASSERT_GE(keys.keys_size(), 2);
  EXPECT_EQ(keys.keys(0).state(), v1::SIGNING_KEY_ACTIVE);
  EXPECT_EQ(keys.keys(1).state(), v1::SIGNING_KEY_NEXT);
  for (const auto& k : keys.keys()) {
    EXPECT_EQ(k.alg(), "EdDSA");
    EXPECT_EQ(k.public_key().size(), 32u);
    EXPECT_FALSE(k.kid().empty());
  }
  const std::string admin = AdminToken();
  v1::RotateSigningKeyRequest r;
  r.set_request_id("rotation-" + std::to_string(absl::ToUnixMicros(absl::Now())));
  v1::RotateSigningKeyResponse first, second;
  ASSERT_TRUE(Call(&Stub::RotateSigningKey, r, &first, admin).ok());
  EXPECT_EQ(first.active_key().kid(), keys.keys(1).kid());  // the published next key
  EXPECT_EQ(first.previous_key().kid(), keys.keys(0).kid());
  EXPECT_EQ(first.previous_key().state(), v1::SIGNING_KEY_RETIRED);
  EXPECT_TRUE(first.previous_key().has_expire_time());
  ASSERT_TRUE(Call(&Stub::RotateSigningKey, r, &second, admin).ok());
  EXPECT_EQ(second.active_key().kid(), first.active_key().kid());
  r.set_request_id("bad id!");
  grpc::Status s = Call(&Stub::RotateSigningKey, r, &second, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("request_id"));
}

TEST_F(IdentityApiTest, StaffAndServiceAccounts) {
  const std::string admin = AdminToken();
  v1::CreateStaffAccountRequest staff;
  staff.set_email(UniqueEmail("agent"));
  staff.set_password(kGoodPassword);
  staff.set_display_name("Agent");
  staff.set_role(v1::BUYER);
  v1::Account account;
  grpc::Status s = Call(&Stub::CreateStaffAccount, staff, &account, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("role"));
  staff.set_role(v1::MODERATOR);
  ASSERT_TRUE(Call(&Stub::CreateStaffAccount, staff, &account, admin).ok());
  EXPECT_EQ(account.role(), v1::MODERATOR);
  s = Call(&Stub::CreateStaffAccount, staff, &account, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "EMAIL_TAKEN");

  v1::CreateServiceAccountRequest svc;
  svc.set_display_name("payments");
  svc.add_scopes("Not A Scope");
  v1::CreateServiceAccountResponse created;
  s = Call(&Stub::CreateServiceAccount, svc, &created, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("scopes[0]"));
  svc.set_scopes(0, "identity.accounts.read");
  svc.set_request_id("svc-" + std::to_string(absl::ToUnixMicros(absl::Now())));
  ASSERT_TRUE(Call(&Stub::CreateServiceAccount, svc, &created, admin).ok());
  EXPECT_THAT(created.client_secret(), ::testing::StartsWith("cs1_"));
  EXPECT_THAT(created.account().scopes(), ElementsAre("identity.accounts.read"));
  v1::CreateServiceAccountResponse repeat;
  ASSERT_TRUE(Call(&Stub::CreateServiceAccount, svc, &repeat, admin).ok());
  EXPECT_EQ(repeat.client_id(), created.client_id());
  EXPECT_TRUE(repeat.client_secret().empty());

  v1::IssueServiceTokenRequest issue;
  issue.set_client_id(created.client_id());
  issue.set_client_secret("cs1_wrongwrongwrong");
  v1::IssueServiceTokenResponse token;
  s = Call(&Stub::IssueServiceToken, issue, &token);
  EXPECT_EQ(s.error_code(), UN);
  EXPECT_EQ(ReasonOf(s), "INVALID_CLIENT");
  issue.set_client_id("0123456789abcdef0123456789abcdef");
  s = Call(&Stub::IssueServiceToken, issue, &token);
  EXPECT_EQ(s.error_code(), UN);
  EXPECT_EQ(ReasonOf(s), "INVALID_CLIENT");
  issue.set_client_id(created.client_id());
  issue.set_client_secret(created.client_secret());
  issue.add_scopes("identity.enforcement");
  s = Call(&Stub::IssueServiceToken, issue, &token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  issue.clear_scopes();
  ASSERT_TRUE(Call(&Stub::IssueServiceToken, issue, &token).ok());
  EXPECT_THAT(token.scopes(), ElementsAre("identity.accounts.read"));
  EXPECT_EQ(token.token_type(), "Bearer");
  EXPECT_TRUE(token.has_expire_time());
  v1::IssueServiceTokenRequest empty;
  EXPECT_EQ(Call(&Stub::IssueServiceToken, empty, &token).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The secret's limit is 256 bytes: 200 two-byte characters are over it.
  v1::IssueServiceTokenRequest long_secret;
  long_secret.set_client_id(created.client_id());
  std::string secret;
  for (int i = 0; i < 200; ++i) secret += "\xc3\xa9";  // U+00E9
  long_secret.set_client_secret(secret);
  s = Call(&Stub::IssueServiceToken, long_secret, &token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "client_secret: must be at most 256 bytes");
}

TEST_F(IdentityApiTest, SellerOnboardingFromApplicationToApproval) {
  Caller seller = Human(v1::SELLER);
  Caller moderator = Human(v1::MODERATOR);
  const std::string name = "accounts/" + seller.account_id + "/sellerProfile";
  v1::SellerProfile profile;
  v1::GetSellerProfileRequest get;
  get.set_name("accounts/me/sellerProfile");
  ASSERT_TRUE(Call(&Stub::GetSellerProfile, get, &profile, seller.token).ok());
  EXPECT_EQ(profile.status(), v1::NOT_SUBMITTED);
  EXPECT_EQ(profile.name(), name);

  v1::SubmitSellerApplicationRequest submit;
  submit.set_name("accounts/me/sellerProfile");
  grpc::Status s = Call(&Stub::SubmitSellerApplication, submit, &profile, seller.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("application"));
  *submit.mutable_application() = GoodApplication();
  submit.mutable_application()->set_country_code("Germany");
  s = Call(&Stub::SubmitSellerApplication, submit, &profile, seller.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), Contains("application.country_code"));
  *submit.mutable_application() = GoodApplication();
  ASSERT_TRUE(Call(&Stub::SubmitSellerApplication, submit, &profile, seller.token).ok());
  EXPECT_EQ(profile.status(), v1::PENDING);
  EXPECT_TRUE(profile.has_submit_time());
  s = Call(&Stub::SubmitSellerApplication, submit, &profile, seller.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "APPLICATION_PENDING");

  v1::ReviewSellerApplicationRequest review;
  review.set_name(name);
  s = Call(&Stub::ReviewSellerApplication, review, &profile, moderator.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), Contains("decision"));
  review.set_decision(v1::REJECT);
  s = Call(&Stub::ReviewSellerApplication, review, &profile, moderator.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), Contains("reason"));
  review.set_reason_code("DOCUMENTS_MISMATCH");
  review.set_reason("The registration number does not match the legal name.");
  ASSERT_TRUE(Call(&Stub::ReviewSellerApplication, review, &profile, moderator.token).ok());
  EXPECT_EQ(profile.status(), v1::REJECTED);

  // The seller reads why, and resubmits.
  ASSERT_TRUE(Call(&Stub::GetSellerProfile, get, &profile, seller.token).ok());
  ASSERT_THAT(profile.decisions(), SizeIs(1));
  EXPECT_EQ(profile.decisions(0).kind(), v1::APPLICATION_REJECTED);
  EXPECT_EQ(profile.decisions(0).reason_code(), "DOCUMENTS_MISMATCH");
  EXPECT_EQ(profile.decisions(0).decided_by(), "accounts/" + moderator.account_id);
  ASSERT_TRUE(Call(&Stub::SubmitSellerApplication, submit, &profile, seller.token).ok());
  EXPECT_EQ(profile.status(), v1::PENDING);

  v1::ReviewSellerApplicationRequest approve;
  approve.set_name(name);
  approve.set_decision(v1::APPROVE);
  ASSERT_TRUE(Call(&Stub::ReviewSellerApplication, approve, &profile, moderator.token).ok());
  EXPECT_EQ(profile.status(), v1::APPROVED);
  EXPECT_THAT(profile.decisions(), SizeIs(2));
  s = Call(&Stub::ReviewSellerApplication, approve, &profile, moderator.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "APPLICATION_NOT_PENDING");

  // A buyer has no seller profile.
  Caller buyer = Human(v1::BUYER);
  v1::GetSellerProfileRequest none;
  none.set_name("accounts/" + buyer.account_id + "/sellerProfile");
  s = Call(&Stub::GetSellerProfile, none, &profile, moderator.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "SELLER_PROFILE_NOT_FOUND");
  none.set_name("accounts/" + buyer.account_id);
  s = Call(&Stub::GetSellerProfile, none, &profile, moderator.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IdentityApiTest, SuspensionBlocksLoginRefreshTokensAndIntrospection) {
  const std::string admin = AdminToken();
  Caller seller = Human(v1::SELLER);
  auto login = Login(stub(), seller.email, kGoodPassword);
  ASSERT_TRUE(login.ok());

  v1::SuspendAccountRequest suspend;
  suspend.set_name("accounts/" + seller.account_id);
  suspend.set_reason_code("bad code");
  suspend.set_reason("");
  v1::Account account;
  grpc::Status s = Call(&Stub::SuspendAccount, suspend, &account, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ::testing::UnorderedElementsAre("reason_code", "reason"));
  suspend.set_reason_code("KPI_CRITICAL");
  suspend.set_reason("Too many disputes this month.");
  ASSERT_TRUE(Call(&Stub::SuspendAccount, suspend, &account, admin).ok());
  EXPECT_EQ(account.status(), v1::SUSPENDED);
  EXPECT_EQ(account.suspension().reason_code(), "KPI_CRITICAL");
  EXPECT_TRUE(account.suspension().suspended_by().rfind("accounts/", 0) == 0);
  // Idempotent.
  ASSERT_TRUE(Call(&Stub::SuspendAccount, suspend, &account, admin).ok());
  EXPECT_EQ(account.status(), v1::SUSPENDED);

  v1::GetAccountRequest me;
  me.set_name("accounts/me");
  s = Call(&Stub::GetAccount, me, &account, seller.token);
  EXPECT_EQ(s.error_code(), PD);
  EXPECT_EQ(ReasonOf(s), "ACCOUNT_SUSPENDED");
  auto again = Login(stub(), seller.email, kGoodPassword);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
  v1::RefreshSessionRequest refresh;
  refresh.set_refresh_token(login->tokens().refresh_token());
  v1::RefreshSessionResponse refreshed;
  s = Call(&Stub::RefreshSession, refresh, &refreshed);
  EXPECT_TRUE(s.error_code() == PD || s.error_code() == UN) << s.error_message();

  v1::IntrospectTokenRequest introspect;
  introspect.set_token(login->tokens().access_token());
  v1::IntrospectTokenResponse answer;
  ASSERT_TRUE(Call(&Stub::IntrospectToken, introspect, &answer, admin).ok());
  EXPECT_FALSE(answer.active());
  EXPECT_EQ(answer.inactive_reason(), v1::ACCOUNT_IS_SUSPENDED);
  EXPECT_TRUE(answer.subject().empty());

  // The seller profile shows it.
  v1::GetSellerProfileRequest sp;
  sp.set_name("accounts/" + seller.account_id + "/sellerProfile");
  v1::SellerProfile profile;
  ASSERT_TRUE(Call(&Stub::GetSellerProfile, sp, &profile, admin).ok());
  EXPECT_EQ(profile.status(), v1::SELLER_SUSPENDED);

  // An admin cannot suspend itself; unknown accounts are NOT_FOUND.
  v1::SuspendAccountRequest self = suspend;
  self.set_name("accounts/me");
  s = Call(&Stub::SuspendAccount, self, &account, admin);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "CANNOT_SUSPEND_SELF");
  self.set_name("accounts/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Call(&Stub::SuspendAccount, self, &account, admin).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::ReinstateAccountRequest reinstate;
  reinstate.set_name("accounts/" + seller.account_id);
  reinstate.set_reason_code("APPEAL_GRANTED");
  reinstate.set_reason("Appeal reviewed.");
  ASSERT_TRUE(Call(&Stub::ReinstateAccount, reinstate, &account, admin).ok());
  EXPECT_EQ(account.status(), v1::ACTIVE);
  EXPECT_FALSE(account.has_suspension());
  auto back = Login(stub(), seller.email, kGoodPassword);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(Call(&Stub::GetAccount, me, &account, back->tokens().access_token()).ok());
}

TEST_F(IdentityApiTest, IntrospectTokenReportsActiveInvalidAndRevokedTokens) {
  Caller introspector = Service({"identity.tokens.introspect"});
  Caller buyer = Human(v1::BUYER);
  v1::IntrospectTokenRequest r;
  r.set_token(buyer.token);
  v1::IntrospectTokenResponse answer;
  ASSERT_TRUE(Call(&Stub::IntrospectToken, r, &answer, introspector.token).ok());
  EXPECT_TRUE(answer.active());
  EXPECT_EQ(answer.subject(), buyer.account_id);
  EXPECT_THAT(answer.roles(), ElementsAre("BUYER"));
  EXPECT_THAT(answer.audiences(), Contains("identity"));
  EXPECT_FALSE(answer.session_id().empty());
  EXPECT_FALSE(answer.token_id().empty());
  EXPECT_TRUE(answer.has_expire_time());

  r.set_token("not.a.token");
  ASSERT_TRUE(Call(&Stub::IntrospectToken, r, &answer, introspector.token).ok());
  EXPECT_FALSE(answer.active());
  EXPECT_EQ(answer.inactive_reason(), v1::TOKEN_INVALID);
  r.set_token("");
  grpc::Status s = Call(&Stub::IntrospectToken, r, &answer, introspector.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("token"));
  r.set_token(std::string(9000, 'a'));
  EXPECT_EQ(Call(&Stub::IntrospectToken, r, &answer, introspector.token).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::LogoutResponse lo;
  ASSERT_TRUE(Call(&Stub::Logout, v1::LogoutRequest(), &lo, buyer.token).ok());
  r.set_token(buyer.token);
  ASSERT_TRUE(Call(&Stub::IntrospectToken, r, &answer, introspector.token).ok());
  EXPECT_FALSE(answer.active());
  EXPECT_EQ(answer.inactive_reason(), v1::SESSION_REVOKED);

  // A SERVICE without the scope may not.
  Caller reader = Service({"identity.accounts.read"});
  EXPECT_EQ(Call(&Stub::IntrospectToken, r, &answer, reader.token).error_code(), PD);
}

// A token whose `exp` was moved into the past (so its signature no longer matches) was never
// signed by identity: TOKEN_INVALID, not TOKEN_EXPIRED, and UNAUTHENTICATED "invalid token
// signature" as a bearer token.
TEST_F(IdentityApiTest, IntrospectTokenReportsAForgedExpiredTokenInvalid) {
  Caller introspector = Service({"identity.tokens.introspect"});
  Caller buyer = Human(v1::BUYER);
  std::vector<std::string> parts = absl::StrSplit(buyer.token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload_json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload_json));
  nlohmann::json payload = nlohmann::json::parse(payload_json);
  payload["exp"] = absl::ToUnixSeconds(absl::Now() - absl::Hours(1));
  std::string payload_b64;
  absl::WebSafeBase64Escape(payload.dump(), &payload_b64);
  const std::string forged = absl::StrCat(parts[0], ".", payload_b64, ".", parts[2]);

  v1::IntrospectTokenRequest r;
  r.set_token(forged);
  v1::IntrospectTokenResponse answer;
  ASSERT_TRUE(Call(&Stub::IntrospectToken, r, &answer, introspector.token).ok());
  EXPECT_FALSE(answer.active());
  EXPECT_EQ(answer.inactive_reason(), v1::TOKEN_INVALID);

  v1::GetAccountRequest get;
  get.set_name("accounts/" + buyer.account_id);
  v1::Account account;
  grpc::Status s = Call(&Stub::GetAccount, get, &account, forged);
  EXPECT_EQ(s.error_code(), UN);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("invalid token signature"));
}

// --- trust defects: canonical ids, races with suspension and logout, throttle, idempotency ----

// Item 4: account ids are 32 lowercase hex digits and compared exactly. An upper-cased or
// space-padded id names nothing: INVALID_ARGUMENT naming the field, nothing changed.
TEST_F(IdentityApiTest, AccountIdsAreCanonicalAndComparedExactly) {
  const std::string admin = AdminToken();
  Caller buyer = Human(v1::BUYER);
  const std::string upper = absl::AsciiStrToUpper(buyer.account_id);
  for (const std::string& bad : {upper, " " + buyer.account_id, buyer.account_id + " ",
                                 "acc_" + buyer.account_id.substr(0, 24)}) {
    SCOPED_TRACE("id '" + bad + "'");
    v1::GetAccountRequest get;
    get.set_name("accounts/" + bad);
    v1::Account seen;
    grpc::Status s = Call(&Stub::GetAccount, get, &seen, admin);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(BadFieldsOf(s), ElementsAre("name"));

    v1::SuspendAccountRequest suspend;
    suspend.set_name("accounts/" + bad);
    suspend.set_reason_code("FRAUD");
    suspend.set_reason("Testing ids.");
    s = Call(&Stub::SuspendAccount, suspend, &seen, admin);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(BadFieldsOf(s), ElementsAre("name"));

    v1::GetSellerProfileRequest profile;
    profile.set_name("accounts/" + bad + "/sellerProfile");
    v1::SellerProfile p;
    s = Call(&Stub::GetSellerProfile, profile, &p, admin);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(BadFieldsOf(s), ElementsAre("name"));
  }
  // Nothing changed: the account is still active and its session works.
  v1::GetAccountRequest me;
  me.set_name("accounts/me");
  v1::Account account;
  ASSERT_TRUE(Call(&Stub::GetAccount, me, &account, buyer.token).ok());
  EXPECT_EQ(account.status(), v1::ACTIVE);

  // A service client id is an account id too.
  Caller service = Service({"identity.accounts.read"});
  v1::IssueServiceTokenRequest issue;
  issue.set_client_id(absl::AsciiStrToUpper(service.account_id));
  issue.set_client_secret(service.password);
  v1::IssueServiceTokenResponse token;
  grpc::Status s = Call(&Stub::IssueServiceToken, issue, &token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(BadFieldsOf(s), ElementsAre("client_id"));
  issue.set_client_id(service.account_id);
  EXPECT_TRUE(Call(&Stub::IssueServiceToken, issue, &token).ok());
}

// Runs `n` logins of `email` with `password` concurrently, each on its own thread; `during`
// runs on this thread `delay` after they started. Returns the logins' statuses and responses.
struct RacedLogins {
  std::vector<grpc::Status> status;
  std::vector<v1::LoginResponse> response;
};
RacedLogins RaceLogins(Stub* stub, const std::string& email, const std::string& password, int n,
                       absl::Duration delay, const std::function<void()>& during) {
  RacedLogins out;
  out.status.resize(n);
  out.response.resize(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      v1::LoginRequest req;
      req.set_email(email);
      req.set_password(password);
      out.status[i] = CallIdentity(stub, &Stub::Login, req, &out.response[i]);
    });
  }
  absl::SleepFor(delay);
  during();
  for (auto& t : threads) t.join();
  return out;
}

// Like RaceLogins, but `during` runs once every login has begun on the server: its attempt is
// committed in identity's login_failures (the row a login inserts, pending, in the transaction
// that reads the account, before the password check; a successful login deletes it). Counted
// as the logins already answered (read first) plus the pending rows added since the start (read
// second), which never counts one login twice. `in_flight` gets the pending rows seen then.
RacedLogins RaceLoginsOnceBegun(Stub* stub, common::db::ConnectionPool& identity_db,
                                const std::string& email, const std::string& password, int n,
                                int* in_flight, const std::function<void()>& during) {
  RacedLogins out;
  out.status.resize(n);
  out.response.resize(n);
  auto max_id = identity_db.Query("SELECT COALESCE(MAX(id), 0) AS id FROM login_failures");
  EXPECT_TRUE(max_id.ok()) << max_id.status();
  const int64_t before = max_id.ok() ? (*max_id)[0].GetInt64("id").value_or(0) : 0;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      v1::LoginRequest req;
      req.set_email(email);
      req.set_password(password);
      out.status[i] = CallIdentity(stub, &Stub::Login, req, &out.response[i]);
      answered.fetch_add(1);
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (;;) {
    const int done = answered.load();
    auto pending = identity_db.Query(
        "SELECT COUNT(*) AS n FROM login_failures WHERE pending AND id > ?", {before});
    if (!pending.ok()) {
      ADD_FAILURE() << pending.status();
      break;
    }
    *in_flight = static_cast<int>((*pending)[0].GetInt64("n").value_or(0));
    if (done + *in_flight >= n) break;
    if (absl::Now() > give_up) {
      ADD_FAILURE() << "the logins did not all begin within 60 s";
      break;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  during();
  for (auto& t : threads) t.join();
  return out;
}

// Item 5: a login racing SuspendAccount either ends before the suspension commits (and its
// session is revoked by it) or is refused; no raced session survives the suspension, and
// reinstating the account does not bring one back.
TEST_F(IdentityApiTest, LoginsRacingSuspensionDoNotSurviveIt) {
  const std::string admin = AdminToken();
  int raced_ok = 0;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Caller seller = Human(v1::SELLER);
    v1::SuspendAccountRequest suspend;
    suspend.set_name("accounts/" + seller.account_id);
    suspend.set_reason_code("FRAUD");
    suspend.set_reason("Racing logins.");
    grpc::Status suspended;
    RacedLogins raced = RaceLogins(stub(), seller.email, kGoodPassword, 5, absl::Milliseconds(30),
                                   [&] {
                                     v1::Account a;
                                     suspended = Call(&Stub::SuspendAccount, suspend, &a, admin);
                                   });
    ASSERT_TRUE(suspended.ok()) << suspended.error_message();
    for (size_t i = 0; i < raced.status.size(); ++i) {
      const grpc::Status& s = raced.status[i];
      if (!s.ok()) {
        EXPECT_EQ(s.error_code(), PD) << s.error_message();
        EXPECT_EQ(ReasonOf(s), "ACCOUNT_SUSPENDED");
        continue;
      }
      ++raced_ok;
      v1::RefreshSessionRequest refresh;
      refresh.set_refresh_token(raced.response[i].tokens().refresh_token());
      v1::RefreshSessionResponse refreshed;
      EXPECT_FALSE(Call(&Stub::RefreshSession, refresh, &refreshed).ok());
    }
    v1::ReinstateAccountRequest reinstate;
    reinstate.set_name("accounts/" + seller.account_id);
    reinstate.set_reason_code("APPEAL_GRANTED");
    reinstate.set_reason("Appeal reviewed.");
    v1::Account a;
    ASSERT_TRUE(Call(&Stub::ReinstateAccount, reinstate, &a, admin).ok());
    for (size_t i = 0; i < raced.status.size(); ++i) {
      if (!raced.status[i].ok()) continue;
      // The raced session stays revoked: its refresh token and access token are refused.
      v1::RefreshSessionRequest refresh;
      refresh.set_refresh_token(raced.response[i].tokens().refresh_token());
      v1::RefreshSessionResponse refreshed;
      grpc::Status r = Call(&Stub::RefreshSession, refresh, &refreshed);
      EXPECT_EQ(r.error_code(), UN) << "a login raced with the suspension survived it";
      EXPECT_EQ(ReasonOf(r), "SESSION_REVOKED");
      v1::GetAccountRequest me;
      me.set_name("accounts/me");
      EXPECT_EQ(Call(&Stub::GetAccount, me, &a, raced.response[i].tokens().access_token())
                    .error_code(),
                UN);
      v1::IntrospectTokenRequest introspect;
      introspect.set_token(raced.response[i].tokens().access_token());
      v1::IntrospectTokenResponse answer;
      ASSERT_TRUE(Call(&Stub::IntrospectToken, introspect, &answer, admin).ok());
      EXPECT_FALSE(answer.active());
    }
    // After the reinstatement a new login works.
    EXPECT_TRUE(Login(stub(), seller.email, kGoodPassword).ok());
  }
  std::cout << "logins that ended before the suspension committed: " << raced_ok << " of 20\n";
}

// Item 5: the same for LogoutAll: a login that began before LogoutAll committed does not leave
// a session that outlives it. Unlike a suspension, LogoutAll does not refuse later logins: a
// login the server only begins handling after LogoutAll committed is a new login and keeps its
// session. So LogoutAll is sent only once every raced login has begun on the server (its
// attempt is committed, in the transaction that read the account's sessions_not_before), while
// they are in flight in the password check (item 21: under ASan the threads' calls reached the
// server late and the test failed on logins that were legitimately new).
TEST_F(IdentityApiTest, LoginsRacingLogoutAllDoNotSurviveIt) {
  auto identity_db = IdentityDatabase();
  ASSERT_TRUE(identity_db.ok()) << identity_db.status();
  int in_flight_total = 0;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Caller buyer = Human(v1::BUYER);
    grpc::Status logged_out;
    int in_flight = 0;
    RacedLogins raced = RaceLoginsOnceBegun(stub(), **identity_db, buyer.email, kGoodPassword, 5,
                                            &in_flight, [&] {
                                              v1::LogoutAllResponse r;
                                              logged_out = Call(&Stub::LogoutAll,
                                                                v1::LogoutAllRequest(), &r,
                                                                buyer.token);
                                            });
    in_flight_total += in_flight;
    ASSERT_TRUE(logged_out.ok()) << logged_out.error_message();
    for (size_t i = 0; i < raced.status.size(); ++i) {
      const grpc::Status& s = raced.status[i];
      if (!s.ok()) {
        EXPECT_EQ(s.error_code(), UN) << s.error_message();
        EXPECT_EQ(ReasonOf(s), "SESSION_REVOKED");
        continue;
      }
      v1::RefreshSessionRequest refresh;
      refresh.set_refresh_token(raced.response[i].tokens().refresh_token());
      v1::RefreshSessionResponse refreshed;
      grpc::Status r = Call(&Stub::RefreshSession, refresh, &refreshed);
      EXPECT_EQ(r.error_code(), UN) << "a login that began before LogoutAll survived it";
      EXPECT_EQ(ReasonOf(r), "SESSION_REVOKED");
    }
    // A login begun after LogoutAll is a new one.
    EXPECT_TRUE(Login(stub(), buyer.email, kGoodPassword).ok());
  }
  std::cout << "logins still in flight when LogoutAll was sent: " << in_flight_total
            << " of 20\n";
}

// Item 5: a refresh racing SuspendAccount: whichever commits first, no refreshed session
// outlives the suspension.
TEST_F(IdentityApiTest, RefreshesRacingSuspensionDoNotSurviveIt) {
  const std::string admin = AdminToken();
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Caller seller = Human(v1::SELLER);
    constexpr int kSessions = 4;
    std::vector<std::string> refresh_tokens;
    for (int i = 0; i < kSessions; ++i) {
      auto login = Login(stub(), seller.email, kGoodPassword);
      ASSERT_TRUE(login.ok()) << login.status();
      refresh_tokens.push_back(login->tokens().refresh_token());
    }
    std::vector<grpc::Status> status(kSessions);
    std::vector<v1::RefreshSessionResponse> out(kSessions);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSessions; ++i) {
      threads.emplace_back([&, i] {
        v1::RefreshSessionRequest r;
        r.set_refresh_token(refresh_tokens[i]);
        status[i] = CallIdentity(stub(), &Stub::RefreshSession, r, &out[i]);
      });
    }
    v1::SuspendAccountRequest suspend;
    suspend.set_name("accounts/" + seller.account_id);
    suspend.set_reason_code("FRAUD");
    suspend.set_reason("Racing refreshes.");
    v1::Account a;
    ASSERT_TRUE(Call(&Stub::SuspendAccount, suspend, &a, admin).ok());
    for (auto& t : threads) t.join();
    v1::ReinstateAccountRequest reinstate;
    reinstate.set_name("accounts/" + seller.account_id);
    reinstate.set_reason_code("APPEAL_GRANTED");
    reinstate.set_reason("Appeal reviewed.");
    ASSERT_TRUE(Call(&Stub::ReinstateAccount, reinstate, &a, admin).ok());
    for (int i = 0; i < kSessions; ++i) {
      if (!status[i].ok()) continue;
      v1::RefreshSessionRequest r;
      r.set_refresh_token(out[i].tokens().refresh_token());
      v1::RefreshSessionResponse again;
      EXPECT_EQ(Call(&Stub::RefreshSession, r, &again).error_code(), UN);
    }
  }
}

// Item 9: only completed failures count. Concurrent logins with the right password on an
// account without failures all succeed, and so does a concurrent ChangePassword with the
// right current password. Its own server with enough workers that all of them are in flight
// at once (the shared one has 6).
TEST(IdentityThrottleTest, ConcurrentRightPasswordLoginsAreNeverThrottled) {
  auto started = IdentityProcess::Start({"--db_pool_size=12"});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<IdentityProcess> identity = *std::move(started);
  Stub* stub = identity->stub();
  const std::string email = UniqueEmail("concurrent");
  auto signed_up = SignUpAndLogin(stub, v1::BUYER, email);
  ASSERT_TRUE(signed_up.ok()) << signed_up.status();
  const std::string token = signed_up->tokens().access_token();

  for (int round = 0; round < 2; ++round) {
    RacedLogins raced = RaceLogins(stub, email, kGoodPassword, 8, absl::ZeroDuration(), [] {});
    for (const grpc::Status& s : raced.status) {
      EXPECT_TRUE(s.ok()) << s.error_code() << " " << ReasonOf(s) << " " << s.error_message();
    }
  }

  grpc::Status changed;
  v1::ChangePasswordResponse change_out;
  RacedLogins raced = RaceLogins(stub, email, kGoodPassword, 8, absl::ZeroDuration(), [&] {
    v1::ChangePasswordRequest change;
    change.set_name("accounts/me");
    change.set_current_password(kGoodPassword);
    change.set_new_password("a different long passphrase 99");
    changed = CallIdentity(stub, &Stub::ChangePassword, change, &change_out, token);
  });
  EXPECT_TRUE(changed.ok()) << changed.error_code() << " " << ReasonOf(changed) << " "
                            << changed.error_message();
  for (size_t i = 0; i < raced.status.size(); ++i) {
    const grpc::Status& s = raced.status[i];
    // Each login ended before the change (OK, and its session ended by it) or after it (the
    // old password is wrong by then); none is throttled.
    EXPECT_TRUE(s.ok() || ReasonOf(s) == "INVALID_CREDENTIALS")
        << s.error_code() << " " << ReasonOf(s) << " " << s.error_message();
    if (!s.ok()) continue;
    v1::RefreshSessionRequest refresh;
    refresh.set_refresh_token(raced.response[i].tokens().refresh_token());
    v1::RefreshSessionResponse refreshed;
    EXPECT_EQ(CallIdentity(stub, &Stub::RefreshSession, refresh, &refreshed).error_code(), UN);
  }
  EXPECT_TRUE(Login(stub, email, "a different long passphrase 99").ok());

  // The ceiling still holds for concurrent guesses: of 12 wrong passwords sent at once, no
  // more are evaluated than sequentially (5 free failures and the 6th); the rest wait for
  // them and are then throttled.
  RacedLogins guesses = RaceLogins(stub, UniqueEmail("guessed"), "not the password at all", 12,
                                   absl::ZeroDuration(), [] {});
  int evaluated = 0;
  for (const grpc::Status& s : guesses.status) {
    if (ReasonOf(s) == "INVALID_CREDENTIALS") {
      ++evaluated;
    } else {
      EXPECT_EQ(ReasonOf(s), "LOGIN_THROTTLED") << s.error_code() << " " << s.error_message();
    }
  }
  EXPECT_LE(evaluated, 6);
  EXPECT_GE(evaluated, 1);
}

// Item 10: a suspended account is named only after the right password, and that answer is
// throttled exactly like a failure; a wrong password gets INVALID_CREDENTIALS.
TEST_F(IdentityApiTest, SuspendedAnswerNeedsTheRightPasswordAndIsThrottledLikeAFailure) {
  const std::string admin = AdminToken();
  Caller seller = Human(v1::SELLER);
  v1::SuspendAccountRequest suspend;
  suspend.set_name("accounts/" + seller.account_id);
  suspend.set_reason_code("FRAUD");
  suspend.set_reason("Oracle test.");
  v1::Account a;
  ASSERT_TRUE(Call(&Stub::SuspendAccount, suspend, &a, admin).ok());

  v1::LoginRequest wrong;
  wrong.set_email(seller.email);
  wrong.set_password("not the password at all");
  v1::LoginResponse out;
  grpc::Status w = Call(&Stub::Login, wrong, &out);
  EXPECT_EQ(w.error_code(), UN);
  EXPECT_EQ(ReasonOf(w), "INVALID_CREDENTIALS");

  v1::LoginRequest right = wrong;
  right.set_password(kGoodPassword);
  grpc::Status r = Call(&Stub::Login, right, &out);
  EXPECT_EQ(r.error_code(), PD);
  EXPECT_EQ(ReasonOf(r), "ACCOUNT_SUSPENDED");

  // Right-password attempts keep counting: throttled as soon as wrong ones would be.
  grpc::Status last;
  int attempts = 2;
  for (; attempts < 10; ++attempts) {
    last = Call(&Stub::Login, right, &out);
    if (last.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    EXPECT_EQ(ReasonOf(last), "ACCOUNT_SUSPENDED");
  }
  EXPECT_EQ(ReasonOf(last), "LOGIN_THROTTLED");
  EXPECT_LE(attempts, 7);
  v1::GetAccountRequest get;
  get.set_name("accounts/" + seller.account_id);
  ASSERT_TRUE(Call(&Stub::GetAccount, get, &a, admin).ok());
  EXPECT_GE(a.login_throttle().consecutive_failures(), 6);
}

// Item 8: a request id is bound to the password too (as a keyed hash) and to the email: the
// same id with another password never returns the first account, and another caller's email
// with the same id is a new sign-up, not REQUEST_ID_REUSED.
TEST_F(IdentityApiTest, SignUpRequestIdIsBoundToThePasswordAndTheEmail) {
  const std::string email = UniqueEmail("idem");
  v1::SignUpRequest first;
  first.set_email(email);
  first.set_password(kGoodPassword);
  first.set_display_name("Idem");
  first.set_role(v1::BUYER);
  first.set_request_id(absl::StrCat("signup-r1-", absl::ToUnixMicros(absl::Now())));
  v1::Account created;
  ASSERT_TRUE(Call(&Stub::SignUp, first, &created).ok());

  v1::SignUpRequest other_password = first;
  other_password.set_password("an entirely other passphrase 7");
  v1::Account replayed;
  grpc::Status s = Call(&Stub::SignUp, other_password, &replayed);
  EXPECT_FALSE(s.ok()) << "returned account " << replayed.account_id();
  // What a fresh sign-up with a registered email answers.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_EQ(ReasonOf(s), "EMAIL_TAKEN");
  EXPECT_FALSE(Login(stub(), email, "an entirely other passphrase 7").ok());

  // The true repeat gets the first answer.
  ASSERT_TRUE(Call(&Stub::SignUp, first, &replayed).ok());
  EXPECT_EQ(replayed.account_id(), created.account_id());

  // Anonymous callers do not share one namespace: the same id for another email is new.
  v1::SignUpRequest someone_else = first;
  someone_else.set_email(UniqueEmail("idem2"));
  v1::Account other;
  s = Call(&Stub::SignUp, someone_else, &other);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(other.account_id(), created.account_id());
}

}  // namespace
}  // namespace marketplace::testing
