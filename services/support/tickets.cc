#include "services/support/tickets.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/support/reason_codes.h"
#include "services/support/refund_funding.h"

namespace marketplace::support {
namespace {

absl::Status TicketNotFound(absl::string_view ticket_id) {
  return common::NotFound("ticket", ticket_id);
}

absl::Status NotYourPart() {
  return common::PermissionDenied("the caller's part in this ticket does not allow this");
}

absl::Status Closed() {
  return common::FailedPrecondition("TICKET_CLOSED",
                                    "the ticket is closed: open a new ticket about the order");
}

// The responsible party of the ticket's level: the seller at level 1, staff at level 2.
bool IsResponsible(const Actor& actor, const TicketRecord& t) {
  if (t.level == v1::L1_SELLER) return actor.IsSellerOf(t.seller_id);
  return actor.staff();
}

pb::FavouredParty FavouredBy(pb::Outcome outcome) {
  switch (outcome) {
    case pb::REFUND_FULL:
    case pb::REFUND_PARTIAL:
    case pb::REPLACEMENT_SENT:
    case pb::RETURN_THEN_REFUND:
      return pb::FAVOURS_BUYER;
    case pb::NO_ACTION:
      return pb::FAVOURS_SELLER;
    default:
      return pb::FAVOURS_NEITHER;
  }
}

bool IsRefund(pb::Outcome outcome) {
  return outcome == pb::REFUND_FULL || outcome == pb::REFUND_PARTIAL ||
         outcome == pb::RETURN_THEN_REFUND;
}

}  // namespace

pb::AuthorRole RoleOn(const Actor& actor, const TicketRecord& ticket) {
  if (actor.IsBuyerOf(ticket.buyer_id)) return pb::AUTHOR_BUYER;
  if (actor.IsSellerOf(ticket.seller_id)) return pb::AUTHOR_SELLER;
  if (actor.admin) return pb::AUTHOR_ADMIN;
  if (actor.agent) return pb::AUTHOR_AGENT;
  return pb::AUTHOR_SYSTEM;
}

absl::Status Tickets::CheckVisible(const Actor& actor, const std::string& ticket_id,
                                   const std::optional<TicketRecord>& ticket) const {
  if (!ticket || !actor.MaySee(ticket->buyer_id, ticket->seller_id)) {
    return TicketNotFound(ticket_id);
  }
  return absl::OkStatus();
}

TicketRecord Tickets::AsOfNow(TicketRecord t) const {
  if (t.status == pb::SOLVED && t.closes_at && clock_->Now() >= *t.closes_at) {
    t.status = pb::CLOSED;
    t.closed_at = *t.closes_at;
  }
  return t;
}

absl::StatusOr<TicketRecord> Tickets::LoadForWrite(TicketTransaction& tx, const Actor& actor,
                                                   const std::string& ticket_id) {
  ASSIGN_OR_RETURN(std::optional<TicketRecord> found, tx.LockTicket(ticket_id));
  if (!found || !actor.MaySee(found->buyer_id, found->seller_id)) {
    return TicketNotFound(ticket_id);
  }
  TicketRecord now = *found;
  RETURN_IF_ERROR(CloseIfDue(tx, now).status());  // closed by time: recorded now
  return now;
}

absl::StatusOr<bool> Tickets::CloseIfDue(TicketTransaction& tx, TicketRecord& t) {
  TicketRecord now = AsOfNow(t);
  if (now.status == t.status) return false;
  now.history_seq++;
  RETURN_IF_ERROR(tx.AppendHistory(
      now.ticket_id, now.history_seq,
      {*now.closed_at, "support", pb::AUTHOR_SYSTEM, "STATUS", "SOLVED -> CLOSED"}));
  RETURN_IF_ERROR(tx.SaveTicket(now));
  t = std::move(now);
  return true;
}

absl::Status Tickets::Record(TicketTransaction& tx, TicketRecord& t, const Actor& actor,
                             absl::string_view kind, std::string detail) {
  const absl::Time now = clock_->Now();
  t.updated_at = now;
  t.history_seq++;
  return tx.AppendHistory(t.ticket_id, t.history_seq,
                          {now, actor.id, RoleOn(actor, t), std::string(kind), std::move(detail)});
}

absl::StatusOr<MessageRecord> Tickets::WriteMessage(TicketTransaction& tx, TicketRecord& t,
                                                    const Actor& actor, const NewMessage& m) {
  const absl::Time now = clock_->Now();
  MessageRecord message;
  message.message_id = common::NewId("msg_");
  message.ticket_id = t.ticket_id;
  message.seq = ++t.all_messages;
  message.author_id = actor.id;
  message.author_role = RoleOn(actor, t);
  message.visibility = m.visibility;
  message.body = m.body;
  message.attachments = m.attachments;
  message.created_at = now;
  if (m.visibility == pb::PUBLIC) t.public_messages++;
  RETURN_IF_ERROR(tx.InsertMessage(message));
  t.updated_at = now;
  return message;
}

absl::Status Tickets::EmitClaimUpdated(TicketTransaction& tx, const TicketRecord& t,
                                       absl::string_view cause) {
  pb::ClaimUpdated e;
  e.set_ticket_id(t.ticket_id);
  e.set_seller_id(t.seller_id);
  e.set_is_claim(t.is_claim);
  e.set_counts_against_seller(t.counts_against_seller);
  e.set_cause(std::string(cause));
  return tx.Emit("support.claim_updated", t.ticket_id, e);
}

absl::Status Tickets::FindSellerAtFault(TicketTransaction& tx, TicketRecord& t,
                                        const Actor& actor, absl::Time now) {
  if (!t.is_claim) {
    return common::FailedPrecondition(
        "NOT_A_CLAIM", "seller_at_fault: the ticket is not a claim (its category)");
  }
  if (FavouredBy(t.outcome) != pb::FAVOURS_BUYER) {
    return common::FailedPrecondition(
        "NOT_RESOLVED_FOR_BUYER",
        "seller_at_fault: the ticket has no resolution in the buyer's favour (resolve it with "
        "seller_at_fault instead)");
  }
  // The guarantee-funded refunds not yet marked are marked (none: a repeated finding changes
  // nothing), also when the ticket counted against the seller already for another reason (the
  // seller's own refund after a reopened instant refund).
  ASSIGN_OR_RETURN(int marked, tx.MarkGuaranteeRefundsForCharge(t.ticket_id, actor.id, now));
  const bool counted_before = t.counts_against_seller;
  if (counted_before && marked == 0) return absl::OkStatus();
  t.counts_against_seller = true;
  RETURN_IF_ERROR(Record(tx, t, actor, "SELLER_AT_FAULT",
                         absl::StrCat(marked, " guarantee-funded refund(s) to charge to the "
                                              "seller")));
  if (counted_before) return absl::OkStatus();
  return EmitClaimUpdated(tx, t, "SELLER_AT_FAULT");
}

absl::Status Tickets::EmitEscalated(TicketTransaction& tx, const TicketRecord& t) {
  pb::TicketEscalated e;
  e.set_ticket_id(t.ticket_id);
  e.set_seller_id(t.seller_id);
  e.set_reason(t.escalation_reason);
  if (t.escalated_at) *e.mutable_escalated_at() = common::ToTimestamp(*t.escalated_at);
  return tx.Emit("support.ticket_escalated", t.ticket_id, e);
}

absl::StatusOr<std::shared_ptr<const sla::Policy>> Tickets::PolicyIn(TicketTransaction& tx) {
  ASSIGN_OR_RETURN(std::optional<int64_t> version, tx.CurrentSlaPolicyVersion());
  if (!version) return std::shared_ptr<const sla::Policy>();
  return PolicyVersion(tx, *version);
}

absl::StatusOr<std::shared_ptr<const sla::Policy>> Tickets::PolicyVersion(TicketTransaction& tx,
                                                                          int64_t version) {
  {
    absl::MutexLock lock(&mu_);
    auto it = policies_.find(version);
    if (it != policies_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::optional<v1::SlaPolicy> stored, tx.ReadSlaPolicyVersion(version));
  if (!stored) {
    return absl::InternalError(absl::StrCat("SLA policy version ", version, " is not stored"));
  }
  ASSIGN_OR_RETURN(sla::Policy parsed, sla::Policy::FromProto(*stored));
  auto policy = std::make_shared<const sla::Policy>(std::move(parsed));
  absl::MutexLock lock(&mu_);
  // A concurrent reader may have put the same version first: either copy is the same.
  return policies_.emplace(version, policy).first->second;
}

absl::Status Tickets::DriveClock(TicketTransaction& tx, const TicketRecord& t,
                                 v1::SlaMetric metric, ClockAction action, absl::Time now) {
  ASSIGN_OR_RETURN(std::optional<sla::ClockState> clock, tx.LockClock(t.ticket_id, metric, t.level));
  if (!clock) return absl::OkStatus();
  sla::ClockState next = *clock;
  if (action == ClockAction::kMeet) {
    next = sla::MeetClock(*clock, now);
  } else if (action == ClockAction::kCancel) {
    next = sla::CancelClock(*clock, now);
    if (next.state == clock->state) return absl::OkStatus();
  } else {
    if (clock->state == sla::ClockRunState::kMet ||
        clock->state == sla::ClockRunState::kBreached) {
      return absl::OkStatus();  // a stopped clock stays stopped
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const sla::Policy> policy,
                     PolicyVersion(tx, clock->policy_version));
    if (action == ClockAction::kPause) {
      ASSIGN_OR_RETURN(next, sla::PauseClock(*clock, now, *policy));
    } else {
      ASSIGN_OR_RETURN(next, sla::ResumeClock(*clock, now, *policy));
    }
  }
  if (metrics_ != nullptr && next.state != clock->state) metrics_->ClockStopped(next);
  return tx.SaveClock(t.ticket_id, next, now);
}

absl::Status Tickets::StartUnlessRunning(TicketTransaction& tx, const TicketRecord& t,
                                         v1::SlaMetric metric, v1::SlaParty party,
                                         absl::Time now) {
  ASSIGN_OR_RETURN(std::optional<sla::ClockState> clock, tx.LockClock(t.ticket_id, metric, t.level));
  if (clock && (clock->state == sla::ClockRunState::kRunning ||
                clock->state == sla::ClockRunState::kPaused)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const sla::Policy> policy, PolicyIn(tx));
  if (!policy || !policy->TargetFor(t.level, t.channel, metric)) return absl::OkStatus();
  ASSIGN_OR_RETURN(sla::ClockState started,
                   sla::StartClock(*policy, t.level, t.channel, metric, party, now));
  return clock ? tx.SaveClock(t.ticket_id, started, now)
               : tx.InsertClocks(t.ticket_id, {started}, now);
}

absl::StatusOr<absl::Time> Tickets::ClosesAt(TicketTransaction& tx, absl::Time solved_at) {
  ASSIGN_OR_RETURN(std::shared_ptr<const sla::Policy> policy, PolicyIn(tx));
  return solved_at + (policy ? policy->close_after() : sla::Policy::kDefaultCloseAfter);
}

absl::Status Tickets::RestartOnReopen(TicketTransaction& tx, const TicketRecord& t,
                                      absl::Time now) {
  const v1::SlaParty party = sla::ResponsibleParty(t.level, v1::SLA_PARTY_UNSPECIFIED);
  RETURN_IF_ERROR(StartUnlessRunning(tx, t, v1::REQUESTER_WAIT, party, now));
  return StartUnlessRunning(tx, t, t.first_reply_at ? v1::NEXT_REPLY : v1::FIRST_REPLY, party,
                            now);
}

absl::StatusOr<std::optional<absl::Time>> Tickets::StartClocks(
    TicketTransaction& tx, const std::string& ticket_id, v1::Channel channel,
    v1::TicketLevel level, const std::vector<v1::SlaMetric>& metrics, v1::SlaParty party,
    absl::Time now) {
  ASSIGN_OR_RETURN(std::shared_ptr<const sla::Policy> policy, PolicyIn(tx));
  std::optional<absl::Time> window_due;
  if (!policy) return window_due;
  std::vector<sla::ClockState> started;
  for (v1::SlaMetric metric : metrics) {
    if (!policy->TargetFor(level, channel, metric)) continue;
    ASSIGN_OR_RETURN(sla::ClockState c,
                     sla::StartClock(*policy, level, channel, metric, party, now));
    if (metric == v1::L1_WINDOW) window_due = c.due_at;
    started.push_back(std::move(c));
  }
  RETURN_IF_ERROR(tx.InsertClocks(ticket_id, started, now));
  return window_due;
}

absl::StatusOr<CreateResult> Tickets::Create(TicketTransaction& tx, const Actor& actor,
                                             const CreateCommand& c, const OrderPayment& order) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(std::optional<TicketRecord> latest,
                   tx.LockLatestForOrder(c.buyer_id, c.order_id));
  std::string follow_up_of;
  if (latest) {
    TicketRecord t = AsOfNow(*latest);
    if (t.status != pb::CLOSED) {
      // The merge rule: the message joins the buyer's open ticket about the order.
      if (t.status == pb::SOLVED) {
        RETURN_IF_ERROR(RestartOnReopen(tx, t, now));
        t.status = pb::OPEN;
        RETURN_IF_ERROR(Record(tx, t, actor, "REOPENED", "SOLVED -> OPEN (new message)"));
      } else if (t.status == pb::AWAITING_BUYER) {
        t.status = pb::OPEN;
        RETURN_IF_ERROR(Record(tx, t, actor, "STATUS", "AWAITING_BUYER -> OPEN"));
        // The buyer answered (with a new claim): the requester's wait runs again.
        RETURN_IF_ERROR(DriveClock(tx, t, v1::REQUESTER_WAIT, ClockAction::kResume, now));
      }
      RETURN_IF_ERROR(WriteMessage(tx, t, actor, c.message).status());
      RETURN_IF_ERROR(Record(tx, t, actor, "MERGED_MESSAGE",
                             absl::StrCat("CreateTicket (", pb::Category_Name(c.category),
                                          ") joined this ticket")));
      const bool became_claim = !t.is_claim && IsClaim(c.category);
      if (became_claim) t.is_claim = true;
      RETURN_IF_ERROR(tx.SaveTicket(t));
      if (became_claim) RETURN_IF_ERROR(EmitClaimUpdated(tx, t, "MERGED"));
      return CreateResult{std::move(t), true};
    }
    follow_up_of = t.ticket_id;
    if (t.status != latest->status) {  // closed by time: recorded now
      t.history_seq++;
      RETURN_IF_ERROR(tx.AppendHistory(
          t.ticket_id, t.history_seq,
          {*t.closed_at, "support", pb::AUTHOR_SYSTEM, "STATUS", "SOLVED -> CLOSED"}));
      RETURN_IF_ERROR(tx.SaveTicket(t));
    }
  }

  TicketRecord t;
  t.ticket_id = common::NewId("tkt_");
  t.buyer_id = c.buyer_id;
  t.seller_id = order.seller_id;
  t.order_id = c.order_id;
  t.payment_id = order.payment_id;
  t.payment_amount = order.amount;
  t.category = c.category;
  t.channel = c.channel;
  t.subject = c.subject;
  t.follow_up_of = follow_up_of;
  t.created_at = now;
  t.updated_at = now;
  t.escalation_allowed_at = now + options_.l1_window;
  t.is_claim = IsClaim(c.category);
  t.status = pb::OPEN;
  // The SLA clocks of the opening level; the policy's L1_WINDOW decides escalation_allowed_at
  // (--l1_window only when the policy has no L1_WINDOW target).
  const v1::TicketLevel opening_level =
      c.category == pb::COUNTERFEIT ? v1::L2_OPERATOR : v1::L1_SELLER;
  // A claim refunded at once is SOLVED in this transaction: no clock starts for it.
  ASSIGN_OR_RETURN(std::optional<InstantRefundDecision> instant,
                   DecideInstantRefundIn(tx, c, order, now));
  absl::StatusOr<std::optional<absl::Time>> no_clocks = std::optional<absl::Time>();
  ASSIGN_OR_RETURN(
      std::optional<absl::Time> window_due,
      instant ? std::move(no_clocks) : StartClocks(tx, t.ticket_id, t.channel, opening_level,
                  opening_level == v1::L1_SELLER
                      ? std::vector<v1::SlaMetric>{v1::FIRST_REPLY, v1::L1_WINDOW,
                                                   v1::REQUESTER_WAIT}
                      : std::vector<v1::SlaMetric>{v1::FIRST_REPLY, v1::REQUESTER_WAIT},
                  sla::ResponsibleParty(opening_level, v1::SLA_PARTY_UNSPECIFIED), now));
  if (window_due) t.escalation_allowed_at = *window_due;
  if (c.category == pb::COUNTERFEIT) {
    t.level = v1::L2_OPERATOR;
    t.escalated_at = now;
    t.escalation_reason = "COUNTERFEIT";
    t.sort_at = now;
  } else {
    t.level = v1::L1_SELLER;
    t.sort_at = t.escalation_allowed_at;
  }
  // The history line and the message first: they complete the ticket's row (its counters and
  // update time), which is then written once.
  RETURN_IF_ERROR(Record(tx, t, actor, "CREATED",
                         absl::StrCat(pb::Category_Name(t.category), " via ",
                                      v1::Channel_Name(t.channel), " at ",
                                      v1::TicketLevel_Name(t.level),
                                      follow_up_of.empty() ? "" : " follow-up of ",
                                      follow_up_of)));
  RETURN_IF_ERROR(WriteMessage(tx, t, actor, c.message).status());
  RETURN_IF_ERROR(tx.InsertTicket(t));

  pb::TicketOpened e;
  e.set_ticket_id(t.ticket_id);
  e.set_order_id(t.order_id);
  e.set_buyer_id(t.buyer_id);
  e.set_seller_id(t.seller_id);
  e.set_category(t.category);
  e.set_channel(t.channel);
  e.set_level(t.level);
  e.set_is_claim(t.is_claim);
  e.set_follow_up_of(t.follow_up_of);
  *e.mutable_opened_at() = common::ToTimestamp(now);
  RETURN_IF_ERROR(tx.Emit("support.ticket_opened", t.ticket_id, e));
  if (t.level == v1::L2_OPERATOR) RETURN_IF_ERROR(EmitEscalated(tx, t));
  if (instant) RETURN_IF_ERROR(ResolveAtOnce(tx, t, *instant, now));
  return CreateResult{std::move(t), false};
}

absl::StatusOr<MessageRecord> Tickets::AddMessage(TicketTransaction& tx, const Actor& actor,
                                                  const std::string& ticket_id,
                                                  const NewMessage& m) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, ticket_id));
  const bool party = !actor.staff();
  if (party && m.visibility == pb::INTERNAL) {
    return common::PermissionDenied("visibility: INTERNAL messages are for staff only");
  }
  if (t.status == pb::CLOSED) return Closed();
  const bool is_buyer = actor.IsBuyerOf(t.buyer_id);
  // Asking the buyer: staff at any level, the seller at level 1.
  if (m.await_buyer && !(actor.staff() || (t.level == v1::L1_SELLER &&
                                           actor.IsSellerOf(t.seller_id)))) {
    return NotYourPart();
  }
  // Asking the seller at level 2: staff only, on a ticket still open there.
  if (m.await_seller) {
    if (!actor.staff()) return NotYourPart();
    if (t.level != v1::L2_OPERATOR) {
      return common::FailedPrecondition(
          "WRONG_LEVEL", "await_seller: the ticket is at level 1, where the seller answers anyway");
    }
    if (t.status == pb::SOLVED) {
      return common::FailedPrecondition("ALREADY_SOLVED", "await_seller: the ticket is solved");
    }
  }
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(MessageRecord message, WriteMessage(tx, t, actor, m));
  RETURN_IF_ERROR(Record(tx, t, actor, "MESSAGE",
                         absl::StrCat(pb::MessageVisibility_Name(m.visibility), " ",
                                      message.message_id)));
  if (m.visibility == pb::PUBLIC) {
    if (is_buyer && t.status == pb::AWAITING_BUYER) {
      RETURN_IF_ERROR(DriveClock(tx, t, v1::REQUESTER_WAIT, ClockAction::kResume, now));
    }
    if (is_buyer && t.first_reply_at) {
      RETURN_IF_ERROR(StartUnlessRunning(
          tx, t, v1::NEXT_REPLY, sla::ResponsibleParty(t.level, v1::SLA_PARTY_UNSPECIFIED), now));
    }
    // The seller answering the operator's question at level 2.
    if (t.level == v1::L2_OPERATOR && actor.IsSellerOf(t.seller_id)) {
      RETURN_IF_ERROR(DriveClock(tx, t, v1::SELLER_REPLY, ClockAction::kMeet, now));
    }
    if (IsResponsible(actor, t)) {
      RETURN_IF_ERROR(DriveClock(tx, t, v1::NEXT_REPLY, ClockAction::kMeet, now));
    }
    if (is_buyer && (t.status == pb::AWAITING_BUYER || t.status == pb::SOLVED)) {
      const std::string from = pb::TicketStatus_Name(t.status);
      if (t.status == pb::SOLVED) RETURN_IF_ERROR(RestartOnReopen(tx, t, now));
      t.status = pb::OPEN;
      RETURN_IF_ERROR(Record(tx, t, actor, t.outcome != pb::OUTCOME_UNSPECIFIED && from == "SOLVED"
                                               ? "REOPENED"
                                               : "STATUS",
                             absl::StrCat(from, " -> OPEN")));
    }
    if (actor.IsSellerOf(t.seller_id)) t.seller_replied = true;
    if (IsResponsible(actor, t) && !t.first_reply_at) {
      t.first_reply_at = now;
      const absl::Time start =
          t.level == v1::L1_SELLER ? t.created_at : t.escalated_at.value_or(t.created_at);
      pb::FirstResponse e;
      e.set_ticket_id(t.ticket_id);
      e.set_seller_id(t.seller_id);
      e.set_channel(t.channel);
      e.set_level(t.level);
      e.set_seconds(absl::ToInt64Seconds(now - start));
      // The level's FIRST_REPLY clock decides; a ticket without one (no target in the policy)
      // keeps the older rule.
      ASSIGN_OR_RETURN(std::optional<sla::ClockState> clock,
                       tx.LockClock(t.ticket_id, v1::FIRST_REPLY, t.level));
      if (metrics_ != nullptr) metrics_->FirstReply(t.channel, t.level, now - start);
      if (clock) {
        const sla::ClockState met = sla::MeetClock(*clock, now);
        if (metrics_ != nullptr && met.state != clock->state) metrics_->ClockStopped(met);
        RETURN_IF_ERROR(tx.SaveClock(t.ticket_id, met, now));
        e.set_within_sla(met.state == sla::ClockRunState::kMet);
      } else {
        e.set_within_sla(t.level == v1::L1_SELLER
                             ? now <= t.escalation_allowed_at
                             : now - start <= options_.l2_first_reply_target);
      }
      RETURN_IF_ERROR(tx.Emit("support.first_response", t.ticket_id, e));
      // The seller answered within its window: L1_WINDOW is met (late: BREACHED).
      if (t.level == v1::L1_SELLER) {
        RETURN_IF_ERROR(DriveClock(tx, t, v1::L1_WINDOW, ClockAction::kMeet, now));
      }
    }
    if (m.await_seller) {
      RETURN_IF_ERROR(StartUnlessRunning(tx, t, v1::SELLER_REPLY, v1::SELLER, now));
      RETURN_IF_ERROR(Record(tx, t, actor, "AWAITING_SELLER", message.message_id));
    }
    if (m.await_buyer && t.status == pb::OPEN) {
      RETURN_IF_ERROR(DriveClock(tx, t, v1::REQUESTER_WAIT, ClockAction::kPause, now));
      t.status = pb::AWAITING_BUYER;
      RETURN_IF_ERROR(Record(tx, t, actor, "STATUS", "OPEN -> AWAITING_BUYER"));
    }
  }
  RETURN_IF_ERROR(tx.SaveTicket(t));
  return message;
}

