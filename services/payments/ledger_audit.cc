#include "services/payments/ledger_audit.h"

#include <array>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/payments/ledger.h"

namespace marketplace::payments {
namespace {

// Every account within its bound, and each seller row equal to its entries.
absl::Status CheckAccounts(const LedgerFigures& figures, std::vector<std::string>& violations) {
  std::map<std::pair<std::string, std::string>, std::array<int64_t, 3>> per_seller;
  for (const LedgerFigures::AccountSum& a : figures.accounts) {
    ASSIGN_OR_RETURN(AccountKind kind, AccountKindFromName(a.account_kind));
    const BalanceBound bound = BoundOf(kind);
    if ((bound == BalanceBound::kNonNegative && a.sum < 0) ||
        (bound == BalanceBound::kNonPositive && a.sum > 0)) {
      violations.push_back(absl::StrCat("account ", a.account_kind, "/", a.owner, "/", a.currency,
                                        " is beyond its bound at ", a.sum));
    }
    if (IsPerSeller(kind)) {
      auto& seller = per_seller[{a.owner, a.currency}];
      if (kind == AccountKind::kEscrow) seller[0] = a.sum;
      if (kind == AccountKind::kSellerAvailable) seller[1] = a.sum;
      if (kind == AccountKind::kSellerPaidOut) seller[2] = a.sum;
    }
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const SellerAccounts& row : figures.seller_rows) {
    seen.insert({row.seller_id, row.currency});
    const std::array<int64_t, 3> want = per_seller[{row.seller_id, row.currency}];
    if (want[0] != row.escrow_minor || want[1] != row.available_minor ||
        want[2] != row.paid_out_minor) {
      violations.push_back(absl::StrCat("seller ", row.seller_id, " ", row.currency,
                                        " balances differ from its entries"));
    }
  }
  for (const auto& [k, sums] : per_seller) {
    if (!seen.count(k) && (sums[0] != 0 || sums[1] != 0 || sums[2] != 0)) {
      violations.push_back(
          absl::StrCat("seller ", k.first, " ", k.second, " has entries but no balance row"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LedgerReport> LedgerAudit::VerifyLedger() {
  ASSIGN_OR_RETURN(LedgerFigures figures,
                   store_->RunInTransaction<LedgerFigures>(
                       [](PaymentTransaction& tx) { return tx.LoadLedgerFigures(); },
                       {.read_only = true, .defer_writes = false}));
  LedgerReport report;
  report.transactions_checked = figures.transactions;
  report.entries_checked = figures.entries;
  for (const LedgerFigures::Unbalanced& u : figures.unbalanced) {
    report.violations.push_back(absl::StrCat("transaction ", u.transaction_id,
                                             " does not balance in ", u.currency, " by ", u.sum));
  }
  for (int64_t id : figures.thin_transactions) {
    report.violations.push_back(absl::StrCat("transaction ", id, " has fewer than two entries"));
  }
  std::map<std::string, int64_t> escrow_by_currency;
  for (const LedgerFigures::AccountSum& t : figures.totals) {
    report.totals.push_back(t);
    if (t.account_kind == AccountKindName(AccountKind::kEscrow)) {
      escrow_by_currency[t.currency] = t.sum;
    }
  }
  RETURN_IF_ERROR(CheckAccounts(figures, report.violations));
  std::map<std::string, int64_t> held_by_currency(figures.held_by_payments.begin(),
                                                  figures.held_by_payments.end());
  std::set<std::string> currencies;
  for (const auto& [c, v] : escrow_by_currency) currencies.insert(c);
  for (const auto& [c, v] : held_by_currency) currencies.insert(c);
  for (const std::string& c : currencies) {
    const int64_t escrow = escrow_by_currency[c];
    const int64_t want = held_by_currency[c];
    report.escrow_balance.emplace_back(c, escrow);
    report.held_by_payments.emplace_back(c, want);
    if (escrow != want) {
      report.violations.push_back(absl::StrCat("escrow in ", c, " is ", escrow,
                                               " but HELD and DISPUTED payments hold ", want));
    }
  }
  report.consistent = report.violations.empty();
  if (!report.consistent) observer_->LedgerVerificationFailed();
  return report;
}

absl::Status LedgerAudit::RefreshEscrowGauge() {
  ASSIGN_OR_RETURN(auto held, store_->EscrowHeldByCurrency());
  for (const auto& [currency, minor] : held) observer_->EscrowHeld(currency, minor);
  return absl::OkStatus();
}

}  // namespace marketplace::payments
