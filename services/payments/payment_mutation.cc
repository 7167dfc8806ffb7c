#include "services/payments/payment_mutation.h"

#include <utility>

#include "common/errors.h"
#include "common/status_macros.h"
#include "services/payments/stored_answers.h"

namespace marketplace::payments {

absl::StatusOr<PaymentRecord> MutatePayment(PaymentStore& store, const common::Clock& clock,
                                            const Actor& actor, const RequestKey& key,
                                            const std::string& payment_id,
                                            const PaymentStep& step) {
  ASSIGN_OR_RETURN(
      std::string answer,
      store.RunIdempotent(key, [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        const absl::Time now = clock.Now();
        ASSIGN_OR_RETURN(auto loaded, tx.LoadPayment(payment_id, /*for_update=*/true));
        if (!loaded) return common::NotFound("payment", payment_id);
        PaymentRecord p = *std::move(loaded);
        // AIP-193: someone else's payment answers exactly like one that does not exist.
        if (!MaySee(actor, p.buyer_id, p.money.seller_id)) {
          return common::NotFound("payment", payment_id);
        }
        if (!MayActOn(actor, p.buyer_id, p.money.seller_id)) return NotYours();
        RETURN_IF_ERROR(step(tx, p, now));
        RETURN_IF_ERROR(tx.UpdatePayment(p));
        return EncodePaymentAnswer(p);
      }));
  return DecodePaymentAnswer(answer);
}

}  // namespace marketplace::payments