absl::StatusOr<TicketRecord> Tickets::Escalate(TicketTransaction& tx, const Actor& actor,
                                               const std::string& ticket_id,
                                               const std::string& note) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, ticket_id));
  if (t.status == pb::CLOSED || t.status == pb::SOLVED) return Closed();
  if (t.level == v1::L2_OPERATOR) {
    return common::FailedPrecondition("ALREADY_ESCALATED", "the ticket is at level 2 already");
  }
  const absl::Time now = clock_->Now();
  std::string reason;
  if (actor.staff()) {
    reason = "AGENT";
  } else if (actor.IsSellerOf(t.seller_id)) {
    reason = "SELLER_REQUEST";
  } else {
    // The buyer: once the seller replied publicly or the level-1 window has passed.
    if (!t.seller_replied && now < t.escalation_allowed_at) {
      return common::WithReason(
          absl::FailedPreconditionError(absl::StrCat(
              "the seller has until ", absl::FormatTime(absl::RFC3339_full,
                                                        t.escalation_allowed_at,
                                                        absl::UTCTimeZone()),
              " to answer before the ticket can be escalated")),
          "L1_WINDOW_OPEN",
          {{"escalation_allowed_at", absl::FormatTime(absl::RFC3339_full,
                                                      t.escalation_allowed_at,
                                                      absl::UTCTimeZone())}});
    }
    reason = "BUYER_REQUEST";
  }
  RETURN_IF_ERROR(EscalateLocked(tx, t, actor, reason, note));
  return t;
}

