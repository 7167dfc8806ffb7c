#include "services/sellerkpi/grpc_step_executor.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/client/channel.h"
#include "common/status_macros.h"
#include "common/status_mapping.h"
#include "common/text.h"
#include "services/sellerkpi/enforcement_policy.h"

namespace marketplace::sellerkpi {
namespace {

namespace cpb = ::marketplace::catalog::v1;
namespace ipb = ::marketplace::identity::v1;
namespace ppb = ::marketplace::payments::v1;

constexpr size_t kMaxReason = 2000;      // identity's SuspendAccount.reason
constexpr size_t kMaxHoldReason = 500;   // payments' SetSellerHoldPolicy.reason

// At most `max` characters of `s` (the called fields' limits are in characters).
std::string Cut(const std::string& s, size_t max) {
  return std::string(common::PrefixCodePoints(s, max));
}

std::string HoldText(absl::Duration d) { return absl::StrCat(absl::ToInt64Seconds(d), "s"); }

absl::StatusOr<absl::Duration> ParseHold(absl::string_view text) {
  int64_t seconds = 0;
  if (!absl::ConsumeSuffix(&text, "s") || !absl::SimpleAtoi(text, &seconds) || seconds <= 0) {
    return absl::InternalError(absl::StrCat("not a recorded hold period: \"", text, "\""));
  }
  return absl::Seconds(seconds);
}

// The result of the action's step `step_no` - 1 (the read that precedes a set).
absl::StatusOr<std::string> PreviousResult(const ClaimedStep& step) {
  if (step.step_no < 1 || static_cast<size_t>(step.step_no) > step.earlier_results.size()) {
    return absl::InternalError(absl::StrCat(step.name, " without the read step before it"));
  }
  return step.earlier_results[step.step_no - 1];
}

}  // namespace

std::string NoticeText(const ClaimedStep& step) {
  switch (step.type) {
    case pb::RESTORATION:
      if (!absl::StartsWith(step.explanation, kAppealRestorationPrefix)) {
        return step.explanation;  // back to GOOD: the explanation is the notice
      }
      return absl::StrCat("Your appeal was granted: the measures taken against your account are "
                          "lifted (",
                          step.explanation, ").");
    case pb::TOP_SELLER_TERMS: {
      // The hold read first was kept when longer than the GOOD one (kSetHoldPolicy).
      if (step.keep_above.has_value() && !step.earlier_results.empty()) {
        absl::StatusOr<absl::Duration> in_force = ParseHold(step.earlier_results[0]);
        if (in_force.ok() && *in_force > *step.keep_above) {
          return absl::StrCat(step.explanation, " Your account keeps the longer hold set for it: ",
                              absl::ToInt64Hours(*in_force) / 24, " days.");
        }
      }
      return step.explanation;
    }
    default:
      return step.explanation;
  }
}

GrpcStepExecutor::GrpcStepExecutor(std::shared_ptr<grpc::Channel> identity,
                                   std::shared_ptr<grpc::Channel> catalog,
                                   std::shared_ptr<grpc::Channel> payments, Options options)
    : identity_(ipb::Identity::NewStub(std::move(identity))),
      catalog_(cpb::CatalogService::NewStub(std::move(catalog))),
      payments_(ppb::Payments::NewStub(std::move(payments))),
      options_(std::move(options)) {}

absl::Status GrpcStepExecutor::Call(
    const ClaimedStep& step, const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  absl::StatusOr<std::string> token = options_.token();
  if (!token.ok()) {
    return absl::UnavailableError(
        absl::StrCat("sellerkpi's service token is not available: ", token.status().message()));
  }
  grpc::ClientContext context;
  common::OutgoingCall outgoing;
  outgoing.timeout = options_.timeout;
  outgoing.request_id = step.request_id;
  outgoing.bearer_token = *token;
  common::PrepareClientContext(&context, outgoing);
  grpc::Status status = call(&context);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && options_.token_refused) {
    options_.token_refused();
  }
  return common::FromGrpcStatus(status);
}

