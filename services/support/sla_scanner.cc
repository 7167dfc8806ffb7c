#include "services/support/sla_scanner.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace marketplace::support {
namespace {

// The author of the scanner's history lines and escalations (AUTHOR_SYSTEM).
const Actor& SystemActor() {
  static const Actor* const actor = new Actor{.id = "support"};
  return *actor;
}

std::string ClockName(const sla::ClockState& c) {
  return absl::StrCat(v1::SlaMetric_Name(c.metric), " ", v1::TicketLevel_Name(c.level), " ",
                      v1::SlaParty_Name(c.party));
}

absl::Status AppendHistory(TicketTransaction& tx, TicketRecord& t, absl::Time now,
                           absl::string_view kind, std::string detail) {
  t.history_seq++;
  t.updated_at = now;
  return tx.AppendHistory(t.ticket_id, t.history_seq,
                          {now, SystemActor().id, pb::AUTHOR_SYSTEM, std::string(kind),
                           std::move(detail)});
}

}  // namespace

SlaScanner::SlaScanner(TicketStore* store, Tickets* tickets, const common::Clock* clock,
                       SlaMetrics* metrics, SlaScannerOptions options)
    : store_(store),
      tickets_(tickets),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      thread_(options.interval, [this] {
        absl::StatusOr<SlaScanResult> done = RunOnce();
        if (!done.ok()) {
          common::LogError("SLA scan failed", {{"error", done.status().ToString()}});
          return false;
        }
        if (done->warnings + done->breaches + done->cancelled > 0) {
          common::LogInfo("SLA scan", {{"warnings", absl::StrCat(done->warnings)},
                                       {"breaches", absl::StrCat(done->breaches)},
                                       {"escalations", absl::StrCat(done->escalations)},
                                       {"cancelled", absl::StrCat(done->cancelled)},
                                       {"skipped", absl::StrCat(done->skipped)}});
        }
        return done->more;
      }) {}

absl::StatusOr<SlaScanResult> SlaScanner::RunOnce() {
  ASSIGN_OR_RETURN(std::vector<DueClock> due,
                   store_->ClaimDueClocks(clock_->Now(), options_.lease, options_.batch_size));
  SlaScanResult result;
  for (const DueClock& d : due) {
    sla::ClockState fired;
    ASSIGN_OR_RETURN(Outcome outcome, ScanClock(d, &fired));
    // Counted once the transaction committed.
    switch (outcome) {
      case Outcome::kNothing:
        break;
      case Outcome::kWarning:
        ++result.warnings;
        if (metrics_ != nullptr) metrics_->Warning(fired);
        break;
      case Outcome::kEscalation:
        ++result.escalations;
        if (metrics_ != nullptr) metrics_->Escalation();
        [[fallthrough]];
      case Outcome::kBreach:
        ++result.breaches;
        if (metrics_ != nullptr) metrics_->ClockStopped(fired);
        break;
      case Outcome::kCancelled:
        ++result.cancelled;
        break;
      case Outcome::kSkipped:
        // Its ticket was held (a request, or this clock's ticket in another pass): the next
        // pass may take it at once.
        RETURN_IF_ERROR(store_->ReleaseClockClaim(d));
        ++result.skipped;
        break;
    }
  }
  // A full batch that changed something: more may be due at once. (Rows skipped come back in
  // the next batch; do not spin on them.)
  result.more = static_cast<int>(due.size()) >= options_.batch_size &&
                result.warnings + result.breaches + result.cancelled > 0;
  return result;
}

absl::StatusOr<SlaScanner::Outcome> SlaScanner::ScanClock(const DueClock& due,
                                                          sla::ClockState* fired) {
  Outcome outcome = Outcome::kNothing;
  RETURN_IF_ERROR(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    outcome = Outcome::kNothing;  // a retried transaction starts over
    bool skipped = false;
    ASSIGN_OR_RETURN(std::optional<TicketRecord> ticket,
                     tx.TryLockTicket(due.ticket_id, &skipped));
    if (skipped) {
      outcome = Outcome::kSkipped;
      return absl::OkStatus();
    }
    if (!ticket) return absl::OkStatus();
    TicketRecord& t = *ticket;
    ASSIGN_OR_RETURN(std::optional<sla::ClockState> clock,
                     tx.LockClock(t.ticket_id, due.metric, due.level));
    if (!clock) return absl::OkStatus();
    const absl::Time now = clock_->Now();
    if (clock->state != sla::ClockRunState::kRunning) return absl::OkStatus();  // acted on
    const bool live = t.merged_into.empty() && t.level == clock->level &&
                      (t.status == pb::OPEN || t.status == pb::AWAITING_BUYER);
    if (!live) {
      RETURN_IF_ERROR(tx.SaveClock(t.ticket_id, sla::CancelClock(*clock, now), now));
      outcome = Outcome::kCancelled;
      return absl::OkStatus();
    }
    const sla::ClockEvent event = sla::Evaluate(*clock, now);
    if (event == sla::ClockEvent::kNone) return absl::OkStatus();
    const sla::ClockState next = sla::ApplyEvent(*clock, event);
    RETURN_IF_ERROR(tx.SaveClock(t.ticket_id, next, now));
    *fired = next;
    if (event == sla::ClockEvent::kWarning) {
      v1::SlaWarning e;
      e.set_ticket_id(t.ticket_id);
      e.set_seller_id(t.seller_id);
      e.set_metric(next.metric);
      e.set_level(next.level);
      e.set_party(next.party);
      *e.mutable_due_at() = common::ToTimestamp(next.due_at);
      RETURN_IF_ERROR(tx.Emit("support.sla_warning", t.ticket_id, e));
      RETURN_IF_ERROR(AppendHistory(tx, t, now, "SLA_WARNING", ClockName(next)));
      RETURN_IF_ERROR(tx.SaveTicket(t));
      outcome = Outcome::kWarning;
      return absl::OkStatus();
    }
    v1::SlaBreached e;
    e.set_ticket_id(t.ticket_id);
    e.set_seller_id(t.seller_id);
    e.set_metric(next.metric);
    e.set_level(next.level);
    e.set_attributed_to(next.party);
    *e.mutable_due_at() = common::ToTimestamp(next.due_at);
    RETURN_IF_ERROR(tx.Emit("support.sla_breached", t.ticket_id, e));
    RETURN_IF_ERROR(AppendHistory(tx, t, now, "SLA_BREACHED", ClockName(next)));
    outcome = Outcome::kBreach;
    if (sla::EscalatesOnBreach(next) && t.level == v1::L1_SELLER) {
      RETURN_IF_ERROR(tickets_->EscalateLocked(
          tx, t, SystemActor(), "SLA_BREACH",
          absl::StrCat(v1::SlaMetric_Name(next.metric), " breached")));
      outcome = Outcome::kEscalation;
      return absl::OkStatus();  // saved by EscalateLocked
    }
    return tx.SaveTicket(t);
  }));
  return outcome;
}

}  // namespace marketplace::support
