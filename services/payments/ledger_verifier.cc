#include "services/payments/ledger_verifier.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace marketplace::payments {

LedgerVerifier::LedgerVerifier(PaymentStore* store, LedgerAudit* audit,
                               PaymentsObserver* observer, const common::Clock* clock,
                               LedgerVerifierOptions options)
    : store_(store),
      audit_(audit),
      observer_(observer),
      clock_(clock),
      options_(std::move(options)),
      thread_(options_.tick, [this] {
        absl::StatusOr<bool> ran = RunOnce();
        if (!ran.ok()) {
          common::LogError("ledger verification failed to run",
                           {{"error", ran.status().ToString()}});
        }
        return false;
      }) {}

absl::StatusOr<bool> LedgerVerifier::RunOnce() {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(bool mine,
                   store_->ClaimLedgerVerification(now, now + options_.lease, options_.replica));
  if (mine) {
    // A run that fails to read the ledger records nothing: the lease ends and a replica tries
    // again (the last result stays exported meanwhile).
    ASSIGN_OR_RETURN(LedgerReport report, audit_->VerifyLedger());
    LedgerVerificationRecord record;
    record.ran_at = clock_->Now();
    record.ok = report.consistent;
    record.violations = static_cast<int>(report.violations.size());
    const size_t shown = std::min<size_t>(report.violations.size(), 5);
    record.detail = absl::StrJoin(report.violations.begin(), report.violations.begin() + shown,
                                  "; ");
    record.ran_by = options_.replica;
    RETURN_IF_ERROR(store_->RecordLedgerVerification(record, now + options_.interval));
    if (!report.consistent) {
      common::LogError("the ledger does not verify",
                       {{"violations", std::to_string(record.violations)},
                        {"first", record.detail}});
    }
  }
  ASSIGN_OR_RETURN(std::optional<LedgerVerificationRecord> last, store_->LastLedgerVerification());
  if (last.has_value()) observer_->LedgerVerified(last->ok, last->ran_at);
  return mine;
}

}  // namespace marketplace::payments
