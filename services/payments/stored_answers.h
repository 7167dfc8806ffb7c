#ifndef MARKETPLACE_SERVICES_PAYMENTS_STORED_ANSWERS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_STORED_ANSWERS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/payments/payment_records.h"

namespace marketplace::payments {

// The answers the idempotency record keeps are the API's messages (a Payment, a Payout), so
// a retry after an upgrade still reads what the first call answered.
std::string EncodePaymentAnswer(const PaymentRecord& payment);
[[nodiscard]] absl::StatusOr<PaymentRecord> DecodePaymentAnswer(absl::string_view bytes);
std::string EncodePayoutAnswer(const PayoutRecord& payout);
[[nodiscard]] absl::StatusOr<PayoutRecord> DecodePayoutAnswer(absl::string_view bytes);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_STORED_ANSWERS_H_
