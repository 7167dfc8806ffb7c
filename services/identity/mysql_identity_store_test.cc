#include "services/identity/mysql_identity_store.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/identity/identity_migrations.h"
#include "services/identity/model.h"

namespace marketplace::identity {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000) + absl::Microseconds(123456);

class MySqlIdentityStoreTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyIdentityMigrations(pool()));
    store_ = std::make_unique<MySqlIdentityStore>(&pool());
  }

  static Account MakeAccount(std::string id, std::string email_key, Role role, absl::Time t) {
    Account a;
    a.id = std::move(id);
    a.email = email_key;
    a.email_key = std::move(email_key);
    a.display_name = "Ada Lovelace";
    a.role = role;
    a.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    a.created_at = t;
    a.updated_at = t;
    return a;
  }

  absl::Status Insert(const Account& a) {
    return store_->Transact([&](IdentityTransaction& tx) { return tx.InsertAccount(a); });
  }

  std::optional<Account> Find(const std::string& id) {
    std::optional<Account> out;
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<std::optional<Account>> found = tx.FindAccount(id, false);
      if (!found.ok()) return found.status();
      out = *found;
      return absl::OkStatus();
    }));
    return out;
  }

  std::unique_ptr<MySqlIdentityStore> store_;
};

TEST_F(MySqlIdentityStoreTest, AccountRoundTripsEveryField) {
  Account a = MakeAccount("a1", "ada@example.com", Role::kSeller, kT0);
  a.display_name = "Ada \xF0\x9F\x98\x80 Lovelace";  // 4-byte UTF-8 (utf8mb4)
  ASSERT_OK(Insert(a));

  std::optional<Account> got = Find("a1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->email, "ada@example.com");
  EXPECT_EQ(got->email_key, "ada@example.com");
  EXPECT_EQ(got->display_name, a.display_name);
  EXPECT_EQ(got->role, Role::kSeller);
  EXPECT_EQ(got->status, AccountStatus::kActive);
  EXPECT_EQ(got->password_hash, a.password_hash);
  EXPECT_EQ(got->created_at, kT0);  // microseconds survive
  EXPECT_FALSE(got->suspension.has_value());
  EXPECT_FALSE(Find("nobody").has_value());

  std::optional<Account> by_email;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<Account>> found = tx.FindAccountByEmailKey("ada@example.com");
    if (!found.ok()) return found.status();
    by_email = *found;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(by_email.has_value());
  EXPECT_EQ(by_email->id, "a1");
}

TEST_F(MySqlIdentityStoreTest, DuplicateEmailIsAlreadyExistsEmailTaken) {
  ASSERT_OK(Insert(MakeAccount("a1", "ada@example.com", Role::kBuyer, kT0)));
  absl::Status dup = Insert(MakeAccount("a2", "ada@example.com", Role::kSeller, kT0));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_EQ(common::ReasonOf(dup), "EMAIL_TAKEN");
  EXPECT_FALSE(Find("a2").has_value());
  // Email keys compare byte for byte: another case is another key (normalisation is the
  // domain's job).
  EXPECT_OK(Insert(MakeAccount("a3", "Ada@example.com", Role::kBuyer, kT0)));
}

TEST_F(MySqlIdentityStoreTest, ServiceAccountsHaveNoEmailAndKeepScopesAndSecretHash) {
  Account s1 = MakeAccount("s1", "", Role::kService, kT0);
  s1.email.clear();
  s1.password_hash.clear();
  s1.client_secret_hash = std::string("\x00\x01\xfe\xff", 4) + std::string(28, 'x');
  s1.scopes = {"identity.enforcement", "identity.tokens.introspect"};
  Account s2 = s1;
  s2.id = "s2";
  s2.scopes.clear();
  ASSERT_OK(Insert(s1));
  ASSERT_OK(Insert(s2));  // two accounts without email do not collide
  std::optional<Account> got = Find("s1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->email, "");
  EXPECT_EQ(got->email_key, "");
  EXPECT_EQ(got->password_hash, "");
  EXPECT_EQ(got->client_secret_hash, s1.client_secret_hash);
  EXPECT_EQ(got->scopes, s1.scopes);
  EXPECT_TRUE(Find("s2")->scopes.empty());
}

TEST_F(MySqlIdentityStoreTest, UpdateAccountWritesSuspensionAndClearsIt) {
  ASSERT_OK(Insert(MakeAccount("a1", "ada@example.com", Role::kSeller, kT0)));
  Account a = *Find("a1");
  a.display_name = "Ada L.";
  a.status = AccountStatus::kSuspended;
  a.suspension = Suspension{"FRAUD", "chargebacks", "admin1", kT0 + absl::Seconds(5)};
  a.updated_at = kT0 + absl::Seconds(5);
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) { return tx.UpdateAccount(a); }));
  Account got = *Find("a1");
  EXPECT_EQ(got.display_name, "Ada L.");
  EXPECT_EQ(got.status, AccountStatus::kSuspended);
  ASSERT_TRUE(got.suspension.has_value());
  EXPECT_EQ(got.suspension->reason_code, "FRAUD");
  EXPECT_EQ(got.suspension->reason, "chargebacks");
  EXPECT_EQ(got.suspension->suspended_by, "admin1");
  EXPECT_EQ(got.suspension->suspended_at, kT0 + absl::Seconds(5));
  EXPECT_EQ(got.updated_at, kT0 + absl::Seconds(5));

  got.status = AccountStatus::kActive;
  got.suspension.reset();
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) { return tx.UpdateAccount(got); }));
  EXPECT_FALSE(Find("a1")->suspension.has_value());
  EXPECT_EQ(Find("a1")->status, AccountStatus::kActive);

  Account ghost = MakeAccount("ghost", "g@example.com", Role::kBuyer, kT0);
  EXPECT_EQ(
      store_->Transact([&](IdentityTransaction& tx) { return tx.UpdateAccount(ghost); }).code(),
      absl::StatusCode::kNotFound);
}

