#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_RECORDS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/money.h"
#include "services/payments/escrow.h"
#include "services/payments/ledger.h"

// The payments domain's records: what the store keeps and the flows read and write. No SQL,
// no protos.
namespace marketplace::payments {

// An empty Payment (zero EUR) to be filled in: Money has no default value.
inline Payment BlankPayment() {
  return Payment{"", "", common::Money::Zero(*common::FindCurrency("EUR"))};
}

// A payment as stored: the escrow figures plus who, what for and when.
struct PaymentRecord {
  Payment money = BlankPayment();
  std::string order_id;
  std::string buyer_id;
  std::string processor_reference;
  absl::Time created_at;
  absl::Time release_due_at;
  std::optional<absl::Time> released_at;
};

// One row of a payment's history.
struct PaymentEventRecord {
  std::string type;  // CREATED, DELIVERY_CONFIRMED, AUTO_RELEASED, REFUNDED, ...
  PaymentState state = PaymentState::kHeld;
  std::string actor;
  std::optional<int64_t> amount_minor;  // in the payment's currency
  std::string reason_code;
  std::string note;
  absl::Time occurred_at;
};

// One stored ledger entry with its transaction's kind.
struct StoredEntry {
  int64_t transaction_id = 0;
  TransactionKind kind = TransactionKind::kCapture;
  std::string refund_id;  // refund and refund_charge transactions of RefundPayment refunds
  Entry entry;
  absl::Time created_at;
};

// The balances of a seller's accounts in one currency (the seller_accounts row).
struct SellerAccounts {
  std::string seller_id;
  std::string currency;
  int64_t escrow_minor = 0;
  int64_t available_minor = 0;  // negative: debt
  int64_t paid_out_minor = 0;
};

struct HoldPolicyRecord {
  std::string seller_id;
  absl::Duration hold;
  std::string reason;
  std::string updated_by;
  absl::Time updated_at;
};

struct PayoutRecord {
  std::string payout_id;
  std::string seller_id;
  std::string currency;
  int64_t amount_minor = 0;
  std::string payout_account;
  std::string state;  // PENDING, PAID, FAILED (refused by the processor, money returned)
  std::string processor_reference;
  absl::Time created_at;
};

// CreatePayment's durable record of intent (payment_intents), committed before the processor
// is called; closed by one outcome (payment_intent_outcomes).
struct PaymentIntent {
  std::string intent_id;  // "int_" + 32 hex of SHA-256(caller, method, request_id)
  std::string caller;
  std::string method;
  std::string request_id;
  std::string request_hash;
  std::string payment_id;  // the payment's id, the same for every retry
  std::string order_id;
  std::string buyer_id;
  std::string seller_id;
  std::string currency;
  int64_t amount_minor = 0;
  std::string authorization_reference;  // once the processor authorised
  std::string capture_reference;        // once the processor captured
  std::string outcome;                  // empty while open; COMMITTED, RETURNED, REFUNDED, ABANDONED
  absl::Time created_at;
};

// Money the ledger already moved out that the processor still has to send
// (processor_operations). operation_id is the processor idempotency key.
struct ProcessorOperation {
  std::string operation_id;
  std::string kind;        // REFUND, PAYOUT
  std::string payment_id;  // REFUND; empty for a capture given back without a payment
  std::string payout_id;   // PAYOUT
  // REFUND without payment (a returned or abandoned capture): the order and buyer of the
  // CreatePayment request whose capture it gives back; empty otherwise.
  std::string order_id;
  std::string buyer_id;
  std::string seller_id;
  std::string currency;
  int64_t amount_minor = 0;
  std::string target_reference;  // REFUND: capture reference; PAYOUT: payout account
  std::string state;             // PENDING, DONE, FAILED
  int attempts = 0;              // failed attempts so far
  absl::Time next_attempt_at;
  std::string processor_reference;
  std::string last_error;
  absl::Time created_at;
  absl::Time updated_at;  // last change of state or attempt
  // SETTLED (a FAILED refund paid to the buyer by other means) only.
  std::string settlement_reference;
  std::string settled_by;
  std::optional<absl::Time> settled_at;
  // REFUND rows of RefundPayment: who paid it ("SELLER_BALANCE", "GUARANTEE_FUND"; empty for
  // dispute refunds and rows from before), the seller's and the guarantee fund's money in it.
  std::string funded_by;
  int64_t paid_by_seller_minor = 0;
  int64_t paid_by_guarantee_minor = 0;
  bool on_behalf_of_seller = false;
  // ChargeSellerForRefund: moved onto the seller, what its balance could not carry, by whom
  // and when (unset: not charged).
  int64_t charged_minor = 0;
  int64_t charge_shortfall_minor = 0;
  std::string charged_by;
  std::optional<absl::Time> charged_at;
};

// What ChargeSellerForRefund records on the refund.
struct RefundCharge {
  std::string refund_id;
  int64_t charged_minor = 0;
  int64_t shortfall_minor = 0;
  std::string charged_by;
};

struct DisputeRecord {
  std::string payment_id;
  std::string reason_code;
  std::string description;
  std::string opened_by;
};

struct ListFilter {
  std::string buyer_id;   // empty: any
  std::string seller_id;  // empty: any
  std::optional<PaymentState> state;
  std::optional<std::string> order_id;  // unset: any; set: exactly this order
  // Keyset cursor: rows strictly older than (created_at, payment_id).
  std::optional<std::pair<absl::Time, std::string>> after;
  int limit = 20;
};

// A history row with the payment it belongs to, for writes of several payments at once.
struct PaymentEvent {
  std::string payment_id;
  std::string currency;
  PaymentEventRecord event;
};

// The figures VerifyLedger compares, as the database sums them.
struct LedgerFigures {
  int64_t transactions = 0;
  int64_t entries = 0;
  struct Unbalanced {
    int64_t transaction_id = 0;
    std::string currency;
    int64_t sum = 0;
  };
  std::vector<Unbalanced> unbalanced;      // transactions whose entries do not sum to 0
  std::vector<int64_t> thin_transactions;  // transactions with fewer than two entries
  struct AccountSum {
    std::string account_kind;
    std::string owner;  // empty in totals
    std::string currency;
    int64_t sum = 0;
  };
  std::vector<AccountSum> totals;    // per account kind and currency, in that order
  std::vector<AccountSum> accounts;  // per account (kind, owner, currency)
  std::vector<SellerAccounts> seller_rows;
  // Money HELD and DISPUTED payments hold, per currency.
  std::vector<std::pair<std::string, int64_t>> held_by_payments;
};

// What VerifyLedger found (ledger_audit.h).
struct LedgerReport {
  bool consistent = false;
  int64_t transactions_checked = 0;
  int64_t entries_checked = 0;
  std::vector<std::string> violations;
  std::vector<LedgerFigures::AccountSum> totals;  // per account kind and currency
  // Per currency: the escrow accounts' balance, and what HELD and DISPUTED payments hold.
  std::vector<std::pair<std::string, int64_t>> escrow_balance;
  std::vector<std::pair<std::string, int64_t>> held_by_payments;
};

// The last scheduled ledger verification (ledger_verifier.h), as recorded by whichever
// replica ran it.
struct LedgerVerificationRecord {
  absl::Time ran_at;
  bool ok = false;
  int violations = 0;
  std::string detail;  // the first violations, when any
  std::string ran_by;  // the replica
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_RECORDS_H_
