#include "services/identity/accounts.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "services/identity/audit.h"
#include "services/identity/email.h"
#include "services/identity/field_rules.h"
#include "services/identity/idempotency.h"
#include "services/identity/identity_events.h"
#include "services/identity/password_check.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {
namespace {

const Principal* CallerOf(const RequestContext& ctx) { return ctx.caller ? &*ctx.caller : nullptr; }

// Adds the field violations of `status` (an INVALID_ARGUMENT) to `out`.
void Collect(const absl::Status& status, std::vector<common::FieldViolation>* out) {
  for (auto& v : common::FieldViolationsOf(status)) out->push_back(std::move(v));
}

// The filters a page token is bound to, as text (common::EncodePageToken keeps a digest).
std::string FilterText(const AccountFilter& filter) {
  return absl::StrCat("role=", filter.role ? RoleName(*filter.role) : "",
                      "|status=", filter.status ? AccountStatusName(*filter.status) : "");
}

}  // namespace

std::string EncodePageToken(const AccountCursor& cursor, const AccountFilter& filter) {
  return common::EncodePageToken(common::EncodeTimeIdCursor({cursor.created_at, cursor.id}),
                                 FilterText(filter));
}

absl::StatusOr<AccountCursor> DecodePageToken(absl::string_view token,
                                              const AccountFilter& filter) {
  ASSIGN_OR_RETURN(std::string raw,
                   common::DecodePageToken(token, FilterText(filter), "role, status"));
  ASSIGN_OR_RETURN(common::TimeIdCursor cursor, common::DecodeTimeIdCursor(raw));
  if (cursor.id.size() > 64) {
    return common::InvalidField("page_token", "must be a next_page_token from a previous response");
  }
  return AccountCursor{cursor.time, std::move(cursor.id)};
}

Accounts::Accounts(IdentityStore* store, const PasswordPolicy* policy, const PasswordHasher* hasher,
                   PasswordCheck* passwords, const common::Clock* clock,
                   std::string fingerprint_key)
    : store_(store),
      policy_(policy),
      hasher_(hasher),
      passwords_(passwords),
      clock_(clock),
      fingerprint_key_(std::move(fingerprint_key)) {}

absl::StatusOr<Account> Accounts::SignUp(const NewAccount& request, const RequestContext& ctx) {
  RETURN_IF_ERROR(Authorize(Method::kSignUp, CallerOf(ctx), nullptr));
  return Create(request, {Role::kBuyer, Role::kSeller}, "must be BUYER or SELLER", "SignUp",
                /*scope_per_email=*/true, audit::kSignUp, ctx);
}

absl::StatusOr<Account> Accounts::CreateStaffAccount(const NewAccount& request,
                                                     const RequestContext& ctx) {
  RETURN_IF_ERROR(Authorize(Method::kCreateStaffAccount, CallerOf(ctx), nullptr));
  return Create(request, {Role::kSupportAgent, Role::kModerator, Role::kAdmin},
                "must be SUPPORT_AGENT, MODERATOR or ADMIN",
                absl::StrCat("CreateStaffAccount:", ctx.caller_id()), /*scope_per_email=*/false,
                audit::kAccountCreated, ctx);
}

