#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_EVENTS_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_EVENTS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/identity/identity_store.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {

// Identity's events (protos/marketplace/events/v1/events.proto), written through the outbox
// in the transaction of the change they report, keyed by the account id, so the other
// services stop accepting the account's older tokens (and catalog takes down or restores the
// seller's listings).
inline constexpr absl::string_view kAccountSuspendedTopic = "identity.account_suspended";
inline constexpr absl::string_view kSessionsRevokedTopic = "identity.sessions_revoked";
inline constexpr absl::string_view kAccountReinstatedTopic = "identity.account_reinstated";

// The scope on identity's own relay token; consumers require it for events of source
// "identity".
inline constexpr absl::string_view kEventsPublishScope = "identity.events.publish";

// Identity's own SERVICE token for its outbox relay (identity is the issuer, so it signs it
// itself): subject "identity", role SERVICE, scope identity.events.publish. Cached until a
// minute before it expires. Thread-safe.
class RelayTokenSource {
 public:
  // Both must outlive the source.
  RelayTokenSource(AccessTokenIssuer* issuer, const common::Clock* clock)
      : issuer_(issuer), clock_(clock) {}
  absl::StatusOr<std::string> Token();
  void Invalidate();

 private:
  AccessTokenIssuer* const issuer_;
  const common::Clock* const clock_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

[[nodiscard]] absl::Status EnqueueAccountSuspended(IdentityTransaction& tx,
                                                   absl::string_view account_id,
                                                   absl::Time not_before,
                                                   absl::string_view reason_code);
// `reason`: "LOGOUT_ALL" or "PASSWORD_CHANGED".
[[nodiscard]] absl::Status EnqueueSessionsRevoked(IdentityTransaction& tx,
                                                  absl::string_view account_id,
                                                  absl::Time not_before, absl::string_view reason);
[[nodiscard]] absl::Status EnqueueAccountReinstated(IdentityTransaction& tx,
                                                    absl::string_view account_id,
                                                    absl::Time reinstated_at,
                                                    absl::string_view reason_code);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_EVENTS_H_
