#include "services/identity/sessions.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_observer.h"
#include "services/identity/identity_test_fixture.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/login_throttle.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {
namespace {

using SessionsTest = IdentityDomainTest;

std::string KidOf(const std::string& token) {
  absl::StatusOr<common::auth::ParsedJwt> parsed = common::auth::ParseJwt(token);
  return parsed.ok() ? parsed->header.kid : "(unparsable)";
}

TEST_F(SessionsTest, LoginIssuesAVerifiableAccessTokenAndARefreshToken) {
  ASSERT_OK_AND_ASSIGN(Account buyer, SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login(" ada@EXAMPLE.com", kGoodPassword, Anonymous()));
  EXPECT_EQ(login.account.id, buyer.id);
  EXPECT_TRUE(absl::StartsWith(login.tokens.refresh_token, "rt1_"));
  EXPECT_EQ(login.tokens.refresh_expires_at, clock_.Now() + absl::Hours(24 * 30));
  EXPECT_EQ(login.tokens.access.expires_at, clock_.Now() + absl::Minutes(15));

  ASSERT_OK_AND_ASSIGN(common::auth::Caller caller, verifier_->Verify(login.tokens.access.token));
  EXPECT_EQ(caller.subject, buyer.id);
  EXPECT_EQ(caller.roles, std::vector<std::string>{"BUYER"});
  EXPECT_EQ(SessionIdOfTokenId(caller.token_id), login.tokens.session_id);
  ASSERT_OK_AND_ASSIGN(common::auth::ParsedJwt parsed,
                       common::auth::ParseJwt(login.tokens.access.token));
  EXPECT_EQ(parsed.header.typ, "at+jwt");
  EXPECT_EQ(parsed.header.alg, "EdDSA");
  EXPECT_EQ(parsed.claims.issuer, "marketplace-identity");
  EXPECT_FALSE(parsed.claims.audiences.empty());
  ASSERT_OK_AND_ASSIGN(KeyRing::SigningKey active, keys_->Active());
  EXPECT_EQ(parsed.header.kid, active.kid);

  EXPECT_OK(sessions_->CheckCallerActive(*As(login).caller));
  EXPECT_EQ(Audit(buyer.id).front().type, "LOGIN_SUCCEEDED");
}

TEST_F(SessionsTest, WrongPasswordAndUnknownEmailGetTheSameAnswer) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  absl::StatusOr<LoginResult> wrong =
      sessions_->Login("ada@example.com", "not-the-password", Anonymous());
  absl::StatusOr<LoginResult> unknown =
      sessions_->Login("nobody@example.com", "not-the-password", Anonymous());
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), wrong.status().code());
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_EQ(common::ReasonOf(wrong.status()), "INVALID_CREDENTIALS");
  EXPECT_EQ(common::ReasonOf(unknown.status()), "INVALID_CREDENTIALS");

  // Bad input is refused before any credential check, naming the fields.
  absl::StatusOr<LoginResult> bad = sessions_->Login("no-at-sign", "", Anonymous());
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(bad.status())) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"email", "password"}));
}

// Only completed failures count; attempts in flight make a new one wait only when, had they
// all failed, the throttle would refuse it.
TEST(LoginThrottleTest, AttemptsInFlightAreNoFailuresButBoundTheGuesses) {
  const LoginThrottle throttle(ThrottlePolicy{});
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ThrottleState state;
  state.in_flight = 5;
  EXPECT_TRUE(throttle.Decide(state, now).allowed);
  EXPECT_FALSE(throttle.MustWaitForInFlight(state, now));  // 5 failures would still be free
  state.in_flight = 6;
  EXPECT_TRUE(throttle.Decide(state, now).allowed);
  EXPECT_TRUE(throttle.MustWaitForInFlight(state, now));  // the 7th would wait 1 s
  state.in_flight = 0;
  EXPECT_FALSE(throttle.MustWaitForInFlight(state, now));
  state.consecutive_failures = 4;
  state.last_failure = now - absl::Seconds(1);
  state.in_flight = 2;
  EXPECT_TRUE(throttle.MustWaitForInFlight(state, now));
  state.in_flight = 1;
  EXPECT_FALSE(throttle.MustWaitForInFlight(state, now));
  // The hourly ceiling too.
  ThrottleState hourly;
  for (int i = 0; i < 99; ++i) hourly.failures_last_hour.push_back(now - absl::Minutes(10));
  hourly.in_flight = 1;
  EXPECT_TRUE(throttle.MustWaitForInFlight(hourly, now));
}

