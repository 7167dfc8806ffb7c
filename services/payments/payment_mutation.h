#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_MUTATION_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_MUTATION_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/payments/actor.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"

namespace marketplace::payments {

// What a step of an existing payment does inside its transaction: changes `p` and writes its
// ledger transaction, history and events.
using PaymentStep =
    std::function<absl::Status(PaymentTransaction& tx, PaymentRecord& p, absl::Time now)>;

// Runs `step` on the payment in one idempotent transaction: the payment row locked, the
// actor's right to it checked, the step, the payment row written back, the answer recorded.
// A retry of the request gets the first answer.
[[nodiscard]] absl::StatusOr<PaymentRecord> MutatePayment(PaymentStore& store,
                                                          const common::Clock& clock,
                                                          const Actor& actor, const RequestKey& key,
                                                          const std::string& payment_id,
                                                          const PaymentStep& step);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_MUTATION_H_
