#ifndef MARKETPLACE_SERVICES_PAYMENTS_SANDBOX_PROCESSOR_H_
#define MARKETPLACE_SERVICES_PAYMENTS_SANDBOX_PROCESSOR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "services/payments/processor.h"

namespace marketplace::payments {

// The SANDBOX payment processor: moves no real money. It answers by the payment method token,
// deterministically, so that local runs and tests can exercise every path:
//
//   tok_sandbox_success             authorised and captured
//   tok_sandbox_decline             declined (DeclineCode::kDeclined)
//   tok_sandbox_insufficient_funds  declined (DeclineCode::kInsufficientFunds)
//   tok_sandbox_processor_error     UNAVAILABLE: a transient processor failure
//   tok_sandbox_timeout             DEADLINE_EXCEEDED: the processor did not answer in time
//   anything else                   declined (DeclineCode::kInvalidPaymentMethod)
//
// Captures, refunds and payouts of a sandbox authorisation always succeed. References are
// "sbx_<operation>_<hash of the idempotency key>", so a retry gets the same reference.
// Authorisations and captures asked once their caller's deadline has passed do nothing and
// answer DEADLINE_EXCEEDED.
class SandboxProcessor final : public PaymentProcessor {
 public:
  static constexpr absl::string_view kSuccessToken = "tok_sandbox_success";
  static constexpr absl::string_view kDeclineToken = "tok_sandbox_decline";
  static constexpr absl::string_view kInsufficientFundsToken = "tok_sandbox_insufficient_funds";
  static constexpr absl::string_view kProcessorErrorToken = "tok_sandbox_processor_error";
  static constexpr absl::string_view kTimeoutToken = "tok_sandbox_timeout";

  absl::StatusOr<ProcessorResult> Authorize(const std::string& idempotency_key,
                                            const std::string& payment_method_token,
                                            const common::Money& amount,
                                            const common::CallOrigin& origin = {}) override;
  absl::StatusOr<ProcessorResult> Capture(const std::string& idempotency_key,
                                          const std::string& authorization_reference,
                                          const common::Money& amount,
                                          const common::CallOrigin& origin = {}) override;
  absl::StatusOr<ProcessorResult> Refund(const std::string& idempotency_key,
                                         const std::string& capture_reference,
                                         const common::Money& amount) override;
  absl::StatusOr<ProcessorResult> Payout(const std::string& idempotency_key,
                                         const std::string& payout_account_reference,
                                         const common::Money& amount) override;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_SANDBOX_PROCESSOR_H_
