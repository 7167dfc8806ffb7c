#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_STORE_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/identity/login_throttle.h"
#include "services/identity/model.h"

namespace marketplace::identity {

// A pending login attempt older than this is taken for one whose replica stopped: it counts as
// a failure in the hourly ceiling and no longer as in flight.
inline constexpr absl::Duration kPendingAttemptLifetime = absl::Minutes(1);

// The data operations the identity domain needs, all inside one unit of work. The domain
// classes decide; these only read and write. Ids, times and hashes are made by the caller.
class IdentityTransaction {
 public:
  virtual ~IdentityTransaction() = default;

  // --- accounts ---
  // ALREADY_EXISTS (reason EMAIL_TAKEN) when an account has the same email_key.
  [[nodiscard]] virtual absl::Status InsertAccount(const Account& account) = 0;
  // `for_update` locks the row until the end of the transaction.
  [[nodiscard]] virtual absl::StatusOr<std::optional<Account>> FindAccount(absl::string_view id,
                                                                           bool for_update) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<Account>> FindAccountByEmailKey(
      absl::string_view email_key) = 0;
  // Writes display_name, status, password_hash, suspension and updated_at of `account` (not
  // sessions_not_before: RaiseSessionsNotBefore).
  [[nodiscard]] virtual absl::Status UpdateAccount(const Account& account) = 0;
  // Sets the account's sessions_not_before to `now`, or one microsecond past its current value
  // when that is not earlier: it changes on every call, whatever the replicas' clocks. Locks
  // the account row. For SuspendAccount and LogoutAll, with the revocation of the sessions.
  [[nodiscard]] virtual absl::Status RaiseSessionsNotBefore(absl::string_view account_id,
                                                            absl::Time now) = 0;
  // Up to `limit` accounts after `after` (creation order) matching `filter`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<Account>> ListAccounts(
      const AccountFilter& filter, const std::optional<AccountCursor>& after, int limit) = 0;
  // Account status and session state in one read: the check behind every authenticated call.
  [[nodiscard]] virtual absl::StatusOr<CallerState> LoadCallerState(
      absl::string_view account_id, absl::string_view session_id) = 0;
  // LoadCallerState and the caller's whole account in the same single read (a caller reading
  // its own account needs both).
  [[nodiscard]] virtual absl::StatusOr<CallerAccount> LoadCallerAccount(
      absl::string_view account_id, absl::string_view session_id) = 0;

  // --- idempotency ---
  [[nodiscard]] virtual absl::StatusOr<std::optional<IdempotencyRecord>> FindIdempotencyRecord(
      absl::string_view scope, absl::string_view request_id) = 0;
  // ALREADY_EXISTS when a concurrent request inserted the same key first.
  [[nodiscard]] virtual absl::Status InsertIdempotencyRecord(const IdempotencyRecord& record) = 0;
  [[nodiscard]] virtual absl::Status DeleteIdempotencyRecord(absl::string_view scope,
                                                             absl::string_view request_id) = 0;
  // Deletes up to `limit` records created before `before`; returns how many.
  [[nodiscard]] virtual absl::StatusOr<int64_t> DeleteIdempotencyRecordsBefore(absl::Time before,
                                                                               int limit) = 0;

  // --- sessions and refresh tokens ---
  [[nodiscard]] virtual absl::Status InsertSession(const Session& session) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<Session>> FindSession(absl::string_view id,
                                                                           bool for_update) = 0;
  // Revokes one session if it is not yet; true when this call revoked it.
  [[nodiscard]] virtual absl::StatusOr<bool> RevokeSession(absl::string_view session_id,
                                                           absl::string_view reason,
                                                           absl::Time now) = 0;
  // Revokes every unrevoked, unexpired session of the account except `keep_session_id`;
  // returns how many.
  [[nodiscard]] virtual absl::StatusOr<int> RevokeSessionsOf(absl::string_view account_id,
                                                             absl::string_view keep_session_id,
                                                             absl::string_view reason,
                                                             absl::Time now) = 0;
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountActiveSessions(absl::Time now) = 0;
  // Deletes up to `limit` sessions (and their refresh tokens) that expired before `before`.
  [[nodiscard]] virtual absl::StatusOr<int64_t> DeleteSessionsExpiredBefore(absl::Time before,
                                                                            int limit) = 0;

  [[nodiscard]] virtual absl::Status InsertRefreshToken(const RefreshTokenRecord& token) = 0;
  // Marks the token used if it is unused and unexpired at `now`, as one conditional write;
  // true when this call did it. Of concurrent callers exactly one gets true.
  [[nodiscard]] virtual absl::StatusOr<bool> ClaimRefreshToken(absl::string_view token_hash,
                                                               absl::Time now) = 0;
  // Reads the token with a locking read (sees the latest committed state).
  [[nodiscard]] virtual absl::StatusOr<std::optional<RefreshTokenRecord>> FindRefreshToken(
      absl::string_view token_hash) = 0;

