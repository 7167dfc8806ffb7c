#include "services/support/refund_worker.h"

#include <algorithm>
#include <optional>
#include <vector>

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

absl::Duration RefundLeaseFor(absl::Duration call_timeout) {
  return std::max(absl::Minutes(1), 4 * call_timeout);
}

absl::StatusOr<bool> RefundWorker::Finish(const RefundCommand& command, absl::Time claimed_until,
                                          pb::RefundState state, const std::string& detail,
                                          const std::string& reason, const std::string& refund_id) {
  bool recorded = false;
  RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    recorded = false;
    const absl::Time now = clock_->Now();
    // The ticket first, as requests lock it before its commands.
    ASSIGN_OR_RETURN(std::optional<TicketRecord> t, tx.LockTicket(command.ticket_id));
    ASSIGN_OR_RETURN(recorded, tx.UpdateRefundCommand(command, claimed_until, state, now));
    if (!recorded) return absl::OkStatus();  // another pass took the command over
    if (!reason.empty()) RETURN_IF_ERROR(tx.SetRefundResultReason(command.request_id, reason));
    if (!refund_id.empty()) RETURN_IF_ERROR(tx.SetPaymentsRefundId(command.request_id, refund_id));
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
  }));
  if (!recorded) {
    common::LogWarn("refund result not recorded: the lease ended and another pass took the command",
                    {{"request_id", command.request_id}, {"result", pb::RefundState_Name(state)}});
  }
  return recorded;
}

void RefundWorker::CountSent(const char* result) {
  if (sent_ != nullptr) sent_->Add({{"result", result}}).Increment();
}

absl::Duration RefundWorker::Backoff(int calls) const {
  return std::min(options_.max_backoff,
                  options_.initial_backoff * (int64_t{1} << std::min(calls, 20)));
}

bool RefundWorker::MayStart(absl::Time claimed_at) const {
  return clock_->Now() < claimed_at + options_.lease / 2;
}

absl::StatusOr<int> RefundWorker::RunOnce() {
  ASSIGN_OR_RETURN(RefundPassResult pass, RunPass());
  return pass.finished;
}

absl::StatusOr<RefundPassResult> RefundWorker::RunPass() {
  // The claim marks each command with claimed_until (its next_attempt_at); the results below
  // are written only while it still bears that mark.
  const absl::Time claimed_at = clock_->Now();
  const absl::Time claimed_until = claimed_at + options_.lease;
  ASSIGN_OR_RETURN(std::vector<RefundCommand> due,
                   store_->ClaimDueRefunds(claimed_at, options_.lease, options_.batch_size));
  RefundPassResult pass;
  pass.more = static_cast<int>(due.size()) >= options_.batch_size;
  int& finished = pass.finished;
  for (const RefundCommand& command : due) {
    if (!MayStart(claimed_at)) {
      ++pass.not_started;  // due again when the lease ends
      continue;
    }
    absl::StatusOr<std::string> sent = sender_->Refund(command);
    if (sent.ok()) {
      ASSIGN_OR_RETURN(bool recorded, Finish(command, claimed_until, pb::REFUNDED, "", "", *sent));
      if (!recorded) continue;
      CountSent("REFUNDED");
      ++finished;
    } else if (common::idempotency::IsDefinitive(sent.status())) {
      ASSIGN_OR_RETURN(bool recorded, Finish(command, claimed_until, pb::REFUND_REFUSED,
                                             std::string(sent.status().message()),
                                             common::ReasonOf(sent.status())));
      if (!recorded) continue;
      CountSent("REFUND_REFUSED");
      ++finished;
    } else {
      const absl::Duration backoff = Backoff(command.attempts);
      bool recorded = false;
      RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(recorded,
                         tx.UpdateRefundCommand(command, claimed_until, pb::PENDING_REFUND,
                                                clock_->Now() + backoff));
        return absl::OkStatus();
      }));
      if (!recorded) {
        common::LogWarn(
            "refund retry not recorded: the lease ended and another pass took the command",
            {{"request_id", command.request_id}, {"error", sent.status().ToString()}});
        continue;
      }
      CountSent("RETRY");
    }
  }
  RETURN_IF_ERROR(ChargesPass(&pass));
  return pass;
}

