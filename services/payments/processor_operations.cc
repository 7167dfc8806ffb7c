#include "services/payments/processor_operations.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "services/payments/actor.h"
#include "services/payments/ledger.h"

namespace marketplace::payments {

std::string ProcessorKey(absl::string_view operation, const RequestKey& key) {
  const std::string digest = common::Sha256(
      absl::StrCat(key.caller, "\n", key.method, "\n", key.request_id, "\n", key.request_hash));
  return absl::StrCat(operation, "_", common::HexEncode(absl::string_view(digest).substr(0, 16)));
}

std::string IntentId(const RequestKey& key) {
  const std::string digest =
      common::Sha256(absl::StrCat(key.caller, "\n", key.method, "\n", key.request_id));
  return absl::StrCat("int_", common::HexEncode(absl::string_view(digest).substr(0, 16)));
}

ProcessorOperation RefundOperation(const std::string& operation_id, const PaymentRecord& p,
                                   int64_t amount_minor, absl::Time first_retry_at,
                                   absl::Time now) {
  ProcessorOperation op;
  op.operation_id = operation_id;
  op.kind = "REFUND";
  op.payment_id = p.money.id;
  op.seller_id = p.money.seller_id;
  op.currency = p.money.amount.currency_code();
  op.amount_minor = amount_minor;
  op.target_reference = p.processor_reference;
  op.next_attempt_at = first_retry_at;
  op.created_at = now;
  return op;
}

absl::Status ProcessorUnavailable(const absl::Status& status, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("the payment processor did not complete the ", what,
                                             " (", absl::StatusCodeToString(status.code()),
                                             "); retry with the same request_id"));
}

absl::StatusOr<ProcessorOperation> ProcessorOperations::Attempt(const ProcessorOperation& op) {
  const PaymentsOptions& options = context_.options;
  ASSIGN_OR_RETURN(common::Money amount, common::Money::Of(op.currency, op.amount_minor));
  const bool refund = op.kind == "REFUND";
  absl::StatusOr<ProcessorResult> sent =
      refund ? context_.processor->Refund(op.operation_id, op.target_reference, amount)
             : context_.processor->Payout(op.operation_id, op.target_reference, amount);
  const absl::Time now = context_.clock->Now();
  if (!sent.ok()) {
    absl::Duration backoff = options.retry_initial_backoff;
    for (int i = 0; i < op.attempts && backoff < options.retry_max_backoff; ++i) backoff *= 2;
    backoff = std::min(backoff, options.retry_max_backoff);
    RETURN_IF_ERROR(context_.store->RescheduleOperation(
        op.operation_id, absl::StatusCodeToString(sent.status().code()), now + backoff, now));
    return ProcessorUnavailable(sent.status(), refund ? "refund" : "payout");
  }
  bool compensated = false;
  RETURN_IF_ERROR(context_.store->RunInTransaction([&](PaymentTransaction& tx) -> absl::Status {
    compensated = false;
    ASSIGN_OR_RETURN(bool finished,
                     tx.FinishOperation(op.operation_id, sent->accepted ? "DONE" : "FAILED",
                                        sent->reference, now));
    if (!finished) return absl::OkStatus();  // another attempt recorded the outcome
    if (sent->accepted) {
      return refund ? absl::OkStatus() : tx.MarkPayoutPaid(op.payout_id, sent->reference);
    }
    compensated = true;
    return Compensate(tx, op, now);
  }));
  if (compensated && refund && op.payment_id.empty()) {
    // No payment's history shows it: staff find it with the order's payment (GetPayment,
    // Payment.refunds) or by this line, and settle it with SettleOwedRefund (payment_id "-").
    common::LogWarn("refund without payment refused by the processor; owed to the buyer",
                    {{"refund_id", op.operation_id},
                     {"order_id", op.order_id},
                     {"buyer_id", op.buyer_id},
                     {"amount_minor", absl::StrCat(op.amount_minor)},
                     {"currency", op.currency}});
  }
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> after,
                   context_.store->LoadOperation(op.operation_id));
  if (!after) return absl::InternalError("processor operation vanished");
  return *std::move(after);
}