// Raised Argon2id parameters: the first login re-hashes the password. Concurrent logins that
// verified the old hash find another hash under the lock; it holds the same password, so they
// succeed too (checked against it once more) rather than being taken for a password change.
TEST_F(SessionsTest, ConcurrentLoginsSurviveOneOfThemReHashingThePassword) {
  ASSERT_OK(SignUp("rehash@example.com", Role::kBuyer));
  PasswordHasher stronger(Argon2idParams{2, 128 * 1024}, nullptr);
  PasswordCheck check(store_.get(), &stronger, LoginThrottle(ThrottlePolicy{}), &clock_,
                      &observer_);
  Sessions sessions(store_.get(), &check, issuer_.get(), verifier_.get(), &clock_, &observer_);
  constexpr int kLogins = 4;
  std::vector<absl::Status> results(kLogins);
  std::vector<std::thread> threads;
  for (int i = 0; i < kLogins; ++i) {
    threads.emplace_back([&, i] {
      results[i] = sessions.Login("rehash@example.com", kGoodPassword, Anonymous()).status();
    });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_OK(s);
  std::optional<Account> account = FindByEmail("rehash@example.com");
  ASSERT_TRUE(account.has_value());
  EXPECT_FALSE(stronger.NeedsRehash(account->password_hash));
  EXPECT_OK(sessions.Login("rehash@example.com", kGoodPassword, Anonymous()).status());
}

TEST_F(SessionsTest, FailuresBackOffExponentiallyPerEmail) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  auto attempt = [&](const std::string& password) {
    return sessions_->Login("ada@example.com", password, Anonymous()).status();
  };
  // Five free failures, then a sixth that is still evaluated (the wait starts after it).
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(common::ReasonOf(attempt("wrong-password-" + std::to_string(i))),
              "INVALID_CREDENTIALS")
        << i;
  }
  // Now 1 s of wait: even the right password is refused, with a retry delay.
  absl::Status throttled = attempt(kGoodPassword);
  EXPECT_EQ(throttled.code(), absl::StatusCode::kResourceExhausted) << throttled;
  EXPECT_EQ(common::ReasonOf(throttled), "LOGIN_THROTTLED");
  EXPECT_TRUE(throttled.GetPayload("type.googleapis.com/google.rpc.RetryInfo").has_value());

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(common::ReasonOf(attempt("wrong-again-1234")), "INVALID_CREDENTIALS");  // 7th
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(common::ReasonOf(attempt(kGoodPassword)), "LOGIN_THROTTLED");  // 2 s now
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(common::ReasonOf(attempt("wrong-again-5678")), "INVALID_CREDENTIALS");  // 8th
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(common::ReasonOf(attempt(kGoodPassword)), "LOGIN_THROTTLED");  // 4 s now
  clock_.Advance(absl::Seconds(1));
  EXPECT_OK(attempt(kGoodPassword));
  // Success resets the run: the next failure is free again.
  EXPECT_EQ(common::ReasonOf(attempt("wrong-once-more!")), "INVALID_CREDENTIALS");
  EXPECT_OK(attempt(kGoodPassword));

  // Another email is not affected, and an unknown email is throttled the same way.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(common::ReasonOf(
                  sessions_->Login("ghost@example.com", "whatever-password", Anonymous()).status()),
              "INVALID_CREDENTIALS");
  }
  EXPECT_EQ(common::ReasonOf(
                sessions_->Login("ghost@example.com", "whatever-password", Anonymous()).status()),
            "LOGIN_THROTTLED");
}

