#ifndef MARKETPLACE_SERVICES_PAYMENTS_METRICS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/payments/payments_observer.h"

namespace marketplace::payments {

// The business figures of the payments service (README "Metrics"). Counted once per effect:
// a retry answered from its stored result counts nothing. Thread-safe.
//   payments_created_total{outcome="held|declined"}
//   payments_refunds_total                      refunds recorded (RefundPayment)
//   payments_refund_charges_total               guarantee-funded refunds charged to the seller
//   payments_disputes_opened_total
//   payments_disputes_resolved_total{outcome="BUYER_WINS|SELLER_WINS|SPLIT|PLATFORM_GUARANTEE"}
//   payments_payouts_total                      payouts recorded (CreatePayout)
//   payments_ledger_verification_failures_total VerifyLedger runs that found a violation
//   payments_ledger_verification_ok             last scheduled run (any replica): 1 consistent,
//                                               0 a violation (absent before the first run)
//   payments_ledger_verification_last_run_timestamp_seconds  when it ran (Unix seconds)
//   payments_escrow_held_minor{currency}        money in escrow, minor units, from the database
class PaymentsMetrics final : public PaymentsObserver {
 public:
  // `registry` must outlive the metrics.
  explicit PaymentsMetrics(prometheus::Registry& registry);

  void PaymentHeld() override { held_.Increment(); }
  void PaymentDeclined() override { declined_.Increment(); }
  void RefundRecorded() override { refunds_.Increment(); }
  void RefundChargedToSeller() override { refund_charges_.Increment(); }
  void DisputeOpened() override { disputes_opened_.Increment(); }
  void DisputeResolved(absl::string_view outcome) override {
    disputes_resolved_.Add({{"outcome", std::string(outcome)}}).Increment();
  }
  void PayoutRecorded() override { payouts_.Increment(); }
  void LedgerVerificationFailed() override { verification_failures_.Increment(); }
  void LedgerVerified(bool ok, absl::Time ran_at) override;
  void EscrowHeld(absl::string_view currency, int64_t minor) override {
    escrow_held_.Add({{"currency", std::string(currency)}}).Set(static_cast<double>(minor));
  }

 private:
  prometheus::Family<prometheus::Counter>& created_;
  prometheus::Counter& held_;
  prometheus::Counter& declined_;
  prometheus::Counter& refunds_;
  prometheus::Counter& refund_charges_;
  prometheus::Counter& disputes_opened_;
  prometheus::Family<prometheus::Counter>& disputes_resolved_;
  prometheus::Counter& payouts_;
  prometheus::Counter& verification_failures_;
  prometheus::Family<prometheus::Gauge>& verification_;
  prometheus::Family<prometheus::Gauge>& verification_time_;
  prometheus::Family<prometheus::Gauge>& escrow_held_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_METRICS_H_