  // --- login throttling (keyed by SHA-256 of the email key) ---
  // Locks the throttle row of `email_hash` (creating it) and returns its state: completed
  // failures of the hour before `now`, and the attempts in flight (pending for less than
  // kPendingAttemptLifetime; older pending ones count as failures of the hour). Concurrent
  // attempts for one email serialise here.
  [[nodiscard]] virtual absl::StatusOr<ThrottleState> LockThrottleState(
      absl::string_view email_hash, absl::Time now) = 0;
  // Records an attempt whose password check starts at `now` (pending: not a failure yet);
  // returns its id.
  [[nodiscard]] virtual absl::StatusOr<int64_t> BeginAttempt(absl::string_view email_hash,
                                                             absl::Time now) = 0;
  // The pending attempt failed at `now`: a completed failure (consecutive count +1).
  [[nodiscard]] virtual absl::Status CompleteFailedAttempt(absl::string_view email_hash,
                                                           int64_t attempt_id, absl::Time now) = 0;
  // Deletes a pending attempt: it succeeded (`reset_consecutive`: the consecutive count
  // starts again) or was never evaluated (nothing else changes).
  [[nodiscard]] virtual absl::Status ForgiveAttempt(absl::string_view email_hash,
                                                    int64_t attempt_id, bool reset_consecutive) = 0;
  // The state without locking, for admins (nullopt when nothing was ever recorded).
  [[nodiscard]] virtual absl::StatusOr<ThrottleState> ReadThrottleState(
      absl::string_view email_hash, absl::Time now) = 0;
  // Deletes up to `limit` failed attempts older than `before`.
  [[nodiscard]] virtual absl::StatusOr<int64_t> DeleteFailedAttemptsBefore(absl::Time before,
                                                                           int limit) = 0;

  // --- seller onboarding ---
  // The profile of `account_id` (status NOT_SUBMITTED and no application when none was made).
  [[nodiscard]] virtual absl::StatusOr<SellerProfile> LoadSellerProfile(
      absl::string_view account_id, bool for_update) = 0;
  // Stores the application and status of `profile` (not its decisions).
  [[nodiscard]] virtual absl::Status SaveSellerApplication(const SellerProfile& profile) = 0;
  [[nodiscard]] virtual absl::Status AppendSellerDecision(absl::string_view account_id,
                                                          const SellerDecision& decision) = 0;

  // --- signing keys ---
  // Every key still published at `now`: NEXT and ACTIVE, and RETIRED ones whose expires_at is
  // after `now` (newest retirement first).
  [[nodiscard]] virtual absl::StatusOr<std::vector<StoredSigningKey>> ListPublishedKeys(
      absl::Time now) = 0;
  // The one key in `state` (NEXT or ACTIVE), if any; `for_update` locks it.
  [[nodiscard]] virtual absl::StatusOr<std::optional<StoredSigningKey>> FindKeyInState(
      SigningKeyState state, bool for_update) = 0;
  // When the last rotation happened (the latest retired_at of any key); nullopt before the
  // first rotation.
  [[nodiscard]] virtual absl::StatusOr<std::optional<absl::Time>> LastKeyRotation() = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<StoredSigningKey>> FindKey(
      absl::string_view kid) = 0;
  // ALREADY_EXISTS when a key in the same NEXT or ACTIVE state exists already.
  [[nodiscard]] virtual absl::Status InsertKey(const StoredSigningKey& key) = 0;
  // Writes state, activated_at, retired_at and expires_at of `key`.
  [[nodiscard]] virtual absl::Status UpdateKeyState(const StoredSigningKey& key) = 0;

  // --- events (the outbox, common/outbox) ---
  // Adds an event of source "identity" to this transaction: it is delivered if and only if
  // the transaction commits. Only inside Transact (FAILED_PRECONDITION in Read).
  [[nodiscard]] virtual absl::Status EnqueueEvent(absl::string_view topic, absl::string_view key,
                                                  const google::protobuf::Message& payload) = 0;

  // --- audit ---
  [[nodiscard]] virtual absl::Status AppendAudit(const AuditEvent& event) = 0;
  // The newest `limit` events about `account_id`, newest first (tests and admins).
  [[nodiscard]] virtual absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(
      absl::string_view account_id, int limit) = 0;
};

class IdentityStore {
 public:
  using Work = std::function<absl::Status(IdentityTransaction&)>;

  virtual ~IdentityStore() = default;

  // Runs `work` in one transaction: committed when it returns OK, rolled back otherwise.
  // After a deadlock or lock-wait timeout the whole of `work` runs again, so it must not have
  // effects outside the transaction (metrics, logs) and must reset what it collects.
  [[nodiscard]] virtual absl::Status Transact(const Work& work) = 0;

  // Runs `work` on one connection without a transaction (each statement on its own), for
  // reads that need no consistency across statements: cheaper than Transact.
  [[nodiscard]] virtual absl::Status Read(const Work& work) = 0;

  // Whether the database answers (readiness).
  [[nodiscard]] virtual absl::Status Ping() = 0;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_STORE_H_
