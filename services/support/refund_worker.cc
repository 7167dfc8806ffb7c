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
                           RefundWorkerOptions options)
    : store_(store),
      sender_(sender),
      clock_(clock),
      options_(options),
      thread_(options.interval, [this] {
        absl::StatusOr<int> done = RunOnce();
        if (!done.ok()) common::LogError("refund pass failed", {{"error", done.status().ToString()}});
        return false;
      }) {}

absl::Status RefundWorker::Finish(const RefundCommand& command, pb::RefundState state,
                                  const std::string& detail, const std::string& reason) {
  return store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    const absl::Time now = clock_->Now();
    RETURN_IF_ERROR(tx.UpdateRefundCommand(command.request_id, state, now));
    if (!reason.empty()) RETURN_IF_ERROR(tx.SetRefundResultReason(command.request_id, reason));
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

absl::StatusOr<int> RefundWorker::RunOnce() {
  ASSIGN_OR_RETURN(std::vector<RefundCommand> due,
                   store_->ClaimDueRefunds(clock_->Now(), options_.lease, options_.batch_size));
  int finished = 0;
  for (const RefundCommand& command : due) {
    absl::Status sent = sender_->Refund(command);
    if (sent.ok()) {
      RETURN_IF_ERROR(Finish(command, pb::REFUNDED, ""));
      ++finished;
    } else if (common::idempotency::IsDefinitive(sent)) {
      RETURN_IF_ERROR(Finish(command, pb::REFUND_REFUSED, std::string(sent.message()),
                             common::ReasonOf(sent)));
      ++finished;
    } else {
      const absl::Duration backoff = std::min(
          options_.max_backoff, options_.initial_backoff * (int64_t{1} << std::min(command.attempts, 20)));
      RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) {
        return tx.UpdateRefundCommand(command.request_id, pb::PENDING_REFUND,
                                      clock_->Now() + backoff);
      }));
    }
  }
  return finished;
}

}  // namespace marketplace::support
