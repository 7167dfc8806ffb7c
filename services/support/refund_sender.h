#ifndef MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_
#define MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// Where refund commands are carried out (payments RefundPayment, ChargeSellerForRefund). A
// remote service: OK when the refund is made (also when it was made before under the same request_id); a definitive
// refusal (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, PERMISSION_DENIED, OUT_OF_RANGE)
// is final; anything else is transient and the command is tried again later.
class RefundSender {
 public:
  virtual ~RefundSender() = default;
  // Payments' refund_id of the refund made for a GUARANTEE_FUND command (empty for others:
  // only those are ever charged to the seller).
  [[nodiscard]] virtual absl::StatusOr<std::string> Refund(const RefundCommand& command) = 0;
  // Payments ChargeSellerForRefund with the command's request id: what moved onto the seller.
  // Refusals as for Refund (INSUFFICIENT_AVAILABLE_BALANCE among them: nothing was charged).
  [[nodiscard]] virtual absl::StatusOr<SellerCharge> ChargeSeller(const ChargeCommand& command) = 0;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_
