#include "services/payments/permissions.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::payments {
namespace {

absl::StatusOr<Actor> Deny(absl::string_view method_name) {
  return common::PermissionDenied(
      absl::StrCat("the caller's roles and scopes do not allow ", method_name));
}

}  // namespace

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kCreatePayment:
      return "CreatePayment";
    case Method::kGetPayment:
      return "GetPayment";
    case Method::kListPayments:
      return "ListPayments";
    case Method::kConfirmDelivery:
      return "ConfirmDelivery";
    case Method::kRefundPayment:
      return "RefundPayment";
    case Method::kSettleOwedRefund:
      return "SettleOwedRefund";
    case Method::kChargeSellerForRefund:
      return "ChargeSellerForRefund";
    case Method::kOpenDispute:
      return "OpenDispute";
    case Method::kResolveDispute:
      return "ResolveDispute";
    case Method::kSetSellerHoldPolicy:
      return "SetSellerHoldPolicy";
    case Method::kGetSellerBalance:
      return "GetSellerBalance";
    case Method::kCreatePayout:
      return "CreatePayout";
    case Method::kListPayouts:
      return "ListPayouts";
    case Method::kVerifyLedger:
      return "VerifyLedger";
    case Method::kGetSellerHoldPolicy:
      return "GetSellerHoldPolicy";
  }
  return "Unknown";
}

std::array<absl::string_view, kMethodCount> MethodNames() {
  std::array<absl::string_view, kMethodCount> names;
  for (Method m : kAllMethods) names[static_cast<size_t>(m)] = MethodName(m);
  return names;
}

MethodRule RuleFor(Method method) {
  switch (method) {
    case Method::kCreatePayment:
      return {.service_scope = kScopeCheckout, .buyer = true, .set_commission = true};
    case Method::kGetPayment:
    case Method::kListPayments:
      return {.staff = true, .service_scope = kScopeRead, .buyer = true, .seller = true};
    case Method::kConfirmDelivery:
      return {.service_scope = kScopeCheckout, .buyer = true};
    case Method::kRefundPayment:
      return {.staff = true, .service_scope = kScopeRefunds, .seller = true};
    case Method::kSettleOwedRefund:
    case Method::kChargeSellerForRefund:
    case Method::kResolveDispute:
      return {.staff = true, .service_scope = kScopeRefunds};
    case Method::kOpenDispute:
      return {.staff = true, .service_scope = kScopeRefunds, .buyer = true};
    case Method::kSetSellerHoldPolicy:
    case Method::kGetSellerHoldPolicy:
      return {.admin = true, .service_scope = kScopePolicy};
    case Method::kGetSellerBalance:
    case Method::kListPayouts:
      return {.staff = true, .service_scope = kScopeRead, .seller = true};
    case Method::kCreatePayout:
      return {.admin = true, .seller = true};
    case Method::kVerifyLedger:
      return {.admin = true};
  }
  return {};  // deny
}

absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller, Method method) {
  if (!caller) return common::Unauthenticated("a bearer token is required");
  const common::auth::Caller& c = *caller;
  const MethodRule rule = RuleFor(method);
  Actor a;
  a.id = c.subject;
  a.any_payment =
      (rule.staff && (c.HasRole("SUPPORT_AGENT") || c.HasRole("ADMIN"))) ||
      (rule.admin && c.HasRole("ADMIN")) ||
      (!rule.service_scope.empty() && c.HasRole("SERVICE") && c.HasScope(rule.service_scope));
  a.as_service = !rule.service_scope.empty() && c.HasRole("SERVICE") &&
                 c.HasScope(rule.service_scope);
  a.may_set_commission = rule.set_commission && a.any_payment;
  a.as_buyer = rule.buyer && c.HasRole("BUYER");
  a.as_seller = rule.seller && c.HasRole("SELLER");
  if (!a.any_payment && !a.as_buyer && !a.as_seller) return Deny(MethodName(method));
  return a;
}

absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                               absl::string_view method_name) {
  for (Method m : kAllMethods) {
    if (MethodName(m) == method_name) return ActorFor(caller, m);
  }
  if (!caller) return common::Unauthenticated("a bearer token is required");
  return Deny(method_name);
}

}  // namespace marketplace::payments
