#include "services/identity/sessions.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/auth/jwt.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/audit.h"
#include "services/identity/email.h"
#include "services/identity/field_rules.h"
#include "services/identity/identity_events.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {
namespace {

// Longest password accepted at login: valid ones are at most 128 code points (512 bytes);
// anything longer is refused before it can cost hashing time.
constexpr size_t kMaxLoginPasswordBytes = 1024;

absl::Status InvalidRefreshToken(absl::string_view why) {
  return common::WithReason(absl::UnauthenticatedError(absl::StrCat("refresh token ", why)),
                            "INVALID_REFRESH_TOKEN");
}

absl::Status InvalidClient() {
  return common::WithReason(absl::UnauthenticatedError("unknown client or wrong secret"),
                            "INVALID_CLIENT");
}

// The caller cache's key within an account: the session, or for a SERVICE token (which has
// none) the token itself, whose iat the check compares with sessions_not_before: one token's
// answer never vouches for another (an old one of before a suspension).
std::string CallerCacheKey(const Principal& caller) {
  if (!caller.session_id.empty()) return caller.session_id;
  return absl::StrCat("token ", caller.token_id);
}

// A SERVICE token (no session) issued before its account's sessions_not_before: a
// suspension's revocation, which a reinstatement does not lift. (A session's tokens are
// ended with their session instead.)
bool ServiceTokenRevoked(absl::string_view session_id, absl::Time issued_at,
                         const CallerState& state) {
  return session_id.empty() && state.sessions_not_before.has_value() &&
         issued_at < *state.sessions_not_before;
}

}  // namespace

Sessions::Sessions(IdentityStore* store, PasswordCheck* passwords, AccessTokenIssuer* issuer,
                   common::auth::TokenVerifier* verifier, const common::Clock* clock,
                   IdentityObserver* observer, SessionsOptions options)
    : store_(store),
      passwords_(passwords),
      issuer_(issuer),
      verifier_(verifier),
      clock_(clock),
      observer_(observer),
      options_(options) {}