TEST_F(MySqlIdentityStoreTest, ListAccountsPagesInCreationThenIdOrderWithFilters) {
  // Same creation time for b* (ties broken by id), later ones after.
  ASSERT_OK(Insert(MakeAccount("b2", "b2@x.com", Role::kBuyer, kT0)));
  ASSERT_OK(Insert(MakeAccount("b1", "b1@x.com", Role::kBuyer, kT0)));
  ASSERT_OK(Insert(MakeAccount("s1", "s1@x.com", Role::kSeller, kT0 + absl::Seconds(1))));
  ASSERT_OK(Insert(MakeAccount("a0", "a0@x.com", Role::kBuyer, kT0 + absl::Seconds(2))));
  Account suspended = MakeAccount("b3", "b3@x.com", Role::kBuyer, kT0 + absl::Seconds(3));
  suspended.status = AccountStatus::kSuspended;
  ASSERT_OK(Insert(suspended));

  auto list = [&](const AccountFilter& filter, std::optional<AccountCursor> after, int limit) {
    std::vector<std::string> ids;
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<std::vector<Account>> page = tx.ListAccounts(filter, after, limit);
      if (!page.ok()) return page.status();
      for (const Account& a : *page) ids.push_back(a.id);
      return absl::OkStatus();
    }));
    return ids;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({}, std::nullopt, 10), (V{"b1", "b2", "s1", "a0", "b3"}));
  EXPECT_EQ(list({}, std::nullopt, 2), (V{"b1", "b2"}));
  EXPECT_EQ(list({}, AccountCursor{kT0, "b1"}, 2), (V{"b2", "s1"}));
  EXPECT_EQ(list({}, AccountCursor{kT0 + absl::Seconds(1), "s1"}, 10), (V{"a0", "b3"}));
  EXPECT_EQ(list({Role::kBuyer, std::nullopt}, std::nullopt, 10), (V{"b1", "b2", "a0", "b3"}));
  EXPECT_EQ(list({Role::kBuyer, AccountStatus::kActive}, std::nullopt, 10), (V{"b1", "b2", "a0"}));
  EXPECT_EQ(list({std::nullopt, AccountStatus::kSuspended}, std::nullopt, 10), (V{"b3"}));
  EXPECT_EQ(list({Role::kAdmin, std::nullopt}, std::nullopt, 10), V{});
}

