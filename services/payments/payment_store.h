#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_STORE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "google/protobuf/any.pb.h"
#include "services/payments/ledger.h"
#include "services/payments/payment_records.h"

namespace marketplace::payments {

// One API request as idempotency sees it: who asked what (unique per caller and method), and
// a digest of the request's body (the same id with another body is refused).
struct RequestKey {
  std::string caller;
  std::string method;  // full method name, "/marketplace.payments.v1.Payments/RefundPayment"
  std::string request_id;
  std::string request_hash;
};

// A request's first answer as the idempotency record keeps it: OK with the response bytes, or
// the refusal (reason and field violations kept).
struct StoredAnswer {
  absl::Status status;
  std::string response;
};

// An event for the outbox, written in the transaction of the change it announces. The payload
// is the outbox's wire format (a protobuf Any, built in events.cc).
struct OutboxEvent {
  std::string topic;
  std::string key;
  google::protobuf::Any payload;
};

// An answer recorded with its request in a batch (PaymentTransaction::CompleteRequests).
struct CompletedRequest {
  RequestKey key;
  StoredAnswer answer;
};

// CreatePayment's read before the processor: its request's stored answer, a payment of the
// order, the seller's hold policy.
struct CheckoutLookup {
  RequestKey key;
  std::string order_id;
  std::string seller_id;
};
struct CheckoutFacts {
  std::optional<StoredAnswer> stored;
  std::optional<std::string> order_payment_id;  // the order's payment, when it has one
  std::optional<absl::Duration> hold;           // the seller's hold policy, when it has one
};

// The unit of work: the statements of ONE database transaction. A change, the answer recorded
// for its request and its outbox events commit together or not at all. Every call may fail
// with the transaction's error once a statement has failed.
class PaymentTransaction {
 public:
  virtual ~PaymentTransaction() = default;

