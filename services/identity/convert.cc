#include "services/identity/convert.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/proto_time.h"
#include "common/errors.h"
#include "services/identity/field_rules.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {
namespace {

constexpr absl::string_view kAccountsPrefix = "accounts/";
constexpr absl::string_view kSellerProfileSuffix = "/sellerProfile";
constexpr absl::string_view kMe = "me";

// `segment` is what stands for the account in the name; "me" is the caller.
absl::StatusOr<std::string> ResolveAccount(absl::string_view segment, absl::string_view field,
                                           absl::string_view rule, const RequestContext& ctx) {
  if (segment == kMe) {
    if (!ctx.caller) return common::InvalidField(field, "\"me\" needs an authenticated caller");
    return ctx.caller->account_id;
  }
  if (segment.empty() || segment.find('/') != absl::string_view::npos) {
    return common::InvalidField(field, rule);
  }
  // Ids are compared exactly: another spelling (upper case, spaces) names nothing.
  if (!CheckAccountId(segment, field).ok()) {
    return common::InvalidField(field, absl::StrCat(rule, "; account_id ", kAccountIdRule));
  }
  return std::string(segment);
}

}  // namespace

Principal PrincipalFromCaller(const common::auth::Caller& caller) {
  Principal principal;
  principal.account_id = caller.subject;
  if (caller.roles.size() == 1) principal.role = RoleFromName(caller.roles.front());
  principal.scopes = caller.scopes;
  principal.token_id = caller.token_id;
  principal.session_id = SessionIdOfTokenId(caller.token_id);
  principal.issued_at = caller.issued_at;
  return principal;
}

RequestContext MakeRequestContext(const common::CallContext& call) {
  RequestContext ctx;
  if (call.caller) ctx.caller = PrincipalFromCaller(*call.caller);
  ctx.request_id = call.request_id;
  return ctx;
}

absl::StatusOr<std::string> AccountIdFromName(absl::string_view name, absl::string_view field,
                                              const RequestContext& ctx) {
  constexpr absl::string_view kRule =
      "must be \"accounts/{account_id}\" or \"accounts/me\"";
  if (name.empty()) return common::InvalidField(field, "is required");
  if (!absl::ConsumePrefix(&name, kAccountsPrefix)) return common::InvalidField(field, kRule);
  return ResolveAccount(name, field, kRule, ctx);
}

absl::StatusOr<std::string> AccountIdFromSellerProfileName(absl::string_view name,
                                                           absl::string_view field,
                                                           const RequestContext& ctx) {
  constexpr absl::string_view kRule =
      "must be \"accounts/{account_id}/sellerProfile\" or \"accounts/me/sellerProfile\"";
  if (name.empty()) return common::InvalidField(field, "is required");
  if (!absl::ConsumePrefix(&name, kAccountsPrefix) ||
      !absl::ConsumeSuffix(&name, kSellerProfileSuffix)) {
    return common::InvalidField(field, kRule);
  }
  return ResolveAccount(name, field, kRule, ctx);
}

std::string AccountName(absl::string_view account_id) {
  return absl::StrCat(kAccountsPrefix, account_id);
}

std::optional<Role> RoleFromProto(v1::Role role) {
  switch (role) {
    case v1::BUYER:
      return Role::kBuyer;
    case v1::SELLER:
      return Role::kSeller;
    case v1::SUPPORT_AGENT:
      return Role::kSupportAgent;
    case v1::MODERATOR:
      return Role::kModerator;
    case v1::ADMIN:
      return Role::kAdmin;
    case v1::SERVICE:
      return Role::kService;
    default:
      return std::nullopt;
  }
}

v1::Role RoleToProto(Role role) {
  switch (role) {
    case Role::kBuyer:
      return v1::BUYER;
    case Role::kSeller:
      return v1::SELLER;
    case Role::kSupportAgent:
      return v1::SUPPORT_AGENT;
    case Role::kModerator:
      return v1::MODERATOR;
    case Role::kAdmin:
      return v1::ADMIN;
    case Role::kService:
      return v1::SERVICE;
  }
  return v1::ROLE_UNSPECIFIED;
}