TEST_F(MySqlIdentityStoreTest, CallerStateReflectsAccountAndSession) {
  ASSERT_OK(Insert(MakeAccount("a1", "a1@x.com", Role::kBuyer, kT0)));
  ASSERT_OK(Insert(MakeAccount("a2", "a2@x.com", Role::kBuyer, kT0)));
  Session s{"sess1", "a1", kT0, kT0 + absl::Hours(1), std::nullopt, ""};
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) { return tx.InsertSession(s); }));

  auto state = [&](const std::string& account, const std::string& session) {
    CallerState out;
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<CallerState> got = tx.LoadCallerState(account, session);
      if (!got.ok()) return got.status();
      out = *got;
      return absl::OkStatus();
    }));
    return out;
  };
  CallerState ok = state("a1", "sess1");
  EXPECT_TRUE(ok.account_exists);
  EXPECT_TRUE(ok.session_exists);
  EXPECT_FALSE(ok.session_revoked);
  EXPECT_FALSE(state("nobody", "sess1").account_exists);
  // Another account's session is not this account's.
  EXPECT_FALSE(state("a2", "sess1").session_exists);
  EXPECT_FALSE(state("a1", "").session_exists);

  bool revoked = false;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<bool> r = tx.RevokeSession("sess1", "LOGOUT", kT0 + absl::Minutes(1));
    if (!r.ok()) return r.status();
    revoked = *r;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(revoked);
  EXPECT_TRUE(state("a1", "sess1").session_revoked);

  Account a1 = *Find("a1");
  a1.status = AccountStatus::kSuspended;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) { return tx.UpdateAccount(a1); }));
  EXPECT_EQ(state("a1", "sess1").status, AccountStatus::kSuspended);
}

TEST_F(MySqlIdentityStoreTest, SessionsRevokeOnceAndRevokeAllButOne) {
  const absl::Time now = kT0 + absl::Minutes(10);
  std::vector<Session> sessions = {
      {"k", "a1", kT0, kT0 + absl::Hours(1), std::nullopt, ""},
      {"x", "a1", kT0, kT0 + absl::Hours(1), std::nullopt, ""},
      {"y", "a1", kT0, kT0 + absl::Hours(1), std::nullopt, ""},
      {"expired", "a1", kT0, kT0 + absl::Minutes(5), std::nullopt, ""},
      {"other", "a2", kT0, kT0 + absl::Hours(1), std::nullopt, ""},
  };
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    for (const Session& s : sessions) {
      absl::Status st = tx.InsertSession(s);
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }));
  int64_t active = 0;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> n = tx.CountActiveSessions(now);
    if (!n.ok()) return n.status();
    active = *n;
    return absl::OkStatus();
  }));
  EXPECT_EQ(active, 4);

  int revoked_others = -1;
  std::vector<bool> second_revoke;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int> n = tx.RevokeSessionsOf("a1", "k", "PASSWORD_CHANGED", now);
    if (!n.ok()) return n.status();
    revoked_others = *n;
    absl::StatusOr<bool> again = tx.RevokeSession("x", "LOGOUT", now);
    if (!again.ok()) return again.status();
    second_revoke.push_back(*again);
    absl::StatusOr<bool> keep = tx.RevokeSession("k", "LOGOUT", now);
    if (!keep.ok()) return keep.status();
    second_revoke.push_back(*keep);
    return absl::OkStatus();
  }));
  EXPECT_EQ(revoked_others, 2);  // x and y; not k, not the expired one, not a2's
  EXPECT_EQ(second_revoke, (std::vector<bool>{false, true}));

  std::optional<Session> x;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<Session>> s = tx.FindSession("x", false);
    if (!s.ok()) return s.status();
    x = *s;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->revoke_reason, "PASSWORD_CHANGED");
  EXPECT_EQ(x->revoked_at, now);
}

TEST_F(MySqlIdentityStoreTest, RefreshTokensAreClaimedOnceAndExpire) {
  const std::string hash(32, '\x07');
  const std::string expired_hash(32, '\x08');
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::Status st = tx.InsertRefreshToken({hash, "s1", kT0, kT0 + absl::Hours(1), std::nullopt});
    if (!st.ok()) return st;
    return tx.InsertRefreshToken({expired_hash, "s1", kT0, kT0 + absl::Minutes(1), std::nullopt});
  }));
  auto claim = [&](const std::string& h, absl::Time now) {
    bool claimed = false;
    EXPECT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<bool> c = tx.ClaimRefreshToken(h, now);
      if (!c.ok()) return c.status();
      claimed = *c;
      return absl::OkStatus();
    }));
    return claimed;
  };
  EXPECT_FALSE(claim(expired_hash, kT0 + absl::Minutes(2)));
  EXPECT_FALSE(claim(std::string(32, '\x09'), kT0));
  EXPECT_TRUE(claim(hash, kT0 + absl::Seconds(1)));
  EXPECT_FALSE(claim(hash, kT0 + absl::Seconds(2)));

  std::optional<RefreshTokenRecord> got;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<RefreshTokenRecord>> r = tx.FindRefreshToken(hash);
    if (!r.ok()) return r.status();
    got = *r;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->token_hash, hash);
  EXPECT_EQ(got->session_id, "s1");
  EXPECT_EQ(got->used_at, kT0 + absl::Seconds(1));
}

