#include "services/identity/identity_events.h"

#include <string>

#include "common/proto_time.h"
#include "protos/marketplace/events/v1/events.pb.h"

namespace marketplace::identity {

namespace events_v1 = ::marketplace::events::v1;

absl::StatusOr<std::string> RelayTokenSource::Token() {
  absl::MutexLock lock(&mu_);
  if (!token_.empty() && clock_->Now() < expires_at_ - absl::Minutes(1)) return token_;
  Account self;
  self.id = "identity";
  self.role = Role::kService;
  absl::StatusOr<IssuedAccessToken> issued =
      issuer_->IssueForService(self, {std::string(kEventsPublishScope)});
  if (!issued.ok()) return issued.status();
  token_ = issued->token;
  expires_at_ = issued->expires_at;
  return token_;
}

void RelayTokenSource::Invalidate() {
  absl::MutexLock lock(&mu_);
  token_.clear();
}

absl::Status EnqueueAccountSuspended(IdentityTransaction& tx, absl::string_view account_id,
                                     absl::Time not_before, absl::string_view reason_code) {
  events_v1::AccountSuspended payload;
  payload.set_account_id(std::string(account_id));
  *payload.mutable_not_before() = common::ToTimestamp(not_before);
  payload.set_reason_code(std::string(reason_code));
  return tx.EnqueueEvent(kAccountSuspendedTopic, account_id, payload);
}

absl::Status EnqueueSessionsRevoked(IdentityTransaction& tx, absl::string_view account_id,
                                    absl::Time not_before, absl::string_view reason) {
  events_v1::SessionsRevoked payload;
  payload.set_account_id(std::string(account_id));
  *payload.mutable_not_before() = common::ToTimestamp(not_before);
  payload.set_reason(std::string(reason));
  return tx.EnqueueEvent(kSessionsRevokedTopic, account_id, payload);
}

absl::Status EnqueueAccountReinstated(IdentityTransaction& tx, absl::string_view account_id,
                                      absl::Time reinstated_at, absl::string_view reason_code) {
  events_v1::AccountReinstated payload;
  payload.set_account_id(std::string(account_id));
  *payload.mutable_reinstated_at() = common::ToTimestamp(reinstated_at);
  payload.set_reason_code(std::string(reason_code));
  return tx.EnqueueEvent(kAccountReinstatedTopic, account_id, payload);
}

}  // namespace marketplace::identity
