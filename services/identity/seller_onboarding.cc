#include "services/identity/seller_onboarding.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/audit.h"
#include "services/identity/field_rules.h"
#include "services/identity/idempotency.h"

namespace marketplace::identity {
namespace {

absl::Status ProfileNotFound(absl::string_view account_id) {
  return common::WithReason(
      absl::NotFoundError(absl::StrCat("no seller profile for account ", account_id)),
      "SELLER_PROFILE_NOT_FOUND");
}

nlohmann::json ApplicationSummary(const SellerApplication& a) {
  // Enough to know what was decided on; the contact details stay out of the audit log.
  return {{"country_code", a.country_code}, {"registration_number", a.registration_number}};
}

}  // namespace

SellerOnboarding::SellerOnboarding(IdentityStore* store, const common::Clock* clock)
    : store_(store), clock_(clock) {}

absl::Status SellerOnboarding::AuthorizeOn(Method method, absl::string_view account_id,
                                           const RequestContext& ctx) {
  const Principal* caller = ctx.caller ? &*ctx.caller : nullptr;
  if (caller == nullptr) return Authorize(method, nullptr, nullptr);
  if (account_id != caller->account_id && !MayActOnOthers(method, *caller)) {
    Target other{std::string(account_id), std::nullopt};
    return Authorize(method, caller, &other);
  }
  std::optional<Account> account;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(account, tx.FindAccount(account_id, false));
    return absl::OkStatus();
  }));
  if (!account || account->role != Role::kSeller) {
    // A non-seller asking for its own profile is refused like any other non-seller.
    if (account_id == caller->account_id) {
      Target self{caller->account_id, caller->role};
      RETURN_IF_ERROR(Authorize(method, caller, &self));
    }
    return ProfileNotFound(account_id);
  }
  Target target{account->id, account->role};
  return Authorize(method, caller, &target);
}

absl::StatusOr<SellerProfileView> SellerOnboarding::Submit(absl::string_view account_id,
                                                           const SellerApplication& application,
                                                           absl::string_view request_id,
                                                           const RequestContext& ctx) {
  RETURN_IF_ERROR(AuthorizeOn(Method::kSubmitSellerApplication, account_id, ctx));
  std::vector<common::FieldViolation> violations =
      common::FieldViolationsOf(CheckSellerApplication(application, "application"));
  for (auto& v : common::FieldViolationsOf(CheckRequestId(request_id, "request_id"))) {
    violations.push_back(std::move(v));
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  const absl::Time now = clock_->Now();
  SellerProfileView view;
  RETURN_IF_ERROR(TransactIdempotent(*store_, [&](IdentityTransaction& tx) -> absl::Status {
    view = SellerProfileView{};
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(account_id, true));
    if (!account) return ProfileNotFound(account_id);
    const std::string fingerprint = RequestFingerprint(
        {application.legal_name, application.registration_number, application.country_code,
         application.payout_account_ref, application.contact_email, application.contact_phone});
    ASSIGN_OR_RETURN(std::optional<std::string> replay,
                     ClaimRequestId(tx, absl::StrCat("SubmitSellerApplication:", account_id),
                                    request_id, fingerprint, account->id, now));
    ASSIGN_OR_RETURN(view.profile, tx.LoadSellerProfile(account->id, true));
    view.suspended = account->status == AccountStatus::kSuspended;
    if (replay) return absl::OkStatus();
    if (view.suspended) {
      return common::FailedPrecondition("ACCOUNT_SUSPENDED",
                                        "a suspended seller cannot submit an application");
    }
    if (view.profile.status == SellerStatus::kPending) {
      return common::FailedPrecondition("APPLICATION_PENDING",
                                        "an application is already waiting for review");
    }
    if (view.profile.status == SellerStatus::kApproved) {
      return common::FailedPrecondition("SELLER_ALREADY_APPROVED",
                                        "the seller is already approved");
    }
    view.profile.status = SellerStatus::kPending;
    view.profile.application = application;
    view.profile.submitted_at = now;
    RETURN_IF_ERROR(tx.SaveSellerApplication(view.profile));
    return tx.AppendAudit(MakeAuditEvent(audit::kSellerApplicationSubmitted, ctx, account->id,
                                         ApplicationSummary(application), now));
  }));
  return view;
}

absl::StatusOr<SellerProfileView> SellerOnboarding::Review(absl::string_view account_id,
                                                           std::optional<ReviewOutcome> decision,
                                                           absl::string_view reason_code,
                                                           absl::string_view reason,
                                                           const RequestContext& ctx) {
  RETURN_IF_ERROR(AuthorizeOn(Method::kReviewSellerApplication, account_id, ctx));
  const bool reject = decision == ReviewOutcome::kReject;
  std::vector<common::FieldViolation> violations;
  if (!decision) violations.push_back({"decision", "must be APPROVE or REJECT"});
  for (auto& v : common::FieldViolationsOf(CheckReasonCode(reason_code, "reason_code", reject))) {
    violations.push_back(std::move(v));
  }
  for (auto& v : common::FieldViolationsOf(CheckReasonText(reason, "reason", reject))) {
    violations.push_back(std::move(v));
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  const absl::Time now = clock_->Now();
  SellerProfileView view;
  RETURN_IF_ERROR(store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(account_id, true));
    if (!account || account->role != Role::kSeller) return ProfileNotFound(account_id);
    ASSIGN_OR_RETURN(view.profile, tx.LoadSellerProfile(account->id, true));
    view.suspended = account->status == AccountStatus::kSuspended;
    if (view.profile.status != SellerStatus::kPending) {
      return common::FailedPrecondition(
          "APPLICATION_NOT_PENDING",
          absl::StrCat("no application is waiting for review (status ",
                       SellerStatusName(view.profile.status), ")"));
    }
    if (view.suspended && !reject) {
      // Decided with the suspension in view: an approval would take effect on reinstatement
      // without anyone having looked at why the account was suspended. Rejecting stays open.
      return common::FailedPrecondition("ACCOUNT_SUSPENDED",
                                        "a suspended seller's application cannot be approved");
    }
    view.profile.status = reject ? SellerStatus::kRejected : SellerStatus::kApproved;
    RETURN_IF_ERROR(tx.SaveSellerApplication(view.profile));
    SellerDecision d;
    d.kind = reject ? SellerDecisionKind::kApplicationRejected
                    : SellerDecisionKind::kApplicationApproved;
    d.reason_code = std::string(reason_code);
    d.reason = std::string(reason);
    d.decided_by = ctx.caller_id();
    d.decided_at = now;
    RETURN_IF_ERROR(tx.AppendSellerDecision(account->id, d));
    view.profile.decisions.push_back(d);
    return tx.AppendAudit(MakeAuditEvent(
        reject ? audit::kSellerApplicationRejected : audit::kSellerApplicationApproved, ctx,
        account->id, {{"reason_code", reason_code}}, now));
  }));
  return view;
}

absl::StatusOr<SellerProfileView> SellerOnboarding::Get(absl::string_view account_id,
                                                        const RequestContext& ctx) {
  RETURN_IF_ERROR(AuthorizeOn(Method::kGetSellerProfile, account_id, ctx));
  SellerProfileView view;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Account> account, tx.FindAccount(account_id, false));
    if (!account || account->role != Role::kSeller) return ProfileNotFound(account_id);
    view.suspended = account->status == AccountStatus::kSuspended;
    ASSIGN_OR_RETURN(view.profile, tx.LoadSellerProfile(account->id, false));
    return absl::OkStatus();
  }));
  return view;
}

}  // namespace marketplace::identity