  // --- payments
  [[nodiscard]] virtual absl::StatusOr<std::optional<PaymentRecord>> LoadPayment(
      absl::string_view payment_id, bool for_update) = 0;
  // Locks the payments that exist among `payment_ids` (in id order).
  [[nodiscard]] virtual absl::StatusOr<std::vector<PaymentRecord>> LoadPaymentsForUpdate(
      absl::Span<const std::string> payment_ids) = 0;
  // ALREADY_EXISTS (reason ORDER_ALREADY_PAID) when an order already has a payment.
  [[nodiscard]] virtual absl::Status InsertPayment(const PaymentRecord& payment) = 0;
  [[nodiscard]] virtual absl::Status InsertPayments(absl::Span<const PaymentRecord> payments) = 0;
  // Writes back payments this transaction locked.
  [[nodiscard]] virtual absl::Status UpdatePayment(const PaymentRecord& payment) = 0;
  [[nodiscard]] virtual absl::Status UpdatePayments(absl::Span<const PaymentRecord> payments) = 0;
  [[nodiscard]] virtual absl::Status AppendEvent(absl::string_view payment_id,
                                                 absl::string_view currency,
                                                 const PaymentEventRecord& event) = 0;
  [[nodiscard]] virtual absl::Status AppendEvents(absl::Span<const PaymentEvent> events) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<PaymentEventRecord>> LoadHistory(
      absl::string_view payment_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<StoredEntry>> LoadEntries(
      absl::string_view payment_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<PaymentRecord>> ListPayments(
      const ListFilter& filter) = 0;
  // Up to `limit` due HELD payments (release_due_at and any release_retry_at passed), oldest
  // due first, locked; those another replica holds are skipped (SKIP LOCKED: never waits for a
  // replica that is releasing them), so replicas claim disjoint batches.
  [[nodiscard]] virtual absl::StatusOr<std::vector<PaymentRecord>> ClaimDuePayments(
      absl::Time now, int limit) = 0;
  // One due HELD payment, locked; nullopt when another replica has it, or it is no longer
  // HELD or due (SKIP LOCKED: never waits for a replica that is releasing it).
  [[nodiscard]] virtual absl::StatusOr<std::optional<PaymentRecord>> ClaimDuePayment(
      absl::string_view payment_id, absl::Time now) = 0;

  // --- ledger and balances
  // Locks (creating when missing) the seller's balance row for `currency`.
  [[nodiscard]] virtual absl::StatusOr<SellerAccounts> LockSellerAccounts(
      absl::string_view seller_id, absl::string_view currency, absl::Time now) = 0;
  // A balanced ledger transaction with the balances it moves. INTERNAL when unbalanced or
  // when an account would leave its bound.
  [[nodiscard]] virtual absl::Status WriteLedger(const LedgerTransaction& ledger,
                                                 absl::Time now) = 0;
  // Several at once (group commit): each of a payment locked or new, the seller rows existing.
  [[nodiscard]] virtual absl::Status WriteLedgers(absl::Span<const LedgerTransaction> ledgers,
                                                  absl::Time now) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<SellerAccounts>> LoadSellerBalances(
      absl::string_view seller_id) = 0;
  // Every figure VerifyLedger compares, read in this (read-only) transaction.
  [[nodiscard]] virtual absl::StatusOr<LedgerFigures> LoadLedgerFigures() = 0;

  // --- hold policies, disputes, payouts
  [[nodiscard]] virtual absl::Status UpsertHoldPolicy(const HoldPolicyRecord& policy) = 0;
  // The seller's stored policy (nullopt: none, the platform default applies).
  [[nodiscard]] virtual absl::StatusOr<std::optional<HoldPolicyRecord>> LoadHoldPolicy(
      const std::string& seller_id) = 0;
  [[nodiscard]] virtual absl::Status InsertDispute(const DisputeRecord& dispute,
                                                   absl::Time now) = 0;
  [[nodiscard]] virtual absl::Status ResolveDispute(absl::string_view payment_id,
                                                    DisputeOutcome outcome,
                                                    std::optional<int64_t> buyer_share_minor,
                                                    absl::string_view explanation,
                                                    absl::string_view resolved_by,
                                                    absl::Time now) = 0;
  [[nodiscard]] virtual absl::Status InsertPayout(const PayoutRecord& payout) = 0;
  // A seller's payouts, newest first, strictly older than `after`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<PayoutRecord>> ListPayouts(
      absl::string_view seller_id, const std::optional<std::pair<absl::Time, std::string>>& after,
      int limit) = 0;
  // PENDING -> PAID.
  [[nodiscard]] virtual absl::Status MarkPayoutPaid(absl::string_view payout_id,
                                                    absl::string_view processor_reference) = 0;
  // PENDING -> FAILED; false when the payout was not PENDING.
  [[nodiscard]] virtual absl::StatusOr<bool> MarkPayoutFailed(absl::string_view payout_id) = 0;

  // --- processor operations
  [[nodiscard]] virtual absl::Status InsertOperation(const ProcessorOperation& op) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(
      absl::string_view operation_id, bool for_update) = 0;
  // The REFUND operations of a payment, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ProcessorOperation>> LoadRefunds(
      absl::string_view payment_id) = 0;
  // The REFUND operations without payment of an order (captures of CreatePayment requests
  // given back: returned for ORDER_ALREADY_PAID, or abandoned), oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ProcessorOperation>> LoadRefundsWithoutPayment(
      absl::string_view order_id) = 0;
  // Records a refund's charge to the seller, once; false when it was charged before.
  [[nodiscard]] virtual absl::StatusOr<bool> ChargeRefund(const RefundCharge& charge,
                                                          absl::Time now) = 0;
  // FAILED -> SETTLED; false when it was not FAILED.
  [[nodiscard]] virtual absl::StatusOr<bool> SettleOperation(absl::string_view operation_id,
                                                             absl::string_view settlement_reference,
                                                             absl::string_view settled_by,
                                                             absl::Time now) = 0;
  // PENDING -> `state` (DONE or FAILED); false when no longer PENDING.
  [[nodiscard]] virtual absl::StatusOr<bool> FinishOperation(absl::string_view operation_id,
                                                             absl::string_view state,
                                                             absl::string_view processor_reference,
                                                             absl::Time now) = 0;

