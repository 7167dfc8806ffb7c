#include "services/identity/accounts.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/identity/identity_observer.h"
#include "services/identity/identity_test_fixture.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/secrets.h"
#include "services/identity/sessions.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {
namespace {

// The first field violation of an INVALID_ARGUMENT, as "field: rule".
std::string FirstViolation(const absl::Status& status) {
  std::vector<common::FieldViolation> v = common::FieldViolationsOf(status);
  if (v.empty()) return "(none)";
  return absl::StrCat(v[0].field, ": ", v[0].rule);
}

using AccountsTest = IdentityDomainTest;

TEST_F(AccountsTest, SignUpNormalisesTheEmailAndStoresAnArgon2idHash) {
  ASSERT_OK_AND_ASSIGN(Account a, accounts_->SignUp({"  Ada.L@Example.COM \t", kGoodPassword, "Ada",
                                                     Role::kSeller, ""},
                                                    Anonymous()));
  EXPECT_EQ(a.email, "Ada.L@example.com");  // the domain is lower-cased, the local part kept
  EXPECT_EQ(a.email_key, "ada.l@example.com");
  EXPECT_EQ(a.role, Role::kSeller);
  EXPECT_EQ(a.status, AccountStatus::kActive);
  EXPECT_EQ(a.id.size(), 32u);

  std::optional<Account> stored = FindByEmail("ada.l@example.com");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id, a.id);
  EXPECT_TRUE(absl::StartsWith(stored->password_hash, "$argon2id$")) << stored->password_hash;
  EXPECT_EQ(stored->password_hash.find(kGoodPassword), std::string::npos);
  ASSERT_OK_AND_ASSIGN(bool matches, hasher_->Verify(stored->password_hash, kGoodPassword));
  EXPECT_TRUE(matches);

  std::vector<AuditEvent> audit = Audit(a.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().type, "SIGN_UP");
}

TEST_F(AccountsTest, DuplicateEmailIsAlreadyExistsWhateverTheCaseOrSpacing) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  absl::StatusOr<Account> dup = SignUp(" ADA@EXAMPLE.com ", Role::kSeller);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  EXPECT_EQ(common::ReasonOf(dup.status()), "EMAIL_TAKEN");
}

TEST_F(AccountsTest, ConcurrentSignUpsWithOneEmailCreateOneAccount) {
  constexpr int kThreads = 6;
  std::atomic<int> created{0};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<Account> r =
          SignUp(i % 2 == 0 ? "race@example.com" : "RACE@Example.com", Role::kBuyer);
      if (r.ok()) ++created;
      if (common::ReasonOf(r.status()) == "EMAIL_TAKEN") ++taken;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(taken.load(), kThreads - 1);

  // Replicas starting together make one bootstrap admin.
  std::vector<std::thread> replicas;
  std::atomic<int> failed{0};
  for (int i = 0; i < 3; ++i) {
    replicas.emplace_back([&] {
      if (!accounts_->EnsureBootstrapAdmin("ops@example.com", kGoodPassword).ok()) ++failed;
    });
  }
  for (std::thread& t : replicas) t.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_OK_AND_ASSIGN(AccountPage admins,
                       accounts_->List({Role::kAdmin, std::nullopt}, 0, "", As(admin_)));
  EXPECT_EQ(admins.accounts.size(), 2u);  // root@ and ops@
}

