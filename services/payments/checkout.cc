#include "services/payments/checkout.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/payments/escrow.h"
#include "services/payments/events.h"
#include "services/payments/payment_mutation.h"
#include "services/payments/stored_answers.h"

namespace marketplace::payments {
namespace {

// The group-commit batches: their writes are queued and sent with the COMMIT (any failure
// sends the batch's calls through their single-call path, which reports it properly).
constexpr StoreTransactionOptions kBatchWrites{.read_only = false, .defer_writes = true};

absl::Status Declined(DeclineCode code) {
  absl::string_view name = "DECLINED";
  if (code == DeclineCode::kInsufficientFunds) name = "INSUFFICIENT_FUNDS";
  if (code == DeclineCode::kInvalidPaymentMethod) name = "INVALID_PAYMENT_METHOD";
  return common::WithReason(
      absl::FailedPreconditionError(
          absl::StrCat("the payment processor declined the payment (", name, ")")),
      "PAYMENT_DECLINED", {{"decline_code", std::string(name)}});
}

// A group commit's transaction failed (a retry of a request done before, two calls for one
// order, a lost connection...): its calls run one by one, each with its own answer.
void BatchFailed(absl::string_view method, size_t size, const absl::Status& status) {
  common::LogDebug("write batch failed; its calls run one by one", {{"method", std::string(method)},
                                                                    {"size", absl::StrCat(size)},
                                                                    {"error", status.ToString()}});
}

// CreatePayment's answer once the caller's deadline has passed: the processor is not called.
absl::Status DeadlinePassed() {
  return absl::DeadlineExceededError(
      "the caller's deadline passed before the payment processor was called; nothing was "
      "charged (retry with the same request_id)");
}

// A request whose capture the completion worker gave back (or that never captured) before
// its payment was written: it never makes a payment.
absl::Status Abandoned() {
  return common::FailedPrecondition(
      "PAYMENT_ABANDONED",
      "no payment was written for this request within the intent window; any capture was "
      "refunded to the buyer; use a new request_id to pay again");
}

// The stored answer of a request made before, if any.
absl::StatusOr<std::optional<PaymentRecord>> ReplayOf(const std::optional<StoredAnswer>& stored) {
  if (!stored) return std::optional<PaymentRecord>();
  if (!stored->status.ok()) return stored->status;
  ASSIGN_OR_RETURN(PaymentRecord payment, DecodePaymentAnswer(stored->response));
  return std::optional<PaymentRecord>(std::move(payment));
}

// The processor operation that gives back the capture of a CreatePayment refused because its
// order was paid meanwhile (by another request that raced it past the first read).
std::string ReturnOperationId(const RequestKey& key) { return ProcessorKey("return", key); }

// In the refused call's transaction: the capture goes back to the buyer. The ledger records
// the money coming in and going straight out (buyer_funding -> refunds_out, no payment), and
// a REFUND operation without payment sends it back through the processor (the call tries it
// at once, the completion worker until the processor answers for good).
absl::Status ReturnCapture(PaymentTransaction& tx, const RequestKey& key, const PaymentRecord& p,
                           absl::Time now) {
  const std::string& currency = p.money.amount.currency_code();
  LedgerTransaction back;
  back.kind = TransactionKind::kRefund;
  back.memo = absl::StrCat("capture for order ", p.order_id,
                           " (already paid by another request) returned to the buyer");
  Move(back, PlatformAccount(AccountKind::kBuyerFunding, currency),
       PlatformAccount(AccountKind::kRefundsOut, currency), p.money.amount.amount_minor());
  RETURN_IF_ERROR(tx.WriteLedger(back, now));
  ProcessorOperation op =
      RefundOperation(ReturnOperationId(key), p, p.money.amount.amount_minor(), now, now);
  op.payment_id.clear();  // the payment was never written
  op.order_id = p.order_id;
  op.buyer_id = p.buyer_id;
  return tx.InsertOperation(op);
}

// What confirming the delivery of `p` writes besides the payment row; `p` becomes RELEASED.
struct ReleaseWrites {
  LedgerTransaction ledger;
  PaymentEvent history;
  OutboxEvent event;
};

absl::StatusOr<ReleaseWrites> ConfirmStep(const Actor& actor, PaymentRecord& p, absl::Time now) {
  ASSIGN_OR_RETURN(EscrowStep step, Release(p.money));
  p.money = step.after;
  p.released_at = now;
  ReleaseWrites w;
  w.ledger = std::move(step.transaction);
  w.history = {p.money.id,
               p.money.amount.currency_code(),
               {"DELIVERY_CONFIRMED", p.money.state, actor.id, std::nullopt, "", "", now}};
  ASSIGN_OR_RETURN(w.event, PaymentReleasedEvent(p, /*automatic=*/false));
  return w;
}

}  // namespace

Checkout::Checkout(const PaymentsContext* context, ProcessorOperations* operations)
    : context_(*context),
      operations_(operations),
      reads_(
          [this](std::vector<CheckoutLookup>& batch) {
            return context_.store->ReadCheckouts(batch);
          },
          {context->options.write_batch_max, context->options.write_batches_in_flight,
           context->options.write_batch_overlap_min}),
      intents_(
          [this](std::vector<PaymentIntent>& batch) { return context_.store->BeginIntents(batch); },
          {context->options.write_batch_max, context->options.write_batches_in_flight,
           context->options.write_batch_overlap_min}),
      authorizations_(
          [this](std::vector<Authorization>& batch) {
            return context_.store->RecordAuthorizations(batch);
          },
          {context->options.write_batch_max, context->options.write_batches_in_flight,
           context->options.write_batch_overlap_min}),
      creates_([this](std::vector<NewPayment>& batch) { return WriteNewPayments(batch); },
               {context->options.write_batch_max, context->options.write_batches_in_flight,
                context->options.write_batch_overlap_min}),
      confirmations_([this](std::vector<Confirmation>& batch) { return ConfirmDeliveries(batch); },
                     {context->options.write_batch_max, context->options.write_batches_in_flight,
                      context->options.write_batch_overlap_min}) {}

absl::Status Checkout::EnsureSellerAccounts(const std::string& seller_id,
                                            const std::string& currency) {
  const std::string key = absl::StrCat(currency, "/", seller_id);
  {
    absl::MutexLock lock(&known_mu_);
    if (known_accounts_.contains(key)) return absl::OkStatus();
  }
  RETURN_IF_ERROR(context_.store->EnsureSellerAccounts(seller_id, currency, context_.clock->Now()));
  absl::MutexLock lock(&known_mu_);
  known_accounts_.insert(key);
  return absl::OkStatus();
}

// --- CreatePayment --------------------------------------------------------------------------

absl::StatusOr<Checkout::Charged> Checkout::Charge(const PaymentRequest& req,
                                                   const PaymentIntent& intent) {
  PaymentStore& store = *context_.store;
  if (req.origin.Expired(context_.clock->Now())) return DeadlinePassed();
  absl::StatusOr<ProcessorResult> auth = context_.processor->Authorize(
      ProcessorKey("auth", req.key), req.payment_method_token, req.amount, req.origin);
  if (!auth.ok()) return ProcessorUnavailable(auth.status(), "authorisation");
  absl::StatusOr<ProcessorResult> capture;
  if (auth->accepted) {
    // An authorisation alone moves no money (it lapses); the capture does. Nothing is
    // captured once the caller has given up.
    if (req.origin.Expired(context_.clock->Now())) return DeadlinePassed();
    // Recorded before the capture is asked: the completion worker knows a capture may exist.
    // Only on an intent still open: one the worker closed meanwhile (ABANDONED, having seen
    // no authorisation) or a twin closed is not captured at all.
    ASSIGN_OR_RETURN(std::string closed,
                     authorizations_.Submit({intent.intent_id, auth->reference}));
    if (!closed.empty()) return Charged{"", std::move(closed)};
    capture = context_.processor->Capture(ProcessorKey("capture", req.key), auth->reference,
                                          req.amount, req.origin);
    if (!capture.ok()) return ProcessorUnavailable(capture.status(), "capture");
    if (capture->accepted) {
      const std::string& crash_order = context_.options.test_abort_after_capture_order;
      if (!crash_order.empty() && crash_order == req.order_id) {
        // TEST ONLY (--test_abort_after_capture_order): dies between capture and commit.
        common::LogError("aborting after capture (--test_abort_after_capture_order)",
                         {{"order_id", req.order_id}});
        std::abort();
      }
      // The capture reference is not written to the intent: the payment carries it, and if
      // the payment never commits the worker asks the processor for it under the same key.
      return Charged{capture->reference, ""};
    }
  }
  const DeclineCode code = auth->accepted ? capture->decline : auth->decline;
  ASSIGN_OR_RETURN(StoredAnswer stood, store.RecordError(req.key, Declined(code)));
  context_.observer->PaymentDeclined();
  return stood.status.ok() ? absl::InternalError("decline stored as success") : stood.status;
}

absl::StatusOr<PaymentRecord> Checkout::ClosedIntentAnswer(const RequestKey& key,
                                                           absl::string_view outcome) {
  if (outcome == "REFUNDED" || outcome == "ABANDONED") return Abandoned();
  // Written by a twin of this request meanwhile: its answer.
  ASSIGN_OR_RETURN(std::optional<StoredAnswer> stored, context_.store->FindAnswer(key));
  ASSIGN_OR_RETURN(std::optional<PaymentRecord> twin, ReplayOf(stored));
  if (twin) return *std::move(twin);
  return absl::UnavailableError("the payment is being written; retry with the same request_id");
}

absl::StatusOr<PaymentRecord> Checkout::CreatePayment(const Actor& actor,
                                                      const PaymentRequest& req) {
  if (!actor.any_payment && !(actor.as_buyer && actor.id == req.buyer_id)) {
    return common::PermissionDenied("a buyer pays only for itself (buyer_id must be the caller)");
  }
  if (req.commission_bps && !actor.may_set_commission) {
    return common::PermissionDenied(
        "only SERVICE callers with payments.checkout may set commission_bps");
  }
  // One statement with the concurrent calls: this request's stored answer, a payment of the
  // order, the seller's hold policy (applies to payments created after it is set; read before
  // the transaction).
  ASSIGN_OR_RETURN(CheckoutFacts facts, reads_.Submit({req.key, req.order_id, req.seller_id}));
  ASSIGN_OR_RETURN(std::optional<PaymentRecord> first, ReplayOf(facts.stored));
  if (first) return *std::move(first);

  RETURN_IF_ERROR(ApprovedSeller(context_, req.seller_id, req.origin).status());
  if (facts.order_payment_id) {
    // Made by this very request since the first look (a twin in parallel): its answer.
    ASSIGN_OR_RETURN(std::optional<StoredAnswer> stored, context_.store->FindAnswer(req.key));
    ASSIGN_OR_RETURN(std::optional<PaymentRecord> twin, ReplayOf(stored));
    if (twin) return *std::move(twin);
    return common::WithReason(
        absl::AlreadyExistsError(absl::StrCat("order ", req.order_id, " already has a payment")),
        "ORDER_ALREADY_PAID");
  }

  // The caller gave up (e.g. during the seller lookup): nothing is started for it.
  if (req.origin.Expired(context_.clock->Now())) return DeadlinePassed();
  // The durable intent, committed before the processor is called.
  PaymentIntent intent;
  intent.intent_id = IntentId(req.key);
  intent.caller = req.key.caller;
  intent.method = req.key.method;
  intent.request_id = req.key.request_id;
  intent.request_hash = req.key.request_hash;
  intent.payment_id = common::NewId("pay_");
  intent.order_id = req.order_id;
  intent.buyer_id = req.buyer_id;
  intent.seller_id = req.seller_id;
  intent.currency = req.amount.currency_code();
  intent.amount_minor = req.amount.amount_minor();
  intent.created_at = context_.clock->Now();
  ASSIGN_OR_RETURN(intent, intents_.Submit(intent));
  if (!intent.outcome.empty()) return ClosedIntentAnswer(req.key, intent.outcome);

  // The processor, outside any transaction; its keys derive from the request and its hash,
  // so a retry (or a twin running in parallel) gets the same authorisation and capture.
  ASSIGN_OR_RETURN(Charged charged, Charge(req, intent));
  if (!charged.closed_outcome.empty()) {
    return ClosedIntentAnswer(req.key, charged.closed_outcome);
  }
  RETURN_IF_ERROR(EnsureSellerAccounts(req.seller_id, req.amount.currency_code()));
  const PaymentsOptions& options = context_.options;
  const absl::Time now = context_.clock->Now();
  NewPayment n;
  n.key = req.key;
  n.intent_id = intent.intent_id;
  PaymentRecord& p = n.record;
  p.money.id = intent.payment_id;
  p.money.seller_id = req.seller_id;
  p.money.amount = req.amount;
  p.money.commission_bps = req.commission_bps.value_or(options.default_commission_bps);
  p.order_id = req.order_id;
  p.buyer_id = req.buyer_id;
  p.processor_reference = charged.capture_reference;
  p.created_at = now;
  p.release_due_at = now + facts.hold.value_or(options.default_hold);
  EscrowStep step = Capture(p.money);
  p.money = step.after;
  n.ledger = std::move(step.transaction);
  n.history = {p.money.id,
               p.money.amount.currency_code(),
               {"CREATED", p.money.state, actor.id, p.money.amount.amount_minor(), "", "", now}};
  ASSIGN_OR_RETURN(n.event, PaymentHeldEvent(p));
  n.answer = EncodePaymentAnswer(p);
  Outcome created = creates_.Submit(std::move(n));
  if (created.result.ok() && created.ran) context_.observer->PaymentHeld();
  if (created.returned_capture) {
    // This call's attempt to give the capture back; the completion worker retries it.
    absl::StatusOr<std::optional<ProcessorOperation>> op =
        context_.store->LoadOperation(ReturnOperationId(req.key));
    if (op.ok() && *op && (*op)->state == "PENDING") (void)operations_->Attempt(**op);
  }
  return std::move(created.result);
}

std::vector<Checkout::Outcome> Checkout::WriteNewPayments(std::vector<NewPayment>& batch) {
  std::vector<CompletedRequest> answers;
  std::vector<PaymentRecord> records;
  std::vector<PaymentEvent> history;
  std::vector<OutboxEvent> events;
  std::vector<LedgerTransaction> ledgers;
  std::vector<std::string> intents;
  for (const NewPayment& n : batch) {
    intents.push_back(n.intent_id);
    answers.push_back({n.key, {absl::OkStatus(), n.answer}});
    records.push_back(n.record);
    history.push_back(n.history);
    events.push_back(n.event);
    ledgers.push_back(n.ledger);
  }
  // The answers first: a retry of a request done before fails the batch at once (and goes
  // alone). Every statement waits for the COMMIT and goes with it, the whole transaction in
  // one round trip: whatever fails, each call runs alone next.
  absl::Status written = context_.store->RunInTransaction(
      [&](PaymentTransaction& tx) {
        RETURN_IF_ERROR(tx.CompleteRequests(answers));
        RETURN_IF_ERROR(tx.InsertPayments(records));
        RETURN_IF_ERROR(tx.AppendEvents(history));
        RETURN_IF_ERROR(tx.Enqueue(events));
        // Fails the batch when the completion worker refunded one of them meanwhile.
        RETURN_IF_ERROR(tx.CloseIntents(intents, "COMMITTED", context_.clock->Now()));
        // Last: the sellers' balance rows, which their other payments wait for.
        return tx.WriteLedgers(ledgers, context_.clock->Now());
      },
      kBatchWrites);
  if (!written.ok()) BatchFailed("CreatePayment", batch.size(), written);
  std::vector<Outcome> out;
  for (const NewPayment& n : batch) {
    out.push_back(written.ok() ? Outcome{n.record, true} : WriteNewPayment(n));
  }
  return out;
}

Checkout::Outcome Checkout::WriteNewPayment(const NewPayment& n) {
  Outcome out{absl::UnknownError("not run"), false};
  PaymentStore& store = *context_.store;
  absl::StatusOr<std::string> answer =
      store.RunIdempotent(n.key, [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        out.ran = true;
        const absl::Time now = context_.clock->Now();
        absl::Status inserted = tx.InsertPayment(n.record);
        const bool order_paid = common::ReasonOf(inserted) == "ORDER_ALREADY_PAID";
        if (!inserted.ok() && !order_paid) return inserted;
        // The intent is closed here, once: unless the completion worker refunded its capture
        // meanwhile (the window passed), then nothing of this call is written.
        ASSIGN_OR_RETURN(bool open,
                         tx.CloseIntent(n.intent_id, order_paid ? "RETURNED" : "COMMITTED", now));
        if (!open) {
          ASSIGN_OR_RETURN(std::optional<std::string> outcome, tx.IntentOutcome(n.intent_id));
          if (outcome && (*outcome == "REFUNDED" || *outcome == "ABANDONED")) return Abandoned();
          return absl::AbortedError("payment intent closed by a concurrent call; retry");
        }
        if (order_paid) {
          // The buyer was charged for an order another request paid: that charge goes back,
          // committed with this answer.
          RETURN_IF_ERROR(ReturnCapture(tx, n.key, n.record, now));
          out.returned_capture = true;
          return store.KeepWrites(inserted);
        }
        RETURN_IF_ERROR(tx.AppendEvents(absl::MakeConstSpan(&n.history, 1)));
        RETURN_IF_ERROR(tx.Enqueue(n.event));
        // Last: it takes the seller's balance row, which the seller's other payments wait for.
        RETURN_IF_ERROR(tx.WriteLedger(n.ledger, context_.clock->Now()));
        return n.answer;
      });
  out.result = answer.ok() ? DecodePaymentAnswer(*answer) : answer.status();
  return out;
}

// --- ConfirmDelivery ------------------------------------------------------------------------

absl::StatusOr<PaymentRecord> Checkout::ConfirmDelivery(const Actor& actor, const RequestKey& key,
                                                        const std::string& payment_id) {
  return confirmations_.Submit(Confirmation{actor, key, payment_id}).result;
}

std::vector<Checkout::Outcome> Checkout::ConfirmDeliveries(std::vector<Confirmation>& batch) {
  // Every payment locked by one statement; those the batch may release written together.
  // A call the batch does not take (unknown payment, not the caller's, not releasable, a
  // second call on one payment, a request_id used before) runs alone afterwards, where its
  // refusal or stored answer is its answer.
  // START TRANSACTION goes with the locking read, every write with the COMMIT: two round trips.
  std::vector<std::optional<PaymentRecord>> released(batch.size());
  absl::Status written = context_.store->RunInTransaction(
      [&](PaymentTransaction& tx) {
        std::fill(released.begin(), released.end(), std::nullopt);
        std::vector<std::string> ids;
        for (const Confirmation& c : batch) ids.push_back(c.payment_id);
        ASSIGN_OR_RETURN(std::vector<PaymentRecord> locked, tx.LoadPaymentsForUpdate(ids));
        std::map<std::string, const PaymentRecord*> by_id;
        for (const PaymentRecord& p : locked) by_id[p.money.id] = &p;
        const absl::Time now = context_.clock->Now();
        std::vector<CompletedRequest> answers;
        std::vector<PaymentRecord> records;
        std::vector<PaymentEvent> history;
        std::vector<OutboxEvent> events;
        std::vector<LedgerTransaction> ledgers;
        for (size_t i = 0; i < batch.size(); ++i) {
          const Confirmation& c = batch[i];
          auto it = by_id.find(c.payment_id);
          if (it == by_id.end() || it->second == nullptr) continue;
          PaymentRecord p = *it->second;
          it->second = nullptr;
          if (!MayActOn(c.actor, p.buyer_id, p.money.seller_id)) continue;
          absl::StatusOr<ReleaseWrites> w = ConfirmStep(c.actor, p, now);
          if (!w.ok()) continue;
          released[i] = p;
          answers.push_back({c.key, {absl::OkStatus(), EncodePaymentAnswer(p)}});
          records.push_back(std::move(p));
          history.push_back(std::move(w->history));
          events.push_back(std::move(w->event));
          ledgers.push_back(std::move(w->ledger));
        }
        if (records.empty()) return absl::OkStatus();
        RETURN_IF_ERROR(tx.CompleteRequests(answers));
        RETURN_IF_ERROR(tx.AppendEvents(history));
        RETURN_IF_ERROR(tx.Enqueue(events));
        RETURN_IF_ERROR(tx.UpdatePayments(records));
        // Last: the sellers' balance rows, which their other payments wait for.
        return tx.WriteLedgers(ledgers, now);
      },
      kBatchWrites);
  if (!written.ok()) BatchFailed("ConfirmDelivery", batch.size(), written);
  std::vector<Outcome> out;
  for (size_t i = 0; i < batch.size(); ++i) {
    out.push_back(written.ok() && released[i] ? Outcome{*std::move(released[i]), true}
                                              : ConfirmAlone(batch[i]));
  }
  return out;
}

Checkout::Outcome Checkout::ConfirmAlone(const Confirmation& c) {
  Outcome out{absl::UnknownError("not run"), false};
  out.result =
      MutatePayment(*context_.store, *context_.clock, c.actor, c.key, c.payment_id,
                    [&](PaymentTransaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
                      out.ran = true;
                      ASSIGN_OR_RETURN(ReleaseWrites w, ConfirmStep(c.actor, p, now));
                      RETURN_IF_ERROR(tx.AppendEvents(absl::MakeConstSpan(&w.history, 1)));
                      RETURN_IF_ERROR(tx.Enqueue(w.event));
                      // Last: it takes the seller's balance row, which the seller's other payments
                      // wait for.
                      return tx.WriteLedger(w.ledger, now);
                    });
  return out;
}

}  // namespace marketplace::payments
