#ifndef MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_
#define MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_

#include "absl/status/status.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// Where refund commands are carried out (payments RefundPayment). A remote service: OK when
// the refund is made (also when it was made before under the same request_id); a definitive
// refusal (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, PERMISSION_DENIED, OUT_OF_RANGE)
// is final; anything else is transient and the command is tried again later.
class RefundSender {
 public:
  virtual ~RefundSender() = default;
  [[nodiscard]] virtual absl::Status Refund(const RefundCommand& command) = 0;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REFUND_SENDER_H_
