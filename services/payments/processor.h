#ifndef MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/client/call_origin.h"
#include "common/money.h"

namespace marketplace::payments {

// Why a processor refused an operation (shown to the buyer as the decline reason).
enum class DeclineCode {
  kNone = 0,
  kDeclined = 1,  // the issuer said no
  kInsufficientFunds = 2,
  kInvalidPaymentMethod = 3,  // unknown or expired token
};

// What the processor answered. `accepted` false with a decline code is a definitive "no";
// a transient failure is an error status instead (UNAVAILABLE, DEADLINE_EXCEEDED), after
// which the same call with the same idempotency key may be retried.
struct ProcessorResult {
  bool accepted = false;
  DeclineCode decline = DeclineCode::kNone;
  std::string reference;  // the processor's id for the operation (when accepted)
};

// A card/bank processor. Every call carries an idempotency key: the same key returns the
// first call's result and never moves money twice, so callers may retry after a timeout.
// Authorize and Capture are made for a caller (CreatePayment) and carry its `origin`: its
// deadline bounds the call and its x-request-id goes with it; once the deadline has passed a
// processor does nothing and answers DEADLINE_EXCEEDED.
class PaymentProcessor {
 public:
  virtual ~PaymentProcessor() = default;

  // Reserves `amount` on the buyer's payment method (a token from the checkout front end).
  [[nodiscard]] virtual absl::StatusOr<ProcessorResult> Authorize(
      const std::string& idempotency_key, const std::string& payment_method_token,
      const common::Money& amount, const common::CallOrigin& origin) = 0;
  // Takes the authorised money.
  [[nodiscard]] virtual absl::StatusOr<ProcessorResult> Capture(
      const std::string& idempotency_key, const std::string& authorization_reference,
      const common::Money& amount, const common::CallOrigin& origin) = 0;
  // Returns `amount` of a capture to the buyer.
  [[nodiscard]] virtual absl::StatusOr<ProcessorResult> Refund(const std::string& idempotency_key,
                                                               const std::string& capture_reference,
                                                               const common::Money& amount) = 0;
  // Sends `amount` to a seller's payout account.
  [[nodiscard]] virtual absl::StatusOr<ProcessorResult> Payout(
      const std::string& idempotency_key, const std::string& payout_account_reference,
      const common::Money& amount) = 0;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PROCESSOR_H_
