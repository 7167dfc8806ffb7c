#include "services/support/ticket_closer.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace marketplace::support {

TicketCloser::TicketCloser(TicketStore* store, Tickets* tickets, const common::Clock* clock,
                           TicketCloserOptions options)
    : store_(store),
      tickets_(tickets),
      clock_(clock),
      options_(options),
      thread_(options.interval, [this] {
        absl::StatusOr<TicketCloseResult> done = RunOnce();
        if (!done.ok()) {
          common::LogError("ticket close pass failed", {{"error", done.status().ToString()}});
          return false;
        }
        return done->more;
      }) {}

absl::StatusOr<TicketCloseResult> TicketCloser::RunOnce() {
  // The CSAT delay of the policy in force (stored with its defaults filled in).
  ASSIGN_OR_RETURN(std::optional<v1::SlaPolicy> policy, store_->CurrentSlaPolicy());
  const absl::Duration csat_delay =
      policy && policy->has_csat_delay()
          ? absl::Seconds(policy->csat_delay().seconds()) +
                absl::Nanoseconds(policy->csat_delay().nanos())
          : absl::Hours(24);
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(std::vector<std::string> due,
                   store_->SolvedTicketsDue(now, now - csat_delay,
                                            options_.batch_size));
  TicketCloseResult result;
  result.more = static_cast<int>(due.size()) >= options_.batch_size;
  int untouched = 0;
  for (const std::string& id : due) {
    bool closed = false;
    bool asked = false;
    RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
      closed = asked = false;
      bool skipped = false;
      ASSIGN_OR_RETURN(std::optional<TicketRecord> ticket, tx.TryLockTicket(id, &skipped));
      if (!ticket || !ticket->merged_into.empty() || !ticket->solved_at) return absl::OkStatus();
      TicketRecord& t = *ticket;
      ASSIGN_OR_RETURN(closed, tickets_->CloseIfDue(tx, t));
      const absl::Time at = clock_->Now();
      if ((t.status == pb::SOLVED || t.status == pb::CLOSED) && at >= *t.solved_at + csat_delay) {
        ASSIGN_OR_RETURN(asked, tx.MarkCsatRequested(t.ticket_id, at));
        if (asked) {
          pb::CsatRequested e;
          e.set_ticket_id(t.ticket_id);
          e.set_buyer_id(t.buyer_id);
          e.set_seller_id(t.seller_id);
          e.set_order_id(t.order_id);
          e.set_channel(t.channel);
          e.set_level(t.level);
          e.set_outcome(t.outcome);
          *e.mutable_solved_at() = common::ToTimestamp(*t.solved_at);
          *e.mutable_rate_before() =
              common::ToTimestamp(*t.solved_at + tickets_->options().rating_window);
          RETURN_IF_ERROR(tx.Emit("support.csat_requested", t.ticket_id, e));
          t.history_seq++;
          RETURN_IF_ERROR(tx.AppendHistory(t.ticket_id, t.history_seq,
                                           {at, "support", pb::AUTHOR_SYSTEM, "CSAT_REQUESTED",
                                            "satisfaction request sent to the buyer"}));
          RETURN_IF_ERROR(tx.SaveTicket(t));
        }
      }
      return absl::OkStatus();
    }));
    if (closed) ++result.closed;
    if (asked) ++result.csat_requests;
    if (!closed && !asked) ++untouched;
  }
  // Rows another transaction held come back at the next pass; do not spin on them.
  if (untouched == static_cast<int>(due.size())) result.more = false;
  return result;
}

}  // namespace marketplace::support