std::optional<AccountStatus> AccountStatusFromProto(v1::AccountStatus status) {
  switch (status) {
    case v1::ACTIVE:
      return AccountStatus::kActive;
    case v1::SUSPENDED:
      return AccountStatus::kSuspended;
    default:
      return std::nullopt;
  }
}

v1::AccountStatus AccountStatusToProto(AccountStatus status) {
  switch (status) {
    case AccountStatus::kActive:
      return v1::ACTIVE;
    case AccountStatus::kSuspended:
      return v1::SUSPENDED;
  }
  return v1::ACCOUNT_STATUS_UNSPECIFIED;
}

std::optional<ReviewOutcome> ReviewOutcomeFromProto(v1::ReviewDecision decision) {
  switch (decision) {
    case v1::APPROVE:
      return ReviewOutcome::kApprove;
    case v1::REJECT:
      return ReviewOutcome::kReject;
    default:
      return std::nullopt;
  }
}

void AccountToProto(const Account& account, v1::Account* out) {
  out->set_name(AccountName(account.id));
  out->set_account_id(account.id);
  out->set_email(account.email);
  out->set_display_name(account.display_name);
  out->set_role(RoleToProto(account.role));
  out->set_status(AccountStatusToProto(account.status));
  for (const std::string& scope : account.scopes) out->add_scopes(scope);
  if (account.suspension) {
    v1::Suspension* s = out->mutable_suspension();
    s->set_reason_code(account.suspension->reason_code);
    s->set_reason(account.suspension->reason);
    if (!account.suspension->suspended_by.empty()) {
      s->set_suspended_by(AccountName(account.suspension->suspended_by));
    }
    *s->mutable_suspend_time() = common::ToTimestamp(account.suspension->suspended_at);
  }
  *out->mutable_create_time() = common::ToTimestamp(account.created_at);
  *out->mutable_update_time() = common::ToTimestamp(account.updated_at);
}

void ThrottleToProto(const ThrottleView& throttle, v1::LoginThrottle* out) {
  out->set_consecutive_failures(throttle.consecutive_failures);
  out->set_failures_last_hour(throttle.failures_last_hour);
  if (throttle.next_attempt)
    *out->mutable_next_attempt_time() = common::ToTimestamp(*throttle.next_attempt);
  out->set_locked_out(throttle.locked_out);
}

void AccountViewToProto(const AccountView& view, v1::Account* out) {
  AccountToProto(view.account, out);
  if (view.throttle) ThrottleToProto(*view.throttle, out->mutable_login_throttle());
}

void SessionTokensToProto(const SessionTokens& tokens, v1::SessionTokens* out) {
  out->set_access_token(tokens.access.token);
  *out->mutable_access_token_expire_time() = common::ToTimestamp(tokens.access.expires_at);
  out->set_refresh_token(tokens.refresh_token);
  *out->mutable_refresh_token_expire_time() = common::ToTimestamp(tokens.refresh_expires_at);
  out->set_token_type("Bearer");
  out->set_session_id(tokens.session_id);
}

void SigningKeyToProto(const StoredSigningKey& key, v1::SigningKey* out) {
  out->set_kid(key.kid);
  out->set_alg(key.alg);
  out->set_public_key(key.public_key);
  switch (key.state) {
    case SigningKeyState::kActive:
      out->set_state(v1::SIGNING_KEY_ACTIVE);
      break;
    case SigningKeyState::kNext:
      out->set_state(v1::SIGNING_KEY_NEXT);
      break;
    case SigningKeyState::kRetired:
      out->set_state(v1::SIGNING_KEY_RETIRED);
      break;
  }
  *out->mutable_create_time() = common::ToTimestamp(key.created_at);
  if (key.retired_at) *out->mutable_retire_time() = common::ToTimestamp(*key.retired_at);
  if (key.expires_at) *out->mutable_expire_time() = common::ToTimestamp(*key.expires_at);
}

