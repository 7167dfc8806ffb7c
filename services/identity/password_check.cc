#include "services/identity/password_check.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "google/rpc/error_details.pb.h"
#include "services/identity/audit.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {
namespace {

absl::Status InvalidCredentials() {
  return common::WithReason(absl::UnauthenticatedError("wrong email or password"),
                            "INVALID_CREDENTIALS");
}

absl::Status Throttled(absl::Duration wait) {
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
  absl::Status status = common::WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "too many failed logins for this email; next attempt in ", seconds, " s")),
      "LOGIN_THROTTLED");
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(seconds);
  status.SetPayload("type.googleapis.com/google.rpc.RetryInfo",
                    absl::Cord(info.SerializeAsString()));
  return status;
}

}  // namespace

std::string ThrottleKey(absl::string_view email_key) { return common::Sha256(email_key); }

PasswordCheck::PasswordCheck(IdentityStore* store, const PasswordHasher* hasher,
                             LoginThrottle throttle, const common::Clock* clock,
                             IdentityObserver* observer)
    : store_(store), hasher_(hasher), throttle_(throttle), clock_(clock), observer_(observer) {}

absl::StatusOr<Account> PasswordCheck::Verify(absl::string_view email_key,
                                              absl::string_view password,
                                              const RequestContext& ctx) {
  const std::string key = ThrottleKey(email_key);
  const absl::Time now = clock_->Now();

  // 1. Reserve the attempt (counted as a failure) unless the email is throttled.
  ThrottleDecision decision;
  bool starts_lockout = false;
  int64_t attempt_id = 0;
  std::optional<Account> account;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ThrottleState state, tx.LockThrottleState(key, now));
    decision = throttle_.Decide(state, now);
    if (!decision.allowed) return absl::OkStatus();
    starts_lockout = throttle_.FailureStartsLockout(state, now);
    ASSIGN_OR_RETURN(attempt_id, tx.RecordFailedAttempt(key, now));
    ASSIGN_OR_RETURN(account, tx.FindAccountByEmailKey(email_key));
    return absl::OkStatus();
  }));
  if (!decision.allowed) {
    observer_->OnLogin(LoginOutcome::kThrottled);
    return Throttled(decision.next_attempt - now);
  }

  // 2. The expensive part, outside any transaction and on the hashing pool.
  absl::StatusOr<bool> match = false;
  if (account && !account->password_hash.empty()) {
    match = hasher_->Verify(account->password_hash, password);
  } else {
    absl::Status dummy = hasher_->VerifyDummy(password);
    if (!dummy.ok()) match = dummy;
  }
  if (!match.ok()) {
    // Not evaluated (e.g. the hashing pool was full): the attempt must not count.
    absl::Status forgiven = store_->Transact(
        [&](IdentityTransaction& tx) { return tx.ForgiveAttempt(key, attempt_id, false); });
    (void)forgiven;  // the error below is what the caller needs to see
    observer_->OnLogin(LoginOutcome::kError);
    return match.status();
  }

  if (!*match) {
    // The attempt stays counted. The audit write happens for unknown emails too: equal work.
    RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      const std::string account_id = account ? account->id : "";
      RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(
          audit::kLoginFailed, ctx, account_id,
          {{"email_sha256_prefix", common::HexEncode(key).substr(0, 12)}, {"known_account", !!account}},
          now)));
      if (starts_lockout) {
        RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(
            audit::kLockedOut, ctx, account_id,
            {{"email_sha256_prefix", common::HexEncode(key).substr(0, 12)}}, now)));
      }
      return absl::OkStatus();
    }));
    if (starts_lockout) observer_->OnLockout();
    observer_->OnLogin(LoginOutcome::kInvalidCredentials);
    return InvalidCredentials();
  }

  // 3. Success: take the attempt back, and upgrade an old hash while the password is at hand.
  std::string rehashed;
  if (hasher_->NeedsRehash(account->password_hash)) {
    absl::StatusOr<std::string> fresh = hasher_->Hash(password);
    if (fresh.ok()) rehashed = *std::move(fresh);  // best effort: the login does not depend on it
  }
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.ForgiveAttempt(key, attempt_id, true));
    if (!rehashed.empty()) {
      ASSIGN_OR_RETURN(std::optional<Account> current, tx.FindAccount(account->id, true));
      // Only if the password did not change meanwhile.
      if (current && current->password_hash == account->password_hash) {
        current->password_hash = rehashed;
        RETURN_IF_ERROR(tx.UpdateAccount(*current));
        RETURN_IF_ERROR(tx.AppendAudit(
            MakeAuditEvent(audit::kPasswordRehashed, ctx, account->id, nlohmann::json::object(), now)));
      }
    }
    return absl::OkStatus();
  }));
  if (!rehashed.empty()) account->password_hash = rehashed;
  return *std::move(account);
}

absl::StatusOr<ThrottleView> PasswordCheck::Inspect(absl::string_view email_key) {
  const absl::Time now = clock_->Now();
  ThrottleState state;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(state, tx.ReadThrottleState(ThrottleKey(email_key), now));
    return absl::OkStatus();
  }));
  const ThrottleDecision decision = throttle_.Decide(state, now);
  ThrottleView view;
  view.consecutive_failures = state.consecutive_failures;
  view.failures_last_hour = static_cast<int>(std::count_if(
      state.failures_last_hour.begin(), state.failures_last_hour.end(),
      [&](absl::Time t) { return t > now - absl::Hours(1); }));
  if (!decision.allowed) view.next_attempt = decision.next_attempt;
  view.locked_out = decision.locked_out;
  return view;
}

}  // namespace marketplace::identity
