#include "services/payments/settlement.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/payments/events.h"
#include "services/payments/ledger.h"
#include "services/payments/payment_mutation.h"
#include "services/payments/stored_answers.h"

namespace marketplace::payments {

absl::StatusOr<PaymentRecord> Settlement::RefundPayment(const Actor& actor,
                                                        const RefundRequest& req) {
  // Who may choose who pays: only a SERVICE with payments.refunds acts for the seller, and
  // only staff or such a SERVICE choose the funding. Checked before anything is read.
  if (req.on_behalf_of_seller && !actor.as_service) {
    return common::PermissionDenied(
        "on_behalf_of_seller: only a SERVICE caller with payments.refunds may set it");
  }
  if (req.funded_by && !actor.any_payment) {
    return common::PermissionDenied(
        "funded_by: only staff (SUPPORT_AGENT, ADMIN) or a SERVICE with payments.refunds may "
        "set it");
  }
  // The seller rule: a SELLER's own refund, or one a SERVICE makes on its behalf.
  const bool seller_rule = !actor.any_payment || req.on_behalf_of_seller;
  const RefundFunding funding = req.funded_by.value_or(RefundFunding::kSellerFirst);
  const std::string operation_id = ProcessorKey("refund", req.key);
  const int64_t amount_minor = req.amount.amount_minor();
  bool ran = false;  // this call recorded the refund (not a stored answer)
  ASSIGN_OR_RETURN(
      PaymentRecord payment,
      MutatePayment(
          *context_.store, *context_.clock, actor, req.key, req.payment_id,
          [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
            // The refund of this very request (same caller, request_id and body: the same
            // operation id) was recorded before, and its idempotency record has been purged
            // since (24 h) while processor_operations rows are kept for good: a retry of it,
            // answered below from the operation as the stored record would have answered it.
            // Nothing is recorded again (no second refund, no duplicate operation).
            ASSIGN_OR_RETURN(std::optional<ProcessorOperation> recorded,
                             tx.LoadOperation(operation_id, /*for_update=*/false));
            if (recorded) return absl::OkStatus();
            ran = true;
            // After release the seller's share comes from its available balance (locked with
            // the payment, so concurrent refunds and payouts see each other); what that
            // balance cannot cover, only staff or support may refund: the guarantee fund pays.
            std::optional<int64_t> available;
            if (p.money.state == PaymentState::kReleased &&
                funding == RefundFunding::kSellerFirst) {
              ASSIGN_OR_RETURN(SellerAccounts accounts,
                               tx.LockSellerAccounts(p.money.seller_id,
                                                     p.money.amount.currency_code(), now));
              available = accounts.available_minor;
            }
            ASSIGN_OR_RETURN(EscrowStep step, Refund(p.money, req.amount, available, funding));
            if (step.after.guarantee_minor > p.money.guarantee_minor && seller_rule) {
              return common::FailedPrecondition(
                  "REFUND_EXCEEDS_SELLER_BALANCE",
                  absl::StrCat("a seller refunds a released payment only up to its available "
                               "balance (",
                               std::max<int64_t>(available.value_or(0), 0),
                               " minor units now); staff or support refund the rest, which the "
                               "platform's guarantee fund carries"));
            }
            step.transaction.refund_id = operation_id;
            step.transaction.memo =
                absl::StrCat("refund ", operation_id, " to the buyer, ",
                             funding == RefundFunding::kGuaranteeFund ? "guarantee fund"
                                                                      : "seller first",
                             req.on_behalf_of_seller ? ", on behalf of the seller" : "");
            RETURN_IF_ERROR(tx.WriteLedger(step.transaction, now));
            p.money = step.after;
            RETURN_IF_ERROR(tx.AppendEvent(
                p.money.id, p.money.amount.currency_code(),
                {"REFUNDED", p.money.state, actor.id, amount_minor, "", req.reason, now}));
            ProcessorOperation op = RefundOperation(
                operation_id, p, amount_minor, now + context_.options.retry_initial_backoff, now);
            op.funded_by =
                funding == RefundFunding::kGuaranteeFund ? "GUARANTEE_FUND" : "SELLER_BALANCE";
            op.paid_by_seller_minor = step.paid_by_seller_minor;
            op.paid_by_guarantee_minor = step.paid_by_guarantee_minor;
            op.on_behalf_of_seller = req.on_behalf_of_seller;
            ASSIGN_OR_RETURN(OutboxEvent event, PaymentRefundedEvent(p, op, req.reason));
            RETURN_IF_ERROR(tx.Enqueue(event));
            return tx.InsertOperation(op);
          }));
  if (ran) context_.observer->RefundRecorded();
  // The money goes back through the processor once the ledger says so, keyed by the
  // operation id: this call's attempt, its retries and the completion worker send it once.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   context_.store->LoadOperation(operation_id));
  if (!op) return absl::InternalError("refund operation missing");
  if (op->state == "PENDING") {
    ASSIGN_OR_RETURN(ProcessorOperation after, operations_->Attempt(*op));
    op = after;
  }
  // Refused for good, the refund stays refused for this request and its retries, also once
  // support has paid the buyer by other means (SETTLED): the answer is the first one's.
  if (op->state == "FAILED") {
    return common::FailedPrecondition(
        "REFUND_DECLINED",
        "the processor refused the refund to the buyer's payment method; the amount is "
        "recorded as owed to the buyer (refunds_owed) for support to pay by other means");
  }
  if (op->state == "SETTLED") {
    return common::FailedPrecondition(
        "REFUND_DECLINED",
        "the processor refused the refund to the buyer's payment method; support has since "
        "paid the amount to the buyer by other means (SettleOwedRefund)");
  }
  return payment;
}

absl::StatusOr<PaymentRecord> Settlement::ChargeSellerForRefund(const Actor& actor,
                                                                const RefundChargeRequest& req) {
  if (!actor.any_payment) {
    return common::PermissionDenied(
        "only staff or a SERVICE with payments.refunds charge a refund to the seller");
  }
  bool charged_now = false;  // this call recorded the charge (not a stored answer)
  absl::StatusOr<PaymentRecord> result = MutatePayment(
      *context_.store, *context_.clock, actor, req.key, req.payment_id,
      [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        // The payment row is locked (MutatePayment), then the refund's row: concurrent
        // charges of one refund queue here and the second sees the first's charge.
        ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                         tx.LoadOperation(req.refund_id, /*for_update=*/true));
        if (!op || op->kind != "REFUND" || op->payment_id != p.money.id) {
          return common::NotFound("refund", req.refund_id);
        }
        if (op->charged_at) {
          return common::FailedPrecondition(
              "REFUND_ALREADY_CHARGED",
              absl::StrCat("the refund was charged to the seller already (",
                           op->charged_minor, " minor units)"));
        }
        if (op->paid_by_guarantee_minor <= 0) {
          return common::FailedPrecondition(
              "REFUND_NOT_GUARANTEE_FUNDED",
              "the guarantee fund paid nothing of this refund: there is nothing to charge");
        }
        // The seller's available balance, locked in this transaction (payouts and refunds
        // of the seller wait for it): the charge never takes it below zero.
        ASSIGN_OR_RETURN(SellerAccounts accounts,
                         tx.LockSellerAccounts(p.money.seller_id, op->currency, now));
        std::optional<EscrowStep> step = ChargeSeller(p.money, op->operation_id,
                                                      op->paid_by_guarantee_minor,
                                                      accounts.available_minor);
        if (!step) {
          return common::FailedPrecondition(
              "INSUFFICIENT_AVAILABLE_BALANCE",
              "the seller's available balance is empty: nothing can be charged now (a refund "
              "never puts a seller in debt); try again once the seller has money available");
        }
        RETURN_IF_ERROR(tx.WriteLedger(step->transaction, now));
        p.money = step->after;
        const int64_t charged = step->paid_by_seller_minor;
        ASSIGN_OR_RETURN(bool recorded,
                         tx.ChargeRefund({op->operation_id, charged,
                                          op->paid_by_guarantee_minor - charged, actor.id},
                                         now));
        if (!recorded) return absl::AbortedError("refund charged concurrently; retry");
        charged_now = true;
        return tx.AppendEvent(p.money.id, op->currency,
                              {"REFUND_CHARGED_TO_SELLER", p.money.state, actor.id, charged, "",
                               absl::StrCat(op->operation_id, ": ", req.reason), now});
      });
  if (result.ok() && charged_now) context_.observer->RefundChargedToSeller();
  return result;
}

