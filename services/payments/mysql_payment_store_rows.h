#ifndef MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_ROWS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
#include "services/payments/payment_records.h"

namespace marketplace::payments {


// SQL for the payments tables, behind MySqlPaymentStore (mysql_payment_store.h); every
// function runs in the caller's transaction unless it takes the pool.
namespace store {

[[nodiscard]] absl::StatusOr<std::optional<PaymentRecord>> LoadPayment(common::db::Transaction& tx,
                                                                       absl::string_view payment_id,
                                                                       bool for_update);
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

[[nodiscard]] absl::Status UpsertHoldPolicy(common::db::Transaction& tx,
                                            const HoldPolicyRecord& policy);
[[nodiscard]] absl::StatusOr<std::optional<HoldPolicyRecord>> LoadHoldPolicy(
    common::db::Transaction& tx, absl::string_view seller_id);

[[nodiscard]] absl::Status InsertPayout(common::db::Transaction& tx, const PayoutRecord& payout);
[[nodiscard]] absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(
    common::db::ConnectionPool& pool, absl::string_view payout_id);
// A seller's payouts, newest first, strictly older than `after` (created_at, payout_id).
[[nodiscard]] absl::StatusOr<std::vector<PayoutRecord>> ListPayouts(
    common::db::Transaction& tx, absl::string_view seller_id,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit);

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
// Records ChargeSellerForRefund on a REFUND operation; false when it was charged before.
[[nodiscard]] absl::StatusOr<bool> ChargeRefund(common::db::Transaction& tx,
                                                const RefundCharge& charge, absl::Time now);
// The REFUND operations of a payment, oldest first.
[[nodiscard]] absl::StatusOr<std::vector<ProcessorOperation>> LoadRefunds(
    common::db::Transaction& tx, absl::string_view payment_id);
// The REFUND operations without payment (captures given back) of an order, oldest first.
[[nodiscard]] absl::StatusOr<std::vector<ProcessorOperation>> LoadRefundsWithoutPayment(
    common::db::Transaction& tx, absl::string_view order_id);
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

// Claims up to `limit` due HELD payments, oldest due first: FOR UPDATE SKIP LOCKED, so rows
// another replica holds are skipped rather than waited for.
[[nodiscard]] absl::StatusOr<std::vector<PaymentRecord>> ClaimDuePayments(
    common::db::Transaction& tx, absl::Time now, int limit);
// Claims one due HELD payment: FOR UPDATE SKIP LOCKED, so a payment another replica is
// releasing is skipped rather than waited for. nullopt when taken, no longer HELD or not due.
[[nodiscard]] absl::StatusOr<std::optional<PaymentRecord>> ClaimDuePayment(
    common::db::Transaction& tx, absl::string_view payment_id, absl::Time now);

[[nodiscard]] absl::Status DeferRelease(common::db::ConnectionPool& pool,
                                        absl::string_view payment_id, absl::Time now,
                                        absl::Duration initial, absl::Duration max);

// --- CreatePayment's intents (mysql_payment_store_intents.cc)
[[nodiscard]] std::vector<absl::StatusOr<PaymentIntent>> BeginIntents(
    common::db::ConnectionPool& pool, absl::Span<const PaymentIntent> intents);
// Per intent: empty when its authorisation was recorded (the intent open), else the outcome
// of the intent closed before (nothing recorded).
[[nodiscard]] std::vector<absl::StatusOr<std::string>> RecordAuthorizations(
    common::db::ConnectionPool& pool,
    absl::Span<const std::pair<std::string, std::string>> intent_authorizations);
[[nodiscard]] absl::Status RecordIntentReferences(common::db::ConnectionPool& pool,
                                                  absl::string_view intent_id,
                                                  absl::string_view authorization,
                                                  absl::string_view capture);
[[nodiscard]] absl::StatusOr<std::vector<PaymentIntent>> ClaimOpenIntents(
    common::db::ConnectionPool& pool, absl::Time created_before, absl::Time now,
    absl::Time lease_until, int limit);
[[nodiscard]] absl::Status CloseIntents(common::db::Transaction& tx,
                                        absl::Span<const std::string> intent_ids,
                                        absl::string_view outcome, absl::Time now);
[[nodiscard]] absl::StatusOr<bool> CloseIntent(common::db::Transaction& tx,
                                               absl::string_view intent_id,
                                               absl::string_view outcome, absl::Time now);
[[nodiscard]] absl::StatusOr<std::optional<std::string>> IntentOutcome(
    common::db::Transaction& tx, absl::string_view intent_id);
// The intent's row, locked FOR UPDATE (its outcome is not read); nullopt when there is none.
[[nodiscard]] absl::StatusOr<std::optional<PaymentIntent>> LockIntent(common::db::Transaction& tx,
                                                                      absl::string_view intent_id);

// Deletes intents closed before `closed_before` with their outcomes, `batch_size` a
// transaction, until none is left; how many.
[[nodiscard]] absl::StatusOr<int64_t> PurgeResolvedIntents(common::db::ConnectionPool& pool,
                                                           absl::Time closed_before,
                                                           int64_t batch_size);

}  // namespace store
}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_ROWS_H_
