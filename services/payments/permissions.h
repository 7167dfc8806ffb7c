#ifndef MARKETPLACE_SERVICES_PAYMENTS_PERMISSIONS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PERMISSIONS_H_

#include <array>
#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "services/payments/actor.h"

namespace marketplace::payments {

// Scopes of SERVICE accounts that payments interprets.
inline constexpr absl::string_view kScopeCheckout = "payments.checkout";
inline constexpr absl::string_view kScopeRead = "payments.read";
inline constexpr absl::string_view kScopeRefunds = "payments.refunds";
inline constexpr absl::string_view kScopePolicy = "payments.policy";

// Every method of the Payments API.
enum class Method {
  kCreatePayment,
  kGetPayment,
  kListPayments,
  kConfirmDelivery,
  kRefundPayment,
  kSettleOwedRefund,
  kChargeSellerForRefund,
  kOpenDispute,
  kResolveDispute,
  kSetSellerHoldPolicy,
  kGetSellerBalance,
  kCreatePayout,
  kListPayouts,
  kVerifyLedger,
  kGetSellerHoldPolicy,
};
inline constexpr size_t kMethodCount = 15;
inline constexpr Method kAllMethods[] = {
    Method::kCreatePayment,       Method::kGetPayment,
    Method::kListPayments,        Method::kConfirmDelivery,
    Method::kRefundPayment,       Method::kSettleOwedRefund,
    Method::kChargeSellerForRefund, Method::kOpenDispute,
    Method::kResolveDispute,      Method::kSetSellerHoldPolicy,
    Method::kGetSellerBalance,    Method::kCreatePayout,
    Method::kListPayouts,         Method::kVerifyLedger,
    Method::kGetSellerHoldPolicy,
};
static_assert(sizeof(kAllMethods) / sizeof(kAllMethods[0]) == kMethodCount);

// "CreatePayment", ...: the gRPC method name.
absl::string_view MethodName(Method method);
// The names in enum order, for common::MethodHandler.
std::array<absl::string_view, kMethodCount> MethodNames();

// Who may call a method, and as whom. Anything not granted here is denied.
struct MethodRule {
  bool staff = false;               // SUPPORT_AGENT and ADMIN act on any payment
  bool admin = false;               // ADMIN acts on any payment
  absl::string_view service_scope;  // SERVICE with this scope acts on any payment
  bool buyer = false;               // BUYER acts on its own payments
  bool seller = false;              // SELLER acts on its own sales and balance
  bool set_commission = false;      // who acts on any payment may set commission_bps
};

// The rule of `method`: a switch without default, so a new method does not compile until it
// has a rule here.
MethodRule RuleFor(Method method);

// What `caller` may do through `method`: UNAUTHENTICATED without a caller, PERMISSION_DENIED
// when its roles and scopes give it no access to the method at all; ownership of a payment is
// then checked by the domain.
[[nodiscard]] absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                                             Method method);
// The same by method name; an unknown name is denied.
[[nodiscard]] absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                                             absl::string_view method_name);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PERMISSIONS_H_
