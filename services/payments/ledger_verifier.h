#ifndef MARKETPLACE_SERVICES_PAYMENTS_LEDGER_VERIFIER_H_
#define MARKETPLACE_SERVICES_PAYMENTS_LEDGER_VERIFIER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "services/payments/ledger_audit.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_observer.h"

namespace marketplace::payments {

struct LedgerVerifierOptions {
  // How often the ledger is verified, by one replica of all.
  absl::Duration interval = absl::Hours(1);
  // How often each replica looks whether a run is due, and re-exports the last result.
  absl::Duration tick = absl::Seconds(30);
  // How long a claimed run is the claimer's: a replica that dies mid-run leaves it to another
  // after this.
  absl::Duration lease = absl::Minutes(10);
  // This replica's name in the record (e.g. host and pid).
  std::string replica;
};

// The scheduled VerifyLedger (README "Background work"). Every tick, each replica claims the run
// when it is due (ledger_verifications: one row, a lease), so one replica of all verifies per
// interval; it records the result for all to read. Then every replica exports the last
// recorded result: payments_ledger_verification_ok (1 consistent, 0 a violation) and
// payments_ledger_verification_last_run_timestamp_seconds (the observer's LedgerVerified).
class LedgerVerifier {
 public:
  // All must outlive the verifier.
  LedgerVerifier(PaymentStore* store, LedgerAudit* audit, PaymentsObserver* observer,
                 const common::Clock* clock, LedgerVerifierOptions options);
  ~LedgerVerifier() { Stop(); }

  // One tick on the calling thread; whether this replica verified the ledger.
  absl::StatusOr<bool> RunOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  PaymentStore* store_;
  LedgerAudit* audit_;
  PaymentsObserver* observer_;
  const common::Clock* clock_;
  LedgerVerifierOptions options_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_LEDGER_VERIFIER_H_