absl::StatusOr<LoginResult> Sessions::Login(absl::string_view email, absl::string_view password,
                                            const RequestContext& ctx) {
  absl::StatusOr<NormalizedEmail> normalized = NormalizeEmail(email, "email");
  std::vector<common::FieldViolation> violations = common::FieldViolationsOf(normalized.status());
  if (password.empty()) {
    violations.push_back({"password", "is required"});
  } else if (password.size() > kMaxLoginPasswordBytes) {
    violations.push_back({"password", "must be at most 1024 bytes"});
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  // The session is written in the transaction that accepts the password, under the account's
  // row lock and only if its status and sessions_not_before are still those read before the
  // check: a suspension or LogoutAll that committed meanwhile wins.
  Session session;
  RefreshTokenRecord record;
  const std::string refresh_token = NewRefreshToken();
  absl::StatusOr<Account> verified = passwords_->Verify(
      normalized->key, password, ctx,
      [&](IdentityTransaction& tx, const Account& current) -> absl::Status {
        const absl::Time now = clock_->Now();
        session = Session{};
        session.id = NewOpaqueId();
        session.account_id = current.id;
        session.created_at = now;
        session.expires_at = now + issuer_->options().refresh_token_ttl;
        record = RefreshTokenRecord{};
        record.token_hash = common::Sha256(refresh_token);
        record.session_id = session.id;
        record.created_at = now;
        record.expires_at = session.expires_at;
        RETURN_IF_ERROR(tx.InsertSession(session));
        RETURN_IF_ERROR(tx.InsertRefreshToken(record));
        return tx.AppendAudit(MakeAuditEvent(audit::kLoginSucceeded, ctx, current.id,
                                             {{"session_id", session.id}}, now));
      });
  if (!verified.ok()) return verified.status();
  Account account = *std::move(verified);
  absl::StatusOr<IssuedAccessToken> access =
      issuer_->IssueForSession(account, session.id, session.expires_at, session.created_at);
  if (!access.ok()) {
    observer_->OnLogin(LoginOutcome::kError);
    return access.status();
  }
  observer_->OnLogin(LoginOutcome::kSuccess);
  LoginResult result;
  result.tokens = {*std::move(access), refresh_token, session.expires_at, session.id};
  result.account = std::move(account);
  return result;
}

absl::StatusOr<SessionTokens> Sessions::Refresh(absl::string_view refresh_token,
                                                const RequestContext& ctx) {
  if (refresh_token.empty()) return common::InvalidField("refresh_token", "is required");
  if (refresh_token.size() > kMaxBearerSecretBytes ||
      !absl::StartsWith(refresh_token, kRefreshTokenPrefix)) {
    return common::InvalidField("refresh_token", "is not a refresh token issued by identity");
  }
  const absl::Time now = clock_->Now();
  const std::string presented_hash = common::Sha256(refresh_token);
  const std::string next_token = NewRefreshToken();

  // Decided inside the transaction, acted on after it commits.
  enum class Outcome { kRotated, kReused };
  Outcome outcome = Outcome::kRotated;
  Session session;
  Account account;
  absl::Time issued_at;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    outcome = Outcome::kRotated;
    // The one conditional write that decides which of concurrent refreshes wins.
    ASSIGN_OR_RETURN(bool claimed, tx.ClaimRefreshToken(presented_hash, now));
    ASSIGN_OR_RETURN(std::optional<RefreshTokenRecord> record, tx.FindRefreshToken(presented_hash));
    if (!record) return InvalidRefreshToken("is unknown");
    ASSIGN_OR_RETURN(std::optional<Session> found, tx.FindSession(record->session_id, true));
    if (!found) return InvalidRefreshToken("is unknown");
    session = *std::move(found);
    if (!claimed) {
      if (!record->used_at) return InvalidRefreshToken("has expired");
      // Used before: whoever holds it copied it. End the whole session, for the thief and the
      // legitimate client alike; the user logs in again.
      ASSIGN_OR_RETURN(bool revoked, tx.RevokeSession(session.id, "REFRESH_TOKEN_REUSED", now));
      if (revoked) {
        RETURN_IF_ERROR(
            tx.AppendAudit(MakeAuditEvent(audit::kRefreshTokenReused, ctx, session.account_id,
                                          {{"session_id", session.id}}, now)));
      }
      outcome = Outcome::kReused;
      return absl::OkStatus();  // commit the revocation
    }
    if (session.revoked_at) {
      return common::WithReason(absl::UnauthenticatedError("the session was ended"),
                                "SESSION_REVOKED");
    }
    if (session.expires_at <= now) return InvalidRefreshToken("has expired");
    // Under the account's row lock, like a login: a suspension that committed first wins.
    ASSIGN_OR_RETURN(std::optional<Account> owner, tx.FindAccount(session.account_id, true));
    if (!owner) return InvalidRefreshToken("is unknown");
    if (owner->status == AccountStatus::kSuspended) return AccountSuspendedError();
    account = *std::move(owner);
    issued_at = clock_->Now();  // under the lock: see IssueForSession
    RefreshTokenRecord next;
    next.token_hash = common::Sha256(next_token);
    next.session_id = session.id;
    next.created_at = now;
    next.expires_at = session.expires_at;
    return tx.InsertRefreshToken(next);
  }));
  if (outcome == Outcome::kReused) {
    ForgetCaller(session.account_id);
    observer_->OnRefreshTokenReuse();
    return common::WithReason(
        absl::UnauthenticatedError(
            "refresh token was already used; the session has been ended, log in again"),
        "REFRESH_TOKEN_REUSED");
  }
  ASSIGN_OR_RETURN(IssuedAccessToken access,
                   issuer_->IssueForSession(account, session.id, session.expires_at, issued_at));
  return SessionTokens{std::move(access), next_token, session.expires_at, session.id};
}

absl::Status Sessions::Logout(const RequestContext& ctx) {
  const Target self = ctx.caller ? Target{ctx.caller->account_id, ctx.caller->role} : Target{};
  RETURN_IF_ERROR(Authorize(Method::kLogout, ctx.caller ? &*ctx.caller : nullptr, &self));
  const absl::Time now = clock_->Now();
  const std::string& session_id = ctx.caller->session_id;
  if (session_id.empty()) return common::PermissionDenied("this token belongs to no session");
  absl::Status status = store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool revoked, tx.RevokeSession(session_id, "LOGOUT", now));
    if (!revoked) return absl::OkStatus();
    return tx.AppendAudit(
        MakeAuditEvent(audit::kLogout, ctx, ctx.caller_id(), {{"session_id", session_id}}, now));
  });
  // After the commit (also after a failure, whose commit may have happened): a check that
  // read the session before it is not remembered.
  ForgetCaller(ctx.caller_id());
  return status;
}