absl::Status Tickets::EscalateLocked(TicketTransaction& tx, TicketRecord& t, const Actor& actor,
                                     const std::string& reason, const std::string& note) {
  if (t.level != v1::L1_SELLER || t.status == pb::SOLVED || t.status == pb::CLOSED) {
    return absl::InternalError("EscalateLocked: the ticket is not open at level 1");
  }
  const absl::Time now = clock_->Now();
  // The seller's clocks stop without a result: the level is left.
  for (v1::SlaMetric metric :
       {v1::FIRST_REPLY, v1::NEXT_REPLY, v1::REQUESTER_WAIT, v1::L1_WINDOW}) {
    RETURN_IF_ERROR(DriveClock(tx, t, metric, ClockAction::kCancel, now));
  }
  t.level = v1::L2_OPERATOR;
  t.escalated_at = now;
  t.escalation_reason = reason;
  RETURN_IF_ERROR(StartClocks(tx, t.ticket_id, t.channel, v1::L2_OPERATOR,
                              {v1::FIRST_REPLY, v1::REQUESTER_WAIT},
                              sla::ResponsibleParty(v1::L2_OPERATOR, v1::SLA_PARTY_UNSPECIFIED),
                              now)
                      .status());
  t.first_reply_at.reset();
  t.sort_at = now;
  if (t.status == pb::AWAITING_BUYER) t.status = pb::OPEN;
  RETURN_IF_ERROR(Record(tx, t, actor, "ESCALATED",
                         note.empty() ? reason : absl::StrCat(reason, ": ", note)));
  RETURN_IF_ERROR(tx.SaveTicket(t));
  return EmitEscalated(tx, t);
}