TEST_F(MySqlIdentityStoreTest, ConcurrentClaimsOfOneRefreshTokenGiveExactlyOneWinner) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> wide, NewPool(16));
  MySqlIdentityStore store(wide.get());
  for (int round = 0; round < 5; ++round) {
    const std::string hash = std::string(31, 'r') + static_cast<char>('0' + round);
    ASSERT_OK(store.Transact([&](IdentityTransaction& tx) {
      return tx.InsertRefreshToken({hash, "s1", kT0, kT0 + absl::Hours(1), std::nullopt});
    }));
    constexpr int kThreads = 8;
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        bool claimed = false;
        absl::Status st = store.Transact([&](IdentityTransaction& tx) -> absl::Status {
          claimed = false;
          absl::StatusOr<bool> c = tx.ClaimRefreshToken(hash, kT0 + absl::Seconds(1));
          if (!c.ok()) return c.status();
          claimed = *c;
          return absl::OkStatus();
        });
        if (!st.ok()) ++errors;
        if (st.ok() && claimed) ++winners;
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST_F(MySqlIdentityStoreTest, ThrottleCountsFailuresForgivesAndLocksTheRow) {
  const std::string key(32, '\x01');
  ThrottleState fresh;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<ThrottleState> s = tx.ReadThrottleState(key, kT0);
    if (!s.ok()) return s.status();
    fresh = *s;
    return absl::OkStatus();
  }));
  EXPECT_EQ(fresh.consecutive_failures, 0);
  EXPECT_EQ(fresh.last_failure, absl::InfinitePast());
  EXPECT_TRUE(fresh.failures_last_hour.empty());

  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<ThrottleState> s = tx.LockThrottleState(key, kT0 + absl::Minutes(i));
      if (!s.ok()) return s.status();
      EXPECT_EQ(s->consecutive_failures, 0);  // pending attempts are no failures
      EXPECT_EQ(s->in_flight, 0);  // the earlier ones are over a minute old: stale
      absl::StatusOr<int64_t> id = tx.BeginAttempt(key, kT0 + absl::Minutes(i));
      if (!id.ok()) return id.status();
      ids.push_back(*id);
      return absl::OkStatus();
    }));
  }
  auto read = [&](absl::Time now) {
    ThrottleState out;
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<ThrottleState> s = tx.ReadThrottleState(key, now);
      if (!s.ok()) return s.status();
      out = *s;
      return absl::OkStatus();
    }));
    return out;
  };
  // Pending attempts are in flight, not failures (until they are a minute old).
  ThrottleState pending = read(kT0 + absl::Minutes(2) + absl::Seconds(1));
  EXPECT_EQ(pending.consecutive_failures, 0);
  EXPECT_EQ(pending.in_flight, 1);
  EXPECT_EQ(pending.failures_last_hour,
            (std::vector<absl::Time>{kT0, kT0 + absl::Minutes(1)}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) {
      return tx.CompleteFailedAttempt(key, ids[i], kT0 + absl::Minutes(i) + absl::Seconds(1));
    }));
  }
  ThrottleState three = read(kT0 + absl::Minutes(3));
  EXPECT_EQ(three.consecutive_failures, 3);
  EXPECT_EQ(three.in_flight, 0);
  EXPECT_EQ(three.last_failure, kT0 + absl::Minutes(2) + absl::Seconds(1));
  EXPECT_EQ(three.failures_last_hour,
            (std::vector<absl::Time>{kT0 + absl::Seconds(1), kT0 + absl::Minutes(1) + absl::Seconds(1),
                                     kT0 + absl::Minutes(2) + absl::Seconds(1)}));
  // An hour later the first failure has left the window.
  EXPECT_EQ(read(kT0 + absl::Minutes(60) + absl::Seconds(30)).failures_last_hour.size(), 2u);

  // A pending attempt forgiven: never evaluated (nothing else changes) or succeeded (the
  // consecutive count starts again). Either way the attempt is gone.
  int64_t extra = 0;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> id = tx.BeginAttempt(key, kT0 + absl::Minutes(3));
    if (!id.ok()) return id.status();
    extra = *id;
    return absl::OkStatus();
  }));
  ASSERT_OK(store_->Transact(
      [&](IdentityTransaction& tx) { return tx.ForgiveAttempt(key, extra, false); }));
  EXPECT_EQ(read(kT0 + absl::Minutes(3)).consecutive_failures, 3);
  EXPECT_EQ(read(kT0 + absl::Minutes(3)).failures_last_hour.size(), 3u);
  EXPECT_EQ(read(kT0 + absl::Minutes(3)).in_flight, 0);
  ASSERT_OK(store_->Transact(
      [&](IdentityTransaction& tx) { return tx.ForgiveAttempt(key, ids[1], true); }));
  EXPECT_EQ(read(kT0 + absl::Minutes(3)).consecutive_failures, 0);
  EXPECT_EQ(read(kT0 + absl::Minutes(3)).failures_last_hour.size(), 2u);

  // Other emails are unaffected.
  EXPECT_EQ(read(kT0).consecutive_failures, 0);
  EXPECT_EQ(
      [&] {
        ThrottleState s;
        EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
          absl::StatusOr<ThrottleState> r = tx.ReadThrottleState(std::string(32, '\x02'), kT0);
          if (!r.ok()) return r.status();
          s = *r;
          return absl::OkStatus();
        }));
        return s.failures_last_hour.size();
      }(),
      0u);

  int64_t deleted = 0;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> n = tx.DeleteFailedAttemptsBefore(kT0 + absl::Seconds(2), 100);
    if (!n.ok()) return n.status();
    deleted = *n;
    return absl::OkStatus();
  }));
  EXPECT_EQ(deleted, 1);
}

