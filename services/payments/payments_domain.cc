#include "services/payments/payments_domain.h"

namespace marketplace::payments {

PaymentsDomain::PaymentsDomain(PaymentStore* store, PaymentProcessor* processor,
                               common::identity_client::SellerDirectory* sellers,
                               const common::Clock* clock, PaymentsOptions options)
    : context_{store,
               processor,
               sellers,
               clock,
               options.observer != nullptr ? options.observer : NoObserver(),
               options},
      operations_(&context_),
      checkout_(&context_, &operations_),
      settlement_(&context_, &operations_),
      payouts_(&context_, &operations_),
      reads_(store),
      audit_(store, context_.observer) {}

absl::Status PaymentsDomain::RefreshEscrowMetrics() {
  if (context_.options.observer == nullptr) return absl::OkStatus();
  return audit_.RefreshEscrowGauge();
}

}  // namespace marketplace::payments