absl::StatusOr<bool> RefundWorker::FinishCharge(const ChargeCommand& command,
                                                absl::Time claimed_until, SellerChargeState state,
                                                const SellerCharge& charge,
                                                const std::string& reason,
                                                const std::string& detail) {
  bool recorded = false;
  RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    recorded = false;
    // The ticket first, as requests lock it before its commands.
    ASSIGN_OR_RETURN(std::optional<TicketRecord> t, tx.LockTicket(command.ticket_id));
    ASSIGN_OR_RETURN(recorded, tx.FinishCharge(command, claimed_until, state, charge, reason));
    if (!recorded || !t) return absl::OkStatus();
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
  }));
  if (!recorded) {
    common::LogWarn("charge result not recorded: the lease ended and another pass took the charge",
                    {{"request_id", command.request_id}});
  }
  return recorded;
}

absl::StatusOr<int> RefundWorker::RunChargesOnce() {
  RefundPassResult pass;
  RETURN_IF_ERROR(ChargesPass(&pass));
  return pass.finished;
}

absl::Status RefundWorker::ChargesPass(RefundPassResult* pass) {
  const absl::Time claimed_at = clock_->Now();
  const absl::Time claimed_until = claimed_at + options_.lease;
  ASSIGN_OR_RETURN(std::vector<ChargeCommand> due,
                   store_->ClaimDueCharges(claimed_at, options_.lease, options_.batch_size));
  if (static_cast<int>(due.size()) >= options_.batch_size) pass->more = true;
  // A retry (the same request id, or the next one) at `next_at`, under this claim only.
  const auto retry = [&](const ChargeCommand& command, absl::Time next_at,
                         bool next_request_id) -> absl::Status {
    bool recorded = false;
    RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(recorded, tx.RetryCharge(command, claimed_until, next_at, next_request_id));
      return absl::OkStatus();
    }));
    if (!recorded) {
      common::LogWarn("charge retry not recorded: the lease ended and another pass took the charge",
                      {{"request_id", command.request_id}});
    }
    return absl::OkStatus();
  };
  for (const ChargeCommand& command : due) {
    if (!MayStart(claimed_at)) {
      ++pass->not_started;  // due again when the lease ends
      continue;
    }
    bool finished = false;
    if (command.payments_refund_id.empty()) {
      // Refunded before support kept payments' refund ids: an agent charges it at payments.
      ASSIGN_OR_RETURN(
          finished,
          FinishCharge(command, claimed_until, SellerChargeState::kNotCharged, {},
                       "REFUND_ID_UNKNOWN", "charge it with payments ChargeSellerForRefund"));
      if (finished) ++pass->finished;
      continue;
    }
    absl::StatusOr<SellerCharge> charged = sender_->ChargeSeller(command);
    const std::string reason = charged.ok() ? "" : common::ReasonOf(charged.status());
    if (charged.ok()) {
      ASSIGN_OR_RETURN(finished, FinishCharge(command, claimed_until, SellerChargeState::kCharged,
                                              *charged, "", ""));
    } else if (reason == "REFUND_ALREADY_CHARGED") {
      // Charged before by someone else at payments (another request id): nothing more to move.
      ASSIGN_OR_RETURN(finished, FinishCharge(command, claimed_until, SellerChargeState::kCharged,
                                              {}, "", "charged before at payments"));
    } else if (reason == "INSUFFICIENT_AVAILABLE_BALANCE") {
      // Payments recorded nothing: a later call, under a new request id, charges once the
      // seller has money available.
      RETURN_IF_ERROR(retry(command, clock_->Now() + Backoff(command.attempt), true));
    } else if (common::idempotency::IsDefinitive(charged.status())) {
      ASSIGN_OR_RETURN(
          finished, FinishCharge(command, claimed_until, SellerChargeState::kNotCharged, {}, reason,
                                 std::string(charged.status().message())));
    } else {
      RETURN_IF_ERROR(retry(command, clock_->Now() + Backoff(command.calls), false));
    }
    if (finished) ++pass->finished;
  }
  return absl::OkStatus();
}

}  // namespace marketplace::support
