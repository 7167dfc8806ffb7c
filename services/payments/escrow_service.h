#ifndef MARKETPLACE_SERVICES_PAYMENTS_ESCROW_SERVICE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_ESCROW_SERVICE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/group_commit.h"
#include "common/db/transaction.h"
#include "common/idempotency/idempotency.h"
#include "common/outbox/outbox.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/payments/metrics.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/processor.h"
#include "common/identity_client/seller_directory.h"

namespace marketplace::payments {

namespace pb = ::marketplace::payments::v1;

// Who is acting, and on which payments the API layer allows it for the method at hand. The
// domain enforces ownership: a caller that may act only as buyer (or seller) gets
// PERMISSION_DENIED on someone else's payment.
struct Actor {
  std::string id;                   // account id; "system" for the automatic release
  bool any_payment = false;         // staff, or SERVICE with the method's scope
  bool as_buyer = false;            // may act on payments where it is the buyer
  bool as_seller = false;           // may act on payments (and balances) where it is the seller
  bool may_set_commission = false;  // CreatePayment.commission_bps (ADMIN, SERVICE)
};

struct EscrowServiceOptions {
  // Commission when a payment names none, in basis points (1000 = 10 %).
  int32_t default_commission_bps = 1000;
  // Hold period of sellers without a policy of their own.
  absl::Duration default_hold = absl::Hours(14 * 24);
  // Refunds and payouts the processor did not confirm at once (processor_operations): the
  // delay before the completion worker's first attempt, doubled after each transient failure
  // up to retry_max_backoff.
  absl::Duration retry_initial_backoff = absl::Seconds(10);
  absl::Duration retry_max_backoff = absl::Hours(1);
  // How long a worker's claim keeps other replicas off an operation while it asks the
  // processor (a crashed worker's claim lapses after it).
  absl::Duration operation_lease = absl::Minutes(2);
  // Business metrics (README "Metrics"); none when null. Must outlive the service.
  PaymentsMetrics* metrics = nullptr;
  // Group commit of CreatePayment and ConfirmDelivery: calls arriving while a batch is at the
  // database are written together in one transaction (multi-row statements), up to this many
  // (batches take 1, 2, 3, 4, 6, 8, 12, ... calls), with up to write_batches_in_flight such
  // transactions at once; CreatePayment's first reads are batched the same way.
  size_t write_batch_max = 16;
  int write_batches_in_flight = 2;
  // A batch starts beside one already at the database only when at least this many calls
  // wait (1: whenever a slot is free); fewer wait for the batch at the database, and go
  // together in a larger batch, which costs the database less per call.
  size_t write_batch_overlap_min = 8;
};

// What one CompletePendingOperations call did.
struct CompletionCounts {
  int claimed = 0;
  int done = 0;     // the processor confirmed
  int failed = 0;   // refused for good: compensation posted
  int retried = 0;  // transient failure: rescheduled with backoff
};

// The payments domain over MySQL. Every mutating method runs in ONE database transaction:
// idempotency Begin, load and lock the payment (then the seller's balance row), the escrow
// step, CheckBalanced, journal + balances + payment + history + outbox event, idempotency
// Complete; the whole transaction is retried on 1213/1205/1020. Processor calls happen
// outside the transaction with keys derived from the request id, so a retry reuses their
// result. Thread-safe.
class EscrowService {
 public:
  // All pointers must outlive the service.
  EscrowService(common::db::ConnectionPool* pool, PaymentProcessor* processor,
                common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
                EscrowServiceOptions options = {});

  absl::StatusOr<pb::Payment> CreatePayment(const Actor& actor,
                                            const pb::CreatePaymentRequest& request);
  absl::StatusOr<pb::Payment> ConfirmDelivery(const Actor& actor,
                                              const pb::ConfirmDeliveryRequest& request);
  absl::StatusOr<pb::Payment> RefundPayment(const Actor& actor,
                                            const pb::RefundPaymentRequest& request);
  absl::StatusOr<pb::Payment> SettleOwedRefund(const Actor& actor,
                                               const pb::SettleOwedRefundRequest& request);
  absl::StatusOr<pb::Payment> OpenDispute(const Actor& actor,
                                          const pb::OpenDisputeRequest& request);
  absl::StatusOr<pb::Payment> ResolveDispute(const Actor& actor,
                                             const pb::ResolveDisputeRequest& request);
  absl::StatusOr<pb::SellerHoldPolicy> SetSellerHoldPolicy(
      const Actor& actor, const pb::SetSellerHoldPolicyRequest& request);
  absl::StatusOr<pb::Payment> GetPayment(const Actor& actor, const pb::GetPaymentRequest& request);
  absl::StatusOr<pb::ListPaymentsResponse> ListPayments(const Actor& actor,
                                                        const pb::ListPaymentsRequest& request);
  absl::StatusOr<pb::SellerBalance> GetSellerBalance(const Actor& actor,
                                                     const pb::GetSellerBalanceRequest& request);
  absl::StatusOr<pb::Payout> CreatePayout(const Actor& actor,
                                          const pb::CreatePayoutRequest& request);
  absl::StatusOr<pb::ListPayoutsResponse> ListPayouts(const Actor& actor,
                                                      const pb::ListPayoutsRequest& request);
  absl::StatusOr<pb::VerifyLedgerResponse> VerifyLedger();