  // --- CreatePayment's intents
  // Closes intents with an outcome; fails (ALREADY_EXISTS, the whole transaction) when one
  // was closed before, e.g. refunded by the completion worker.
  [[nodiscard]] virtual absl::Status CloseIntents(absl::Span<const std::string> intent_ids,
                                                  absl::string_view outcome, absl::Time now) = 0;
  // The same for one intent without failing: false when it was closed before.
  [[nodiscard]] virtual absl::StatusOr<bool> CloseIntent(absl::string_view intent_id,
                                                         absl::string_view outcome,
                                                         absl::Time now) = 0;
  // The intent's outcome; empty when open, nullopt when there is no such intent.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> IntentOutcome(
      absl::string_view intent_id) = 0;
  // The intent as stored now, its row locked (FOR UPDATE) until the transaction ends, so that
  // no authorisation is recorded on it meanwhile (RecordAuthorizations); its outcome is not
  // read (CloseIntent decides). nullopt when there is no such intent.
  [[nodiscard]] virtual absl::StatusOr<std::optional<PaymentIntent>> LockIntent(
      absl::string_view intent_id) = 0;

  // --- the request's answer and the events, committed with the change
  // Answers of several requests done in this transaction (group commit). ALREADY_EXISTS when
  // any request was answered before: the caller then runs its calls one by one.
  [[nodiscard]] virtual absl::Status CompleteRequests(
      absl::Span<const CompletedRequest> completed) = 0;
  [[nodiscard]] virtual absl::Status Enqueue(absl::Span<const OutboxEvent> events) = 0;
  [[nodiscard]] absl::Status Enqueue(const OutboxEvent& event) {
    return Enqueue(absl::MakeConstSpan(&event, 1));
  }
};

struct StoreTransactionOptions {
  bool read_only = false;
  // Group commit: the writes are queued and sent with the COMMIT (one round trip); an error
  // of any of them fails the COMMIT.
  bool defer_writes = false;
};

// The storage the payments domain needs. Thread-safe.
class PaymentStore {
 public:
  using TransactionBody = std::function<absl::Status(PaymentTransaction&)>;
  // The effect of one request: its response bytes, or its refusal.
  using RequestBody = std::function<absl::StatusOr<std::string>(PaymentTransaction&)>;

  virtual ~PaymentStore() = default;

  // Runs `body` in one transaction, retried whole on deadlocks and lock timeouts.
  [[nodiscard]] virtual absl::Status RunInTransaction(const TransactionBody& body,
                                                      StoreTransactionOptions options = {}) = 0;
  // The same, keeping the body's value.
  template <typename T>
  [[nodiscard]] absl::StatusOr<T> RunInTransaction(
      const std::function<absl::StatusOr<T>(PaymentTransaction&)>& body,
      StoreTransactionOptions options = {}) {
    std::optional<T> value;
    absl::Status done = RunInTransaction(
        [&](PaymentTransaction& tx) -> absl::Status {
          absl::StatusOr<T> result = body(tx);
          if (!result.ok()) return result.status();
          value = *std::move(result);
          return absl::OkStatus();
        },
        options);
    if (!done.ok()) return done;
    return *std::move(value);
  }

  // Runs `effect` at most once per request: its answer is recorded in its own transaction,
  // and a retry of the request gets the first answer (bytes or refusal) back. A definitive
  // refusal is recorded too (the effect's writes roll back) unless wrapped in KeepWrites; a
  // transient error is not, so the retry does the work. REQUEST_ID_REUSED for another body.
  [[nodiscard]] virtual absl::StatusOr<std::string> RunIdempotent(const RequestKey& key,
                                                                  const RequestBody& effect) = 0;
  // A definitive refusal whose writes commit with it (recorded in the effect's transaction).
  [[nodiscard]] virtual absl::Status KeepWrites(absl::Status refusal) const = 0;

  // Outside any transaction: the stored answer of `key` (nullopt when unknown).
  [[nodiscard]] virtual absl::StatusOr<std::optional<StoredAnswer>> FindAnswer(
      const RequestKey& key) = 0;
  // Stores `error` as the answer of `key` unless one is stored already; the answer that stands.
  [[nodiscard]] virtual absl::StatusOr<StoredAnswer> RecordError(const RequestKey& key,
                                                                 const absl::Status& error) = 0;
  // Checkout reads of several calls in one statement, one result per lookup, in order.
  [[nodiscard]] virtual std::vector<absl::StatusOr<CheckoutFacts>> ReadCheckouts(
      absl::Span<const CheckoutLookup> lookups) = 0;
  // Drops answers older than 24 hours; how many.
  [[nodiscard]] virtual absl::StatusOr<int64_t> PurgeAnswers() = 0;
  // Deletes CreatePayment intents closed (payment_intent_outcomes) more than `keep` ago, with
  // their outcome rows, `batch_size` intents per transaction; open intents are never deleted.
  // How many intents were deleted.
  [[nodiscard]] virtual absl::StatusOr<int64_t> PurgeResolvedIntents(absl::Duration keep,
                                                                     int64_t batch_size) = 0;

