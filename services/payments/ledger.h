#ifndef MARKETPLACE_SERVICES_PAYMENTS_LEDGER_H_
#define MARKETPLACE_SERVICES_PAYMENTS_LEDGER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/money.h"

namespace marketplace::payments {

// The double-entry ledger's vocabulary. An account's balance is the sum of its entries; every
// ledger transaction's entries sum to zero in each currency, so money is only ever moved,
// never made or lost. Money coming in from buyers makes kBuyerFunding negative and the
// receiving account positive.
enum class AccountKind {
  kBuyerFunding = 1,        // external: what buyers paid in (<= 0)
  kEscrow = 2,              // per seller: buyers' money held for the seller's open payments (>= 0)
  kSellerAvailable = 3,     // per seller: released, not paid out; negative = the seller's debt
  kSellerPaidOut = 4,       // per seller: paid out to the seller's payout account (>= 0)
  kPlatformCommission = 5,  // platform revenue from commissions (>= 0)
  kRefundsOut = 6,          // external: what was refunded to buyers (>= 0)
  kGuaranteeFund = 7,       // what the platform paid from its own guarantee (<= 0)
  // Refunds the processor refused for good (closed card, ...): owed to the buyers and paid by
  // other means by support (>= 0).
  kRefundsOwed = 8,
};

// "buyer_funding", "escrow", ... (stored in the database and shown to staff).
absl::string_view AccountKindName(AccountKind kind);
// Inverse of AccountKindName; INVALID_ARGUMENT for an unknown name.
absl::StatusOr<AccountKind> AccountKindFromName(absl::string_view name);
// Whether the kind is held per seller (owner = seller id) or platform-wide (owner empty).
bool IsPerSeller(AccountKind kind);

// The lowest (or highest) balance an account of this kind may have.
enum class BalanceBound { kNonNegative, kNonPositive, kUnbounded };
BalanceBound BoundOf(AccountKind kind);

struct AccountRef {
  AccountKind kind;
  std::string owner;     // seller id for per-seller kinds, empty otherwise
  std::string currency;  // ISO 4217

  // "escrow/seller-42/EUR", "platform_commission//EUR": unique per account.
  std::string Key() const;
  friend bool operator<(const AccountRef& a, const AccountRef& b) { return a.Key() < b.Key(); }
  friend bool operator==(const AccountRef& a, const AccountRef& b) { return a.Key() == b.Key(); }
};

AccountRef PlatformAccount(AccountKind kind, absl::string_view currency);
AccountRef SellerAccount(AccountKind kind, absl::string_view seller_id, absl::string_view currency);

struct Entry {
  AccountRef account;
  int64_t amount_minor = 0;  // signed: added to the account's balance
};

// What a ledger transaction records.
enum class TransactionKind {
  kCapture = 1,            // buyer's money into escrow
  kRelease = 2,            // escrow to the seller's available balance, commission to the platform
  kRefund = 3,             // back to the buyer, from escrow or from the seller's balance
  kDisputeResolution = 4,  // a dispute's outcome
  kPayout = 5,             // the seller's available balance out to the seller
  kRefundCharge = 6,       // a guarantee-funded refund moved onto the seller (guarantee fund back)
};
absl::string_view TransactionKindName(TransactionKind kind);
absl::StatusOr<TransactionKind> TransactionKindFromName(absl::string_view name);

// One balanced movement of money. Immutable once written; corrections are new transactions.
struct LedgerTransaction {
  TransactionKind kind;
  std::string payment_id;  // the payment it belongs to (empty for payouts)
  std::string payout_id;   // the payout it belongs to (empty otherwise)
  std::string refund_id;   // the refund it pays or charges (empty otherwise)
  std::string memo;        // a readable line for statements
  std::vector<Entry> entries;
};

// Adds `amount_minor` to `to` and takes it from `from` (nothing when the amount is zero).
void Move(LedgerTransaction& tx, const AccountRef& from, const AccountRef& to,
          int64_t amount_minor);

// OK when `tx` has at least two entries, no zero entry, known currencies, owners exactly on
// per-seller accounts, and its entries sum to zero in each currency. INTERNAL otherwise: an
// unbalanced transaction is a bug, never a user error.
[[nodiscard]] absl::Status CheckBalanced(const LedgerTransaction& tx);

// Balances by account, summed from entries.
using Balances = std::map<AccountRef, int64_t>;
void Apply(const LedgerTransaction& tx, Balances& balances);

// The accounts whose balance would break BoundOf(kind) after `tx` is applied to `balances`
// (empty when none). kSellerAvailable is unbounded: a negative balance is the seller's debt.
std::vector<AccountRef> BoundViolations(const Balances& balances);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_LEDGER_H_
