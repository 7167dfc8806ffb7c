#include "services/support/refund_worker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/idempotency/idempotency.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/support/refund_funding.h"

namespace marketplace::support {

RefundWorker::RefundWorker(TicketStore* store, RefundSender* sender, const common::Clock* clock,
                           RefundWorkerOptions options, prometheus::Registry* registry)
    : store_(store),
      sender_(sender),
      clock_(clock),
      options_(options),
      sent_(registry == nullptr
                ? nullptr
                : &prometheus::BuildCounter()
                       .Name("support_refunds_sent_total")
                       .Help("Refund commands this process sent to payments, by result "
                             "(REFUNDED, REFUND_REFUSED, RETRY).")
                       .Register(*registry)),
      thread_(options.interval, [this] {
        absl::StatusOr<RefundPassResult> done = RunPass();
        if (!done.ok()) {
          common::LogError("refund pass failed", {{"error", done.status().ToString()}});
          return false;
        }
        return done->more;
      }) {}

absl::Status RefundWorker::Finish(const RefundCommand& command, pb::RefundState state,
                                  const std::string& detail, const std::string& reason,
                                  const std::string& refund_id) {
  return store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    RETURN_IF_ERROR(tx.UpdateRefundCommand(command.request_id, state, now));
    if (!reason.empty()) RETURN_IF_ERROR(tx.SetRefundResultReason(command.request_id, reason));
    if (!refund_id.empty()) RETURN_IF_ERROR(tx.SetPaymentsRefundId(command.request_id, refund_id));
    ASSIGN_OR_RETURN(std::optional<TicketRecord> t, tx.LockTicket(command.ticket_id));
    if (!t || t->refund_request_id != command.request_id) return absl::OkStatus();
    t->refund_state = state;
    t->updated_at = now;
    t->history_seq++;
    RETURN_IF_ERROR(tx.AppendHistory(
        t->ticket_id, t->history_seq,
        {now, "support", pb::AUTHOR_SYSTEM, "REFUND_RESULT",
         absl::StrCat(pb::RefundState_Name(state), " ", command.request_id, " (",
                      FundingName(command.funding), ")", reason.empty() ? "" : " ", reason,
                      detail.empty() ? "" : ": ", detail)}));
    return tx.SaveTicket(*t);
  });
}

void RefundWorker::CountSent(const char* result) {
  if (sent_ != nullptr) sent_->Add({{"result", result}}).Increment();
}

absl::Duration RefundWorker::Backoff(int calls) const {
  return std::min(options_.max_backoff,
                  options_.initial_backoff * (int64_t{1} << std::min(calls, 20)));
}

absl::StatusOr<int> RefundWorker::RunOnce() {
  ASSIGN_OR_RETURN(RefundPassResult pass, RunPass());
  return pass.finished;
}

absl::StatusOr<RefundPassResult> RefundWorker::RunPass() {
  ASSIGN_OR_RETURN(std::vector<RefundCommand> due,
                   store_->ClaimDueRefunds(clock_->Now(), options_.lease, options_.batch_size));
  RefundPassResult pass;
  pass.more = static_cast<int>(due.size()) >= options_.batch_size;
  int& finished = pass.finished;
  for (const RefundCommand& command : due) {
    absl::StatusOr<std::string> sent = sender_->Refund(command);
    if (sent.ok()) {
      RETURN_IF_ERROR(Finish(command, pb::REFUNDED, "", "", *sent));
      CountSent("REFUNDED");
      ++finished;
    } else if (common::idempotency::IsDefinitive(sent.status())) {
      RETURN_IF_ERROR(Finish(command, pb::REFUND_REFUSED, std::string(sent.status().message()),
                             common::ReasonOf(sent.status())));
      CountSent("REFUND_REFUSED");
      ++finished;
    } else {
      const absl::Duration backoff = Backoff(command.attempts);
      RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) {
        return tx.UpdateRefundCommand(command.request_id, pb::PENDING_REFUND,
                                      clock_->Now() + backoff);
      }));
      CountSent("RETRY");
    }
  }
  bool charges_full = false;
  ASSIGN_OR_RETURN(int charged, ChargesPass(&charges_full));
  pass.finished += charged;
  pass.more = pass.more || charges_full;
  return pass;
}