absl::StatusOr<PaymentRecord> Settlement::SettleOwedRefund(const Actor& actor,
                                                           const OwedRefundSettlement& req) {
  if (!actor.any_payment) {
    return common::PermissionDenied("only staff or payments.refunds settle owed refunds");
  }
  std::string payment_id = req.payment_id;
  if (payment_id == kAnyPayment) {
    // The refund named by its id alone: a refund of a payment is settled on that payment
    // (its row locked first, as always); one without payment on its own.
    ASSIGN_OR_RETURN(std::optional<ProcessorOperation> named,
                     context_.store->LoadOperation(req.refund_id));
    if (!named || named->payment_id.empty()) return SettleRefundWithoutPayment(actor, req);
    payment_id = named->payment_id;
  }
  return MutatePayment(
      *context_.store, *context_.clock, actor, req.key, payment_id,
      [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                         tx.LoadOperation(req.refund_id, /*for_update=*/true));
        if (!op || op->kind != "REFUND" || op->payment_id != p.money.id) {
          return common::NotFound("refund", req.refund_id);
        }
        if (op->state == "SETTLED") {
          return common::FailedPrecondition(
              "REFUND_ALREADY_SETTLED",
              absl::StrCat("the refund was settled already (", op->settlement_reference, ")"));
        }
        ASSIGN_OR_RETURN(bool settled, tx.SettleOperation(op->operation_id,
                                                          req.settlement_reference, actor.id, now));
        if (!settled) {
          return common::FailedPrecondition(
              "REFUND_NOT_OWED", "only a refund the processor refused (REFUND_FAILED) is owed");
        }
        LedgerTransaction paid;
        paid.kind = TransactionKind::kRefund;
        paid.payment_id = p.money.id;
        paid.memo = "owed refund paid to the buyer by other means";
        Move(paid, PlatformAccount(AccountKind::kRefundsOwed, op->currency),
             PlatformAccount(AccountKind::kRefundsOut, op->currency), op->amount_minor);
        RETURN_IF_ERROR(tx.WriteLedger(paid, now));
        return tx.AppendEvent(
            p.money.id, op->currency,
            {"REFUND_SETTLED", p.money.state, actor.id, op->amount_minor, "",
             req.note.empty() ? req.settlement_reference
                              : absl::StrCat(req.settlement_reference, ": ", req.note),
             now});
      });
}