absl::StatusOr<TicketRecord> Tickets::Assign(TicketTransaction& tx, const Actor& actor,
                                             const std::string& ticket_id,
                                             const std::string& assignee, bool unassign) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, ticket_id));
  if (t.status == pb::CLOSED) return Closed();
  std::string next;
  if (unassign) {
    if (!actor.admin) return common::PermissionDenied("unassign: ADMIN only");
  } else if (actor.admin) {
    next = assignee.empty() ? actor.id : assignee;  // empty: also an agent (SupportApi)
  } else {
    if (!assignee.empty() && assignee != actor.id) {
      return common::PermissionDenied("a SUPPORT_AGENT assigns tickets to itself only");
    }
    next = actor.id;
  }
  const std::string before = t.assignee_id;
  t.assignee_id = next;
  RETURN_IF_ERROR(Record(tx, t, actor, "ASSIGNED",
                         absl::StrCat(before.empty() ? "-" : before, " -> ",
                                      next.empty() ? "-" : next)));
  RETURN_IF_ERROR(tx.SaveTicket(t));
  return t;
}

absl::StatusOr<TicketRecord> Tickets::Resolve(TicketTransaction& tx, const Actor& actor,
                                              const ResolveCommand& c) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, c.ticket_id));
  const bool as_seller = !actor.staff();
  if (as_seller && !actor.IsSellerOf(t.seller_id)) return NotYourPart();  // the buyer
  if (t.status == pb::CLOSED) return Closed();
  if (t.status == pb::SOLVED) {
    return common::FailedPrecondition("ALREADY_SOLVED", "the ticket is solved already");
  }
  if (as_seller && t.level != v1::L1_SELLER) {
    return common::FailedPrecondition("WRONG_LEVEL",
                                      "the ticket is at level 2: the operator resolves it");
  }
  if (!as_seller && t.level != v1::L2_OPERATOR) {
    return common::FailedPrecondition("WRONG_LEVEL",
                                      "the ticket is at level 1: escalate it before resolving");
  }
  if (as_seller && c.outcome == pb::NO_ACTION) {
    return common::FailedPrecondition("SELLER_CANNOT_CLOSE_WITHOUT_ACTION",
                                      "the seller cannot resolve with NO_ACTION");
  }
  if (!IsReasonCodeOf(t.category, c.reason_code)) {
    return common::InvalidField(
        "reason_code", absl::StrCat("must be a reason code of category ",
                                    pb::Category_Name(t.category), " (version ",
                                    kReasonCodesVersion, ")"));
  }
  const absl::Time now = clock_->Now();
  std::optional<Amount> refund;
  if (c.outcome == pb::REFUND_PARTIAL) {
    refund = *c.refund_amount;
    if (refund->currency != t.payment_amount.currency) {
      return common::FailedPrecondition(
          "CURRENCY_MISMATCH",
          absl::StrCat("the payment is in ", t.payment_amount.currency));
    }
    if (refund->minor > t.payment_amount.minor) {
      return common::InvalidField("refund_amount.amount_minor",
                                  "must be at most the payment's amount");
    }
  } else if (IsRefund(c.outcome)) {
    refund = t.payment_amount;
  }
  if (refund && !t.payment_id.empty()) {
    // What earlier resolutions of this order refunded (a partial refund, an instant refund,
    // then a reopening): REFUND_FULL and RETURN_THEN_REFUND ask for the rest, a partial
    // refund at most the rest.
    ASSIGN_OR_RETURN(int64_t refunded, tx.RefundedOfPayment(t.buyer_id, t.order_id, t.payment_id));
    const int64_t left = std::max<int64_t>(0, t.payment_amount.minor - refunded);
    if (left == 0) {
      return common::FailedPrecondition(
          "NOTHING_LEFT_TO_REFUND",
          "the whole payment is refunded already (or its refunds are pending)");
    }
    if (c.outcome != pb::REFUND_PARTIAL) {
      refund->minor = left;
    } else if (refund->minor > left) {
      return common::FailedPrecondition(
          "REFUND_EXCEEDS_REMAINING",
          absl::StrCat("at most ", left, " ", t.payment_amount.currency,
                       " minor units of the payment are not refunded yet"));
    }
  }
  const bool counted_before = t.counts_against_seller;
  RETURN_IF_ERROR(DriveClock(tx, t, v1::REQUESTER_WAIT, ClockAction::kMeet, now));
  // Replies nobody waits for any more stop without a result (a reopening starts them again).
  for (v1::SlaMetric metric : {v1::FIRST_REPLY, v1::NEXT_REPLY, v1::SELLER_REPLY}) {
    RETURN_IF_ERROR(DriveClock(tx, t, metric, ClockAction::kCancel, now));
  }
  t.status = pb::SOLVED;
  t.solved_at = now;
  ASSIGN_OR_RETURN(t.closes_at, ClosesAt(tx, now));
  t.outcome = c.outcome;
  t.reason_code = c.reason_code;
  t.reason_codes_version = kReasonCodesVersion;
  t.resolution_note = c.explanation;
  const bool favours_buyer = FavouredBy(c.outcome) == pb::FAVOURS_BUYER;
  // Once counted, a claim stays counted through later resolutions (a finding is not withdrawn;
  // the refunds it marked are charged all the same), except one decided for the seller
  // (NO_ACTION): a claim decided for the seller never counts (sellerkpi's rule too). Charges
  // already made stay made.
  const bool favours_seller = FavouredBy(c.outcome) == pb::FAVOURS_SELLER;
  t.counts_against_seller = (counted_before && !favours_seller) ||
                            (t.is_claim && favours_buyer && (as_seller || c.seller_at_fault));
  // Staff finding the seller at fault also move earlier guarantee-funded refunds (an instant
  // refund reopened and escalated) onto the seller: those not marked yet.
  if (t.is_claim && favours_buyer && c.seller_at_fault && !as_seller) {
    ASSIGN_OR_RETURN(int marked, tx.MarkGuaranteeRefundsForCharge(t.ticket_id, actor.id, now));
    if (marked > 0) {
      RETURN_IF_ERROR(Record(tx, t, actor, "SELLER_AT_FAULT",
                             absl::StrCat(marked, " guarantee-funded refund(s) to charge to the "
                                                  "seller")));
    }
  }
  RETURN_IF_ERROR(Record(tx, t, actor, "RESOLVED",
                         absl::StrCat(pb::Outcome_Name(c.outcome), " ", c.reason_code)));
  if (refund) {
    if (t.payment_id.empty()) {
      return common::FailedPrecondition("NO_PAYMENT", "the order has no payment to refund");
    }
    RefundCommand command;
    command.request_id = absl::StrCat("support:", t.ticket_id, ":", t.history_seq);
    command.ticket_id = t.ticket_id;
    command.payment_id = t.payment_id;
    command.amount = *refund;
    command.decided_by = actor.id;
    command.decided_level = t.level;
    command.funding = FundingForResolution(t.level, as_seller);
    command.created_at = now;
    RETURN_IF_ERROR(tx.InsertRefundCommand(command));
    t.refund_amount = refund;
    t.refund_state = pb::PENDING_REFUND;
    t.refund_request_id = command.request_id;
    RETURN_IF_ERROR(Record(tx, t, actor, "REFUND_RECORDED",
                           absl::StrCat(refund->minor, " ", refund->currency, " as ",
                                        command.request_id, " funded ",
                                        FundingName(command.funding))));
  } else {
    t.refund_amount.reset();
    t.refund_state = pb::REFUND_STATE_UNSPECIFIED;
    t.refund_request_id.clear();
  }
  RETURN_IF_ERROR(tx.SaveTicket(t));

  pb::TicketResolved e;
  e.set_ticket_id(t.ticket_id);
  e.set_seller_id(t.seller_id);
  e.set_category(t.category);
  e.set_level(t.level);
  e.set_outcome(t.outcome);
  e.set_reason_code(t.reason_code);
  if (refund) {
    e.mutable_amount()->set_currency_code(refund->currency);
    e.mutable_amount()->set_amount_minor(refund->minor);
  }
  e.set_favoured(FavouredBy(t.outcome));
  e.set_is_claim(t.is_claim);
  e.set_counts_against_seller(t.counts_against_seller);
  RETURN_IF_ERROR(tx.Emit("support.ticket_resolved", t.ticket_id, e));
  if (!counted_before && t.counts_against_seller && !as_seller) {
    RETURN_IF_ERROR(EmitClaimUpdated(tx, t, "SELLER_AT_FAULT"));
  }
  return t;
}

