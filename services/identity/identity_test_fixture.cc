#include "services/identity/identity_test_fixture.h"

#include <utility>

#include "absl/status/status.h"
#include "common/db/migrations.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/identity/identity_migrations.h"
#include "services/identity/login_throttle.h"

namespace marketplace::identity {

void IdentityDomainTest::SetUp() {
  DatabaseTest::SetUp();
  ASSERT_OK(ApplyIdentityMigrations(pool()));
  store_ = std::make_unique<MySqlIdentityStore>(&pool());
  hasher_ = std::make_unique<PasswordHasher>(kTestHashParams, nullptr);
  policy_ = std::make_unique<PasswordPolicy>(&CommonPasswordList::BuiltIn());
  passwords_ = std::make_unique<PasswordCheck>(store_.get(), hasher_.get(),
                                               LoginThrottle(ThrottlePolicy{}), &clock_, &observer_);
  accounts_ = std::make_unique<Accounts>(store_.get(), policy_.get(), hasher_.get(),
                                         passwords_.get(), &clock_,
                                         kek_.DeriveKey("identity request fingerprints v1"));
  keys_ = std::make_unique<KeyRing>(store_.get(), &kek_, &clock_, KeyRingOptions{});
  ASSERT_OK(keys_->EnsureKeys());
  issuer_ = std::make_unique<AccessTokenIssuer>(keys_.get(), TokenOptions{}, &clock_);
  common::auth::VerifierOptions verifier_options;
  verifier_options.issuer = "marketplace-identity";
  verifier_options.audience = "identity";
  verifier_ = std::make_unique<common::auth::TokenVerifier>(keys_.get(), verifier_options, &clock_);
  sessions_ = std::make_unique<Sessions>(store_.get(), passwords_.get(), issuer_.get(),
                                         verifier_.get(), &clock_, &observer_);
  onboarding_ = std::make_unique<SellerOnboarding>(store_.get(), &clock_);
  ASSERT_OK(accounts_->EnsureBootstrapAdmin("root@example.com", kGoodPassword));
  std::optional<Account> admin = FindByEmail("root@example.com");
  ASSERT_TRUE(admin.has_value());
  admin_ = *std::move(admin);
}

std::optional<Account> IdentityDomainTest::FindByEmail(const std::string& email_key) {
  std::optional<Account> out;
  EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<Account>> found = tx.FindAccountByEmailKey(email_key);
    if (!found.ok()) return found.status();
    out = *found;
    return absl::OkStatus();
  }));
  return out;
}

std::vector<AuditEvent> IdentityDomainTest::Audit(const std::string& account_id) {
  std::vector<AuditEvent> out;
  EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::vector<AuditEvent>> events = tx.ListAuditEvents(account_id, 100);
    if (!events.ok()) return events.status();
    out = *events;
    return absl::OkStatus();
  }));
  return out;
}

CallerState IdentityDomainTest::StateOf(const std::string& account_id,
                                        const std::string& session_id) {
  CallerState out;
  EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<CallerState> s = tx.LoadCallerState(account_id, session_id);
    if (!s.ok()) return s.status();
    out = *s;
    return absl::OkStatus();
  }));
  return out;
}

RequestContext IdentityDomainTest::As(const Account& account, std::string session_id) {
  RequestContext ctx;
  ctx.caller =
      Principal{account.id, account.role, account.scopes, std::move(session_id), "token-id"};
  ctx.request_id = "req-test";
  return ctx;
}

RequestContext IdentityDomainTest::As(const LoginResult& login) {
  RequestContext ctx;
  ctx.caller = Principal{login.account.id,
                         login.account.role,
                         {},
                         login.tokens.session_id,
                         login.tokens.access.token_id};
  return ctx;
}

absl::StatusOr<Account> IdentityDomainTest::SignUp(const std::string& email, Role role,
                                                   const std::string& password) {
  return accounts_->SignUp({email, password, "Someone", role, ""}, Anonymous());
}

}  // namespace marketplace::identity