TEST_F(AccountsTest, PasswordPolicyRefusesWeakPasswordsNamingTheRule) {
  struct Case {
    std::string password;
    std::string rule_part;
  };
  const std::vector<Case> cases = {
      {"elevenchars", "12 to 128"},
      {std::string(129, 'x'), "12 to 128"},
      {"grace.hopper@example.com", "email"},
      {"GRACE.HOPPER", "email"},  // the local part, any case
      {"password1234", "common"},
      {"Password1234", "common"},
      {"", "12 to 128"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Account> result = SignUp("grace.hopper@example.com", Role::kBuyer, c.password);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.password;
    const std::string violation = FirstViolation(result.status());
    EXPECT_TRUE(absl::StartsWith(violation, "password: ")) << violation;
    EXPECT_TRUE(absl::StrContains(violation, c.rule_part)) << c.password << " -> " << violation;
  }
  EXPECT_FALSE(FindByEmail("grace.hopper@example.com").has_value());
}

TEST_F(AccountsTest, PasswordsCountUnicodeCharactersAndAreNeverTruncated) {
  const std::string smile = "\xF0\x9F\x98\x80";  // one code point, four bytes
  std::string twelve;
  for (int i = 0; i < 12; ++i) twelve += smile;
  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += "\xC3\xA9";  // é
  EXPECT_OK(SignUp("u12@example.com", Role::kBuyer, twelve));
  EXPECT_EQ(SignUp("u11@example.com", Role::kBuyer, eleven).status().code(),
            absl::StatusCode::kInvalidArgument);

  std::string longest;  // 128 code points, 512 bytes
  for (int i = 0; i < 127; ++i) longest += smile;
  longest += "!";
  ASSERT_OK(SignUp("u128@example.com", Role::kBuyer, longest));
  EXPECT_EQ(SignUp("u129@example.com", Role::kBuyer, longest + "!").status().code(),
            absl::StatusCode::kInvalidArgument);

  // Every character counts: the same password with a different last one does not log in.
  std::string almost = longest.substr(0, longest.size() - 1) + "?";
  EXPECT_OK(sessions_->Login("u128@example.com", longest, Anonymous()));
  EXPECT_EQ(sessions_->Login("u128@example.com", almost, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Nor does it trim: a trailing space is a different password.
  EXPECT_EQ(sessions_->Login("u12@example.com", twelve + " ", Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AccountsTest, SignUpReportsEveryBadFieldAtOnceAndOnlyBuyerOrSeller) {
  absl::StatusOr<Account> bad =
      accounts_->SignUp({"not-an-email", "short", "", std::nullopt, "bad id!"}, Anonymous());
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(bad.status())) fields.push_back(v.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"email", "password", "display_name", "role", "request_id"}));
  for (Role role : {Role::kAdmin, Role::kModerator, Role::kSupportAgent, Role::kService}) {
    absl::StatusOr<Account> r = SignUp("x@example.com", role);
    EXPECT_EQ(FirstViolation(r.status()), "role: must be BUYER or SELLER") << RoleName(role);
  }
}

TEST_F(AccountsTest, SignUpWithARequestIdIsIdempotent) {
  NewAccount request{"idem@example.com", kGoodPassword, "Idem", Role::kBuyer, "req-1"};
  ASSERT_OK_AND_ASSIGN(Account first, accounts_->SignUp(request, Anonymous()));
  ASSERT_OK_AND_ASSIGN(Account again, accounts_->SignUp(request, Anonymous()));
  EXPECT_EQ(again.id, first.id);
  // The id reused for this email with another request: what a fresh sign-up with this email
  // answers, nothing more.
  request.display_name = "Someone else";
  absl::StatusOr<Account> other = accounts_->SignUp(request, Anonymous());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
  EXPECT_EQ(common::ReasonOf(other.status()), "EMAIL_TAKEN");
  // The password is part of the request.
  request.display_name = "Idem";
  request.password = "another good passphrase 314";
  other = accounts_->SignUp(request, Anonymous());
  EXPECT_EQ(common::ReasonOf(other.status()), "EMAIL_TAKEN") << other.status();
  // Each email has its own ids: the same id for another email is a new sign-up.
  request.email = "idem2@example.com";
  ASSERT_OK_AND_ASSIGN(Account second, accounts_->SignUp(request, Anonymous()));
  EXPECT_NE(second.id, first.id);
}

TEST_F(AccountsTest, StaffRequestIdReusedForAnotherPasswordIsRefused) {
  NewAccount request{"staff-idem@example.com", kGoodPassword, "Staff", Role::kModerator, "req-2"};
  ASSERT_OK_AND_ASSIGN(Account first, accounts_->CreateStaffAccount(request, As(admin_)));
  ASSERT_OK_AND_ASSIGN(Account again, accounts_->CreateStaffAccount(request, As(admin_)));
  EXPECT_EQ(again.id, first.id);
  request.password = "another good passphrase 314";
  absl::Status other = accounts_->CreateStaffAccount(request, As(admin_)).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition) << other;
  EXPECT_EQ(common::ReasonOf(other), "REQUEST_ID_REUSED");
}

TEST_F(AccountsTest, StaffAccountsOnlyByAdminsAndOnlyStaffRoles) {
  ASSERT_OK_AND_ASSIGN(
      Account mod, accounts_->CreateStaffAccount(
                       {"mod@example.com", kGoodPassword, "Mo", Role::kModerator, ""}, As(admin_)));
  EXPECT_EQ(mod.role, Role::kModerator);
  ASSERT_OK_AND_ASSIGN(Account buyer, SignUp("b@example.com", Role::kBuyer));

  NewAccount request{"agent@example.com", kGoodPassword, "Agent", Role::kSupportAgent, ""};
  EXPECT_EQ(accounts_->CreateStaffAccount(request, As(buyer)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_->CreateStaffAccount(request, As(mod)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_->CreateStaffAccount(request, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);
  request.role = Role::kBuyer;
  EXPECT_EQ(FirstViolation(accounts_->CreateStaffAccount(request, As(admin_)).status()),
            "role: must be SUPPORT_AGENT, MODERATOR or ADMIN");
  EXPECT_FALSE(FindByEmail("agent@example.com").has_value());
}

TEST_F(AccountsTest, ServiceAccountsGetASecretShownOnceAndStoredOnlyAsAHash) {
  ASSERT_OK_AND_ASSIGN(CreatedServiceAccount created,
                       accounts_->CreateServiceAccount(
                           "sellerkpi", {"identity.enforcement", "identity.accounts.read"},
                           "svc-req-1", As(admin_)));
  EXPECT_EQ(created.account.role, Role::kService);
  EXPECT_TRUE(absl::StartsWith(created.client_secret, kClientSecretPrefix));
  EXPECT_EQ(created.account.scopes,
            (std::vector<std::string>{"identity.accounts.read", "identity.enforcement"}));
  EXPECT_EQ(created.account.email, "");

  ASSERT_OK_AND_ASSIGN(AccountView stored, accounts_->Get(created.account.id, As(admin_)));
  EXPECT_EQ(stored.account.client_secret_hash, common::Sha256(created.client_secret));
  EXPECT_EQ(stored.account.scopes, created.account.scopes);

  // A repeat returns the same account and no secret.
  ASSERT_OK_AND_ASSIGN(CreatedServiceAccount repeat,
                       accounts_->CreateServiceAccount(
                           "sellerkpi", {"identity.enforcement", "identity.accounts.read"},
                           "svc-req-1", As(admin_)));
  EXPECT_EQ(repeat.account.id, created.account.id);
  EXPECT_EQ(repeat.client_secret, "");

  ASSERT_OK_AND_ASSIGN(Account buyer, SignUp("b@example.com", Role::kBuyer));
  EXPECT_EQ(accounts_->CreateServiceAccount("x", {}, "", As(buyer)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_->CreateServiceAccount("x", {"Bad Scope"}, "", As(admin_)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccountsTest, BootstrapAdminIsIdempotentAndNeverResetsThePassword) {
  // SetUp made root@example.com; again with another password changes nothing.
  ASSERT_OK(accounts_->EnsureBootstrapAdmin("ROOT@example.com", "another-long-passphrase"));
  ASSERT_OK_AND_ASSIGN(AccountPage admins,
                       accounts_->List({Role::kAdmin, std::nullopt}, 0, "", As(admin_)));
  ASSERT_EQ(admins.accounts.size(), 1u);
  EXPECT_EQ(admins.accounts[0].account.id, admin_.id);
  EXPECT_OK(sessions_->Login("root@example.com", kGoodPassword, Anonymous()));
  EXPECT_EQ(
      sessions_->Login("root@example.com", "another-long-passphrase", Anonymous()).status().code(),
      absl::StatusCode::kUnauthenticated);

  ASSERT_OK(SignUp("buyer@example.com", Role::kBuyer));
  absl::Status taken = accounts_->EnsureBootstrapAdmin("buyer@example.com", kGoodPassword);
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(taken), "BOOTSTRAP_EMAIL_NOT_ADMIN");
  EXPECT_EQ(accounts_->EnsureBootstrapAdmin("new-admin@example.com", "password1234").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(FindByEmail("new-admin@example.com").has_value());
}

TEST_F(AccountsTest, UpdateProfileOnlyOnOnesOwnAccount) {
  ASSERT_OK_AND_ASSIGN(Account alice, SignUp("alice@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(Account bob, SignUp("bob@example.com", Role::kBuyer));
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(Account updated,
                       accounts_->UpdateDisplayName(alice.id, "Alice \xC3\x9C", As(alice)));
  EXPECT_EQ(updated.display_name, "Alice \xC3\x9C");
  EXPECT_EQ(updated.updated_at, clock_.Now());
  ASSERT_OK_AND_ASSIGN(AccountView reread, accounts_->Get(alice.id, As(alice)));
  EXPECT_EQ(reread.account.display_name, "Alice \xC3\x9C");

  EXPECT_EQ(accounts_->UpdateDisplayName(alice.id, "Mallory", As(bob)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_->UpdateDisplayName(alice.id, "Admin", As(admin_)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(FirstViolation(accounts_->UpdateDisplayName(alice.id, "", As(alice)).status()),
            "account.display_name: must be 1 to 100 characters");
  EXPECT_EQ(
      accounts_->UpdateDisplayName(alice.id, std::string(101, 'a'), As(alice)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_->Get(alice.id, As(alice))->account.display_name, "Alice \xC3\x9C");
}

TEST_F(AccountsTest, GetAccountForOwnersStaffAndNobodyElse) {
  ASSERT_OK_AND_ASSIGN(Account alice, SignUp("alice@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(Account bob, SignUp("bob@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(
      Account agent,
      accounts_->CreateStaffAccount(
          {"agent@example.com", kGoodPassword, "Ag", Role::kSupportAgent, ""}, As(admin_)));
  EXPECT_OK(accounts_->Get(alice.id, As(alice)));
  EXPECT_EQ(accounts_->Get(alice.id, As(bob)).status().code(), absl::StatusCode::kPermissionDenied);
  // Refused before the lookup: an unknown id looks the same to a buyer.
  EXPECT_EQ(accounts_->Get(std::string(32, 'f'), As(bob)).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(AccountView seen_by_agent, accounts_->Get(alice.id, As(agent)));
  EXPECT_EQ(seen_by_agent.account.email, "alice@example.com");
  EXPECT_FALSE(seen_by_agent.throttle.has_value());  // admins only
  EXPECT_EQ(accounts_->Get(std::string(32, 'f'), As(agent)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(accounts_->Get(alice.id, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);

  // Admins see the login throttle of the account.
  EXPECT_FALSE(sessions_->Login("alice@example.com", "wrong password here", Anonymous()).ok());
  ASSERT_OK_AND_ASSIGN(AccountView seen_by_admin, accounts_->Get(alice.id, As(admin_)));
  ASSERT_TRUE(seen_by_admin.throttle.has_value());
  EXPECT_EQ(seen_by_admin.throttle->consecutive_failures, 1);
  EXPECT_EQ(seen_by_admin.throttle->failures_last_hour, 1);
}

TEST_F(AccountsTest, ChangePasswordRevokesTheOtherSessionsOnly) {
  ASSERT_OK(SignUp("carol@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult phone,
                       sessions_->Login("carol@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK_AND_ASSIGN(LoginResult laptop,
                       sessions_->Login("carol@example.com", kGoodPassword, Anonymous()));
  const std::string carol = phone.account.id;
  const std::string new_password = "indigo-lantern-falls-77";

  absl::StatusOr<int> wrong =
      accounts_->ChangePassword(carol, "not my password!", new_password, As(laptop));
  EXPECT_EQ(FirstViolation(wrong.status()),
            "current_password: does not match the account's password");
  EXPECT_EQ(
      accounts_->ChangePassword(carol, kGoodPassword, "password1234", As(laptop)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      accounts_->ChangePassword(carol, kGoodPassword, kGoodPassword, As(laptop)).status().code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_OK(SignUp("dave@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult dave,
                       sessions_->Login("dave@example.com", kGoodPassword, Anonymous()));
  EXPECT_EQ(accounts_->ChangePassword(carol, kGoodPassword, new_password, As(dave)).status().code(),
            absl::StatusCode::kPermissionDenied);

  ASSERT_OK_AND_ASSIGN(int revoked,
                       accounts_->ChangePassword(carol, kGoodPassword, new_password, As(laptop)));
  EXPECT_EQ(revoked, 1);
  EXPECT_TRUE(StateOf(carol, phone.tokens.session_id).session_revoked);
  EXPECT_FALSE(StateOf(carol, laptop.tokens.session_id).session_revoked);
  EXPECT_FALSE(StateOf(dave.account.id, dave.tokens.session_id).session_revoked);
  EXPECT_EQ(sessions_->Refresh(phone.tokens.refresh_token, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);

  EXPECT_EQ(sessions_->Login("carol@example.com", kGoodPassword, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_OK(sessions_->Login("carol@example.com", new_password, Anonymous()));
}

// Two sessions change the password at once from the same current password (the owner and
// someone who stole it): one change wins; the other is decided again inside its committing
// transaction and refused, so the loser neither sets its password nor ends the winner's session.
TEST_F(AccountsTest, ConcurrentPasswordChangesFromTheSamePasswordOnlyOneWins) {
  ASSERT_OK(SignUp("erin@example.com", Role::kBuyer));
  std::string current = kGoodPassword;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    ASSERT_OK_AND_ASSIGN(LoginResult owner,
                         sessions_->Login("erin@example.com", current, Anonymous()));
    ASSERT_OK_AND_ASSIGN(LoginResult thief,
                         sessions_->Login("erin@example.com", current, Anonymous()));
    const std::string erin = owner.account.id;
    const std::string passwords[2] = {absl::StrCat("owner-copper-meadow-", round),
                                      absl::StrCat("thief-silver-canyon-", round)};
    const RequestContext callers[2] = {As(owner), As(thief)};
    absl::StatusOr<int> results[2] = {absl::UnknownError(""), absl::UnknownError("")};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 2) {
        }
        results[i] = accounts_->ChangePassword(erin, current, passwords[i], callers[i]);
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << results[0].status() << " / " << results[1].status();
    const int winner = results[0].ok() ? 0 : 1;
    const absl::Status lost = results[1 - winner].status();
    EXPECT_TRUE(FirstViolation(lost) == "current_password: does not match the account's password" ||
                common::ReasonOf(lost) == "SESSION_REVOKED")
        << lost;
    EXPECT_FALSE(StateOf(erin, (winner == 0 ? owner : thief).tokens.session_id).session_revoked);
    EXPECT_TRUE(StateOf(erin, (winner == 0 ? thief : owner).tokens.session_id).session_revoked);
    EXPECT_EQ(
        sessions_->Login("erin@example.com", passwords[1 - winner], Anonymous()).status().code(),
        absl::StatusCode::kUnauthenticated);
    current = passwords[winner];
    EXPECT_OK(sessions_->Login("erin@example.com", current, Anonymous()));
  }
}

TEST_F(AccountsTest, SuspendAndReinstateWithReasonCodes) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login("seller@example.com", kGoodPassword, Anonymous()));

  EXPECT_EQ(FirstViolation(accounts_->Suspend(seller.id, "", "why", As(admin_)).status()),
            "reason_code: is required");
  EXPECT_EQ(accounts_->Suspend(seller.id, "FRAUD", "", As(admin_)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_->Suspend(seller.id, "FRAUD", "x", As(seller)).status().code(),
            absl::StatusCode::kPermissionDenied);
  absl::StatusOr<Account> self = accounts_->Suspend(admin_.id, "TEST", "me", As(admin_));
  EXPECT_EQ(common::ReasonOf(self.status()), "CANNOT_SUSPEND_SELF");

  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(Account suspended, accounts_->Suspend(seller.id, "CHARGEBACKS",
                                                             "Too many chargebacks", As(admin_)));
  EXPECT_EQ(suspended.status, AccountStatus::kSuspended);
  ASSERT_TRUE(suspended.suspension.has_value());
  EXPECT_EQ(suspended.suspension->reason_code, "CHARGEBACKS");
  EXPECT_EQ(suspended.suspension->reason, "Too many chargebacks");
  EXPECT_EQ(suspended.suspension->suspended_by, admin_.id);
  EXPECT_EQ(suspended.suspension->suspended_at, clock_.Now());
  // Its sessions end with it; a second suspension changes nothing.
  EXPECT_TRUE(StateOf(seller.id, login.tokens.session_id).session_revoked);
  ASSERT_OK(accounts_->Suspend(seller.id, "OTHER", "again", As(admin_)));
  EXPECT_EQ(accounts_->Get(seller.id, As(admin_))->account.suspension->reason_code, "CHARGEBACKS");

  ASSERT_OK_AND_ASSIGN(Account back,
                       accounts_->Reinstate(seller.id, "APPEAL_ACCEPTED", "Appeal", As(admin_)));
  EXPECT_EQ(back.status, AccountStatus::kActive);
  EXPECT_FALSE(back.suspension.has_value());

  // A seller's history records both.
  SellerProfile profile;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<SellerProfile> p = tx.LoadSellerProfile(seller.id, false);
    if (!p.ok()) return p.status();
    profile = *p;
    return absl::OkStatus();
  }));
  ASSERT_EQ(profile.decisions.size(), 2u);
  EXPECT_EQ(profile.decisions[0].kind, SellerDecisionKind::kAccountSuspended);
  EXPECT_EQ(profile.decisions[0].reason_code, "CHARGEBACKS");
  EXPECT_EQ(profile.decisions[1].kind, SellerDecisionKind::kAccountReinstated);
  std::vector<std::string> types;
  for (const AuditEvent& e : Audit(seller.id)) types.push_back(e.type);
  EXPECT_EQ(types.at(0), "ACCOUNT_REINSTATED");
  EXPECT_EQ(types.at(1), "ACCOUNT_SUSPENDED");
}

TEST_F(AccountsTest, EnforcementServicesSuspendBuyersAndSellersButNotStaff) {
  ASSERT_OK_AND_ASSIGN(
      CreatedServiceAccount kpi,
      accounts_->CreateServiceAccount("sellerkpi", {"identity.enforcement"}, "", As(admin_)));
  ASSERT_OK_AND_ASSIGN(
      CreatedServiceAccount reader,
      accounts_->CreateServiceAccount("reader", {"identity.accounts.read"}, "", As(admin_)));
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(
      Account mod, accounts_->CreateStaffAccount(
                       {"mod@example.com", kGoodPassword, "Mo", Role::kModerator, ""}, As(admin_)));
  EXPECT_EQ(accounts_->Suspend(seller.id, "KPI_BREACH", "late", As(reader.account)).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(
      Account s, accounts_->Suspend(seller.id, "KPI_BREACH", "late shipments", As(kpi.account)));
  EXPECT_EQ(s.suspension->suspended_by, kpi.account.id);
  // Staff and ADMIN accounts, which it may not read either, answer like an unknown id.
  const absl::Status unknown =
      accounts_->Suspend("0123456789abcdef0123456789abcdef", "KPI_BREACH", "x", As(kpi.account))
          .status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  for (const std::string& id : {mod.id, admin_.id, reader.account.id}) {
    const absl::Status s = accounts_->Suspend(id, "KPI_BREACH", "x", As(kpi.account)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(s.message(), absl::StrCat("account ", id, " not found"));
    EXPECT_EQ(common::ReasonOf(s), common::ReasonOf(unknown));
    EXPECT_EQ(accounts_->Reinstate(id, "KPI_BREACH", "x", As(kpi.account)).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_OK(accounts_->Reinstate(seller.id, "KPI_RECOVERED", "better", As(kpi.account)));
}

TEST_F(AccountsTest, ListAccountsFiltersAndPagesWithTokens) {
  std::vector<std::string> buyers;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_OK_AND_ASSIGN(Account b, SignUp(absl::StrCat("b", i, "@example.com"), Role::kBuyer));
    buyers.push_back(b.id);
  }
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("s@example.com", Role::kSeller));
  ASSERT_OK(accounts_->Suspend(buyers[1], "SPAM", "spam", As(admin_)));

  const AccountFilter buyers_only{Role::kBuyer, std::nullopt};
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(AccountPage page, accounts_->List(buyers_only, 2, token, As(admin_)));
    for (const AccountView& v : page.accounts) seen.push_back(v.account.id);
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, buyers);
  EXPECT_EQ(pages, 3);

  ASSERT_OK_AND_ASSIGN(
      AccountPage suspended,
      accounts_->List({std::nullopt, AccountStatus::kSuspended}, 0, "", As(admin_)));
  ASSERT_EQ(suspended.accounts.size(), 1u);
  EXPECT_EQ(suspended.accounts[0].account.id, buyers[1]);
  EXPECT_EQ(suspended.next_page_token, "");

  ASSERT_OK_AND_ASSIGN(AccountPage everyone, accounts_->List({}, 0, "", As(admin_)));
  EXPECT_EQ(everyone.accounts.size(), 7u);  // the admin, five buyers, the seller

  // A token only works with the filter it was made for; garbage is refused as such.
  ASSERT_OK_AND_ASSIGN(AccountPage first, accounts_->List(buyers_only, 2, "", As(admin_)));
  ASSERT_FALSE(first.next_page_token.empty());
  EXPECT_EQ(FirstViolation(
                accounts_->List({Role::kSeller, std::nullopt}, 2, first.next_page_token, As(admin_))
                    .status())
                .substr(0, 11),
            "page_token:");
  EXPECT_EQ(accounts_->List(buyers_only, 2, "garbage", As(admin_)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_->List(buyers_only, -1, "", As(admin_)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_->List(buyers_only, 2, "", As(seller)).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(Argon2idParamsTest, ProductionDefaultsMeetTheMinimumAndLessIsRefused) {
  const Argon2idParams defaults;
  EXPECT_GE(defaults.memory_bytes, size_t{19} * 1024 * 1024);
  EXPECT_GE(defaults.iterations, 2u);
  EXPECT_OK(ValidateArgon2idParams(defaults));
  EXPECT_EQ(ValidateArgon2idParams(kTestHashParams).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateArgon2idParams({1, size_t{19} * 1024 * 1024}).code(),
            absl::StatusCode::kInvalidArgument);
  PasswordHasher hasher(defaults, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string hash, hasher.Hash(kGoodPassword));
  EXPECT_TRUE(absl::StartsWith(hash, "$argon2id$v=19$m=19456,t=2,p=1$")) << hash;
  EXPECT_FALSE(hasher.NeedsRehash(hash));
  PasswordHasher cheap(kTestHashParams, nullptr);
  EXPECT_TRUE(hasher.NeedsRehash(*cheap.Hash(kGoodPassword)));
}

}  // namespace
}  // namespace marketplace::identity
