#ifndef MARKETPLACE_SERVICES_SUPPORT_ORDER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_SUPPORT_ORDER_DIRECTORY_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/client/call_origin.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// An order as support needs it: who bought it from whom, and its payment.
struct OrderPayment {
  std::string payment_id;
  std::string order_id;
  std::string buyer_id;
  std::string seller_id;
  Amount amount;
};

// Where support learns about orders (payments owns them). A remote service: its errors are
// UNAVAILABLE / DEADLINE_EXCEEDED for the caller to retry.
class OrderDirectory {
 public:
  virtual ~OrderDirectory() = default;
  // The buyer's payment for `order_id`; nullopt when the buyer has none (another buyer's
  // order answers the same).
  [[nodiscard]] virtual absl::StatusOr<std::optional<OrderPayment>> FindBuyerOrder(
      absl::string_view buyer_id, absl::string_view order_id,
      const common::CallOrigin& origin) = 0;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_ORDER_DIRECTORY_H_