TEST_F(MySqlIdentityStoreTest, LockThrottleStateSerialisesConcurrentAttempts) {
  // Two transactions on one email: the second LockThrottleState waits for the first to commit
  // and then sees its attempt in flight.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> second_pool, NewPool(2));
  MySqlIdentityStore second(second_pool.get());
  const std::string key(32, '\x05');
  std::atomic<bool> first_locked{false};
  std::atomic<bool> release_first{false};
  std::atomic<int> second_saw{-1};

  std::thread first([&] {
    EXPECT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<ThrottleState> s = tx.LockThrottleState(key, kT0);
      if (!s.ok()) return s.status();
      absl::StatusOr<int64_t> id = tx.BeginAttempt(key, kT0);
      if (!id.ok()) return id.status();
      first_locked = true;
      while (!release_first) absl::SleepFor(absl::Milliseconds(5));
      return absl::OkStatus();
    }));
  });
  while (!first_locked) absl::SleepFor(absl::Milliseconds(5));
  std::thread other([&] {
    EXPECT_OK(second.Transact([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<ThrottleState> s = tx.LockThrottleState(key, kT0 + absl::Seconds(1));
      if (!s.ok()) return s.status();
      second_saw = s->in_flight;
      return absl::OkStatus();
    }));
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(second_saw.load(), -1) << "the second attempt did not wait for the row lock";
  release_first = true;
  first.join();
  other.join();
  EXPECT_EQ(second_saw.load(), 1);
}

TEST_F(MySqlIdentityStoreTest, SellerProfileApplicationAndDecisions) {
  SellerProfile none;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<SellerProfile> p = tx.LoadSellerProfile("a1", false);
    if (!p.ok()) return p.status();
    none = *p;
    return absl::OkStatus();
  }));
  EXPECT_EQ(none.account_id, "a1");
  EXPECT_EQ(none.status, SellerStatus::kNotSubmitted);
  EXPECT_FALSE(none.application.has_value());
  EXPECT_TRUE(none.decisions.empty());

  SellerProfile p;
  p.account_id = "a1";
  p.status = SellerStatus::kPending;
  p.application = SellerApplication{"Ada Ltd",    "HRB 1234",        "DE",
                                    "payout_abc", "ops@ada.example", "+4930123456"};
  p.submitted_at = kT0;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::Status st = tx.SaveSellerApplication(p);
    if (!st.ok()) return st;
    st = tx.AppendSellerDecision("a1", {SellerDecisionKind::kApplicationRejected, "DOCS",
                                        "blurred scan", "mod1", kT0 + absl::Hours(1)});
    if (!st.ok()) return st;
    p.status = SellerStatus::kApproved;
    p.application->legal_name = "Ada GmbH";
    st = tx.SaveSellerApplication(p);  // a resubmission overwrites the application
    if (!st.ok()) return st;
    return tx.AppendSellerDecision(
        "a1", {SellerDecisionKind::kApplicationApproved, "", "", "mod2", kT0 + absl::Hours(2)});
  }));
  SellerProfile got;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<SellerProfile> r = tx.LoadSellerProfile("a1", true);
    if (!r.ok()) return r.status();
    got = *r;
    return absl::OkStatus();
  }));
  EXPECT_EQ(got.status, SellerStatus::kApproved);
  ASSERT_TRUE(got.application.has_value());
  EXPECT_EQ(got.application->legal_name, "Ada GmbH");
  EXPECT_EQ(got.application->registration_number, "HRB 1234");
  EXPECT_EQ(got.application->country_code, "DE");
  EXPECT_EQ(got.application->payout_account_ref, "payout_abc");
  EXPECT_EQ(got.application->contact_email, "ops@ada.example");
  EXPECT_EQ(got.application->contact_phone, "+4930123456");
  EXPECT_EQ(got.submitted_at, kT0);
  ASSERT_EQ(got.decisions.size(), 2u);
  EXPECT_EQ(got.decisions[0].kind, SellerDecisionKind::kApplicationRejected);
  EXPECT_EQ(got.decisions[0].reason_code, "DOCS");
  EXPECT_EQ(got.decisions[0].reason, "blurred scan");
  EXPECT_EQ(got.decisions[0].decided_by, "mod1");
  EXPECT_EQ(got.decisions[1].kind, SellerDecisionKind::kApplicationApproved);
  EXPECT_EQ(got.decisions[1].decided_at, kT0 + absl::Hours(2));
}

