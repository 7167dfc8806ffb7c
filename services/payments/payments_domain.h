#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_DOMAIN_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_DOMAIN_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/identity_client/seller_directory.h"
#include "services/payments/checkout.h"
#include "services/payments/ledger_audit.h"
#include "services/payments/payment_reads.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_context.h"
#include "services/payments/payouts.h"
#include "services/payments/processor.h"
#include "services/payments/processor_operations.h"
#include "services/payments/settlement.h"

namespace marketplace::payments {

// The payments domain: each flow over one store, processor, seller directory and clock.
// Thread-safe.
class PaymentsDomain {
 public:
  // All pointers must outlive the domain.
  PaymentsDomain(PaymentStore* store, PaymentProcessor* processor,
                 common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
                 PaymentsOptions options = {});
  PaymentsDomain(const PaymentsDomain&) = delete;
  PaymentsDomain& operator=(const PaymentsDomain&) = delete;

  Checkout& checkout() { return checkout_; }
  Settlement& settlement() { return settlement_; }
  Payouts& payouts() { return payouts_; }
  PaymentReads& reads() { return reads_; }
  LedgerAudit& audit() { return audit_; }
  ProcessorOperations& operations() { return operations_; }

  // The background passes (release_worker.h).
  [[nodiscard]] absl::StatusOr<ReleaseCounts> ReleaseDuePayments(int batch_size = 20) {
    return settlement_.ReleaseDuePayments(batch_size);
  }
  [[nodiscard]] absl::StatusOr<CompletionCounts> CompletePendingOperations(int batch_size = 20) {
    return operations_.CompletePending(batch_size);
  }
  // CreatePayment intents past their window whose payment never committed.
  [[nodiscard]] absl::StatusOr<int> RefundAbandonedCaptures(int batch_size = 20) {
    return operations_.RefundAbandonedCaptures(batch_size);
  }
  // The escrow gauge (no-op without an observer).
  [[nodiscard]] absl::Status RefreshEscrowMetrics();
  // Drops idempotency records older than 24 hours.
  [[nodiscard]] absl::StatusOr<int64_t> PurgeIdempotencyKeys() {
    return context_.store->PurgeAnswers();
  }
  // Drops CreatePayment intents closed more than `keep` ago (open ones stay until closed).
  [[nodiscard]] absl::StatusOr<int64_t> PurgeResolvedIntents(absl::Duration keep,
                                                             int64_t batch_size = 1000) {
    return context_.store->PurgeResolvedIntents(keep, batch_size);
  }

 private:
  const PaymentsContext context_;
  ProcessorOperations operations_;
  Checkout checkout_;
  Settlement settlement_;
  Payouts payouts_;
  PaymentReads reads_;
  LedgerAudit audit_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_DOMAIN_H_