absl::StatusOr<Account> Accounts::Create(const NewAccount& request, RoleSet allowed_roles,
                                         absl::string_view role_rule, absl::string_view scope,
                                         bool scope_per_email, absl::string_view audit_type,
                                         const RequestContext& ctx) {
  // Every rule at once, so a form can show all its problems in one round trip.
  std::vector<common::FieldViolation> violations;
  absl::StatusOr<NormalizedEmail> email = NormalizeEmail(request.email, "email");
  Collect(email.status(), &violations);
  Collect(policy_->Check(request.password, email.ok() ? email->key : "", "password"), &violations);
  Collect(CheckDisplayName(request.display_name, "display_name"), &violations);
  if (!request.role || !allowed_roles.Contains(*request.role)) {
    violations.push_back({"role", std::string(role_rule)});
  }
  Collect(CheckRequestId(request.request_id, "request_id"), &violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  ASSIGN_OR_RETURN(std::string password_hash, hasher_->Hash(request.password));
  const absl::Time now = clock_->Now();
  Account account;
  account.id = NewOpaqueId();
  account.email = email->address;
  account.email_key = email->key;
  account.display_name = request.display_name;
  account.role = *request.role;
  account.status = AccountStatus::kActive;
  account.password_hash = std::move(password_hash);
  account.created_at = now;
  account.updated_at = now;

  // The same request is the same email, display name, role and password (the password as a
  // keyed digest: never stored plain, nor as a hash anyone with the table could test).
  // Anonymous callers share no namespace: SignUp's is the email's.
  const std::string request_scope =
      scope_per_email ? absl::StrCat(scope, ":", common::Sha256Hex(email->key)) : std::string(scope);
  const std::string fingerprint =
      RequestFingerprint({email->key, request.display_name, RoleName(*request.role),
                          KeyedDigest(fingerprint_key_, request.password)});
  Account result;
  absl::Status created = TransactIdempotent(*store_, [&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> replay,
                     ClaimRequestId(tx, request_scope, request.request_id, fingerprint,
                                    account.id, now));
    if (replay) {
      ASSIGN_OR_RETURN(std::optional<Account> first, tx.FindAccount(*replay, false));
      if (!first) return common::NotFound("account", *replay);
      result = *std::move(first);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(tx.InsertAccount(account));
    RETURN_IF_ERROR(tx.AppendAudit(
        MakeAuditEvent(audit_type, ctx, account.id, {{"role", RoleName(account.role)}}, now)));
    result = account;
    return absl::OkStatus();
  });
  if (scope_per_email && common::ReasonOf(created) == "REQUEST_ID_REUSED") {
    // The id was used for this email by another request, which registered it: answer what a
    // fresh sign-up with this email answers, and nothing more.
    return common::WithReason(
        absl::AlreadyExistsError("an account with this email already exists"), "EMAIL_TAKEN");
  }
  RETURN_IF_ERROR(created);
  return result;
}

absl::StatusOr<CreatedServiceAccount> Accounts::CreateServiceAccount(
    absl::string_view display_name, const std::vector<std::string>& scopes,
    absl::string_view request_id, const RequestContext& ctx) {
  RETURN_IF_ERROR(Authorize(Method::kCreateServiceAccount, CallerOf(ctx), nullptr));
  std::vector<common::FieldViolation> violations;
  Collect(CheckDisplayName(display_name, "display_name"), &violations);
  Collect(CheckScopes(scopes, "scopes"), &violations);
  Collect(CheckRequestId(request_id, "request_id"), &violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  const absl::Time now = clock_->Now();
  CreatedServiceAccount created;
  created.client_secret = NewClientSecret();
  Account& account = created.account;
  account.id = NewOpaqueId();
  account.display_name = std::string(display_name);
  account.role = Role::kService;
  account.status = AccountStatus::kActive;
  account.client_secret_hash = common::Sha256(created.client_secret);
  account.scopes = scopes;
  std::sort(account.scopes.begin(), account.scopes.end());
  account.created_at = now;
  account.updated_at = now;

  std::optional<Account> replayed;
  RETURN_IF_ERROR(TransactIdempotent(*store_, [&](IdentityTransaction& tx) -> absl::Status {
    replayed.reset();
    std::string joined_scopes;
    for (const auto& s : account.scopes) absl::StrAppend(&joined_scopes, s, " ");
    ASSIGN_OR_RETURN(
        std::optional<std::string> replay,
        ClaimRequestId(tx, absl::StrCat("CreateServiceAccount:", ctx.caller_id()), request_id,
                       RequestFingerprint({display_name, joined_scopes}), account.id, now));
    if (replay) {
      ASSIGN_OR_RETURN(replayed, tx.FindAccount(*replay, false));
      if (!replayed) return common::NotFound("account", *replay);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(tx.InsertAccount(account));
    return tx.AppendAudit(MakeAuditEvent(audit::kAccountCreated, ctx, account.id,
                                         {{"role", "SERVICE"}, {"scopes", account.scopes}}, now));
  }));
  if (replayed) return CreatedServiceAccount{*std::move(replayed), ""};
  return created;
}

absl::StatusOr<Account> Accounts::LoadAuthorized(Method method, absl::string_view account_id,
                                                 const RequestContext& ctx) {
  const Principal* caller = CallerOf(ctx);
  if (caller == nullptr) return Authorize(method, nullptr, nullptr);
  const bool self = account_id == caller->account_id;
  // Refused before the lookup, so that callers without the right learn nothing about ids.
  if (!self && !MayActOnOthers(method, *caller)) {
    Target other{std::string(account_id), std::nullopt};
    return Authorize(method, caller, &other);
  }
  std::optional<Account> account;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(account, tx.FindAccount(account_id, false));
    return absl::OkStatus();
  }));
  if (!account) return common::NotFound("account", account_id);
  Target target{account->id, account->role};
  if (absl::Status allowed = Authorize(method, caller, &target); !allowed.ok()) {
    // An account the caller may neither act on nor read answers like an unknown id, so that
    // its role (and existence) cannot be probed.
    if (method != Method::kGetAccount && !Authorize(Method::kGetAccount, caller, &target).ok()) {
      return common::NotFound("account", account_id);
    }
    return allowed;
  }
  return *std::move(account);
}