StoredSigningKey Key(std::string kid, SigningKeyState state) {
  StoredSigningKey k;
  k.kid = std::move(kid);
  k.alg = "EdDSA";
  k.public_key = std::string(32, '\xab');
  k.encrypted_private_key = std::string("v1") + std::string(100, '\xcd');
  k.kek_id = "0123456789abcdef";
  k.state = state;
  k.created_at = kT0;
  return k;
}

TEST_F(MySqlIdentityStoreTest, SigningKeysOnePerStateAndPublication) {
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    StoredSigningKey active = Key("k1", SigningKeyState::kActive);
    active.activated_at = kT0;
    absl::Status st = tx.InsertKey(active);
    if (!st.ok()) return st;
    return tx.InsertKey(Key("k2", SigningKeyState::kNext));
  }));
  absl::Status second_next = store_->Transact(
      [&](IdentityTransaction& tx) { return tx.InsertKey(Key("k3", SigningKeyState::kNext)); });
  EXPECT_EQ(second_next.code(), absl::StatusCode::kAlreadyExists) << second_next;

  std::optional<StoredSigningKey> active;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<StoredSigningKey>> k =
        tx.FindKeyInState(SigningKeyState::kActive, true);
    if (!k.ok()) return k.status();
    active = *k;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(active.has_value());
  EXPECT_EQ(active->kid, "k1");
  EXPECT_EQ(active->public_key, std::string(32, '\xab'));
  EXPECT_EQ(active->encrypted_private_key,
            Key("k1", SigningKeyState::kActive).encrypted_private_key);
  EXPECT_EQ(active->kek_id, "0123456789abcdef");
  EXPECT_EQ(active->activated_at, kT0);

  // Rotate: k1 retires (published until its expiry), k2 activates, k4 is the new next.
  const absl::Time t1 = kT0 + absl::Hours(1);
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    StoredSigningKey k1 = *active;
    k1.state = SigningKeyState::kRetired;
    k1.retired_at = t1;
    k1.expires_at = t1 + absl::Minutes(20);
    absl::Status st = tx.UpdateKeyState(k1);
    if (!st.ok()) return st;
    StoredSigningKey k2 = Key("k2", SigningKeyState::kActive);
    k2.activated_at = t1;
    st = tx.UpdateKeyState(k2);
    if (!st.ok()) return st;
    return tx.InsertKey(Key("k4", SigningKeyState::kNext));
  }));
  auto published = [&](absl::Time now) {
    std::vector<std::string> kids;
    EXPECT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      absl::StatusOr<std::vector<StoredSigningKey>> keys = tx.ListPublishedKeys(now);
      if (!keys.ok()) return keys.status();
      for (const auto& k : *keys)
        kids.push_back(absl::StrCat(k.kid, ":", SigningKeyStateName(k.state)));
      return absl::OkStatus();
    }));
    return kids;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(published(t1 + absl::Minutes(1)), (V{"k2:ACTIVE", "k4:NEXT", "k1:RETIRED"}));
  EXPECT_EQ(published(t1 + absl::Minutes(21)), (V{"k2:ACTIVE", "k4:NEXT"}));

  std::optional<StoredSigningKey> retired;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<StoredSigningKey>> k = tx.FindKey("k1");
    if (!k.ok()) return k.status();
    retired = *k;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(retired.has_value());
  EXPECT_EQ(retired->state, SigningKeyState::kRetired);
  EXPECT_EQ(retired->retired_at, t1);
  EXPECT_EQ(retired->expires_at, t1 + absl::Minutes(20));
}

