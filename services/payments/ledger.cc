#include "services/payments/ledger.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace marketplace::payments {
namespace {

constexpr std::pair<AccountKind, absl::string_view> kAccountKindNames[] = {
    {AccountKind::kBuyerFunding, "buyer_funding"},
    {AccountKind::kEscrow, "escrow"},
    {AccountKind::kSellerAvailable, "seller_available"},
    {AccountKind::kSellerPaidOut, "seller_paid_out"},
    {AccountKind::kPlatformCommission, "platform_commission"},
    {AccountKind::kRefundsOut, "refunds_out"},
    {AccountKind::kGuaranteeFund, "guarantee_fund"},
    {AccountKind::kRefundsOwed, "refunds_owed"},
};

constexpr std::pair<TransactionKind, absl::string_view> kTransactionKindNames[] = {
    {TransactionKind::kCapture, "capture"},
    {TransactionKind::kRelease, "release"},
    {TransactionKind::kRefund, "refund"},
    {TransactionKind::kDisputeResolution, "dispute_resolution"},
    {TransactionKind::kPayout, "payout"},
    {TransactionKind::kRefundCharge, "refund_charge"},
};

template <typename Enum, size_t N>
absl::string_view NameOf(const std::pair<Enum, absl::string_view> (&names)[N], Enum value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
absl::StatusOr<Enum> ValueOf(const std::pair<Enum, absl::string_view> (&names)[N],
                             absl::string_view name, absl::string_view what) {
  for (const auto& [v, n] : names) {
    if (n == name) return v;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", name, "\""));
}

}  // namespace

absl::string_view AccountKindName(AccountKind kind) { return NameOf(kAccountKindNames, kind); }

absl::StatusOr<AccountKind> AccountKindFromName(absl::string_view name) {
  return ValueOf(kAccountKindNames, name, "account kind");
}

absl::string_view TransactionKindName(TransactionKind kind) {
  return NameOf(kTransactionKindNames, kind);
}

absl::StatusOr<TransactionKind> TransactionKindFromName(absl::string_view name) {
  return ValueOf(kTransactionKindNames, name, "transaction kind");
}

bool IsPerSeller(AccountKind kind) {
  return kind == AccountKind::kEscrow || kind == AccountKind::kSellerAvailable ||
         kind == AccountKind::kSellerPaidOut;
}

BalanceBound BoundOf(AccountKind kind) {
  switch (kind) {
    case AccountKind::kBuyerFunding:
    case AccountKind::kGuaranteeFund:
      return BalanceBound::kNonPositive;
    case AccountKind::kEscrow:
    case AccountKind::kSellerPaidOut:
    case AccountKind::kPlatformCommission:
    case AccountKind::kRefundsOut:
    case AccountKind::kRefundsOwed:
      return BalanceBound::kNonNegative;
    case AccountKind::kSellerAvailable:
      return BalanceBound::kUnbounded;
  }
  return BalanceBound::kUnbounded;
}

std::string AccountRef::Key() const {
  return absl::StrCat(AccountKindName(kind), "/", owner, "/", currency);
}

AccountRef PlatformAccount(AccountKind kind, absl::string_view currency) {
  return AccountRef{kind, "", std::string(currency)};
}

AccountRef SellerAccount(AccountKind kind, absl::string_view seller_id,
                         absl::string_view currency) {
  return AccountRef{kind, std::string(seller_id), std::string(currency)};
}

void Move(LedgerTransaction& tx, const AccountRef& from, const AccountRef& to,
          int64_t amount_minor) {
  if (amount_minor == 0) return;
  tx.entries.push_back(Entry{from, -amount_minor});
  tx.entries.push_back(Entry{to, amount_minor});
}

absl::Status CheckBalanced(const LedgerTransaction& tx) {
  if (tx.entries.size() < 2) {
    return absl::InternalError("ledger transaction needs at least two entries");
  }
  std::map<std::string, __int128> sums;
  for (const Entry& entry : tx.entries) {
    if (entry.amount_minor == 0) return absl::InternalError("ledger entry of zero");
    if (common::FindCurrency(entry.account.currency) == nullptr) {
      return absl::InternalError(
          absl::StrCat("ledger entry in unknown currency \"", entry.account.currency, "\""));
    }
    if (IsPerSeller(entry.account.kind) == entry.account.owner.empty()) {
      return absl::InternalError(
          absl::StrCat("ledger account ", entry.account.Key(), " has a wrong owner"));
    }
    sums[entry.account.currency] += entry.amount_minor;
  }
  for (const auto& [currency, sum] : sums) {
    if (sum != 0) {
      return absl::InternalError(absl::StrCat("ledger transaction does not balance in ", currency,
                                              " (off by ", static_cast<int64_t>(sum), ")"));
    }
  }
  return absl::OkStatus();
}

void Apply(const LedgerTransaction& tx, Balances& balances) {
  for (const Entry& entry : tx.entries) balances[entry.account] += entry.amount_minor;
}

std::vector<AccountRef> BoundViolations(const Balances& balances) {
  std::vector<AccountRef> out;
  for (const auto& [account, balance] : balances) {
    switch (BoundOf(account.kind)) {
      case BalanceBound::kNonNegative:
        if (balance < 0) out.push_back(account);
        break;
      case BalanceBound::kNonPositive:
        if (balance > 0) out.push_back(account);
        break;
      case BalanceBound::kUnbounded:
        break;
    }
  }
  return out;
}

}  // namespace marketplace::payments