absl::StatusOr<int> Sessions::LogoutAll(const RequestContext& ctx) {
  const Target self = ctx.caller ? Target{ctx.caller->account_id, ctx.caller->role} : Target{};
  RETURN_IF_ERROR(Authorize(Method::kLogoutAll, ctx.caller ? &*ctx.caller : nullptr, &self));
  int revoked = 0;
  absl::Status status = store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    // The time is read under the account's row lock (see SetSuspension).
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(ctx.caller_id(), true));
    if (!account) return common::NotFound("account", ctx.caller_id());
    const absl::Time now = clock_->Now();
    RETURN_IF_ERROR(tx.RaiseSessionsNotBefore(ctx.caller_id(), now));  // logins in flight lose
    ASSIGN_OR_RETURN(revoked, tx.RevokeSessionsOf(ctx.caller_id(), "", "LOGOUT_ALL", now));
    RETURN_IF_ERROR(EnqueueSessionsRevoked(tx, ctx.caller_id(), now, "LOGOUT_ALL"));
    return tx.AppendAudit(
        MakeAuditEvent(audit::kLogoutAll, ctx, ctx.caller_id(), {{"revoked", revoked}}, now));
  });
  ForgetCaller(ctx.caller_id());
  RETURN_IF_ERROR(status);
  return revoked;
}

absl::StatusOr<ServiceToken> Sessions::IssueServiceToken(absl::string_view client_id,
                                                         absl::string_view client_secret,
                                                         const std::vector<std::string>& scopes,
                                                         const RequestContext& ctx) {
  std::vector<common::FieldViolation> violations = common::FieldViolationsOf(
      CheckAccountId(client_id, "client_id"));
  if (client_secret.empty()) {
    violations.push_back({"client_secret", "is required"});
  } else if (client_secret.size() > kMaxBearerSecretBytes) {
    violations.push_back({"client_secret", "must be at most 256 bytes"});
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  RETURN_IF_ERROR(CheckScopes(scopes, "scopes"));

  const absl::Time now = clock_->Now();
  std::optional<Account> account;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(account, tx.FindAccount(client_id, false));
    return absl::OkStatus();
  }));
  const bool secret_ok = account && account->role == Role::kService &&
                         ConstantTimeEquals(common::Sha256(client_secret), account->client_secret_hash);
  if (!secret_ok) {
    if (account) {
      RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) {
        return tx.AppendAudit(MakeAuditEvent(audit::kServiceTokenRefused, ctx, account->id,
                                             {{"reason", "wrong secret"}}, now));
      }));
    }
    return InvalidClient();
  }
  if (account->status == AccountStatus::kSuspended) return AccountSuspendedError();
  std::vector<std::string> granted = scopes.empty() ? account->scopes : scopes;
  for (size_t i = 0; i < scopes.size(); ++i) {
    if (std::find(account->scopes.begin(), account->scopes.end(), scopes[i]) ==
        account->scopes.end()) {
      return common::InvalidField(absl::StrCat("scopes[", i, "]"), "is not granted to this client");
    }
  }
  // Decided again under the account's row lock, where the token's iat is read: a suspension
  // that committed since the read above wins, and one that commits later is later than the
  // token (IssueForSession).
  absl::Time issued_at;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    // (A SERVICE account's role, secret and scopes never change.)
    ASSIGN_OR_RETURN(std::optional<Account> current, tx.FindAccount(account->id, true));
    if (!current) return InvalidClient();
    if (current->status == AccountStatus::kSuspended) return AccountSuspendedError();
    issued_at = clock_->Now();
    *account = *std::move(current);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(IssuedAccessToken access,
                   issuer_->IssueForService(*account, granted, issued_at));
  return ServiceToken{std::move(access), std::move(granted)};
}

absl::StatusOr<Introspection> Sessions::Introspect(absl::string_view token,
                                                   const RequestContext& ctx) {
  RETURN_IF_ERROR(
      Authorize(Method::kIntrospectToken, ctx.caller ? &*ctx.caller : nullptr, nullptr));
  if (token.empty()) return common::InvalidField("token", "is required");
  if (token.size() > common::auth::kMaxJwtBytes) {
    return common::InvalidField("token", "must be at most 8 KiB");
  }
  Introspection out;
  absl::StatusOr<common::auth::Caller> verified = verifier_->Verify(token);
  if (!verified.ok()) {
    if (!absl::IsUnauthenticated(verified.status())) return verified.status();
    // Expired only when the verifier says so, which it does only for a token whose signature
    // verified: the claims of a token we did not sign are not ours to report on.
    out.inactive_reason = common::auth::IsTokenExpired(verified.status())
                              ? InactiveReason::kExpired
                              : InactiveReason::kInvalid;
    return out;
  }
  // The signature is good; the claims verify() does not return are read from the token.
  ASSIGN_OR_RETURN(common::auth::ParsedJwt parsed, common::auth::ParseJwt(token));
  const std::string session_id = SessionIdOfTokenId(verified->token_id);
  CallerState state;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(state, tx.LoadCallerState(verified->subject, session_id));
    return absl::OkStatus();
  }));
  if (!state.account_exists) {
    out.inactive_reason = InactiveReason::kUnknownAccount;
  } else if (state.status == AccountStatus::kSuspended) {
    out.inactive_reason = InactiveReason::kSuspended;
  } else if (!session_id.empty() && (!state.session_exists || state.session_revoked)) {
    out.inactive_reason = InactiveReason::kSessionRevoked;
  } else if (ServiceTokenRevoked(session_id, verified->issued_at, state)) {
    out.inactive_reason = InactiveReason::kTokenRevoked;
  } else {
    out.active = true;
    out.subject = verified->subject;
    out.roles = verified->roles;
    out.scopes = verified->scopes;
    out.audiences = parsed.claims.audiences;
    out.token_id = verified->token_id;
    out.session_id = session_id;
    out.issued_at = parsed.claims.issued_at;
    out.expires_at = parsed.claims.expires_at;
  }
  return out;
}

