#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_OBSERVER_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_OBSERVER_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace marketplace::payments {

// What the payments domain tells the outside about its effects (the business metrics of
// README "Metrics"; metrics.h is the Prometheus implementation). Called once per effect: a
// retry answered from its stored result reports nothing. Implementations are thread-safe;
// the defaults ignore everything.
class PaymentsObserver {
 public:
  virtual ~PaymentsObserver() = default;

  virtual void PaymentHeld() {}
  virtual void PaymentDeclined() {}
  virtual void RefundRecorded() {}
  virtual void RefundChargedToSeller() {}
  virtual void DisputeOpened() {}
  virtual void DisputeResolved(absl::string_view outcome) { static_cast<void>(outcome); }
  virtual void PayoutRecorded() {}
  virtual void LedgerVerificationFailed() {}
  // The last scheduled verification (by any replica): consistent or not, and when it ran.
  virtual void LedgerVerified(bool ok, absl::Time ran_at) {
    static_cast<void>(ok);
    static_cast<void>(ran_at);
  }
  // Money in escrow in `currency`, minor units, as the database holds it now.
  virtual void EscrowHeld(absl::string_view currency, int64_t minor) {
    static_cast<void>(currency);
    static_cast<void>(minor);
  }
};

// The observer of a domain built without one.
inline PaymentsObserver* NoObserver() {
  static PaymentsObserver* const kNone = new PaymentsObserver();
  return kNone;
}

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_OBSERVER_H_