  // Creates the seller's balance row for `currency` when missing, outside any transaction (one
  // that created it would hold gap locks that deadlock concurrent first payments).
  [[nodiscard]] virtual absl::Status EnsureSellerAccounts(absl::string_view seller_id,
                                                          absl::string_view currency,
                                                          absl::Time now) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(
      absl::string_view operation_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(
      absl::string_view payout_id) = 0;
  // Claims up to `limit` PENDING operations due at `now` (SKIP LOCKED) and leases them until
  // `lease_until`, in a transaction of its own.
  [[nodiscard]] virtual absl::StatusOr<std::vector<ProcessorOperation>> ClaimDueOperations(
      absl::Time now, absl::Time lease_until, int limit) = 0;
  // A transient failure: one more attempt counted, the next one at `next_attempt_at`.
  [[nodiscard]] virtual absl::Status RescheduleOperation(absl::string_view operation_id,
                                                         absl::string_view error,
                                                         absl::Time next_attempt_at,
                                                         absl::Time now) = 0;
  // CreatePayment's intents, written (committed) before the processor is called, several
  // calls at once (group commit), one result per intent, in order: the stored intent of the
  // same request when there is one (its payment id, what the processor answered, its
  // outcome), else the intent as written. REQUEST_ID_REUSED when the stored intent has another
  // request hash.
  [[nodiscard]] virtual std::vector<absl::StatusOr<PaymentIntent>> BeginIntents(
      absl::Span<const PaymentIntent> intents) = 0;
  // What the processor answered, recorded as soon as it answered.
  [[nodiscard]] virtual absl::Status RecordIntentReferences(absl::string_view intent_id,
                                                            absl::string_view authorization,
                                                            absl::string_view capture) = 0;
  // The authorisations of several intents whose capture is about to be asked, in one
  // transaction (group commit: the intents locked in id order, their outcomes read, the open
  // ones updated), each only on an intent still open: one result per intent, in
  // order, empty when recorded, else the outcome of the intent closed before (the completion
  // worker, a twin), whose authorisation is not recorded and must not be captured. Serialised
  // with the worker's closing transaction by the intent's row lock (LockIntent).
  [[nodiscard]] virtual std::vector<absl::StatusOr<std::string>> RecordAuthorizations(
      absl::Span<const std::pair<std::string, std::string>> intent_authorizations) = 0;
  // Claims up to `limit` open intents created at or before `created_before` (SKIP LOCKED) and
  // leases them until `lease_until`, in a transaction of its own.
  [[nodiscard]] virtual absl::StatusOr<std::vector<PaymentIntent>> ClaimOpenIntents(
      absl::Time created_before, absl::Time now, absl::Time lease_until, int limit) = 0;

  // A failed automatic release of `payment_id`: counted, and the payment is not due again
  // before now + initial * 2^(failures before), at most now + max.
  [[nodiscard]] virtual absl::Status DeferRelease(absl::string_view payment_id, absl::Time now,
                                                  absl::Duration initial, absl::Duration max) = 0;
  // Money in escrow per currency, from the seller balance rows.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
  EscrowHeldByCurrency() = 0;

  // The scheduled ledger verification (one for all replicas). Claims the run when it is due at
  // `now` and no other replica's lease is running, leasing it to `replica` until `lease_until`;
  // false when not due or another replica holds it. One short transaction.
  [[nodiscard]] virtual absl::StatusOr<bool> ClaimLedgerVerification(absl::Time now,
                                                                     absl::Time lease_until,
                                                                     absl::string_view replica) = 0;
  // Records the result of the run `replica` claimed and when the next is due; the lease ends.
  [[nodiscard]] virtual absl::Status RecordLedgerVerification(
      const LedgerVerificationRecord& result, absl::Time next_run_at) = 0;
  // The last recorded result (nullopt before the first run).
  [[nodiscard]] virtual absl::StatusOr<std::optional<LedgerVerificationRecord>>
  LastLedgerVerification() = 0;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_STORE_H_
