#include "services/payments/payments_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::payments {
namespace {

constexpr char kPrefix[] = "/marketplace.payments.v1.Payments/";

bool IsStaff(const common::auth::Caller& c) {
  return c.HasRole("SUPPORT_AGENT") || c.HasRole("ADMIN");
}
bool IsService(const common::auth::Caller& c, absl::string_view scope) {
  return c.HasRole("SERVICE") && c.HasScope(scope);
}

}  // namespace

absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                               absl::string_view method) {
  if (!caller) return common::Unauthenticated("a bearer token is required");
  const common::auth::Caller& c = *caller;
  Actor a;
  a.id = c.subject;
  const bool buyer = c.HasRole("BUYER");
  const bool seller = c.HasRole("SELLER");
  if (method == "CreatePayment") {
    a.any_payment = IsService(c, "payments.checkout");
    a.may_set_commission = a.any_payment;
    a.as_buyer = buyer;
  } else if (method == "GetPayment" || method == "ListPayments") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.read");
    a.as_buyer = buyer;
    a.as_seller = seller;
  } else if (method == "ConfirmDelivery") {
    a.any_payment = IsService(c, "payments.checkout");
    a.as_buyer = buyer;
  } else if (method == "RefundPayment") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.refunds");
    a.as_seller = seller;
  } else if (method == "SettleOwedRefund") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.refunds");
  } else if (method == "OpenDispute") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.refunds");
    a.as_buyer = buyer;
  } else if (method == "ResolveDispute") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.refunds");
  } else if (method == "SetSellerHoldPolicy") {
    a.any_payment = c.HasRole("ADMIN") || IsService(c, "payments.policy");
  } else if (method == "GetSellerBalance" || method == "ListPayouts") {
    a.any_payment = IsStaff(c) || IsService(c, "payments.read");
    a.as_seller = seller;
  } else if (method == "CreatePayout") {
    a.any_payment = c.HasRole("ADMIN");
    a.as_seller = seller;
  } else if (method == "VerifyLedger") {
    a.any_payment = c.HasRole("ADMIN");
  }
  if (!a.any_payment && !a.as_buyer && !a.as_seller) {
    return common::PermissionDenied(
        absl::StrCat("the caller's roles and scopes do not allow ", method));
  }
  return a;
}

// Each handler: the actor for the method, then the domain call, then the response.
#define PAYMENTS_HANDLER(Method, Request, Response, Call)                                         \
  grpc::ServerUnaryReactor* PaymentsService::Method(grpc::CallbackServerContext* ctx,             \
                                                    const v1::Request* req, v1::Response* resp) { \
    return runner_->Run(ctx, absl::StrCat(kPrefix, #Method),                                      \
                        [this, req, resp](const common::CallContext& call) -> absl::Status {      \
                          absl::StatusOr<Actor> actor = ActorFor(call.caller, #Method);           \
                          if (!actor.ok()) return actor.status();                                 \
                          auto result = Call;                                                     \
                          if (!result.ok()) return result.status();                               \
                          *resp = *std::move(result);                                             \
                          return absl::OkStatus();                                                \
                        });                                                                       \
  }

PAYMENTS_HANDLER(CreatePayment, CreatePaymentRequest, Payment, escrow_->CreatePayment(*actor, *req))
PAYMENTS_HANDLER(GetPayment, GetPaymentRequest, Payment, escrow_->GetPayment(*actor, *req))
PAYMENTS_HANDLER(ListPayments, ListPaymentsRequest, ListPaymentsResponse,
                 escrow_->ListPayments(*actor, *req))
PAYMENTS_HANDLER(ConfirmDelivery, ConfirmDeliveryRequest, Payment,
                 escrow_->ConfirmDelivery(*actor, *req))
PAYMENTS_HANDLER(RefundPayment, RefundPaymentRequest, Payment, escrow_->RefundPayment(*actor, *req))
PAYMENTS_HANDLER(SettleOwedRefund, SettleOwedRefundRequest, Payment,
                 escrow_->SettleOwedRefund(*actor, *req))
PAYMENTS_HANDLER(OpenDispute, OpenDisputeRequest, Payment, escrow_->OpenDispute(*actor, *req))
PAYMENTS_HANDLER(ResolveDispute, ResolveDisputeRequest, Payment,
                 escrow_->ResolveDispute(*actor, *req))
PAYMENTS_HANDLER(SetSellerHoldPolicy, SetSellerHoldPolicyRequest, SellerHoldPolicy,
                 escrow_->SetSellerHoldPolicy(*actor, *req))
PAYMENTS_HANDLER(GetSellerBalance, GetSellerBalanceRequest, SellerBalance,
                 escrow_->GetSellerBalance(*actor, *req))
PAYMENTS_HANDLER(CreatePayout, CreatePayoutRequest, Payout, escrow_->CreatePayout(*actor, *req))
PAYMENTS_HANDLER(ListPayouts, ListPayoutsRequest, ListPayoutsResponse,
                 escrow_->ListPayouts(*actor, *req))
PAYMENTS_HANDLER(VerifyLedger, VerifyLedgerRequest, VerifyLedgerResponse,
                 (static_cast<void>(req), escrow_->VerifyLedger()))

#undef PAYMENTS_HANDLER

}  // namespace marketplace::payments