absl::Status RefundWorker::FinishCharge(const ChargeCommand& command, SellerChargeState state,
                                        const SellerCharge& charge, const std::string& reason,
                                        const std::string& detail) {
  return store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.FinishCharge(command.refund_request_id, state, charge, reason));
    ASSIGN_OR_RETURN(std::optional<TicketRecord> t, tx.LockTicket(command.ticket_id));
    if (!t) return absl::OkStatus();
    const absl::Time now = clock_->Now();
    t->history_seq++;
    RETURN_IF_ERROR(tx.AppendHistory(
        t->ticket_id, t->history_seq,
        {now, "support", pb::AUTHOR_SYSTEM,
         state == SellerChargeState::kCharged ? "SELLER_CHARGED" : "SELLER_NOT_CHARGED",
         state == SellerChargeState::kCharged
             ? absl::StrCat(command.refund_request_id, ": ", charge.charged_minor, " ",
                            charge.currency, " moved onto the seller, ", charge.shortfall_minor,
                            " left with the guarantee fund", detail.empty() ? "" : " (",
                            detail, detail.empty() ? "" : ")")
             : absl::StrCat(command.refund_request_id, ": ", reason,
                            detail.empty() ? "" : ": ", detail)}));
    t->updated_at = now;
    return tx.SaveTicket(*t);
  });
}

absl::StatusOr<int> RefundWorker::RunChargesOnce() {
  bool full = false;
  return ChargesPass(&full);
}

absl::StatusOr<int> RefundWorker::ChargesPass(bool* full) {
  ASSIGN_OR_RETURN(std::vector<ChargeCommand> due,
                   store_->ClaimDueCharges(clock_->Now(), options_.lease, options_.batch_size));
  *full = static_cast<int>(due.size()) >= options_.batch_size;
  int finished = 0;
  for (const ChargeCommand& command : due) {
    if (command.payments_refund_id.empty()) {
      // Refunded before support kept payments' refund ids: an agent charges it at payments.
      RETURN_IF_ERROR(FinishCharge(command, SellerChargeState::kNotCharged, {},
                                   "REFUND_ID_UNKNOWN", "charge it with payments ChargeSellerForRefund"));
      ++finished;
      continue;
    }
    absl::StatusOr<SellerCharge> charged = sender_->ChargeSeller(command);
    const std::string reason = charged.ok() ? "" : common::ReasonOf(charged.status());
    if (charged.ok()) {
      RETURN_IF_ERROR(FinishCharge(command, SellerChargeState::kCharged, *charged, "", ""));
      ++finished;
    } else if (reason == "REFUND_ALREADY_CHARGED") {
      // Charged before by someone else at payments (another request id): nothing more to move.
      RETURN_IF_ERROR(FinishCharge(command, SellerChargeState::kCharged, {}, "",
                                   "charged before at payments"));
      ++finished;
    } else if (reason == "INSUFFICIENT_AVAILABLE_BALANCE") {
      // Payments recorded nothing: a later call, under a new request id, charges once the
      // seller has money available.
      RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) {
        return tx.RetryCharge(command.refund_request_id,
                              clock_->Now() + Backoff(command.attempt), true);
      }));
    } else if (common::idempotency::IsDefinitive(charged.status())) {
      RETURN_IF_ERROR(FinishCharge(command, SellerChargeState::kNotCharged, {}, reason,
                                   std::string(charged.status().message())));
      ++finished;
    } else {
      RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) {
        return tx.RetryCharge(command.refund_request_id, clock_->Now() + Backoff(command.calls),
                              false);
      }));
    }
  }
  return finished;
}

}  // namespace marketplace::support