absl::StatusOr<TicketRecord> Tickets::Reopen(TicketTransaction& tx, const Actor& actor,
                                             const std::string& ticket_id,
                                             const std::string& body) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, ticket_id));
  if (!actor.IsBuyerOf(t.buyer_id)) return NotYourPart();
  if (t.status == pb::CLOSED) {
    return common::FailedPrecondition(
        "REOPEN_WINDOW_PASSED",
        "the ticket is closed: open a new ticket about the order (it carries follow_up_of)");
  }
  if (t.status != pb::SOLVED) {
    return common::FailedPrecondition("NOT_SOLVED", "only a SOLVED ticket can be reopened");
  }
  RETURN_IF_ERROR(RestartOnReopen(tx, t, clock_->Now()));
  t.status = pb::OPEN;
  RETURN_IF_ERROR(Record(tx, t, actor, "REOPENED", "SOLVED -> OPEN"));
  NewMessage m;
  m.body = body;
  RETURN_IF_ERROR(WriteMessage(tx, t, actor, m).status());
  RETURN_IF_ERROR(tx.SaveTicket(t));
  return t;
}

absl::StatusOr<TicketRecord> Tickets::Merge(TicketTransaction& tx, const Actor& actor,
                                            const std::string& target_id,
                                            const std::string& source_id) {
  if (target_id == source_id) {
    return common::FailedPrecondition("MERGE_SELF", "a ticket cannot be merged into itself");
  }
  // Locks in id order, so two opposite merges cannot deadlock.
  const bool target_first = target_id < source_id;
  absl::StatusOr<TicketRecord> first =
      LoadForWrite(tx, actor, target_first ? target_id : source_id);
  if (!first.ok()) return first.status();
  absl::StatusOr<TicketRecord> second =
      LoadForWrite(tx, actor, target_first ? source_id : target_id);
  if (!second.ok()) return second.status();
  TicketRecord target = target_first ? *std::move(first) : *std::move(second);
  TicketRecord source = target_first ? *std::move(second) : *std::move(first);
  if (target.status == pb::CLOSED || source.status == pb::CLOSED) return Closed();
  if (target.buyer_id != source.buyer_id || target.order_id != source.order_id) {
    return common::FailedPrecondition("MERGE_DIFFERENT_ORDER",
                                      "only tickets of one buyer about one order merge");
  }
  ASSIGN_OR_RETURN(std::vector<MessageRecord> messages, tx.Messages(source.ticket_id));
  const absl::Time now = clock_->Now();
  for (const MessageRecord& m : messages) {
    MessageRecord copy = m;
    copy.message_id = common::NewId("msg_");
    copy.ticket_id = target.ticket_id;
    copy.seq = ++target.all_messages;
    if (copy.visibility == pb::PUBLIC) target.public_messages++;
    RETURN_IF_ERROR(tx.InsertMessage(copy));
  }
  RETURN_IF_ERROR(Record(tx, target, actor, "MERGED",
                         absl::StrCat(source.ticket_id, " merged into this ticket (",
                                      messages.size(), " messages)")));
  const bool became_claim = !target.is_claim && source.is_claim;
  if (became_claim) target.is_claim = true;
  RETURN_IF_ERROR(tx.SaveTicket(target));
  // The source's clocks stop without a result: its messages now wait on the target.
  for (v1::TicketLevel level : {v1::L1_SELLER, v1::L2_OPERATOR}) {
    TicketRecord at_level = source;
    at_level.level = level;
    for (v1::SlaMetric metric : {v1::FIRST_REPLY, v1::NEXT_REPLY, v1::REQUESTER_WAIT,
                                 v1::L1_WINDOW, v1::SELLER_REPLY}) {
      RETURN_IF_ERROR(DriveClock(tx, at_level, metric, ClockAction::kCancel, now));
    }
  }
  source.status = pb::CLOSED;
  source.closed_at = now;
  source.merged_into = target.ticket_id;
  RETURN_IF_ERROR(Record(tx, source, actor, "MERGED",
                         absl::StrCat("merged into ", target.ticket_id)));
  RETURN_IF_ERROR(tx.SaveTicket(source));
  if (became_claim) RETURN_IF_ERROR(EmitClaimUpdated(tx, target, "MERGED"));
  return target;
}

