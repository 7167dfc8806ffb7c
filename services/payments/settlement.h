#ifndef MARKETPLACE_SERVICES_PAYMENTS_SETTLEMENT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_SETTLEMENT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/money.h"
#include "services/payments/actor.h"
#include "services/payments/escrow.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_context.h"
#include "services/payments/processor_operations.h"

namespace marketplace::payments {

// What one automatic-release round did.
struct ReleaseCounts {
  int due = 0;       // due payments listed
  int released = 0;  // released by this call
  int failed = 0;    // failed, deferred with backoff
};

struct RefundRequest {
  RequestKey key;
  std::string payment_id;
  common::Money amount;
  std::string reason;
  // A SERVICE refunding for the payment's seller: the seller rule applies.
  bool on_behalf_of_seller = false;
  // Who pays (staff and SERVICE only); unset: kSellerFirst.
  std::optional<RefundFunding> funded_by;
};

// ChargeSellerForRefund: the guarantee-funded part of `refund_id` moved onto the seller.
struct RefundChargeRequest {
  RequestKey key;
  std::string payment_id;
  std::string refund_id;
  std::string reason;
};

// SettleOwedRefund's payment_id naming no payment: the refund is found by its id alone (the
// only way to name a refund without payment, a capture given back).
inline constexpr char kAnyPayment[] = "-";

struct OwedRefundSettlement {
  RequestKey key;
  std::string payment_id;  // or kAnyPayment
  std::string refund_id;
  std::string settlement_reference;
  std::string note;
};

struct DisputeClaim {
  RequestKey key;
  std::string payment_id;
  std::string reason_code;
  std::string description;
};

struct DisputeResolution {
  RequestKey key;
  std::string payment_id;
  DisputeOutcome outcome = DisputeOutcome::kBuyerWins;
  std::optional<common::Money> buyer_share;  // SPLIT only
  std::string explanation;
};

// What happens to a payment after checkout: refunds (and owed refunds paid by other means),
// disputes, and the automatic release when the hold period ends. Every change runs in ONE
// idempotent transaction with its ledger transaction, history and outbox event; money going
// back to the buyer is sent through the processor once that transaction has committed.
class Settlement {
 public:
  // `context` and `operations` must outlive the settlement.
  Settlement(const PaymentsContext* context, ProcessorOperations* operations)
      : context_(*context), operations_(operations) {}

  // REFUND_DECLINED when the processor refused it for good (the amount is then owed).
  [[nodiscard]] absl::StatusOr<PaymentRecord> RefundPayment(const Actor& actor,
                                                            const RefundRequest& request);
  // Moves a refund's guarantee-funded part onto the seller, once (payments.proto).
  [[nodiscard]] absl::StatusOr<PaymentRecord> ChargeSellerForRefund(
      const Actor& actor, const RefundChargeRequest& request);
  // A REFUND_FAILED refund paid to the buyer by other means: refunds_owed -> refunds_out,
  // once. payment_id kAnyPayment finds the refund by its id; for a refund without payment
  // the answer is the capture it gave back as a payment record without id (order, buyer,
  // seller, the refund's amount).
  [[nodiscard]] absl::StatusOr<PaymentRecord> SettleOwedRefund(const Actor& actor,
                                                               const OwedRefundSettlement& request);
  [[nodiscard]] absl::StatusOr<PaymentRecord> OpenDispute(const Actor& actor,
                                                          const DisputeClaim& request);
  [[nodiscard]] absl::StatusOr<PaymentRecord> ResolveDispute(const Actor& actor,
                                                             const DisputeResolution& request);

  // The automatic release: claims up to `batch_size` HELD payments whose release_due_at has
  // passed, oldest due first (SKIP LOCKED, so replicas take disjoint batches, never wait for
  // each other and never release one twice), and releases them all in ONE transaction (each
  // with its own ledger transaction, history line and outbox event). When that transaction
  // fails for one payment, the batch's payments are released one by one, each in its own
  // transaction: a payment whose release fails is skipped, counted and deferred with
  // exponential backoff (retry_initial_backoff doubled per failure, at most
  // retry_max_backoff; on every replica, as it is recorded on the payment); the others
  // proceed. An error only when no payment could be claimed (e.g. the database is down).
  [[nodiscard]] absl::StatusOr<ReleaseCounts> ReleaseDuePayments(int batch_size);

 private:
  // SettleOwedRefund of a refund without payment, in one idempotent transaction with its row
  // locked.
  absl::StatusOr<PaymentRecord> SettleRefundWithoutPayment(const Actor& actor,
                                                           const OwedRefundSettlement& request);

  const PaymentsContext& context_;
  ProcessorOperations* operations_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_SETTLEMENT_H_