absl::StatusOr<PaymentRecord> Settlement::SettleRefundWithoutPayment(
    const Actor& actor, const OwedRefundSettlement& req) {
  ASSIGN_OR_RETURN(
      std::string answer,
      context_.store->RunIdempotent(
          req.key, [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
            const absl::Time now = context_.clock->Now();
            ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                             tx.LoadOperation(req.refund_id, /*for_update=*/true));
            if (!op || op->kind != "REFUND" || !op->payment_id.empty()) {
              return common::NotFound("refund", req.refund_id);
            }
            if (op->state == "SETTLED") {
              return common::FailedPrecondition(
                  "REFUND_ALREADY_SETTLED",
                  absl::StrCat("the refund was settled already (", op->settlement_reference, ")"));
            }
            ASSIGN_OR_RETURN(
                bool settled,
                tx.SettleOperation(op->operation_id, req.settlement_reference, actor.id, now));
            if (!settled) {
              return common::FailedPrecondition(
                  "REFUND_NOT_OWED", "only a refund the processor refused (REFUND_FAILED) is owed");
            }
            // The same movement as for a payment's refund, on no payment: the reference
            // and the note go to the transaction's memo (there is no history to keep them).
            LedgerTransaction paid;
            paid.kind = TransactionKind::kRefund;
            paid.memo =
                absl::StrCat("owed refund ", op->operation_id, " (order ", op->order_id,
                             ") paid to the buyer by other means: ", req.settlement_reference,
                             req.note.empty() ? "" : ": ", req.note);
            Move(paid, PlatformAccount(AccountKind::kRefundsOwed, op->currency),
                 PlatformAccount(AccountKind::kRefundsOut, op->currency), op->amount_minor);
            RETURN_IF_ERROR(tx.WriteLedger(paid, now));
            // The answer: the capture the refund gave back, as a payment that was never made
            // (no payment id).
            PaymentRecord capture;
            capture.order_id = op->order_id;
            capture.buyer_id = op->buyer_id;
            capture.money.seller_id = op->seller_id;
            ASSIGN_OR_RETURN(capture.money.amount,
                             common::Money::Of(op->currency, op->amount_minor));
            capture.created_at = op->created_at;
            return EncodePaymentAnswer(capture);
          }));
  return DecodePaymentAnswer(answer);
}