absl::StatusOr<TicketRecord> Tickets::Update(TicketTransaction& tx, const Actor& actor,
                                             const UpdateCommand& c) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, c.ticket_id));
  // A finding of fault may come after the ticket closed (an instant refund looked at later);
  // nothing else changes on a CLOSED ticket, and a merged one is gone.
  const bool finding_only = c.seller_at_fault && !c.category && !c.reason_code && !c.tags;
  if (t.status == pb::CLOSED && (!finding_only || !t.merged_into.empty())) return Closed();
  const bool was_claim = t.is_claim;
  std::vector<std::string> changed;
  if (c.category && *c.category != t.category) {
    changed.push_back(absl::StrCat("category ", pb::Category_Name(t.category), " -> ",
                                   pb::Category_Name(*c.category)));
    t.category = *c.category;
    t.is_claim = IsClaim(t.category);
    if (!c.reason_code && !t.reason_code.empty() && !IsReasonCodeOf(t.category, t.reason_code)) {
      changed.push_back(absl::StrCat("reason_code ", t.reason_code, " -> (none)"));
      t.reason_code.clear();
    }
  }
  if (c.reason_code) {
    if (!c.reason_code->empty() && !IsReasonCodeOf(t.category, *c.reason_code)) {
      return common::InvalidField(
          "reason_code", absl::StrCat("must be a reason code of category ",
                                      pb::Category_Name(t.category), " (version ",
                                      kReasonCodesVersion, ")"));
    }
    changed.push_back(absl::StrCat("reason_code ", t.reason_code, " -> ", *c.reason_code));
    t.reason_code = *c.reason_code;
    t.reason_codes_version = c.reason_code->empty() ? 0 : kReasonCodesVersion;
  }
  if (c.tags) {
    changed.push_back("tags");
    t.tags = *c.tags;
  }
  if (was_claim != t.is_claim) t.counts_against_seller = t.counts_against_seller && t.is_claim;
  if (!changed.empty()) {
    RETURN_IF_ERROR(Record(tx, t, actor, "UPDATED", absl::StrJoin(changed, "; ")));
  }
  if (was_claim != t.is_claim) RETURN_IF_ERROR(EmitClaimUpdated(tx, t, "UPDATE_TICKET"));
  if (c.seller_at_fault) RETURN_IF_ERROR(FindSellerAtFault(tx, t, actor, clock_->Now()));
  RETURN_IF_ERROR(tx.SaveTicket(t));
  return t;
}

