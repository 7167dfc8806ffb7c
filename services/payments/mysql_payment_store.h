#ifndef MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "services/payments/escrow.h"
#include "services/payments/ledger.h"

namespace marketplace::payments {

// Applies the payments schema (component "payments") plus the outbox and idempotency tables.
[[nodiscard]] absl::Status ApplyPaymentsMigrations(common::db::ConnectionPool& pool);

// An empty Payment (zero EUR) to be filled in: Money has no default value.
Payment BlankPayment();

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

// Money the ledger already moved out that the processor still has to send
// (processor_operations). operation_id is the processor idempotency key.
struct ProcessorOperation {
  std::string operation_id;
  std::string kind;        // REFUND, PAYOUT
  std::string payment_id;  // REFUND
  std::string payout_id;   // PAYOUT
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
  // Keyset cursor: rows strictly older than (created_at, payment_id).
  std::optional<std::pair<absl::Time, std::string>> after;
  int limit = 20;
};

// SQL for the payments tables; every function runs in the caller's transaction.
namespace store {

[[nodiscard]] absl::StatusOr<std::optional<PaymentRecord>> LoadPayment(common::db::Transaction& tx,
                                                                       absl::string_view payment_id,
                                                                       bool for_update);
[[nodiscard]] absl::StatusOr<std::optional<PaymentRecord>> LoadPaymentByOrder(
    common::db::ConnectionPool& pool, absl::string_view order_id);
// ALREADY_EXISTS (reason ORDER_ALREADY_PAID) when the order already has a payment.
[[nodiscard]] absl::Status InsertPayment(common::db::Transaction& tx, const PaymentRecord& p);
[[nodiscard]] absl::Status UpdatePayment(common::db::Transaction& tx, const PaymentRecord& p);
[[nodiscard]] absl::Status AppendEvent(common::db::Transaction& tx, absl::string_view payment_id,
                                       absl::string_view currency, const PaymentEventRecord& event);

// The same for several payments at once, one statement each (work done in batches).
// InsertPayments: ALREADY_EXISTS (ORDER_ALREADY_PAID) when any order already has a payment.
[[nodiscard]] absl::Status InsertPayments(common::db::Transaction& tx,
                                          absl::Span<const PaymentRecord> payments);
// Locks the payments that exist among `payment_ids` (FOR UPDATE, in id order).
[[nodiscard]] absl::StatusOr<std::vector<PaymentRecord>> LoadPaymentsForUpdate(
    common::db::Transaction& tx, absl::Span<const std::string> payment_ids);
// Writes back payments locked by this transaction.
[[nodiscard]] absl::Status UpdatePayments(common::db::Transaction& tx,
                                          absl::Span<const PaymentRecord> payments);
struct PaymentEvent {
  std::string payment_id;
  std::string currency;
  PaymentEventRecord event;
};
[[nodiscard]] absl::Status AppendEvents(common::db::Transaction& tx,
                                        absl::Span<const PaymentEvent> events);

// Creates the seller's balance row for `currency` when missing, in autocommit mode outside
// any transaction (a transaction that creates it holds gap locks that make concurrent first
// payments of other sellers deadlock).
[[nodiscard]] absl::Status EnsureSellerAccounts(common::db::ConnectionPool& pool,
                                                absl::string_view seller_id,
                                                absl::string_view currency, absl::Time now);

// Locks (creating when missing) the seller's balance row for `currency`.
[[nodiscard]] absl::StatusOr<SellerAccounts> LockSellerAccounts(common::db::Transaction& tx,
                                                                absl::string_view seller_id,
                                                                absl::string_view currency,
                                                                absl::Time now);
// Writes a balanced ledger transaction: its journal rows, and the balances of the seller
// accounts it touches (each row updated with a conditional UPDATE that takes its lock, in key
// order). INTERNAL when unbalanced or when an account would leave its bound.
[[nodiscard]] absl::Status WriteLedger(common::db::Transaction& tx, const LedgerTransaction& ledger,
                                       absl::Time now);
// Several balanced ledger transactions in a few statements (work done in batches): the
// journal rows, then one UPDATE of every seller balance row touched (the rows must exist:
// EnsureSellerAccounts; the seller_accounts CHECK fails the statement when escrow or paid out
// would go below 0). Each
// must belong to a payment, with a (payment, kind) unique among them and no other
// transaction of that payment written meanwhile (its row is locked, or new).
[[nodiscard]] absl::Status WriteLedgers(common::db::Transaction& tx,
                                        absl::Span<const LedgerTransaction> ledgers,
                                        absl::Time now);

[[nodiscard]] absl::StatusOr<std::vector<PaymentEventRecord>> LoadHistory(
    common::db::Transaction& tx, absl::string_view payment_id);
[[nodiscard]] absl::StatusOr<std::vector<StoredEntry>> LoadEntries(common::db::Transaction& tx,
                                                                   absl::string_view payment_id);
[[nodiscard]] absl::StatusOr<std::vector<PaymentRecord>> ListPayments(common::db::Transaction& tx,
                                                                      const ListFilter& filter);
[[nodiscard]] absl::StatusOr<std::vector<SellerAccounts>> LoadSellerBalances(
    common::db::Transaction& tx, absl::string_view seller_id);

[[nodiscard]] absl::StatusOr<std::optional<HoldPolicyRecord>> LoadHoldPolicy(
    common::db::Transaction& tx, absl::string_view seller_id);
[[nodiscard]] absl::Status UpsertHoldPolicy(common::db::Transaction& tx,
                                            const HoldPolicyRecord& policy);

[[nodiscard]] absl::Status InsertPayout(common::db::Transaction& tx, const PayoutRecord& payout);
[[nodiscard]] absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(
    common::db::ConnectionPool& pool, absl::string_view payout_id);
// A seller's payouts, newest first, strictly older than `after` (created_at, payout_id).
[[nodiscard]] absl::StatusOr<std::vector<PayoutRecord>> ListPayouts(
    common::db::Transaction& tx, absl::string_view seller_id,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit);
[[nodiscard]] absl::Status MarkPayoutPaid(common::db::ConnectionPool& pool,
                                          absl::string_view payout_id,
                                          absl::string_view processor_reference);

// PENDING -> FAILED in the caller's transaction; false when the payout was not PENDING.
[[nodiscard]] absl::StatusOr<bool> MarkPayoutFailed(common::db::Transaction& tx,
                                                    absl::string_view payout_id);

[[nodiscard]] absl::Status InsertOperation(common::db::Transaction& tx,
                                           const ProcessorOperation& op);
[[nodiscard]] absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(
    common::db::ConnectionPool& pool, absl::string_view operation_id);
// One operation read in the caller's transaction (FOR UPDATE when `for_update`).
[[nodiscard]] absl::StatusOr<std::optional<ProcessorOperation>> LoadOperationTx(
    common::db::Transaction& tx, absl::string_view operation_id, bool for_update);
// FAILED -> SETTLED with the settlement's reference, who and when; false when it was not
// FAILED.
[[nodiscard]] absl::StatusOr<bool> SettleOperation(common::db::Transaction& tx,
                                                   absl::string_view operation_id,
                                                   absl::string_view settlement_reference,
                                                   absl::string_view settled_by, absl::Time now);
// The REFUND operations of a payment, oldest first.
[[nodiscard]] absl::StatusOr<std::vector<ProcessorOperation>> LoadRefunds(
    common::db::Transaction& tx, absl::string_view payment_id);
// Claims up to `limit` PENDING operations due at `now` (FOR UPDATE SKIP LOCKED, so replicas
// never claim the same one) and leases them: their next_attempt_at moves to `lease_until`, so
// no other worker picks them up while this one asks the processor. Commits in its own
// transaction.
[[nodiscard]] absl::StatusOr<std::vector<ProcessorOperation>> ClaimDueOperations(
    common::db::ConnectionPool& pool, absl::Time now, absl::Time lease_until, int limit);
// PENDING -> `state` (DONE or FAILED) in the caller's transaction; false when it was no
// longer PENDING (another attempt finished it first).
[[nodiscard]] absl::StatusOr<bool> FinishOperation(common::db::Transaction& tx,
                                                   absl::string_view operation_id,
                                                   absl::string_view state,
                                                   absl::string_view processor_reference,
                                                   absl::Time now);
// A transient failure: one more attempt counted, the next one at `next_attempt_at`.
[[nodiscard]] absl::Status RescheduleOperation(common::db::ConnectionPool& pool,
                                               absl::string_view operation_id,
                                               absl::string_view error, absl::Time next_attempt_at,
                                               absl::Time now);
// PENDING -> PAID in the caller's transaction.
[[nodiscard]] absl::Status MarkPayoutPaidTx(common::db::Transaction& tx,
                                            absl::string_view payout_id,
                                            absl::string_view processor_reference);

[[nodiscard]] absl::Status InsertDispute(common::db::Transaction& tx, const DisputeRecord& d,
                                         absl::Time now);
[[nodiscard]] absl::Status ResolveDisputeRow(common::db::Transaction& tx,
                                             absl::string_view payment_id, DisputeOutcome outcome,
                                             std::optional<int64_t> buyer_share_minor,
                                             absl::string_view explanation,
                                             absl::string_view resolved_by, absl::Time now);

// Ids of HELD payments due for release at `now`, oldest due first (not locked).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> DuePayments(common::db::ConnectionPool& pool,
                                                                   absl::Time now, int limit);
// Claims one due HELD payment: FOR UPDATE SKIP LOCKED, so a payment another replica is
// releasing is skipped rather than waited for. nullopt when taken, no longer HELD or not due.
[[nodiscard]] absl::StatusOr<std::optional<PaymentRecord>> ClaimDuePayment(
    common::db::Transaction& tx, absl::string_view payment_id, absl::Time now);

}  // namespace store
}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_
