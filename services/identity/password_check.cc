#include "services/identity/password_check.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

absl::Status AccountSuspendedError() {
  return common::WithReason(absl::PermissionDeniedError("the account is suspended"),
                            "ACCOUNT_SUSPENDED");
}

absl::Status SessionRevokedError() {
  return common::WithReason(
      absl::UnauthenticatedError("the session of this token was ended; log in again"),
      "SESSION_REVOKED");
}

std::string ThrottleKey(absl::string_view email_key) { return common::Sha256(email_key); }

PasswordCheck::PasswordCheck(IdentityStore* store, const PasswordHasher* hasher,
                             LoginThrottle throttle, const common::Clock* clock,
                             IdentityObserver* observer)
    : store_(store), hasher_(hasher), throttle_(throttle), clock_(clock), observer_(observer) {}

absl::StatusOr<Account> PasswordCheck::Verify(absl::string_view email_key,
                                              absl::string_view password,
                                              const RequestContext& ctx,
                                              const OnVerified& on_verified) {
  const std::string key = ThrottleKey(email_key);
  const std::string email_prefix = common::HexEncode(key).substr(0, 12);

  // 1. Start the attempt (pending, not a failure) unless the email is throttled on its
  // completed failures. When it is allowed only if the attempts in flight succeed, wait for
  // them: concurrent right passwords all pass, concurrent guesses get no extra evaluations.
  ThrottleDecision decision;
  bool must_wait = false;
  int64_t attempt_id = 0;
  std::optional<Account> account;
  absl::Time now;
  absl::Duration backoff = absl::Milliseconds(10);
  for (absl::Duration waited = absl::ZeroDuration();; waited += backoff) {
    now = clock_->Now();
    RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      account.reset();
      ASSIGN_OR_RETURN(ThrottleState state, tx.LockThrottleState(key, now));
      decision = throttle_.Decide(state, now);
      must_wait = decision.allowed && throttle_.MustWaitForInFlight(state, now);
      if (!decision.allowed || must_wait) return absl::OkStatus();
      ASSIGN_OR_RETURN(attempt_id, tx.BeginAttempt(key, now));
      ASSIGN_OR_RETURN(account, tx.FindAccountByEmailKey(email_key));
      return absl::OkStatus();
    }));
    if (!decision.allowed) {
      observer_->OnLogin(LoginOutcome::kThrottled);
      return Throttled(decision.next_attempt - now);
    }
    if (!must_wait) break;
    if (waited >= kMaxInFlightWait) {
      observer_->OnLogin(LoginOutcome::kThrottled);
      return Throttled(absl::Seconds(1));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(100));
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

  // A completed failure, with its audit events (for unknown emails too: equal work).
  auto record_failure = [&](IdentityTransaction& tx, absl::string_view reason,
                            bool* starts_lockout) -> absl::Status {
    const absl::Time at = clock_->Now();
    ASSIGN_OR_RETURN(ThrottleState state, tx.LockThrottleState(key, at));
    *starts_lockout = throttle_.FailureStartsLockout(state, at);
    RETURN_IF_ERROR(tx.CompleteFailedAttempt(key, attempt_id, at));
    const std::string account_id = account ? account->id : "";
    nlohmann::json detail = {{"email_sha256_prefix", email_prefix},
                             {"known_account", !!account}};
    if (!reason.empty()) detail["reason"] = reason;
    RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(audit::kLoginFailed, ctx, account_id, detail, at)));
    if (*starts_lockout) {
      RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(
          audit::kLockedOut, ctx, account_id, {{"email_sha256_prefix", email_prefix}}, at)));
    }
    return absl::OkStatus();
  };

  if (!*match) {
    bool starts_lockout = false;
    RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) {
      return record_failure(tx, "", &starts_lockout);
    }));
    if (starts_lockout) observer_->OnLockout();
    observer_->OnLogin(LoginOutcome::kInvalidCredentials);
    return InvalidCredentials();
  }

  // 3. The right password. Upgrade an old hash while the password is at hand, then decide
  // with the account read again under its row lock: what was read before the check may have
  // changed during it (a suspension, a LogoutAll, a password change).
  std::string rehashed;
  if (hasher_->NeedsRehash(account->password_hash)) {
    absl::StatusOr<std::string> fresh = hasher_->Hash(password);
    if (fresh.ok()) rehashed = *std::move(fresh);  // best effort: the login does not depend on it
  }
  enum class Outcome { kVerified, kSuspended, kPasswordChanged, kSessionsEnded };
  Outcome outcome = Outcome::kVerified;
  bool starts_lockout = false;
  Account verified;
  std::string current_hash;
  auto decide = [&](IdentityTransaction& tx) -> absl::Status {
    outcome = Outcome::kVerified;
    starts_lockout = false;
    ASSIGN_OR_RETURN(std::optional<Account> current, tx.FindAccount(account->id, true));
    if (!current || current->password_hash != account->password_hash) {
      // Changed (or gone) during the check: decided below, outside the lock.
      outcome = Outcome::kPasswordChanged;
      current_hash = current ? current->password_hash : "";
      return absl::OkStatus();
    }
    if (current->status == AccountStatus::kSuspended) {
      // Said only after the right password, and counted exactly like a failure, so that the
      // answer is no unthrottled oracle for a suspended account's password.
      outcome = Outcome::kSuspended;
      return record_failure(tx, "ACCOUNT_SUSPENDED", &starts_lockout);
    }
    if (current->sessions_not_before != account->sessions_not_before) {
      outcome = Outcome::kSessionsEnded;
      return tx.ForgiveAttempt(key, attempt_id, true);
    }
    RETURN_IF_ERROR(tx.ForgiveAttempt(key, attempt_id, true));
    if (!rehashed.empty() && hasher_->NeedsRehash(current->password_hash)) {
      current->password_hash = rehashed;
      RETURN_IF_ERROR(tx.UpdateAccount(*current));
      RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(
          audit::kPasswordRehashed, ctx, account->id, nlohmann::json::object(), now)));
    }
    if (on_verified) RETURN_IF_ERROR(on_verified(tx, *current));
    verified = *std::move(current);
    return absl::OkStatus();
  };
  absl::Status decided = store_->Transact(decide);
  for (int again = 0; again < 2 && decided.ok() && outcome == Outcome::kPasswordChanged &&
                      !current_hash.empty();
       ++again) {
    // A concurrent login may only have re-hashed the same password with newer parameters:
    // check the password against the hash now stored and decide again. (The
    // sessions_not_before read before the first check stays the reference.)
    absl::StatusOr<bool> still = hasher_->Verify(current_hash, password);
    if (!still.ok() || !*still) break;
    account->password_hash = current_hash;
    decided = store_->Transact(decide);
  }
  if (decided.ok() && outcome == Outcome::kPasswordChanged) {
    // The password given is not the account's any more: not evaluated against it, not counted.
    decided = store_->Transact(
        [&](IdentityTransaction& tx) { return tx.ForgiveAttempt(key, attempt_id, false); });
  }
  if (!decided.ok()) {
    absl::Status forgiven = store_->Transact(
        [&](IdentityTransaction& tx) { return tx.ForgiveAttempt(key, attempt_id, false); });
    (void)forgiven;  // best effort; a pending attempt left behind expires as a failure
    observer_->OnLogin(LoginOutcome::kError);
    return decided;
  }
  switch (outcome) {
    case Outcome::kVerified:
      return verified;
    case Outcome::kSuspended:
      if (starts_lockout) observer_->OnLockout();
      observer_->OnLogin(LoginOutcome::kSuspended);
      return AccountSuspendedError();
    case Outcome::kPasswordChanged:
      observer_->OnLogin(LoginOutcome::kInvalidCredentials);
      return InvalidCredentials();
    case Outcome::kSessionsEnded:
      observer_->OnLogin(LoginOutcome::kError);
      return common::WithReason(
          absl::UnauthenticatedError("the account's sessions were ended (suspension or "
                                     "LogoutAll) while this login was checked; log in again"),
          "SESSION_REVOKED");
  }
  return verified;
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