namespace {

v1::SellerStatus SellerStatusToProto(SellerStatus status) {
  switch (status) {
    case SellerStatus::kNotSubmitted:
      return v1::NOT_SUBMITTED;
    case SellerStatus::kPending:
      return v1::PENDING;
    case SellerStatus::kApproved:
      return v1::APPROVED;
    case SellerStatus::kRejected:
      return v1::REJECTED;
  }
  return v1::SELLER_STATUS_UNSPECIFIED;
}

v1::SellerDecisionKind DecisionKindToProto(SellerDecisionKind kind) {
  switch (kind) {
    case SellerDecisionKind::kApplicationApproved:
      return v1::APPLICATION_APPROVED;
    case SellerDecisionKind::kApplicationRejected:
      return v1::APPLICATION_REJECTED;
    case SellerDecisionKind::kAccountSuspended:
      return v1::ACCOUNT_SUSPENDED;
    case SellerDecisionKind::kAccountReinstated:
      return v1::ACCOUNT_REINSTATED;
  }
  return v1::SELLER_DECISION_KIND_UNSPECIFIED;
}

}  // namespace

void SellerProfileToProto(const SellerProfileView& view, v1::SellerProfile* out) {
  const SellerProfile& profile = view.profile;
  out->set_name(absl::StrCat(AccountName(profile.account_id), kSellerProfileSuffix));
  out->set_account_id(profile.account_id);
  out->set_status(view.suspended ? v1::SELLER_SUSPENDED : SellerStatusToProto(profile.status));
  if (profile.application) {
    v1::SellerApplication* a = out->mutable_application();
    a->set_legal_name(profile.application->legal_name);
    a->set_registration_number(profile.application->registration_number);
    a->set_country_code(profile.application->country_code);
    a->set_payout_account_ref(profile.application->payout_account_ref);
    a->set_contact_email(profile.application->contact_email);
    a->set_contact_phone(profile.application->contact_phone);
  }
  if (profile.submitted_at) *out->mutable_submit_time() = common::ToTimestamp(*profile.submitted_at);
  for (const SellerDecision& d : profile.decisions) {
    v1::SellerDecision* pd = out->add_decisions();
    pd->set_kind(DecisionKindToProto(d.kind));
    pd->set_reason_code(d.reason_code);
    pd->set_reason(d.reason);
    if (!d.decided_by.empty()) pd->set_decided_by(AccountName(d.decided_by));
    *pd->mutable_decide_time() = common::ToTimestamp(d.decided_at);
  }
}

SellerApplication SellerApplicationFromProto(const v1::SellerApplication& application) {
  SellerApplication out;
  out.legal_name = application.legal_name();
  out.registration_number = application.registration_number();
  out.country_code = application.country_code();
  out.payout_account_ref = application.payout_account_ref();
  out.contact_email = application.contact_email();
  out.contact_phone = application.contact_phone();
  return out;
}

void IntrospectionToProto(const Introspection& in, v1::IntrospectTokenResponse* out) {
  out->set_active(in.active);
  if (!in.active) {
    switch (in.inactive_reason) {
      case InactiveReason::kNone:
      case InactiveReason::kInvalid:
        out->set_inactive_reason(v1::TOKEN_INVALID);
        break;
      case InactiveReason::kExpired:
        out->set_inactive_reason(v1::TOKEN_EXPIRED);
        break;
      case InactiveReason::kSessionRevoked:
        out->set_inactive_reason(v1::SESSION_REVOKED);
        break;
      case InactiveReason::kSuspended:
        out->set_inactive_reason(v1::ACCOUNT_IS_SUSPENDED);
        break;
      case InactiveReason::kUnknownAccount:
        out->set_inactive_reason(v1::ACCOUNT_UNKNOWN);
        break;
      case InactiveReason::kTokenRevoked:
        out->set_inactive_reason(v1::TOKEN_REVOKED);
        break;
    }
    return;
  }
  out->set_subject(in.subject);
  for (const auto& r : in.roles) out->add_roles(r);
  for (const auto& s : in.scopes) out->add_scopes(s);
  for (const auto& a : in.audiences) out->add_audiences(a);
  out->set_token_id(in.token_id);
  out->set_session_id(in.session_id);
  *out->mutable_issue_time() = common::ToTimestamp(in.issued_at);
  *out->mutable_expire_time() = common::ToTimestamp(in.expires_at);
}

}  // namespace marketplace::identity
