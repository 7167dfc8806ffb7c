#ifndef MARKETPLACE_SERVICES_PAYMENTS_LEDGER_AUDIT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_LEDGER_AUDIT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_observer.h"

namespace marketplace::payments {

// The ledger's checks over the store, and the escrow gauge.
class LedgerAudit {
 public:
  // Both must outlive the audit.
  LedgerAudit(PaymentStore* store, PaymentsObserver* observer)
      : store_(store), observer_(observer) {}

  // Every ledger transaction balances and has two entries or more; every account is within
  // its bound; each seller balance row equals its entries; escrow equals what HELD and
  // DISPUTED payments hold. Read in one read-only transaction; a run that finds a violation
  // is reported to the observer.
  [[nodiscard]] absl::StatusOr<LedgerReport> VerifyLedger();
  // Tells the observer the money in escrow per currency, from the seller balance rows.
  [[nodiscard]] absl::Status RefreshEscrowGauge();

 private:
  PaymentStore* store_;
  PaymentsObserver* observer_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_LEDGER_AUDIT_H_
