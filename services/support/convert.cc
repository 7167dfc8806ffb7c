#include "services/support/convert.h"

#include "common/proto_time.h"

namespace marketplace::support {

pb::Ticket ToProto(const TicketRecord& t, TicketView view,
                   const std::vector<ChangeRecord>& history) {
  pb::Ticket p;
  p.set_ticket_id(t.ticket_id);
  p.set_buyer_id(t.buyer_id);
  p.set_seller_id(t.seller_id);
  p.set_order_id(t.order_id);
  p.set_payment_id(t.payment_id);
  p.set_category(t.category);
  p.set_channel(t.channel);
  p.set_level(t.level);
  p.set_status(t.status);
  p.set_assignee_id(t.assignee_id);
  p.set_reason_code(t.reason_code);
  p.set_reason_codes_version(t.reason_codes_version);
  for (const std::string& tag : t.tags) p.add_tags(tag);
  p.set_subject(t.subject);
  p.set_merged_into(t.merged_into);
  p.set_follow_up_of(t.follow_up_of);
  common::ToTimestamp(t.created_at, p.mutable_created_at());
  common::ToTimestamp(t.updated_at, p.mutable_updated_at());
  common::ToTimestamp(t.escalation_allowed_at, p.mutable_escalation_allowed_at());
  p.set_seller_replied(t.seller_replied);
  if (t.escalated_at) common::ToTimestamp(*t.escalated_at, p.mutable_escalated_at());
  p.set_escalation_reason(t.escalation_reason);
  p.set_outcome(t.outcome);
  p.set_resolution_note(t.resolution_note);
  if (t.refund_amount) {
    p.mutable_refund_amount()->set_currency_code(t.refund_amount->currency);
    p.mutable_refund_amount()->set_amount_minor(t.refund_amount->minor);
  }
  p.set_refund_state(t.refund_state);
  p.set_refund_request_id(t.refund_request_id);
  if (t.solved_at) common::ToTimestamp(*t.solved_at, p.mutable_solved_at());
  if (t.status == pb::SOLVED && t.closes_at) {
    common::ToTimestamp(*t.closes_at, p.mutable_closes_at());
  }
  if (t.closed_at) common::ToTimestamp(*t.closed_at, p.mutable_closed_at());
  p.set_rating(t.rating);
  p.set_rating_comment(t.rating_comment);
  p.set_is_claim(t.is_claim);
  p.set_counts_against_seller(t.counts_against_seller);
  p.set_message_count(view == TicketView::kStaff ? t.all_messages : t.public_messages);
  common::ToTimestamp(t.sort_at, p.mutable_sort_at());
  if (view == TicketView::kStaff) {
    for (const ChangeRecord& c : history) {
      pb::TicketChange* change = p.add_history();
      common::ToTimestamp(c.at, change->mutable_at());
      change->set_actor_id(c.actor_id);
      change->set_actor_role(c.actor_role);
      change->set_kind(c.kind);
      change->set_detail(c.detail);
    }
  }
  return p;
}

pb::TicketMessage ToProto(const MessageRecord& m) {
  pb::TicketMessage p;
  p.set_message_id(m.message_id);
  p.set_ticket_id(m.ticket_id);
  p.set_author_id(m.author_id);
  p.set_author_role(m.author_role);
  p.set_visibility(m.visibility);
  p.set_body(m.body);
  for (const AttachmentRef& a : m.attachments) {
    pb::Attachment* out = p.add_attachments();
    out->set_uri(a.uri);
    out->set_filename(a.filename);
    out->set_content_type(a.content_type);
    out->set_size_bytes(a.size_bytes);
    out->set_sha256(a.sha256);
  }
  common::ToTimestamp(m.created_at, p.mutable_created_at());
  return p;
}

AttachmentRef FromProto(const pb::Attachment& a) {
  return {a.uri(), a.filename(), a.content_type(), a.size_bytes(), a.sha256()};
}

}  // namespace marketplace::support