absl::StatusOr<PaymentRecord> Settlement::OpenDispute(const Actor& actor, const DisputeClaim& req) {
  bool ran = false;
  absl::StatusOr<PaymentRecord> opened = MutatePayment(
      *context_.store, *context_.clock, actor, req.key, req.payment_id,
      [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        ran = true;
        ASSIGN_OR_RETURN(Payment after, payments::OpenDispute(p.money));
        p.money = after;
        RETURN_IF_ERROR(
            tx.InsertDispute({p.money.id, req.reason_code, req.description, actor.id}, now));
        RETURN_IF_ERROR(tx.AppendEvent(p.money.id, p.money.amount.currency_code(),
                                       {"DISPUTE_OPENED", p.money.state, actor.id, std::nullopt,
                                        req.reason_code, req.description, now}));
        ASSIGN_OR_RETURN(OutboxEvent event, DisputeOpenedEvent(p, req.reason_code));
        return tx.Enqueue(event);
      });
  if (opened.ok() && ran) context_.observer->DisputeOpened();
  return opened;
}

absl::StatusOr<PaymentRecord> Settlement::ResolveDispute(const Actor& actor,
                                                         const DisputeResolution& req) {
  const std::string operation_id = ProcessorKey("dispute_refund", req.key);
  bool ran = false;
  absl::StatusOr<PaymentRecord> resolved = MutatePayment(
      *context_.store, *context_.clock, actor, req.key, req.payment_id,
      [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        // This very request (same caller, request_id and body: the same operation id) resolved
        // the dispute with a refund to the buyer before, and its idempotency record has been
        // purged since (24 h) while processor_operations rows are kept for good: a retry of
        // it, answered below with the resolved payment as the first call was, its refund sent
        // while PENDING. Nothing is recorded again (no second resolution or refund).
        ASSIGN_OR_RETURN(std::optional<ProcessorOperation> recorded,
                         tx.LoadOperation(operation_id, /*for_update=*/false));
        if (recorded) return absl::OkStatus();
        ran = true;
        const int64_t refunded_before = p.money.refunded_minor;
        ASSIGN_OR_RETURN(EscrowStep step, Resolve(p.money, req.outcome, req.buyer_share));
        RETURN_IF_ERROR(tx.WriteLedger(step.transaction, now));
        p.money = step.after;
        // released_at follows the state the outcome leaves: released to the seller
        // (SELLER_WINS, SPLIT: RELEASED; PLATFORM_GUARANTEE: GUARANTEED), even when the
        // commission leaves the seller nothing; never a refund (BUYER_WINS: REFUNDED), whatever
        // a guarantee-funded refund credited the seller before.
        if (p.money.state == PaymentState::kReleased ||
            p.money.state == PaymentState::kGuaranteed) {
          p.released_at = now;
        }
        const int64_t buyer_refund = p.money.refunded_minor - refunded_before;
        std::optional<int64_t> share_minor;
        if (req.buyer_share) share_minor = req.buyer_share->amount_minor();
        RETURN_IF_ERROR(tx.ResolveDispute(p.money.id, req.outcome, share_minor, req.explanation,
                                          actor.id, now));
        RETURN_IF_ERROR(
            tx.AppendEvent(p.money.id, p.money.amount.currency_code(),
                           {"DISPUTE_RESOLVED", p.money.state, actor.id,
                            buyer_refund > 0 ? std::optional<int64_t>(buyer_refund) : std::nullopt,
                            std::string(DisputeOutcomeName(req.outcome)), req.explanation, now}));
        ASSIGN_OR_RETURN(OutboxEvent event, DisputeResolvedEvent(p, req.outcome, buyer_refund));
        RETURN_IF_ERROR(tx.Enqueue(event));
        if (buyer_refund <= 0) return absl::OkStatus();
        // The buyer's share goes back through the processor like any refund.
        return tx.InsertOperation(RefundOperation(
            operation_id, p, buyer_refund, now + context_.options.retry_initial_backoff, now));
      });
  if (resolved.ok() && ran) context_.observer->DisputeResolved(DisputeOutcomeName(req.outcome));
  if (!resolved.ok()) return resolved;
  // Sent once the resolution is committed; whatever the processor answers the resolution
  // stands (Payment.refunds shows the refund's state), so a failure here is only logged.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   context_.store->LoadOperation(operation_id));
  if (op && op->state == "PENDING") {
    absl::StatusOr<ProcessorOperation> after = operations_->Attempt(*op);
    if (!after.ok()) {
      common::LogWarn("dispute refund not sent yet; the completion worker retries it",
                      {{"operation_id", operation_id}, {"error", after.status().ToString()}});
    }
  }
  return resolved;
}