absl::StatusOr<std::string> GrpcStepExecutor::ReadModerationLevel(const ClaimedStep& step) {
  cpb::GetSellerModerationLevelRequest request;
  request.set_seller_id(step.seller_id);
  cpb::SellerModeration response;
  RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
    return catalog_->GetSellerModerationLevel(c, request, &response);
  }));
  const cpb::SellerModerationLevel level =
      response.level() == cpb::SELLER_MODERATION_LEVEL_UNSPECIFIED ? cpb::STANDARD
                                                                   : response.level();
  return cpb::SellerModerationLevel_Name(level);
}

absl::StatusOr<std::string> GrpcStepExecutor::SetModerationLevel(const ClaimedStep& step,
                                                                 const std::string& level_name) {
  cpb::SellerModerationLevel level = cpb::SELLER_MODERATION_LEVEL_UNSPECIFIED;
  if (!cpb::SellerModerationLevel_Parse(level_name, &level) ||
      level == cpb::SELLER_MODERATION_LEVEL_UNSPECIFIED) {
    return absl::InternalError(absl::StrCat("not a moderation level: \"", level_name, "\""));
  }
  cpb::SetSellerModerationLevelRequest request;
  request.set_seller_id(step.seller_id);
  request.set_level(level);
  request.mutable_update_mask()->add_paths("level");  // the brands stay as they are
  cpb::SellerModeration response;
  RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
    return catalog_->SetSellerModerationLevel(c, request, &response);
  }));
  if (response.level() != level) {
    return absl::InternalError(absl::StrCat("catalog answered level ",
                                            cpb::SellerModerationLevel_Name(response.level()),
                                            " after setting ", level_name));
  }
  return level_name;
}

absl::StatusOr<std::string> GrpcStepExecutor::ReadHoldPolicy(const ClaimedStep& step) {
  ppb::GetSellerHoldPolicyRequest request;
  request.set_seller_id(step.seller_id);
  ppb::SellerHoldPolicy response;
  RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
    return payments_->GetSellerHoldPolicy(c, request, &response);
  }));
  return absl::StrCat(response.hold_period().seconds(), "s");
}

absl::StatusOr<std::string> GrpcStepExecutor::SetHoldPolicy(const ClaimedStep& step,
                                                            absl::Duration hold,
                                                            const std::string& reason) {
  ppb::SetSellerHoldPolicyRequest request;
  request.set_seller_id(step.seller_id);
  request.mutable_hold_period()->set_seconds(absl::ToInt64Seconds(hold));
  request.set_reason(Cut(reason, kMaxHoldReason));
  ppb::SellerHoldPolicy response;
  RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
    return payments_->SetSellerHoldPolicy(c, request, &response);
  }));
  if (response.hold_period().seconds() != absl::ToInt64Seconds(hold)) {
    return absl::InternalError(absl::StrCat("payments answered a hold of ",
                                            response.hold_period().seconds(), "s after setting ",
                                            HoldText(hold)));
  }
  return HoldText(hold);
}

absl::StatusOr<std::string> GrpcStepExecutor::AccountStatus(const ClaimedStep& step,
                                                            bool want_suspended) {
  ipb::GetAccountRequest request;
  request.set_name(absl::StrCat("accounts/", step.seller_id));
  ipb::Account account;
  RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
    return identity_->GetAccount(c, request, &account);
  }));
  const ipb::AccountStatus want = want_suspended ? ipb::SUSPENDED : ipb::ACTIVE;
  if (account.status() != want) {
    return absl::InternalError(absl::StrCat("identity shows the account ",
                                            ipb::AccountStatus_Name(account.status()),
                                            ", not ", ipb::AccountStatus_Name(want)));
  }
  return ipb::AccountStatus_Name(account.status());
}