  // The automatic release: claims HELD payments whose release_due_at has passed (FOR UPDATE
  // SKIP LOCKED, so replicas share the work and never release one twice) and releases each
  // in its own transaction. Returns how many this call released.
  absl::StatusOr<int> ReleaseDuePayments(int batch_size = 20);

  // The completion worker's pass: claims PENDING processor operations that are due (FOR UPDATE
  // SKIP LOCKED plus a lease, so replicas never work on the same one at once), asks the
  // processor with the operation's id as idempotency key, and records the outcome: DONE;
  // FAILED with its compensation posted once; or rescheduled with exponential backoff.
  absl::StatusOr<CompletionCounts> CompletePendingOperations(int batch_size = 20);

  // Sets payments_escrow_held_minor per currency from the seller balance rows (no-op without
  // metrics).
  absl::Status RefreshEscrowMetrics();

  // Group commit so far: {batches, calls} of CreatePayment's first reads, of its writes and of
  // ConfirmDelivery.
  std::pair<int64_t, int64_t> CheckoutReadTotals() const { return checkout_reads_.Totals(); }
  std::pair<int64_t, int64_t> CreateBatchTotals() const { return creates_.Totals(); }
  std::pair<int64_t, int64_t> ConfirmBatchTotals() const { return confirmations_.Totals(); }

  // Drops idempotency keys older than 24 hours.
  absl::StatusOr<int64_t> PurgeIdempotencyKeys();

 private:
  // What a call's transaction writes (escrow_service.cc).
  struct Outcome {
    absl::StatusOr<pb::Payment> result;
    bool ran = false;  // this call made the change (not a stored result)
    bool returned_capture = false;  // refused ORDER_ALREADY_PAID; its capture goes back
  };
  struct NewPayment {  // a CreatePayment ready to be written
    common::idempotency::RequestKey key;
    std::string hash;
    PaymentRecord record;
    LedgerTransaction ledger;
    store::PaymentEvent history;
    common::outbox::Outbox::Event event;
    pb::Payment response;
  };
  struct Confirmation {  // a ConfirmDelivery to be run
    Actor actor;
    common::idempotency::RequestKey key;
    std::string hash;
    std::string payment_id;
  };
  // The group commit's batches: one transaction for all; when it fails, each call on its own.
  std::vector<Outcome> WriteNewPayments(std::vector<NewPayment>& batch);
  std::vector<Outcome> ConfirmDeliveries(std::vector<Confirmation>& batch);
  // One CreatePayment / ConfirmDelivery in an idempotent transaction of its own.
  Outcome WriteNewPayment(const NewPayment& payment);
  Outcome ConfirmAlone(const Confirmation& confirmation);

  // EnsureSellerAccounts once per seller and currency this process has seen.
  absl::Status EnsureSellerAccounts(const std::string& seller_id, const std::string& currency);

  // Asks the processor for `op` once and records the answer. The operation as it stands
  // afterwards (DONE or FAILED; still PENDING when another attempt is finishing it), or
  // UNAVAILABLE when the processor failed transiently (the operation is rescheduled).
  absl::StatusOr<ProcessorOperation> AttemptOperation(const ProcessorOperation& op);
  // The compensation of a refusal, in the transaction that marks `op` FAILED.
  absl::Status Compensate(common::db::Transaction& tx, const ProcessorOperation& op,
                          absl::Time now);

  common::db::ConnectionPool* pool_;
  PaymentProcessor* processor_;
  common::identity_client::SellerDirectory* sellers_;
  const common::Clock* clock_;
  EscrowServiceOptions options_;
  common::outbox::Outbox outbox_;
  common::idempotency::IdempotencyStore idempotency_;
  absl::Mutex known_mu_;
  absl::flat_hash_set<std::string> known_accounts_ ABSL_GUARDED_BY(known_mu_);
  // CreatePayment's read before the processor (its request's stored result, a payment of the
  // order, the seller's hold policy): concurrent calls read together in one statement.
  using CheckoutRead = common::idempotency::IdempotencyStore::Probe;
  using CheckoutFound = absl::StatusOr<common::idempotency::IdempotencyStore::Found>;
  common::GroupCommitter<CheckoutRead, CheckoutFound> checkout_reads_;
  common::GroupCommitter<NewPayment, Outcome> creates_;
  common::GroupCommitter<Confirmation, Outcome> confirmations_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_ESCROW_SERVICE_H_