absl::StatusOr<AccountView> Accounts::Get(absl::string_view account_id, const RequestContext& ctx) {
  ASSIGN_OR_RETURN(Account account, LoadAuthorized(Method::kGetAccount, account_id, ctx));
  return GetLoaded(std::move(account), ctx);
}

absl::StatusOr<AccountView> Accounts::GetLoaded(Account account, const RequestContext& ctx) {
  const Target target{account.id, account.role};
  RETURN_IF_ERROR(Authorize(Method::kGetAccount, CallerOf(ctx), &target));
  AccountView view;
  if (ctx.caller && ctx.caller->role == Role::kAdmin && !account.email_key.empty()) {
    ASSIGN_OR_RETURN(view.throttle, passwords_->Inspect(account.email_key));
  }
  view.account = std::move(account);
  return view;
}

absl::StatusOr<AccountPage> Accounts::List(const AccountFilter& filter, int page_size,
                                           absl::string_view page_token,
                                           const RequestContext& ctx) {
  RETURN_IF_ERROR(Authorize(Method::kListAccounts, CallerOf(ctx), nullptr));
  if (page_size < 0) return common::InvalidField("page_size", "must not be negative");
  const int limit = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  std::optional<AccountCursor> after;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodePageToken(page_token, filter));
  }
  std::vector<Account> accounts;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    // One more than asked tells whether another page exists.
    ASSIGN_OR_RETURN(accounts, tx.ListAccounts(filter, after, limit + 1));
    return absl::OkStatus();
  }));
  AccountPage page;
  const bool more = static_cast<int>(accounts.size()) > limit;
  if (more) accounts.resize(limit);
  for (Account& account : accounts) {
    AccountView view;
    if (!account.email_key.empty()) {
      ASSIGN_OR_RETURN(view.throttle, passwords_->Inspect(account.email_key));
    }
    view.account = std::move(account);
    page.accounts.push_back(std::move(view));
  }
  if (more) {
    const Account& last = page.accounts.back().account;
    page.next_page_token = EncodePageToken({last.created_at, last.id}, filter);
  }
  return page;
}