absl::Status ProcessorOperations::Compensate(PaymentTransaction& tx, const ProcessorOperation& op,
                                             absl::Time now) {
  LedgerTransaction back;
  if (op.kind == "PAYOUT") {
    // The money goes back to the seller's available balance.
    ASSIGN_OR_RETURN(bool failed, tx.MarkPayoutFailed(op.payout_id));
    if (!failed) return absl::InternalError("payout not PENDING while its operation was");
    back.kind = TransactionKind::kPayout;
    back.payout_id = op.payout_id;
    back.memo = "payout refused by the processor; returned to the available balance";
    Move(back, SellerAccount(AccountKind::kSellerPaidOut, op.seller_id, op.currency),
         SellerAccount(AccountKind::kSellerAvailable, op.seller_id, op.currency), op.amount_minor);
    return tx.WriteLedger(back, now);
  }
  // A refund that cannot reach the buyer's payment method stays the buyer's money: it moves
  // from refunds_out to refunds_owed, which support pays by other means.
  if (op.payment_id.empty()) {  // a capture given back (returned or abandoned): no payment
    back.kind = TransactionKind::kRefund;
    back.memo = absl::StrCat("return of capture ", op.operation_id, " for order ", op.order_id,
                             " refused by the processor; owed to the buyer");
    Move(back, PlatformAccount(AccountKind::kRefundsOut, op.currency),
         PlatformAccount(AccountKind::kRefundsOwed, op.currency), op.amount_minor);
    return tx.WriteLedger(back, now);
  }
  ASSIGN_OR_RETURN(auto payment, tx.LoadPayment(op.payment_id, /*for_update=*/true));
  if (!payment) return absl::InternalError("refunded payment missing");
  back.kind = TransactionKind::kRefund;
  back.payment_id = op.payment_id;
  back.memo = "refund refused by the processor; owed to the buyer";
  Move(back, PlatformAccount(AccountKind::kRefundsOut, op.currency),
       PlatformAccount(AccountKind::kRefundsOwed, op.currency), op.amount_minor);
  RETURN_IF_ERROR(tx.WriteLedger(back, now));
  return tx.AppendEvent(
      op.payment_id, op.currency,
      {"REFUND_FAILED", payment->money.state, kSystemActor, op.amount_minor, "PROCESSOR_REFUSED",
       "the processor refused the refund; owed to the buyer", now});
}

absl::StatusOr<int> ProcessorOperations::RefundAbandonedCaptures(int batch_size) {
  const absl::Time now = context_.clock->Now();
  const PaymentsOptions& options = context_.options;
  ASSIGN_OR_RETURN(std::vector<PaymentIntent> intents,
                   context_.store->ClaimOpenIntents(now - options.abandoned_capture_refund_after,
                                                    now, now + options.operation_lease,
                                                    batch_size));
  int refunded = 0;
  absl::Status first_error;
  for (const PaymentIntent& intent : intents) {
    absl::StatusOr<bool> done = SettleAbandonedIntent(intent);
    if (done.ok()) {
      refunded += *done ? 1 : 0;
    } else if (first_error.ok()) {
      first_error = done.status();  // the lease lapses and a later pass retries it
    }
  }
  if (!first_error.ok()) return first_error;
  return refunded;
}