TEST_F(MySqlIdentityStoreTest, IdempotencyRecordsInsertOnceFindAndExpire) {
  IdempotencyRecord r{"SignUp", "req-1", std::string(64, 'f'), "acct1", kT0};
  ASSERT_OK(
      store_->Transact([&](IdentityTransaction& tx) { return tx.InsertIdempotencyRecord(r); }));
  absl::Status dup =
      store_->Transact([&](IdentityTransaction& tx) { return tx.InsertIdempotencyRecord(r); });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);

  std::optional<IdempotencyRecord> got;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<IdempotencyRecord>> f =
        tx.FindIdempotencyRecord("SignUp", "req-1");
    if (!f.ok()) return f.status();
    got = *f;
    return absl::OkStatus();
  }));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->resource_id, "acct1");
  EXPECT_EQ(got->fingerprint, std::string(64, 'f'));
  EXPECT_EQ(got->created_at, kT0);

  int64_t deleted = -1;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> n = tx.DeleteIdempotencyRecordsBefore(kT0 + absl::Seconds(1), 10);
    if (!n.ok()) return n.status();
    deleted = *n;
    return absl::OkStatus();
  }));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK(
      store_->Transact([&](IdentityTransaction& tx) { return tx.InsertIdempotencyRecord(r); }));
  ASSERT_OK(store_->Transact(
      [&](IdentityTransaction& tx) { return tx.DeleteIdempotencyRecord("SignUp", "req-1"); }));
}

// SuspendAccount and LogoutAll raise sessions_not_before; a login compares it with the value
// it read before its password check, so it must change on every raise, whatever the clock.
TEST_F(MySqlIdentityStoreTest, SessionsNotBeforeChangesOnEveryRaise) {
  ASSERT_OK(Insert(MakeAccount("snb", "snb@example.com", Role::kBuyer, kT0)));
  EXPECT_FALSE(Find("snb")->sessions_not_before.has_value());
  auto raise = [&](absl::Time now) {
    EXPECT_OK(store_->Transact(
        [&](IdentityTransaction& tx) { return tx.RaiseSessionsNotBefore("snb", now); }));
    return Find("snb")->sessions_not_before;
  };
  EXPECT_EQ(raise(kT0), kT0);
  EXPECT_EQ(raise(kT0), kT0 + absl::Microseconds(1));
  EXPECT_EQ(raise(kT0 - absl::Hours(1)), kT0 + absl::Microseconds(2));  // a clock behind
  EXPECT_EQ(raise(kT0 + absl::Hours(1)), kT0 + absl::Hours(1));
  EXPECT_EQ(store_->Transact([&](IdentityTransaction& tx) {
              return tx.RaiseSessionsNotBefore("nobody", kT0);
            }).code(),
            absl::StatusCode::kNotFound);
}

