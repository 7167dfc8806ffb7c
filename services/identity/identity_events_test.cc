// The events identity writes through its outbox (identity_events.h), in the transactions of
// SuspendAccount, ReinstateAccount, LogoutAll and ChangePassword.
#include "services/identity/identity_events.h"

#include <string>
#include <vector>

#include "common/proto_time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "services/identity/identity_test_fixture.h"

namespace marketplace::identity {
namespace {

namespace events_v1 = ::marketplace::events::v1;

struct StoredEvent {
  std::string topic;
  std::string source;
  std::string key;
  google::protobuf::Any payload;
};

class IdentityEventsTest : public IdentityDomainTest {
 protected:
  std::vector<StoredEvent> Events() {
    std::vector<StoredEvent> out;
    auto rows = pool().Query(
        "SELECT topic, source, event_key, payload_type_url, payload FROM outbox_events ORDER BY id");
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return out;
    for (const auto& row : *rows) {
      StoredEvent e;
      e.topic = *row.GetString("topic");
      e.source = *row.GetString("source");
      e.key = *row.GetString("event_key");
      e.payload.set_type_url(*row.GetString("payload_type_url"));
      e.payload.set_value(*row.GetString("payload"));
      out.push_back(std::move(e));
    }
    return out;
  }
};

TEST_F(IdentityEventsTest, SuspendAndReinstateWriteTheirEvents) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK(accounts_->Suspend(seller.id, "FRAUD", "stolen cards", As(admin_)).status());
  // Suspending again changes nothing and tells nobody.
  ASSERT_OK(accounts_->Suspend(seller.id, "FRAUD", "stolen cards", As(admin_)).status());
  ASSERT_OK(accounts_->Reinstate(seller.id, "APPEAL_WON", "cleared", As(admin_)).status());

  std::vector<StoredEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].topic, "identity.account_suspended");
  EXPECT_EQ(events[0].source, "identity");
  EXPECT_EQ(events[0].key, seller.id);
  events_v1::AccountSuspended suspended;
  ASSERT_TRUE(events[0].payload.UnpackTo(&suspended));
  EXPECT_EQ(suspended.account_id(), seller.id);
  EXPECT_EQ(suspended.reason_code(), "FRAUD");
  EXPECT_EQ(*common::FromTimestamp(suspended.not_before(), "not_before"), clock_.Now());

  EXPECT_EQ(events[1].topic, "identity.account_reinstated");
  events_v1::AccountReinstated reinstated;
  ASSERT_TRUE(events[1].payload.UnpackTo(&reinstated));
  EXPECT_EQ(reinstated.account_id(), seller.id);
  EXPECT_EQ(reinstated.reason_code(), "APPEAL_WON");
}

TEST_F(IdentityEventsTest, LogoutAllAndChangePasswordRevokeSessionsEverywhere) {
  ASSERT_OK_AND_ASSIGN(Account buyer, SignUp("buyer@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(LoginResult login,
                       sessions_->Login("buyer@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK(sessions_->LogoutAll(As(login)).status());
  ASSERT_OK_AND_ASSIGN(LoginResult again,
                       sessions_->Login("buyer@example.com", kGoodPassword, Anonymous()));
  ASSERT_OK(accounts_
                ->ChangePassword(buyer.id, kGoodPassword, "indigo-lantern-falls-77", As(again))
                .status());

  std::vector<StoredEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].topic, "identity.sessions_revoked");
    EXPECT_EQ(events[i].key, buyer.id);
    events_v1::SessionsRevoked revoked;
    ASSERT_TRUE(events[i].payload.UnpackTo(&revoked));
    EXPECT_EQ(revoked.account_id(), buyer.id);
    EXPECT_EQ(revoked.reason(), i == 0 ? "LOGOUT_ALL" : "PASSWORD_CHANGED");
    EXPECT_EQ(*common::FromTimestamp(revoked.not_before(), "not_before"), clock_.Now());
  }
}

TEST_F(IdentityEventsTest, RelayTokenIsIdentitysOwnServiceTokenWithThePublishScope) {
  RelayTokenSource source(issuer_.get(), &clock_);
  ASSERT_OK_AND_ASSIGN(std::string token, source.Token());
  ASSERT_OK_AND_ASSIGN(common::auth::Caller caller, verifier_->Verify(token));
  EXPECT_EQ(caller.subject, "identity");
  EXPECT_TRUE(caller.HasRole("SERVICE"));
  EXPECT_TRUE(caller.HasScope("identity.events.publish"));
  ASSERT_OK_AND_ASSIGN(std::string cached, source.Token());
  EXPECT_EQ(cached, token);
}

}  // namespace
}  // namespace marketplace::identity