absl::StatusOr<Account> Accounts::UpdateDisplayName(absl::string_view account_id,
                                                    absl::string_view display_name,
                                                    const RequestContext& ctx) {
  RETURN_IF_ERROR(LoadAuthorized(Method::kUpdateProfile, account_id, ctx).status());
  RETURN_IF_ERROR(CheckDisplayName(display_name, "account.display_name"));
  const absl::Time now = clock_->Now();
  Account result;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(account_id, true));
    if (!account) return common::NotFound("account", account_id);
    if (account->display_name != display_name) {
      account->display_name = std::string(display_name);
      account->updated_at = now;
      RETURN_IF_ERROR(tx.UpdateAccount(*account));
      RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(audit::kProfileUpdated, ctx, account->id,
                                                    {{"fields", {"display_name"}}}, now)));
    }
    result = *std::move(account);
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<int> Accounts::ChangePassword(absl::string_view account_id,
                                             absl::string_view current_password,
                                             absl::string_view new_password,
                                             const RequestContext& ctx) {
  ASSIGN_OR_RETURN(Account account, LoadAuthorized(Method::kChangePassword, account_id, ctx));
  std::vector<common::FieldViolation> violations;
  if (current_password.empty()) violations.push_back({"current_password", "is required"});
  Collect(policy_->Check(new_password, account.email_key, "new_password"), &violations);
  if (!current_password.empty() && current_password == new_password) {
    violations.push_back({"new_password", "must differ from the current password"});
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  // The check first (throttled and counted like a login), then the new hash (the slow part,
  // outside any transaction), then the write, decided again under the account's row lock: a
  // change, suspension or LogoutAll committed meanwhile, or the end of the caller's session,
  // wins and nothing is written.
  absl::StatusOr<Account> verified = passwords_->Verify(account.email_key, current_password, ctx);
  if (!verified.ok()) {
    if (common::ReasonOf(verified.status()) == "INVALID_CREDENTIALS") {
      return common::InvalidField("current_password", "does not match the account's password");
    }
    return verified.status();
  }
  ASSIGN_OR_RETURN(std::string new_hash, hasher_->Hash(new_password));
  int revoked = 0;
  std::string checked_hash = verified->password_hash;
  for (int attempt = 0;; ++attempt) {
    bool written = false;
    std::string stored_hash;
    RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      written = false;
      ASSIGN_OR_RETURN(std::optional<Account> current, tx.FindAccount(account.id, true));
      if (!current) return common::NotFound("account", account.id);
      if (current->status == AccountStatus::kSuspended) return AccountSuspendedError();
      if (current->sessions_not_before != verified->sessions_not_before) {
        return SessionRevokedError();  // a LogoutAll or a suspension since the check
      }
      if (!ctx.caller->session_id.empty()) {
        ASSIGN_OR_RETURN(std::optional<Session> session,
                         tx.FindSession(ctx.caller->session_id, true));
        if (!session || session->revoked_at) return SessionRevokedError();
      }
      if (current->password_hash != checked_hash) {
        stored_hash = current->password_hash;  // changed since the check: decided below
        return absl::OkStatus();
      }
      const absl::Time now = clock_->Now();
      current->password_hash = new_hash;
      current->updated_at = now;
      RETURN_IF_ERROR(tx.UpdateAccount(*current));
      ASSIGN_OR_RETURN(revoked, tx.RevokeSessionsOf(current->id, ctx.caller->session_id,
                                                    "PASSWORD_CHANGED", now));
      // Other services refuse the account's access tokens issued before this (the kept
      // session's included: its next refresh gives a token accepted everywhere).
      RETURN_IF_ERROR(EnqueueSessionsRevoked(tx, current->id, now, "PASSWORD_CHANGED"));
      RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(audit::kPasswordChanged, ctx, current->id,
                                                    {{"revoked_sessions", revoked}}, now)));
      written = true;
      return absl::OkStatus();
    }));
    if (written) break;
    // Another change won, or a login only re-hashed the same password with newer parameters:
    // the password given decides, against the hash stored now (once).
    absl::StatusOr<bool> still = hasher_->Verify(stored_hash, current_password);
    if (attempt > 0 || !still.ok() || !*still) {
      return common::InvalidField("current_password", "does not match the account's password");
    }
    checked_hash = std::move(stored_hash);
  }
  return revoked;
}

absl::StatusOr<Account> Accounts::Suspend(absl::string_view account_id,
                                          absl::string_view reason_code, absl::string_view reason,
                                          const RequestContext& ctx) {
  return SetSuspension(true, account_id, reason_code, reason, ctx);
}

absl::StatusOr<Account> Accounts::Reinstate(absl::string_view account_id,
                                            absl::string_view reason_code, absl::string_view reason,
                                            const RequestContext& ctx) {
  return SetSuspension(false, account_id, reason_code, reason, ctx);
}

