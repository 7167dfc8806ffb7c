#ifndef MARKETPLACE_COMMON_EVENTS_REVOCATIONS_H_
#define MARKETPLACE_COMMON_EVENTS_REVOCATIONS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/grpc_auth.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "common/events/event_consumer.h"
#include "common/periodic.h"

namespace marketplace::common::events {

// Identity's topics that end an account's tokens (events.proto).
inline constexpr absl::string_view kAccountSuspendedTopic = "identity.account_suspended";
inline constexpr absl::string_view kSessionsRevokedTopic = "identity.sessions_revoked";
inline constexpr absl::string_view kAccountReinstatedTopic = "identity.account_reinstated";

// Creates or upgrades the revocation table (component "revocations": token_revocations).
[[nodiscard]] absl::Status ApplyRevocationMigrations(db::ConnectionPool& pool);

// Records in `tx` that the account's tokens issued before `not_before` are refused; a later
// time than the one stored wins, an earlier one changes nothing. INVALID_ARGUMENT for an
// account id that is not 1-64 ASCII characters.
[[nodiscard]] absl::Status RecordRevocation(db::Transaction& tx, absl::string_view account_id,
                                            absl::Time not_before);

struct RevocationViewOptions {
  // How often the view reads the table: a revocation consumed by another replica takes
  // effect here at most this long after it was committed.
  absl::Duration refresh_interval = absl::Milliseconds(500);
  // Rows whose not_before is older than this are of no use (every token they could refuse
  // has expired; access and service tokens live far shorter): not loaded, and deleted from
  // the table about once an hour.
  absl::Duration horizon = absl::Hours(24);
  const Clock* clock = SystemClock::Get();
};

// This replica's in-memory copy of token_revocations, the RevocationCheck handed to the
// service's Authenticator. Kept current two ways: the replica that consumes an event updates
// it at once (AddRevocationConsumer), and every replica re-reads the table every
// refresh_interval. Thread-safe.
class RevocationView {
 public:
  // `pool` must outlive the view.
  RevocationView(db::ConnectionPool* pool, RevocationViewOptions options = {});
  ~RevocationView() { Stop(); }

  const auth::RevocationCheck& check() const { return list_; }
  auth::RevocationList& list() { return list_; }

  // Reads the table once (UNAVAILABLE etc. when the database cannot be read).
  [[nodiscard]] absl::Status Refresh();
  // Refreshes now, then every refresh_interval on a thread of its own, until Stop().
  void Start();
  void Stop() { thread_.Stop(); }

 private:
  db::ConnectionPool* const pool_;
  const RevocationViewOptions options_;
  auth::RevocationList list_;
  absl::Mutex mu_;
  absl::Time last_purge_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  PeriodicThread thread_;
};

// Registers on `consumer` what every service that verifies tokens does with identity's
// events: identity.account_suspended and identity.sessions_revoked are recorded in
// token_revocations (in the consumer's transaction) and in `view` once committed;
// identity.account_reinstated changes nothing here (tokens issued before the suspension stay
// refused). A payload of another type than the topic's is INVALID_ARGUMENT.
void AddRevocationConsumer(EventConsumer& consumer, RevocationView& view);

}  // namespace marketplace::common::events

#endif  // MARKETPLACE_COMMON_EVENTS_REVOCATIONS_H_