absl::StatusOr<std::string> GrpcStepExecutor::Run(const ClaimedStep& step) {
  const std::string& name = step.name;
  if (name == kNotifySeller) return NoticeText(step);
  if (name == kReadModerationLevel) return ReadModerationLevel(step);
  if (name == kSetModerationLevel) {
    ASSIGN_OR_RETURN(std::string previous, PreviousResult(step));
    RETURN_IF_ERROR(SetModerationLevel(step, "AT_RISK").status());
    return previous;
  }
  if (name == kReadHoldPolicy) return ReadHoldPolicy(step);
  if (name == kSetHoldPolicy) {
    ASSIGN_OR_RETURN(std::string previous, PreviousResult(step));
    const bool top = step.type == pb::TOP_SELLER_TERMS;
    if (top && !step.hold.has_value()) {
      return absl::InternalError("TOP_SELLER_TERMS without its hold period");
    }
    // TOP terms never shorten a hold longer than the GOOD one: an operator chose it. The
    // result stays the hold in force, which the terms' restoration then puts back unchanged.
    ASSIGN_OR_RETURN(absl::Duration in_force, ParseHold(previous));
    if (top && step.keep_above.has_value() && in_force > *step.keep_above) return previous;
    RETURN_IF_ERROR(SetHoldPolicy(step, step.hold.value_or(kAtRiskHoldPeriod),
                                  absl::StrCat(top ? "TOP seller terms"
                                                   : "seller health AT_RISK or worse",
                                               " (sellerkpi action ", step.action_id, ")"))
                        .status());
    return previous;
  }
  if (name == kSuspendAccount) {
    ipb::SuspendAccountRequest request;
    request.set_name(absl::StrCat("accounts/", step.seller_id));
    request.set_reason_code("KPI_CRITICAL");
    request.set_reason(Cut(step.explanation.empty() ? "seller health CRITICAL" : step.explanation,
                           kMaxReason));
    ipb::Account account;
    RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
      return identity_->SuspendAccount(c, request, &account);
    }));
    ASSIGN_OR_RETURN(std::string status, AccountStatus(step, /*want_suspended=*/true));
    return absl::StrCat(status, "; listings and payouts: stopped by catalog and payments on "
                                "identity.account_suspended (not read back here)");
  }
  if (name == kReinstateAccount) {
    ipb::ReinstateAccountRequest request;
    request.set_name(absl::StrCat("accounts/", step.seller_id));
    request.set_reason_code("APPEAL_GRANTED");
    request.set_reason(Cut(step.explanation.empty() ? "appeal granted" : step.explanation,
                           kMaxReason));
    ipb::Account account;
    RETURN_IF_ERROR(Call(step, [&](grpc::ClientContext* c) {
      return identity_->ReinstateAccount(c, request, &account);
    }));
    return AccountStatus(step, /*want_suspended=*/false);
  }
  if (name == kRestoreListings) {
    return std::string(
        "not called: catalog restores the listings on identity.account_reinstated, unless "
        "staff suspended them with SuspendSellerListings");
  }
  if (name == kRestoreModerationLevel) {
    auto it = step.undone_results.find(kSetModerationLevel);
    if (it == step.undone_results.end()) return std::string("nothing to restore");
    ASSIGN_OR_RETURN(std::string level, SetModerationLevel(step, it->second));
    return absl::StrCat("level ", level);
  }
  if (name == kRestoreHoldPolicy) {
    auto it = step.undone_results.find(kSetHoldPolicy);
    if (it == step.undone_results.end()) return std::string("nothing to restore");
    ASSIGN_OR_RETURN(absl::Duration hold, ParseHold(it->second));
    // Never less than the standing's hold (the GOOD one, recorded with the restoration): a
    // seller that held TOP terms when the measures came does not get the TOP hold back.
    hold = RestoredHold(hold, step.hold);
    ASSIGN_OR_RETURN(std::string set,
                     SetHoldPolicy(step, hold,
                                   absl::StrCat("restored by sellerkpi (action ", step.action_id,
                                                ")")));
    return absl::StrCat("hold ", set);
  }
  return absl::InternalError(absl::StrCat("unknown enforcement step \"", name, "\""));
}

}  // namespace marketplace::sellerkpi