absl::StatusOr<Account> Accounts::SetSuspension(bool suspend, absl::string_view account_id,
                                                absl::string_view reason_code,
                                                absl::string_view reason,
                                                const RequestContext& ctx) {
  const Method method = suspend ? Method::kSuspendAccount : Method::kReinstateAccount;
  RETURN_IF_ERROR(LoadAuthorized(method, account_id, ctx).status());
  std::vector<common::FieldViolation> violations;
  Collect(CheckReasonCode(reason_code, "reason_code", true), &violations);
  Collect(CheckReasonText(reason, "reason", true), &violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  if (suspend && account_id == ctx.caller_id()) {
    return common::FailedPrecondition("CANNOT_SUSPEND_SELF", "an account cannot suspend itself");
  }
  Account result;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(account_id, true));
    if (!account) return common::NotFound("account", account_id);
    // Read under the account's row lock: a token whose iat was read under it before (a login,
    // a refresh, a service token) is older than this suspension's not-before.
    const absl::Time now = clock_->Now();
    const bool suspended = account->status == AccountStatus::kSuspended;
    if (suspended == suspend) {  // already so: idempotent, nothing recorded twice
      result = *std::move(account);
      return absl::OkStatus();
    }
    account->updated_at = now;
    if (suspend) {
      account->status = AccountStatus::kSuspended;
      account->suspension =
          Suspension{std::string(reason_code), std::string(reason), ctx.caller_id(), now};
      RETURN_IF_ERROR(tx.RaiseSessionsNotBefore(account->id, now));  // logins in flight lose
      ASSIGN_OR_RETURN(int revoked, tx.RevokeSessionsOf(account->id, "", "ACCOUNT_SUSPENDED", now));
      (void)revoked;
      RETURN_IF_ERROR(EnqueueAccountSuspended(tx, account->id, now, reason_code));
    } else {
      account->status = AccountStatus::kActive;
      account->suspension.reset();
      RETURN_IF_ERROR(EnqueueAccountReinstated(tx, account->id, now, reason_code));
    }
    RETURN_IF_ERROR(tx.UpdateAccount(*account));
    if (account->role == Role::kSeller) {
      SellerDecision decision;
      decision.kind =
          suspend ? SellerDecisionKind::kAccountSuspended : SellerDecisionKind::kAccountReinstated;
      decision.reason_code = std::string(reason_code);
      decision.reason = std::string(reason);
      decision.decided_by = ctx.caller_id();
      decision.decided_at = now;
      RETURN_IF_ERROR(tx.AppendSellerDecision(account->id, decision));
    }
    RETURN_IF_ERROR(tx.AppendAudit(
        MakeAuditEvent(suspend ? audit::kAccountSuspended : audit::kAccountReinstated, ctx,
                       account->id, {{"reason_code", reason_code}, {"reason", reason}}, now)));
    result = *std::move(account);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status Accounts::EnsureBootstrapAdmin(absl::string_view email, absl::string_view password) {
  ASSIGN_OR_RETURN(NormalizedEmail normalized, NormalizeEmail(email, "bootstrap_admin_email"));
  std::optional<Account> existing;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(existing, tx.FindAccountByEmailKey(normalized.key));
    return absl::OkStatus();
  }));
  if (!existing) {
    RETURN_IF_ERROR(policy_->Check(password, normalized.key, "bootstrap_admin_password_file"));
    ASSIGN_OR_RETURN(std::string hash, hasher_->Hash(password));
    const absl::Time now = clock_->Now();
    Account admin;
    admin.id = NewOpaqueId();
    admin.email = normalized.address;
    admin.email_key = normalized.key;
    admin.display_name = "Administrator";
    admin.role = Role::kAdmin;
    admin.password_hash = std::move(hash);
    admin.created_at = now;
    admin.updated_at = now;
    absl::Status created = store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.InsertAccount(admin));
      return tx.AppendAudit(MakeAuditEvent(audit::kBootstrapAdminCreated, RequestContext{},
                                           admin.id, {{"role", "ADMIN"}}, now));
    });
    if (created.ok()) return absl::OkStatus();
    if (!absl::IsAlreadyExists(created)) return created;
    // Another replica created it at the same moment; check what is there now.
    RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(existing, tx.FindAccountByEmailKey(normalized.key));
      return absl::OkStatus();
    }));
    if (!existing) return created;
  }
  if (existing->role != Role::kAdmin) {
    return common::FailedPrecondition(
        "BOOTSTRAP_EMAIL_NOT_ADMIN",
        absl::StrCat("bootstrap_admin_email belongs to an existing ", RoleName(existing->role),
                     " account; choose another email"));
  }
  return absl::OkStatus();
}

}  // namespace marketplace::identity