absl::StatusOr<TicketRecord> Tickets::Rate(TicketTransaction& tx, const Actor& actor,
                                           const std::string& ticket_id, int score,
                                           const std::string& comment) {
  ASSIGN_OR_RETURN(TicketRecord t, LoadForWrite(tx, actor, ticket_id));
  if (!actor.IsBuyerOf(t.buyer_id)) return NotYourPart();
  if (t.rating != 0) {
    return common::WithReason(absl::AlreadyExistsError("the ticket is rated already"),
                              "ALREADY_RATED");
  }
  // A merged ticket is CLOSED without a resolution of its own: TICKET_CLOSED, as the
  // errors list says; the ticket it went into is the one to rate.
  if (!t.merged_into.empty()) return Closed();
  if (!t.solved_at || (t.status != pb::SOLVED && t.status != pb::CLOSED)) {
    return common::FailedPrecondition("NOT_SOLVED", "only a solved ticket can be rated");
  }
  if (clock_->Now() > *t.solved_at + options_.rating_window) {
    return common::FailedPrecondition("RATING_WINDOW_PASSED",
                                      "ratings are taken up to 28 days after SOLVED");
  }
  t.rating = score;
  t.rating_comment = comment;
  RETURN_IF_ERROR(Record(tx, t, actor, "RATED", absl::StrCat(score)));
  RETURN_IF_ERROR(tx.SaveTicket(t));
  pb::CsatRated e;
  e.set_ticket_id(t.ticket_id);
  e.set_seller_id(t.seller_id);
  e.set_score(score);
  e.set_level(t.level);
  e.set_has_comment(!comment.empty());
  RETURN_IF_ERROR(tx.Emit("support.csat_rated", t.ticket_id, e));
  return t;
}

}  // namespace marketplace::support
