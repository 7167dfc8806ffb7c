// "Right unless too often" inside CreateTicket (instant_refund.h has the rule).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/support/instant_refund.h"
#include "services/support/refund_funding.h"
#include "services/support/tickets.h"

namespace marketplace::support {

absl::StatusOr<std::optional<InstantRefundDecision>> Tickets::DecideInstantRefundIn(
    TicketTransaction& tx, const CreateCommand& c, const OrderPayment& order, absl::Time now) {
  if (!IsInstantRefundCategory(c.category) || order.payment_id.empty()) return std::nullopt;
  InstantRefundFacts facts;
  facts.category = c.category;
  facts.amount = order.amount;
  ASSIGN_OR_RETURN(std::shared_ptr<const sla::Policy> policy, PolicyIn(tx));
  if (policy) {
    if (std::optional<common::Money> cap = policy->AutoRefundCap(order.amount.currency)) {
      facts.cap_minor = cap->amount_minor();
    }
  }
  if (!facts.cap_minor || facts.amount.minor > *facts.cap_minor) return std::nullopt;
  // An order support refunded before (in part or in whole: a follow-up of a resolved claim)
  // goes to a person.
  ASSIGN_OR_RETURN(int64_t refunded,
                   tx.RefundedOfPayment(c.buyer_id, c.order_id, order.payment_id));
  if (refunded > 0) return std::nullopt;
  // The counts are read in this transaction; the buyer's paid-order rows stay locked until it
  // commits, so two claims of one buyer are decided one after the other (the second counts
  // the first).
  const absl::Time since = now - kClaimRateWindow;
  ASSIGN_OR_RETURN(facts.paid_orders, tx.LockPaidOrderCount(c.buyer_id, since));
  ASSIGN_OR_RETURN(int64_t earlier_claims, tx.CountClaims(c.buyer_id, since));
  facts.claims = earlier_claims + 1;  // the new ticket
  InstantRefundDecision decision = DecideInstantRefund(facts);
  if (!decision.refund) return std::nullopt;
  return decision;
}

absl::Status Tickets::ResolveAtOnce(TicketTransaction& tx, TicketRecord& t,
                                    const InstantRefundDecision& decision, absl::Time now) {
  const Actor system{.id = "support"};
  t.status = pb::SOLVED;
  t.solved_at = now;
  ASSIGN_OR_RETURN(t.closes_at, ClosesAt(tx, now));
  t.outcome = pb::REFUND_FULL;
  t.resolution_note =
      "Refunded at once: the platform's guarantee covers this claim while the seller's side "
      "is looked at.";
  t.counts_against_seller = false;
  RETURN_IF_ERROR(Record(tx, t, system, "RESOLVED",
                         absl::StrCat("REFUND_FULL instant refund (", decision.why, ")")));
  RefundCommand command;
  command.request_id = absl::StrCat("support:", t.ticket_id, ":", t.history_seq);
  command.ticket_id = t.ticket_id;
  command.payment_id = t.payment_id;
  command.amount = t.payment_amount;
  command.decided_by = system.id;
  command.decided_level = t.level;
  command.funding = RefundFunding::kGuaranteeFund;
  command.created_at = now;
  RETURN_IF_ERROR(tx.InsertRefundCommand(command));
  t.refund_amount = t.payment_amount;
  t.refund_state = pb::PENDING_REFUND;
  t.refund_request_id = command.request_id;
  RETURN_IF_ERROR(Record(tx, t, system, "REFUND_RECORDED",
                         absl::StrCat(command.amount.minor, " ", command.amount.currency, " as ",
                                      command.request_id, " funded ",
                                      FundingName(command.funding))));
  RETURN_IF_ERROR(tx.SaveTicket(t));

  pb::TicketResolved e;
  e.set_ticket_id(t.ticket_id);
  e.set_seller_id(t.seller_id);
  e.set_category(t.category);
  e.set_level(t.level);
  e.set_outcome(t.outcome);
  e.mutable_amount()->set_currency_code(command.amount.currency);
  e.mutable_amount()->set_amount_minor(command.amount.minor);
  e.set_favoured(pb::FAVOURS_BUYER);
  e.set_is_claim(t.is_claim);
  e.set_counts_against_seller(false);
  e.set_instant_refund(true);
  return tx.Emit("support.ticket_resolved", t.ticket_id, e);
}

}  // namespace marketplace::support