absl::StatusOr<bool> ProcessorOperations::SettleAbandonedIntent(const PaymentIntent& intent) {
  const RequestKey key{intent.caller, intent.method, intent.request_id, intent.request_hash};
  ASSIGN_OR_RETURN(common::Money amount, common::Money::Of(intent.currency, intent.amount_minor));
  std::string capture = intent.capture_reference;
  bool captured = !capture.empty();
  if (!captured && !intent.authorization_reference.empty()) {
    // The capture was asked but its answer was never recorded (a crash right after it): the
    // processor answers the same key with the capture it made (or makes it now), and what
    // is captured goes back below.
    absl::StatusOr<ProcessorResult> asked =
        context_.processor->Capture(ProcessorKey("capture", key), intent.authorization_reference,
                                    amount, common::CallOrigin{});
    if (!asked.ok()) return ProcessorUnavailable(asked.status(), "capture lookup");
    captured = asked->accepted;
    capture = asked->reference;
    if (captured) {
      RETURN_IF_ERROR(context_.store->RecordIntentReferences(
          intent.intent_id, intent.authorization_reference, capture));
    }
  }
  // Without a capture request nothing was charged: an authorisation alone lapses.
  std::optional<ProcessorOperation> refund;
  bool retry_under_way = false;
  RETURN_IF_ERROR(context_.store->RunInTransaction([&](PaymentTransaction& tx) -> absl::Status {
    refund.reset();
    retry_under_way = false;
    const absl::Time now = context_.clock->Now();
    // What was read at the claim may be stale: a late retry of the request may have recorded
    // an authorisation since (and be capturing now). Read again under the intent's row lock,
    // which RecordAuthorizations needs too: an authorisation is recorded either before this
    // read (seen here) or not at all once this transaction has closed the intent (the retry
    // then captures nothing).
    ASSIGN_OR_RETURN(std::optional<PaymentIntent> locked, tx.LockIntent(intent.intent_id));
    if (!locked) return absl::OkStatus();  // purged: closed long ago
    if (!captured && locked->authorization_reference != intent.authorization_reference) {
      // Not abandoned: the retry commits its payment, or, once the claim's lease has passed,
      // a later pass finds the authorisation and refunds what it captured.
      retry_under_way = true;
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(bool open,
                     tx.CloseIntent(intent.intent_id, captured ? "REFUNDED" : "ABANDONED", now));
    if (!open || !captured) return absl::OkStatus();  // a payment committed it meanwhile
    LedgerTransaction back;
    back.kind = TransactionKind::kRefund;
    back.memo = absl::StrCat("capture for order ", intent.order_id,
                             " without payment (request never completed) refunded to the buyer");
    Move(back, PlatformAccount(AccountKind::kBuyerFunding, intent.currency),
         PlatformAccount(AccountKind::kRefundsOut, intent.currency), intent.amount_minor);
    RETURN_IF_ERROR(tx.WriteLedger(back, now));
    ProcessorOperation op;
    op.operation_id = absl::StrCat("capture_refund_", intent.intent_id.substr(4));
    op.kind = "REFUND";
    op.order_id = intent.order_id;
    op.buyer_id = intent.buyer_id;
    op.seller_id = intent.seller_id;
    op.currency = intent.currency;
    op.amount_minor = intent.amount_minor;
    op.target_reference = capture;
    op.next_attempt_at = now + context_.options.retry_initial_backoff;
    op.created_at = now;
    RETURN_IF_ERROR(tx.InsertOperation(op));
    refund = op;
    return absl::OkStatus();
  }));
  if (retry_under_way) {
    common::LogInfo("intent past its window left open: a retry recorded an authorisation",
                    {{"intent_id", intent.intent_id}, {"order_id", intent.order_id}});
  }
  if (!refund) return false;
  common::LogWarn("refunded a capture whose payment never committed",
                  {{"intent_id", intent.intent_id}, {"order_id", intent.order_id}});
  absl::StatusOr<ProcessorOperation> sent = Attempt(*refund);  // else the worker retries it
  if (!sent.ok() && !absl::IsUnavailable(sent.status())) return sent.status();
  return true;
}

absl::StatusOr<CompletionCounts> ProcessorOperations::CompletePending(int batch_size) {
  const absl::Time now = context_.clock->Now();
  ASSIGN_OR_RETURN(
      std::vector<ProcessorOperation> ops,
      context_.store->ClaimDueOperations(now, now + context_.options.operation_lease, batch_size));
  CompletionCounts counts;
  counts.claimed = static_cast<int>(ops.size());
  absl::Status first_error;
  for (const ProcessorOperation& op : ops) {
    absl::StatusOr<ProcessorOperation> after = Attempt(op);
    if (!after.ok()) {
      if (absl::IsUnavailable(after.status())) {
        ++counts.retried;
      } else if (first_error.ok()) {
        first_error = after.status();  // the lease lapses and a later pass retries it
      }
      continue;
    }
    if (after->state == "DONE") ++counts.done;
    if (after->state == "FAILED") ++counts.failed;
  }
  if (!first_error.ok()) return first_error;
  return counts;
}

}  // namespace marketplace::payments