// Ids are compared exactly (binary collations): another spelling of an id names nothing.
TEST_F(MySqlIdentityStoreTest, IdsAreComparedExactly) {
  const std::string id = "0123456789abcdef0123456789abcdef";
  const std::string upper = "0123456789ABCDEF0123456789ABCDEF";
  ASSERT_OK(Insert(MakeAccount(id, "exact@example.com", Role::kBuyer, kT0)));
  EXPECT_TRUE(Find(id).has_value());
  EXPECT_FALSE(Find(upper).has_value());

  Session session;
  session.id = "fedcba9876543210fedcba9876543210";
  session.account_id = id;
  session.created_at = kT0;
  session.expires_at = kT0 + absl::Hours(1);
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) { return tx.InsertSession(session); }));
  CallerState state;
  std::optional<Session> other_spelling;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<CallerState> s = tx.LoadCallerState(upper, session.id);
    if (!s.ok()) return s.status();
    state = *s;
    absl::StatusOr<std::optional<Session>> f =
        tx.FindSession("FEDCBA9876543210FEDCBA9876543210", false);
    if (!f.ok()) return f.status();
    other_spelling = *f;
    return absl::OkStatus();
  }));
  EXPECT_FALSE(state.account_exists);
  EXPECT_FALSE(other_spelling.has_value());

  // Client request ids (from outside) too: "Req-1" and "req-1" are two ids.
  IdempotencyRecord r{"SignUp", "Req-1", std::string(64, 'f'), id, kT0};
  ASSERT_OK(
      store_->Transact([&](IdentityTransaction& tx) { return tx.InsertIdempotencyRecord(r); }));
  std::optional<IdempotencyRecord> got;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::optional<IdempotencyRecord>> f =
        tx.FindIdempotencyRecord("SignUp", "req-1");
    if (!f.ok()) return f.status();
    got = *f;
    return absl::OkStatus();
  }));
  EXPECT_FALSE(got.has_value());
  r.request_id = "req-1";
  EXPECT_OK(
      store_->Transact([&](IdentityTransaction& tx) { return tx.InsertIdempotencyRecord(r); }));
}

TEST_F(MySqlIdentityStoreTest, AuditEventsListNewestFirstPerAccount) {
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    for (int i = 0; i < 5; ++i) {
      absl::Status st = tx.AppendAudit({absl::StrCat("EVENT_", i), i == 0 ? "" : "admin1",
                                        i == 3 ? "other" : "a1", R"({"n":1})",
                                        absl::StrCat("req-", i), kT0 + absl::Seconds(i)});
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }));
  std::vector<AuditEvent> events;
  ASSERT_OK(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<std::vector<AuditEvent>> e = tx.ListAuditEvents("a1", 3);
    if (!e.ok()) return e.status();
    events = *e;
    return absl::OkStatus();
  }));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "EVENT_4");
  EXPECT_EQ(events[1].type, "EVENT_2");
  EXPECT_EQ(events[2].type, "EVENT_1");
  EXPECT_EQ(events[0].actor_id, "admin1");
  EXPECT_EQ(events[0].account_id, "a1");
  EXPECT_EQ(events[0].detail, R"({"n":1})");
  EXPECT_EQ(events[0].request_id, "req-4");
  EXPECT_EQ(events[0].occurred_at, kT0 + absl::Seconds(4));
}

TEST_F(MySqlIdentityStoreTest, FailedWorkRollsBackAndSessionsExpireAway) {
  absl::Status failed = store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::Status st = tx.InsertAccount(MakeAccount("a1", "a1@x.com", Role::kBuyer, kT0));
    if (!st.ok()) return st;
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Find("a1").has_value());

  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::Status st =
        tx.InsertSession({"old", "a1", kT0, kT0 + absl::Minutes(1), std::nullopt, ""});
    if (!st.ok()) return st;
    st = tx.InsertRefreshToken(
        {std::string(32, 'o'), "old", kT0, kT0 + absl::Minutes(1), std::nullopt});
    if (!st.ok()) return st;
    return tx.InsertSession({"new", "a1", kT0, kT0 + absl::Hours(1), std::nullopt, ""});
  }));
  int64_t deleted = 0;
  ASSERT_OK(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> n = tx.DeleteSessionsExpiredBefore(kT0 + absl::Minutes(2), 100);
    if (!n.ok()) return n.status();
    deleted = *n;
    return absl::OkStatus();
  }));
  EXPECT_EQ(deleted, 1);
  ASSERT_OK_AND_ASSIGN(auto rows, pool().Query("SELECT COUNT(*) AS n FROM refresh_tokens"));
  EXPECT_EQ(*rows.at(0).GetInt64("n"), 0);
  EXPECT_OK(store_->Ping());
}

}  // namespace
}  // namespace marketplace::identity