absl::Status Sessions::CallerStatus(const Principal& caller, const CallerState& state) {
  if (!state.account_exists) {
    return common::WithReason(absl::UnauthenticatedError("the token's account no longer exists"),
                              "ACCOUNT_NOT_FOUND");
  }
  if (state.status == AccountStatus::kSuspended) return AccountSuspendedError();
  if (!caller.session_id.empty() && (!state.session_exists || state.session_revoked)) {
    return SessionRevokedError();
  }
  if (ServiceTokenRevoked(caller.session_id, caller.issued_at, state)) {
    return common::WithReason(
        absl::UnauthenticatedError(
            "this service token was issued before the account's last suspension; get a new one"),
        "TOKEN_REVOKED");  // the reason every other service gives such a token
  }
  return absl::OkStatus();
}

absl::Status Sessions::CheckCallerActive(const Principal& caller) {
  if (RecentlyActive(caller)) return absl::OkStatus();
  const uint64_t generation = CacheGeneration();
  CallerState state;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(state, tx.LoadCallerState(caller.account_id, caller.session_id));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(CallerStatus(caller, state));
  RememberActive(caller, generation);
  return absl::OkStatus();
}

absl::StatusOr<Account> Sessions::LoadActiveCaller(const Principal& caller) {
  if (std::optional<Account> recent = RecentAccount(caller)) return *std::move(recent);
  const uint64_t generation = CacheGeneration();
  CallerAccount loaded;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(loaded, tx.LoadCallerAccount(caller.account_id, caller.session_id));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(CallerStatus(caller, loaded.state));
  if (!loaded.account) return absl::InternalError("caller account missing from its own read");
  RememberActive(caller, generation, &*loaded.account);
  return *std::move(loaded.account);
}

bool Sessions::RecentlyActive(const Principal& caller) const {
  if (options_.caller_check_ttl <= absl::ZeroDuration()) return false;
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&cache_mu_);
  auto account = active_callers_.find(caller.account_id);
  if (account == active_callers_.end()) return false;
  auto session = account->second.find(CallerCacheKey(caller));
  return session != account->second.end() && now - session->second < options_.caller_check_ttl &&
         now >= session->second;
}

std::optional<Account> Sessions::RecentAccount(const Principal& caller) const {
  if (!RecentlyActive(caller)) return std::nullopt;
  absl::MutexLock lock(&cache_mu_);
  auto it = recent_accounts_.find(caller.account_id);
  if (it == recent_accounts_.end()) return std::nullopt;
  const absl::Time now = clock_->Now();
  if (now - it->second.read_at >= options_.caller_check_ttl || now < it->second.read_at) {
    return std::nullopt;
  }
  return it->second.account;
}

uint64_t Sessions::CacheGeneration() const {
  absl::MutexLock lock(&cache_mu_);
  return generation_;
}

void Sessions::RememberActive(const Principal& caller, uint64_t generation,
                              const Account* account) {
  if (options_.caller_check_ttl <= absl::ZeroDuration() || options_.caller_check_capacity == 0) {
    return;
  }
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&cache_mu_);
  // A revocation on this replica may have raced with the read: its answer may be stale.
  if (generation != generation_) return;
  if (active_entries_ >= options_.caller_check_capacity) {
    active_callers_.clear();
    recent_accounts_.clear();
    active_entries_ = 0;
  }
  if (account != nullptr) {
    recent_accounts_.insert_or_assign(caller.account_id, RecentAccountCopy{*account, now});
  }
  auto [it, inserted] =
      active_callers_[caller.account_id].insert_or_assign(CallerCacheKey(caller), now);
  (void)it;
  if (inserted) ++active_entries_;
}

void Sessions::ForgetCaller(absl::string_view account_id) {
  absl::MutexLock lock(&cache_mu_);
  ++generation_;
  recent_accounts_.erase(account_id);
  auto account = active_callers_.find(account_id);
  if (account == active_callers_.end()) return;
  active_entries_ -= account->second.size();
  active_callers_.erase(account);
}

}  // namespace marketplace::identity