namespace {

// The automatic release of `p` (claimed, due) at `now`: its ledger transaction, history line
// and outbox event; `p` is changed to its released state.
struct AutoRelease {
  LedgerTransaction ledger;
  PaymentEvent history;
  OutboxEvent event;
};

absl::StatusOr<AutoRelease> ReleaseClaimed(PaymentRecord& p, absl::Time now) {
  ASSIGN_OR_RETURN(EscrowStep step, Release(p.money));
  p.money = step.after;
  p.released_at = now;
  AutoRelease out;
  out.ledger = std::move(step.transaction);
  out.history = {p.money.id, std::string(p.money.amount.currency_code()),
                 {"AUTO_RELEASED", p.money.state, std::string(kSystemActor), std::nullopt, "",
                  "hold period ended", now}};
  ASSIGN_OR_RETURN(out.event, PaymentReleasedEvent(p, /*automatic=*/true));
  return out;
}

}  // namespace

absl::StatusOr<ReleaseCounts> Settlement::ReleaseDuePayments(int batch_size) {
  PaymentStore& store = *context_.store;
  // The whole batch in ONE transaction: claimed with SKIP LOCKED (replicas take disjoint
  // batches and never wait for each other), then every write sent with the COMMIT in one
  // round trip, the sellers' balance rows last (one UPDATE, in key order).
  std::vector<std::string> claimed_ids;
  absl::StatusOr<int> batch = store.RunInTransaction<int>(
      [&](PaymentTransaction& tx) -> absl::StatusOr<int> {
        claimed_ids.clear();
        const absl::Time now = context_.clock->Now();
        ASSIGN_OR_RETURN(std::vector<PaymentRecord> claimed,
                         tx.ClaimDuePayments(now, batch_size));
        std::vector<LedgerTransaction> ledgers;
        std::vector<PaymentEvent> history;
        std::vector<OutboxEvent> events;
        for (PaymentRecord& p : claimed) {
          claimed_ids.push_back(p.money.id);
          ASSIGN_OR_RETURN(AutoRelease r, ReleaseClaimed(p, now));
          ledgers.push_back(std::move(r.ledger));
          history.push_back(std::move(r.history));
          events.push_back(std::move(r.event));
        }
        if (claimed.empty()) return 0;
        RETURN_IF_ERROR(tx.UpdatePayments(claimed));
        RETURN_IF_ERROR(tx.AppendEvents(history));
        RETURN_IF_ERROR(tx.Enqueue(events));
        RETURN_IF_ERROR(tx.WriteLedgers(ledgers, now));
        return static_cast<int>(claimed.size());
      },
      {.defer_writes = true});
  if (batch.ok()) return ReleaseCounts{.due = *batch, .released = *batch, .failed = 0};
  // Nothing claimed (the database is unreachable, ...): nothing to release one by one.
  if (claimed_ids.empty() || absl::IsUnavailable(batch.status())) return batch.status();
  // One payment of the batch cannot be released (e.g. its seller's balance row would break its
  // bound) and took the batch with it: the same payments one by one, so one bad payment does
  // not stop the others (nor every later pass, on every replica); it is counted and not due
  // again before its backoff.
  common::LogWarn("batched automatic release failed; releasing its payments one by one",
                  {{"payments", absl::StrCat(claimed_ids.size())},
                   {"error", batch.status().ToString()}});
  ReleaseCounts counts;
  counts.due = static_cast<int>(claimed_ids.size());
  for (const std::string& id : claimed_ids) {
    absl::StatusOr<bool> done =
        store.RunInTransaction<bool>([&](PaymentTransaction& tx) -> absl::StatusOr<bool> {
          const absl::Time now = context_.clock->Now();
          ASSIGN_OR_RETURN(std::optional<PaymentRecord> claimed, tx.ClaimDuePayment(id, now));
          if (!claimed) return false;  // taken by another replica meanwhile, or no longer due
          ASSIGN_OR_RETURN(AutoRelease r, ReleaseClaimed(*claimed, now));
          RETURN_IF_ERROR(tx.WriteLedger(r.ledger, now));
          RETURN_IF_ERROR(tx.UpdatePayment(*claimed));
          RETURN_IF_ERROR(tx.AppendEvents(absl::MakeConstSpan(&r.history, 1)));
          RETURN_IF_ERROR(tx.Enqueue(r.event));
          return true;
        });
    if (done.ok()) {
      if (*done) ++counts.released;
      continue;
    }
    ++counts.failed;
    common::LogError("automatic release failed; deferred with backoff",
                     {{"payment_id", id}, {"error", done.status().ToString()}});
    if (absl::Status deferred =
            store.DeferRelease(id, context_.clock->Now(), context_.options.retry_initial_backoff,
                               context_.options.retry_max_backoff);
        !deferred.ok()) {
      common::LogError("could not defer a failed release",
                       {{"payment_id", id}, {"error", deferred.ToString()}});
    }
  }
  return counts;
}

}  // namespace marketplace::payments
