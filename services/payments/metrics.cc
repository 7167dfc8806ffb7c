#include "services/payments/metrics.h"

namespace marketplace::payments {
namespace {

prometheus::Counter& SingleCounter(prometheus::Registry& registry, const std::string& name,
                                   const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PaymentsMetrics::PaymentsMetrics(prometheus::Registry& registry)
    : created_(prometheus::BuildCounter()
                   .Name("payments_created_total")
                   .Help("CreatePayment outcomes: held in escrow, or declined by the processor.")
                   .Register(registry)),
      held_(created_.Add({{"outcome", "held"}})),
      declined_(created_.Add({{"outcome", "declined"}})),
      refunds_(SingleCounter(registry, "payments_refunds_total", "Refunds recorded.")),
      refund_charges_(SingleCounter(registry, "payments_refund_charges_total",
                                    "Guarantee-funded refunds charged to the seller "
                                    "(ChargeSellerForRefund).")),
      disputes_opened_(
          SingleCounter(registry, "payments_disputes_opened_total", "Disputes opened.")),
      disputes_resolved_(prometheus::BuildCounter()
                             .Name("payments_disputes_resolved_total")
                             .Help("Disputes resolved, by outcome.")
                             .Register(registry)),
      payouts_(SingleCounter(registry, "payments_payouts_total", "Payouts recorded.")),
      verification_failures_(SingleCounter(registry, "payments_ledger_verification_failures_total",
                                           "VerifyLedger runs that found a violation.")),
      verification_(prometheus::BuildGauge()
                        .Name("payments_ledger_verification_ok")
                        .Help("The last scheduled ledger verification (by any replica): 1 the "
                              "ledger verified, 0 a violation was found.")
                        .Register(registry)),
      verification_time_(prometheus::BuildGauge()
                             .Name("payments_ledger_verification_last_run_timestamp_seconds")
                             .Help("When the last scheduled ledger verification ran (Unix "
                                   "seconds).")
                             .Register(registry)),
      escrow_held_(prometheus::BuildGauge()
                       .Name("payments_escrow_held_minor")
                       .Help("Money held in escrow, in minor units, per currency (refreshed "
                             "from the database by the release worker).")
                       .Register(registry)) {}

void PaymentsMetrics::LedgerVerified(bool ok, absl::Time ran_at) {
  verification_.Add({}).Set(ok ? 1 : 0);
  verification_time_.Add({}).Set(absl::ToDoubleSeconds(ran_at - absl::UnixEpoch()));
}

}  // namespace marketplace::payments