TEST_F(SessionsTest, LongRunsOfFailuresLockTheEmailOutAndAdminsSeeIt) {
  ASSERT_OK_AND_ASSIGN(Account ada, SignUp("ada@example.com", Role::kBuyer));
  const LoginThrottle throttle{ThrottlePolicy{}};
  int failures = 0;
  while (throttle.DelayAfter(failures) < absl::Minutes(15)) {
    ASSERT_EQ(common::ReasonOf(
                  sessions_->Login("ada@example.com", "bad-password-xyz", Anonymous()).status()),
              "INVALID_CREDENTIALS")
        << failures;
    ++failures;
    clock_.Advance(throttle.DelayAfter(failures));
    ASSERT_LT(failures, 50);
  }
  clock_.Advance(-throttle.DelayAfter(failures));  // back to the moment of the last failure
  EXPECT_EQ(failures, 16);

  ASSERT_OK_AND_ASSIGN(ThrottleView view, passwords_->Inspect("ada@example.com"));
  EXPECT_TRUE(view.locked_out);
  EXPECT_EQ(view.consecutive_failures, 16);
  ASSERT_TRUE(view.next_attempt.has_value());
  EXPECT_EQ(*view.next_attempt, clock_.Now() + absl::Minutes(15));
  ASSERT_OK_AND_ASSIGN(AccountView seen, accounts_->Get(ada.id, As(admin_)));
  ASSERT_TRUE(seen.throttle.has_value());
  EXPECT_TRUE(seen.throttle->locked_out);
  bool audited = false;
  for (const AuditEvent& e : Audit(ada.id)) audited |= e.type == "LOCKED_OUT";
  EXPECT_TRUE(audited);

  EXPECT_EQ(
      common::ReasonOf(sessions_->Login("ada@example.com", kGoodPassword, Anonymous()).status()),
      "LOGIN_THROTTLED");
  clock_.Advance(absl::Minutes(15));
  EXPECT_OK(sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
}

TEST_F(SessionsTest, NoMoreThanOneHundredFailuresPerEmailPerHour) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  // Successes in between never reset the hourly count: 19 x (5 failures + 1 success), then
  // 5 more failures make 100.
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(common::ReasonOf(
                    sessions_->Login("ada@example.com", "bad-password-xyz", Anonymous()).status()),
                "INVALID_CREDENTIALS")
          << round << "/" << i;
      clock_.Advance(absl::Seconds(1));
    }
    if (round == 19) break;
    ASSERT_OK(sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_OK_AND_ASSIGN(ThrottleView view, passwords_->Inspect("ada@example.com"));
  EXPECT_EQ(view.failures_last_hour, 100);
  EXPECT_EQ(view.consecutive_failures, 5);
  EXPECT_TRUE(view.locked_out);
  absl::Status refused = sessions_->Login("ada@example.com", kGoodPassword, Anonymous()).status();
  EXPECT_EQ(common::ReasonOf(refused), "LOGIN_THROTTLED") << refused;

  // An hour after the first failure one more attempt fits.
  clock_.Advance(absl::Hours(1) - absl::Seconds(119));
  EXPECT_OK(sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
}

TEST_F(SessionsTest, RefreshRotatesAndTheOldTokenStopsWorking) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK_AND_ASSIGN(SessionTokens next,
                       sessions_->Refresh(login.tokens.refresh_token, Anonymous()));
  EXPECT_NE(next.refresh_token, login.tokens.refresh_token);
  EXPECT_EQ(next.session_id, login.tokens.session_id);
  EXPECT_EQ(next.refresh_expires_at, login.tokens.refresh_expires_at);  // not extended
  EXPECT_EQ(next.access.expires_at, clock_.Now() + absl::Minutes(15));
  EXPECT_OK(verifier_->Verify(next.access.token));

  ASSERT_OK_AND_ASSIGN(SessionTokens third, sessions_->Refresh(next.refresh_token, Anonymous()));
  EXPECT_NE(third.refresh_token, next.refresh_token);

  EXPECT_EQ(sessions_->Refresh("", Anonymous()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sessions_->Refresh("not-a-refresh-token", Anonymous()).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status unknown = sessions_->Refresh("rt1_unknownunknownunknown", Anonymous()).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(common::ReasonOf(unknown), "INVALID_REFRESH_TOKEN");

  // Past the session's end (30 days from the login) nothing refreshes.
  clock_.Advance(absl::Hours(24 * 30));
  absl::Status expired = sessions_->Refresh(third.refresh_token, Anonymous()).status();
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated) << expired;
}

TEST_F(SessionsTest, ReusingAUsedRefreshTokenRevokesTheWholeFamily) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK_AND_ASSIGN(LoginResult other_device,
                       sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK_AND_ASSIGN(SessionTokens legit,
                       sessions_->Refresh(login.tokens.refresh_token, Anonymous()));

  absl::Status reused = sessions_->Refresh(login.tokens.refresh_token, Anonymous()).status();
  EXPECT_EQ(reused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(common::ReasonOf(reused), "REFRESH_TOKEN_REUSED");
  // The rotated token dies with its family, and so do the session's access tokens...
  absl::Status after = sessions_->Refresh(legit.refresh_token, Anonymous()).status();
  EXPECT_EQ(after.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(common::ReasonOf(after), "SESSION_REVOKED");
  ASSERT_OK_AND_ASSIGN(Introspection seen, sessions_->Introspect(legit.access.token, As(admin_)));
  EXPECT_FALSE(seen.active);
  EXPECT_EQ(seen.inactive_reason, InactiveReason::kSessionRevoked);
  EXPECT_EQ(common::ReasonOf(sessions_->CheckCallerActive(*As(login).caller)), "SESSION_REVOKED");
  // ...but not the account's other sessions.
  EXPECT_OK(sessions_->Refresh(other_device.tokens.refresh_token, Anonymous()));
  bool audited = false;
  for (const AuditEvent& e : Audit(login.account.id)) audited |= e.type == "REFRESH_TOKEN_REUSED";
  EXPECT_TRUE(audited);
}

TEST_F(SessionsTest, TwoConcurrentRefreshesWithOneTokenExactlyOneSucceeds) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  for (int round = 0; round < 5; ++round) {
    ASSERT_OK_AND_ASSIGN(LoginResult login,
                         sessions_->Login("ada@example.com", kGoodPassword, Anonymous()));
    std::atomic<int> succeeded{0};
    std::atomic<int> unauthenticated{0};
    absl::Mutex mu;
    std::optional<SessionTokens> winner;
    std::string loser_reason;
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&] {
        absl::StatusOr<SessionTokens> r =
            sessions_->Refresh(login.tokens.refresh_token, Anonymous());
        absl::MutexLock lock(&mu);
        if (r.ok()) {
          ++succeeded;
          winner = *r;
        }
        if (r.status().code() == absl::StatusCode::kUnauthenticated) {
          ++unauthenticated;
          loser_reason = common::ReasonOf(r.status());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(succeeded.load(), 1) << "round " << round;
    EXPECT_EQ(unauthenticated.load(), 1) << "round " << round;
    ASSERT_TRUE(winner.has_value());
    // The loser presented a used token: theft detection ends the session, winner included.
    EXPECT_EQ(loser_reason, "REFRESH_TOKEN_REUSED");
    EXPECT_EQ(common::ReasonOf(sessions_->Refresh(winner->refresh_token, Anonymous()).status()),
              "SESSION_REVOKED");
  }
}

TEST_F(SessionsTest, LogoutEndsOneSessionLogoutAllEndsEvery) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK(SignUp("bob@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult a1, sessions_->Login("ada@example.com", kGoodPassword, {}));
  ASSERT_OK_AND_ASSIGN(LoginResult a2, sessions_->Login("ada@example.com", kGoodPassword, {}));
  ASSERT_OK_AND_ASSIGN(LoginResult a3, sessions_->Login("ada@example.com", kGoodPassword, {}));
  ASSERT_OK_AND_ASSIGN(LoginResult b1, sessions_->Login("bob@example.com", kGoodPassword, {}));

  EXPECT_EQ(sessions_->Logout(Anonymous()).code(), absl::StatusCode::kUnauthenticated);
  ASSERT_OK(sessions_->Logout(As(a1)));
  ASSERT_OK(sessions_->Logout(As(a1)));  // twice is fine
  EXPECT_EQ(common::ReasonOf(sessions_->CheckCallerActive(*As(a1).caller)), "SESSION_REVOKED");
  EXPECT_EQ(sessions_->Refresh(a1.tokens.refresh_token, {}).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(Introspection i1, sessions_->Introspect(a1.tokens.access.token, As(admin_)));
  EXPECT_EQ(i1.inactive_reason, InactiveReason::kSessionRevoked);
  EXPECT_OK(sessions_->CheckCallerActive(*As(a2).caller));

  ASSERT_OK_AND_ASSIGN(int ended, sessions_->LogoutAll(As(a2)));
  EXPECT_EQ(ended, 2);  // a2 and a3
  EXPECT_FALSE(sessions_->CheckCallerActive(*As(a2).caller).ok());
  EXPECT_FALSE(sessions_->CheckCallerActive(*As(a3).caller).ok());
  EXPECT_EQ(sessions_->Refresh(a3.tokens.refresh_token, {}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Bob is untouched.
  EXPECT_OK(sessions_->CheckCallerActive(*As(b1).caller));
  EXPECT_OK(sessions_->Refresh(b1.tokens.refresh_token, {}));
}

TEST_F(SessionsTest, CallerChecksAreRememberedForTheirTtlAndForgottenOnRevocation) {
  Sessions cached(store_.get(), passwords_.get(), issuer_.get(), verifier_.get(), &clock_, &observer_,
                  {.caller_check_ttl = absl::Seconds(1)});
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult a1, cached.Login("ada@example.com", kGoodPassword, {}));
  ASSERT_OK_AND_ASSIGN(LoginResult a2, cached.Login("ada@example.com", kGoodPassword, {}));
  const Principal caller1 = *As(a1).caller;
  ASSERT_OK(cached.CheckCallerActive(caller1));

  // Revoked elsewhere (another replica): this one still accepts it until the TTL has passed.
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    return tx.RevokeSession(a1.tokens.session_id, "LOGOUT", clock_.Now()).status();
  }));
  EXPECT_OK(cached.CheckCallerActive(caller1));
  EXPECT_EQ(common::ReasonOf(sessions_->CheckCallerActive(caller1)), "SESSION_REVOKED");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(common::ReasonOf(cached.CheckCallerActive(caller1)), "SESSION_REVOKED");
  // The own-account read expires with the check.
  EXPECT_EQ(common::ReasonOf(cached.LoadActiveCaller(caller1).status()), "SESSION_REVOKED");

  // Revocations through this replica take effect at once.
  const Principal caller2 = *As(a2).caller;
  ASSERT_OK_AND_ASSIGN(Account self, cached.LoadActiveCaller(caller2));
  EXPECT_EQ(self.id, a2.account.id);
  EXPECT_EQ(self.email, "ada@example.com");
  ASSERT_OK(cached.CheckCallerActive(caller2));
  ASSERT_OK(cached.Logout(As(a2)));
  EXPECT_EQ(common::ReasonOf(cached.CheckCallerActive(caller2)), "SESSION_REVOKED");

  // ForgetCaller (after a suspension or password change made through Accounts).
  ASSERT_OK_AND_ASSIGN(LoginResult a3, cached.Login("ada@example.com", kGoodPassword, {}));
  const Principal caller3 = *As(a3).caller;
  ASSERT_OK(cached.CheckCallerActive(caller3));
  ASSERT_OK(accounts_->Suspend(a3.account.id, "FRAUD", "test", As(admin_)));
  EXPECT_OK(cached.CheckCallerActive(caller3));  // not told yet
  cached.ForgetCaller(a3.account.id);
  EXPECT_EQ(common::ReasonOf(cached.CheckCallerActive(caller3)), "ACCOUNT_SUSPENDED");
}

TEST_F(SessionsTest, OwnAccountIsRememberedWithTheCheckAndForgottenOnChange) {
  Sessions cached(store_.get(), passwords_.get(), issuer_.get(), verifier_.get(), &clock_, &observer_,
                  {.caller_check_ttl = absl::Seconds(1)});
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login, cached.Login("ada@example.com", kGoodPassword, {}));
  const Principal caller = *As(login).caller;
  ASSERT_OK_AND_ASSIGN(Account first, cached.LoadActiveCaller(caller));

  // Changed through another replica: within the TTL this one answers as it read it.
  ASSERT_OK(accounts_->UpdateDisplayName(caller.account_id, "Ada L.", As(login)));
  ASSERT_OK_AND_ASSIGN(Account again, cached.LoadActiveCaller(caller));
  EXPECT_EQ(again.display_name, first.display_name);
  EXPECT_NE(again.display_name, "Ada L.");
  // Through this replica (ForgetCaller), or once the TTL has passed, the change shows.
  cached.ForgetCaller(caller.account_id);
  ASSERT_OK_AND_ASSIGN(Account forgotten, cached.LoadActiveCaller(caller));
  EXPECT_EQ(forgotten.display_name, "Ada L.");
  ASSERT_OK(accounts_->UpdateDisplayName(caller.account_id, "Ada Lovelace", As(login)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(Account expired, cached.LoadActiveCaller(caller));
  EXPECT_EQ(expired.display_name, "Ada Lovelace");
  // A CheckCallerActive in between renews the check, not the copy: the copy is read again once
  // its own read is a TTL old.
  ASSERT_OK(accounts_->UpdateDisplayName(caller.account_id, "Countess Lovelace", As(login)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(cached.CheckCallerActive(caller));  // read again: the check is renewed
  clock_.Advance(absl::Milliseconds(500));
  ASSERT_OK_AND_ASSIGN(Account renewed, cached.LoadActiveCaller(caller));
  EXPECT_EQ(renewed.display_name, "Countess Lovelace");

  // A suspension through another replica: refused once the TTL has passed.
  ASSERT_OK(accounts_->Suspend(caller.account_id, "FRAUD", "test", As(admin_)));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(common::ReasonOf(cached.LoadActiveCaller(caller).status()), "ACCOUNT_SUSPENDED");

  // With no TTL (the domain default) every read goes to the database.
  ASSERT_OK(accounts_->Reinstate(caller.account_id, "APPEAL", "test", As(admin_)));
  ASSERT_OK_AND_ASSIGN(LoginResult fresh, sessions_->Login("ada@example.com", kGoodPassword, {}));
  const Principal exact = *As(fresh).caller;
  ASSERT_OK(sessions_->LoadActiveCaller(exact).status());
  ASSERT_OK(accounts_->UpdateDisplayName(exact.account_id, "A. Lovelace", As(fresh)));
  ASSERT_OK_AND_ASSIGN(Account now, sessions_->LoadActiveCaller(exact));
  EXPECT_EQ(now.display_name, "A. Lovelace");
}

TEST_F(SessionsTest, SuspendedAccountsCannotLogInRefreshOrPassIntrospection) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login("seller@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK_AND_ASSIGN(Introspection before,
                       sessions_->Introspect(login.tokens.access.token, As(admin_)));
  EXPECT_TRUE(before.active);
  EXPECT_EQ(before.subject, seller.id);
  EXPECT_EQ(before.session_id, login.tokens.session_id);

  ASSERT_OK(accounts_->Suspend(seller.id, "FRAUD", "fraud ring", As(admin_)));

  absl::Status refused = sessions_->Login("seller@example.com", kGoodPassword, {}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(common::ReasonOf(refused), "ACCOUNT_SUSPENDED");
  // A wrong password says nothing about the suspension.
  EXPECT_EQ(
      common::ReasonOf(sessions_->Login("seller@example.com", "wrong-password-1", {}).status()),
      "INVALID_CREDENTIALS");
  EXPECT_EQ(sessions_->Refresh(login.tokens.refresh_token, {}).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(Introspection after,
                       sessions_->Introspect(login.tokens.access.token, As(admin_)));
  EXPECT_FALSE(after.active);
  EXPECT_EQ(after.inactive_reason, InactiveReason::kSuspended);
  EXPECT_EQ(common::ReasonOf(sessions_->CheckCallerActive(*As(login).caller)), "ACCOUNT_SUSPENDED");

  ASSERT_OK(accounts_->Reinstate(seller.id, "APPEAL", "appeal accepted", As(admin_)));
  EXPECT_OK(sessions_->Login("seller@example.com", kGoodPassword, {}));
}

TEST_F(SessionsTest, IntrospectionTellsInvalidAndExpiredTokensApart) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login, sessions_->Login("ada@example.com", kGoodPassword, {}));
  EXPECT_EQ(sessions_->Introspect(login.tokens.access.token, Anonymous()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(sessions_->Introspect(login.tokens.access.token, As(login)).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(Introspection garbage, sessions_->Introspect("a.b.c", As(admin_)));
  EXPECT_FALSE(garbage.active);
  EXPECT_EQ(garbage.inactive_reason, InactiveReason::kInvalid);
  std::string tampered = login.tokens.access.token;
  char& c = tampered[tampered.size() - 10];  // inside the signature
  c = c == 'A' ? 'B' : 'A';
  ASSERT_OK_AND_ASSIGN(Introspection bad_signature, sessions_->Introspect(tampered, As(admin_)));
  EXPECT_FALSE(bad_signature.active);
  EXPECT_EQ(bad_signature.inactive_reason, InactiveReason::kInvalid);
  clock_.Advance(absl::Minutes(17));  // past expiry and the 60 s of allowed clock skew
  ASSERT_OK_AND_ASSIGN(Introspection expired,
                       sessions_->Introspect(login.tokens.access.token, As(admin_)));
  EXPECT_FALSE(expired.active);
  EXPECT_EQ(expired.inactive_reason, InactiveReason::kExpired);
}

// Expiry is told only of a token identity signed: a forged or tampered one past its `exp` is
// TOKEN_INVALID, so a caller who holds no genuine token learns nothing of the claims.
TEST_F(SessionsTest, IntrospectionReportsForgedExpiredTokensInvalidNotExpired) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login, sessions_->Login("ada@example.com", kGoodPassword, {}));
  const std::string genuine = login.tokens.access.token;
  std::string tampered = genuine;
  char& c = tampered[tampered.size() - 10];  // inside the signature
  c = c == 'A' ? 'B' : 'A';
  // The same claims and kid, signed by a key identity never had.
  ASSERT_OK_AND_ASSIGN(common::auth::ParsedJwt parsed, common::auth::ParseJwt(genuine));
  ASSERT_OK_AND_ASSIGN(common::auth::Ed25519KeyPair attacker,
                       common::auth::GenerateEd25519KeyPair());
  ASSERT_OK_AND_ASSIGN(std::string forged,
                       common::auth::SignJwt(parsed.header, parsed.claims, attacker.private_key));

  clock_.Advance(absl::Minutes(17));  // past expiry and the 60 s of allowed clock skew
  for (const std::string& token : {tampered, forged}) {
    ASSERT_OK_AND_ASSIGN(Introspection seen, sessions_->Introspect(token, As(admin_)));
    EXPECT_FALSE(seen.active);
    EXPECT_EQ(seen.inactive_reason, InactiveReason::kInvalid);
  }
  ASSERT_OK_AND_ASSIGN(Introspection expired, sessions_->Introspect(genuine, As(admin_)));
  EXPECT_FALSE(expired.active);
  EXPECT_EQ(expired.inactive_reason, InactiveReason::kExpired);
}

TEST_F(SessionsTest, KeyRotationKeepsOldTokensValidUntilTheyExpire) {
  ASSERT_OK(SignUp("ada@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult before, sessions_->Login("ada@example.com", kGoodPassword, {}));
  const std::string old_kid = KidOf(before.tokens.access.token);

  ASSERT_OK_AND_ASSIGN(Account buyer_account, SignUp("b2@example.com", Role::kBuyer));
  EXPECT_EQ(keys_->Rotate(As(buyer_account), "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(keys_->Rotate(Anonymous(), "").status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(KeyRing::Rotation rotation, keys_->Rotate(As(admin_), "rotate-1"));
  EXPECT_EQ(rotation.previous.kid, old_kid);
  EXPECT_NE(rotation.active.kid, old_kid);
  EXPECT_EQ(rotation.previous.state, SigningKeyState::kRetired);
  EXPECT_TRUE(rotation.active.encrypted_private_key.empty());
  // A repeat of the request is the same rotation.
  ASSERT_OK_AND_ASSIGN(KeyRing::Rotation repeat, keys_->Rotate(As(admin_), "rotate-1"));
  EXPECT_EQ(repeat.active.kid, rotation.active.kid);

  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(LoginResult after, sessions_->Login("ada@example.com", kGoodPassword, {}));
  EXPECT_EQ(KidOf(after.tokens.access.token), rotation.active.kid);

  // A verifier that never saw the old key (another service) accepts both.
  common::auth::VerifierOptions options;
  options.issuer = "marketplace-identity";
  options.audience = "catalog";
  common::auth::TokenVerifier fresh(keys_.get(), options, &clock_);
  EXPECT_OK(fresh.Verify(before.tokens.access.token));
  EXPECT_OK(fresh.Verify(after.tokens.access.token));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredSigningKey> published, keys_->Published());
  std::vector<std::string> kids;
  for (const auto& k : published) kids.push_back(k.kid);
  EXPECT_EQ(kids, (std::vector<std::string>{rotation.active.kid, rotation.next.kid, old_kid}));

  // The old token expires as usual; then its key leaves the published set.
  clock_.Advance(absl::Minutes(16));  // past expiry plus the verifier's 60 s of clock skew
  common::auth::TokenVerifier later(keys_.get(), options, &clock_);
  EXPECT_EQ(later.Verify(before.tokens.access.token).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_OK_AND_ASSIGN(published, keys_->Published());
  for (const auto& k : published) EXPECT_NE(k.kid, old_kid);
  EXPECT_EQ(published.size(), 2u);
}

TEST_F(SessionsTest, RotationsCloserThanTheMinimumIntervalAreRefused) {
  KeyRing keys(store_.get(), &kek_, &clock_, {.min_rotation_interval = absl::Seconds(60)});
  ASSERT_OK_AND_ASSIGN(KeyRing::Rotation first, keys.Rotate(As(admin_), "rotate-1"));
  clock_.Advance(absl::Seconds(59));
  absl::StatusOr<KeyRing::Rotation> too_soon = keys.Rotate(As(admin_), "rotate-2");
  EXPECT_EQ(too_soon.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(too_soon.status()), "ROTATION_TOO_SOON");
  ASSERT_OK_AND_ASSIGN(KeyRing::SigningKey active, keys.Active());
  EXPECT_EQ(active.kid, first.active.kid);
  // A repeat of the first request is still answered, and the refused one can be retried.
  ASSERT_OK_AND_ASSIGN(KeyRing::Rotation repeat, keys.Rotate(As(admin_), "rotate-1"));
  EXPECT_EQ(repeat.active.kid, first.active.kid);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(KeyRing::Rotation second, keys.Rotate(As(admin_), "rotate-2"));
  EXPECT_EQ(second.previous.kid, first.active.kid);
  EXPECT_EQ(second.active.kid, first.next.kid);
}

TEST_F(SessionsTest, ServiceTokensForClientCredentialsWithTheAccountsScopes) {
  ASSERT_OK_AND_ASSIGN(
      CreatedServiceAccount kpi,
      accounts_->CreateServiceAccount(
          "sellerkpi", {"identity.enforcement", "identity.accounts.read"}, "", As(admin_)));
  ASSERT_OK_AND_ASSIGN(ServiceToken token,
                       sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret, {}, {}));
  EXPECT_EQ(token.scopes,
            (std::vector<std::string>{"identity.accounts.read", "identity.enforcement"}));
  ASSERT_OK_AND_ASSIGN(common::auth::Caller caller, verifier_->Verify(token.access.token));
  EXPECT_EQ(caller.subject, kpi.account.id);
  EXPECT_EQ(caller.roles, std::vector<std::string>{"SERVICE"});
  EXPECT_TRUE(caller.HasScope("identity.enforcement"));
  EXPECT_EQ(SessionIdOfTokenId(caller.token_id), "");

  ASSERT_OK_AND_ASSIGN(ServiceToken narrow,
                       sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret,
                                                    {"identity.enforcement"}, {}));
  EXPECT_EQ(narrow.scopes, std::vector<std::string>{"identity.enforcement"});
  absl::Status ungranted =
      sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret, {"identity.admin"}, {})
          .status();
  EXPECT_EQ(ungranted.code(), absl::StatusCode::kInvalidArgument);

  absl::Status wrong =
      sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret + "x", {}, {}).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(common::ReasonOf(wrong), "INVALID_CLIENT");
  absl::Status unknown =
      sessions_->IssueServiceToken(std::string(32, 'a'), kpi.client_secret, {}, {}).status();
  EXPECT_EQ(unknown.message(), wrong.message());
  // A human account is no client, whatever its password.
  ASSERT_OK_AND_ASSIGN(Account human, SignUp("human@example.com", Role::kBuyer));
  EXPECT_EQ(
      common::ReasonOf(sessions_->IssueServiceToken(human.id, kGoodPassword, {}, {}).status()),
      "INVALID_CLIENT");
  EXPECT_EQ(sessions_->IssueServiceToken("", "", {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);

  clock_.Advance(absl::Milliseconds(500));  // within the token's second, after its iat
  ASSERT_OK(accounts_->Suspend(kpi.account.id, "ROTATED", "decommissioned", As(admin_)));
  EXPECT_EQ(sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret, {}, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(Introspection seen, sessions_->Introspect(token.access.token, As(admin_)));
  EXPECT_EQ(seen.inactive_reason, InactiveReason::kSuspended);

  // A reinstatement does not bring the tokens of before the suspension back, in identity as in
  // the other services; a new token works.
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK(accounts_->Reinstate(kpi.account.id, "ROTATED", "back", As(admin_)));
  ASSERT_OK_AND_ASSIGN(seen, sessions_->Introspect(token.access.token, As(admin_)));
  EXPECT_FALSE(seen.active);
  EXPECT_EQ(seen.inactive_reason, InactiveReason::kTokenRevoked);
  Principal old_caller{kpi.account.id, Role::kService, caller.scopes, "", caller.token_id};
  old_caller.issued_at = caller.issued_at;
  absl::Status refused = sessions_->CheckCallerActive(old_caller);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(common::ReasonOf(refused), "TOKEN_REVOKED");
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(ServiceToken fresh,
                       sessions_->IssueServiceToken(kpi.account.id, kpi.client_secret, {}, {}));
  ASSERT_OK_AND_ASSIGN(seen, sessions_->Introspect(fresh.access.token, As(admin_)));
  EXPECT_TRUE(seen.active);
  ASSERT_OK_AND_ASSIGN(common::auth::Caller fresh_caller, verifier_->Verify(fresh.access.token));
  Principal new_caller{kpi.account.id, Role::kService, fresh_caller.scopes, "",
                       fresh_caller.token_id};
  new_caller.issued_at = fresh_caller.issued_at;
  EXPECT_OK(sessions_->CheckCallerActive(new_caller));
}

// With the caller cache on, one SERVICE token's answer does not vouch for another of the same
// account: a token of before a suspension stays refused after reinstatement while a new one is
// remembered as active.
TEST_F(SessionsTest, ARememberedServiceTokenDoesNotVouchForAnOlderOne) {
  Sessions cached(store_.get(), passwords_.get(), issuer_.get(), verifier_.get(), &clock_,
                  &observer_, {.caller_check_ttl = absl::Seconds(1)});
  ASSERT_OK_AND_ASSIGN(
      CreatedServiceAccount svc,
      accounts_->CreateServiceAccount("relay", {"identity.accounts.read"}, "", As(admin_)));
  auto principal = [&](const ServiceToken& token) {
    absl::StatusOr<common::auth::Caller> caller = verifier_->Verify(token.access.token);
    EXPECT_OK(caller.status());
    Principal p{svc.account.id, Role::kService, caller->scopes, "", caller->token_id};
    p.issued_at = caller->issued_at;
    return p;
  };
  ASSERT_OK_AND_ASSIGN(ServiceToken old_token,
                       cached.IssueServiceToken(svc.account.id, svc.client_secret, {}, {}));
  const Principal old_caller = principal(old_token);
  clock_.Advance(absl::Milliseconds(500));
  ASSERT_OK(accounts_->Suspend(svc.account.id, "LEAKED", "secret leaked", As(admin_)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(accounts_->Reinstate(svc.account.id, "ROTATED", "new deployment", As(admin_)));
  ASSERT_OK_AND_ASSIGN(ServiceToken new_token,
                       cached.IssueServiceToken(svc.account.id, svc.client_secret, {}, {}));
  ASSERT_OK(cached.CheckCallerActive(principal(new_token)));  // remembered for 1 s
  EXPECT_EQ(common::ReasonOf(cached.CheckCallerActive(old_caller)), "TOKEN_REVOKED");
  EXPECT_EQ(common::ReasonOf(cached.LoadActiveCaller(old_caller).status()), "TOKEN_REVOKED");
}

// A clock that moves one second each time it is read: time passes between the transaction that
// decides to issue a token and its signing.
class TickingClock final : public common::Clock {
 public:
  explicit TickingClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    now_ += absl::Seconds(1);
    return now_;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// A token's iat is the time read in the transaction that decided to issue it, under the
// account's row lock, not the (later) time of its signing: a suspension committed after that
// transaction has a later not-before, so the other services refuse the token whatever the delay.
TEST_F(SessionsTest, TokensAreIssuedAtTheTimeOfTheDecidingTransaction) {
  ASSERT_OK_AND_ASSIGN(Account alice, SignUp("alice@example.com", Role::kSeller));
  TickingClock ticking(clock_.Now());
  AccessTokenIssuer issuer(keys_.get(), TokenOptions{}, &ticking);
  Sessions sessions(store_.get(), passwords_.get(), &issuer, verifier_.get(), &ticking, &observer_);
  auto session_created_at = [&](const std::string& id) {
    absl::Time created = absl::InfinitePast();
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<std::optional<Session>> found = tx.FindSession(id, false);
      if (!found.ok()) return found.status();
      if (*found) created = (*found)->created_at;
      return absl::OkStatus();
    }));
    return created;
  };
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions.Login("alice@example.com", kGoodPassword, Anonymous()));
  const absl::Time created = session_created_at(login.tokens.session_id);
  EXPECT_EQ(login.tokens.access.issued_at, absl::FromUnixSeconds(absl::ToUnixSeconds(created)));
  ASSERT_OK_AND_ASSIGN(common::auth::ParsedJwt parsed,
                       common::auth::ParseJwt(login.tokens.access.token));
  EXPECT_EQ(parsed.claims.issued_at, login.tokens.access.issued_at);

  // A refresh's token: at most the time of its transaction, which reads the clock once more
  // after locking the account than before.
  const absl::Time before_refresh = ticking.Now();
  ASSERT_OK_AND_ASSIGN(SessionTokens refreshed,
                       sessions.Refresh(login.tokens.refresh_token, Anonymous()));
  EXPECT_LE(refreshed.access.issued_at, before_refresh + absl::Seconds(2));
  EXPECT_GT(refreshed.access.issued_at, before_refresh);
}

}  // namespace
}  // namespace marketplace::identity
