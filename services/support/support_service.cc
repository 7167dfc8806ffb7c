#include "services/support/support_service.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/idempotency/request_id.h"
#include "common/ids.h"
#include "common/money_proto.h"
#include "common/page_token.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/support/convert.h"
#include "services/support/sla/policy.h"

namespace marketplace::support {
namespace {

using common::InvalidField;
using common::Violations;

constexpr int64_t kMaxAttachmentBytes = 20 * 1024 * 1024;
constexpr int kMaxAttachments = 10;
constexpr size_t kMaxBodyChars = 10000;

void CheckText(Violations& v, absl::string_view field, absl::string_view value, size_t min,
               size_t max) {
  const size_t n = common::CodePoints(value);
  if (n < min || n > max) {
    v.Add(std::string(field), min == 0 ? absl::StrCat("must be at most ", max, " characters")
                                       : absl::StrCat("must be ", min, "-", max, " characters"));
  }
}

void CheckRequestId(Violations& v, absl::string_view request_id) {
  v.Check(common::idempotency::ValidateRequestId("request_id", request_id));
}

// "tkt_" and 24 lowercase hex digits.
void CheckTicketId(Violations& v, absl::string_view field, absl::string_view id) {
  v.Check(common::ValidateIdOfKind(field, id, "tkt_", "ticket"));
}

const std::set<std::string>& AllowedContentTypes() {
  static const auto* types =
      new std::set<std::string>{"image/jpeg", "image/png",  "image/gif", "image/webp",
                                "application/pdf", "text/plain", "video/mp4"};
  return *types;
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void CheckAttachments(Violations& v, const google::protobuf::RepeatedPtrField<pb::Attachment>& as) {
  if (as.size() > kMaxAttachments) {
    v.Add("attachments", absl::StrCat("at most ", kMaxAttachments));
    return;
  }
  for (int i = 0; i < as.size(); ++i) {
    const pb::Attachment& a = as[i];
    const std::string at = absl::StrCat("attachments[", i, "].");
    if (a.uri().empty() || common::CodePoints(a.uri()) > 2048 ||
        !(absl::StartsWith(a.uri(), "https://") || absl::StartsWith(a.uri(), "s3://"))) {
      v.Add(at + "uri", "must be an https:// or s3:// URI of 1-2048 characters");
    }
    if (common::CodePoints(a.filename()) < 1 || common::CodePoints(a.filename()) > 255 ||
        absl::StrContains(a.filename(), "/") || absl::StrContains(a.filename(), "\\")) {
      v.Add(at + "filename", "must be 1-255 characters without '/' or '\\'");
    }
    if (AllowedContentTypes().count(a.content_type()) == 0) {
      v.Add(at + "content_type",
            "must be one of image/jpeg, image/png, image/gif, image/webp, application/pdf, "
            "text/plain, video/mp4");
    }
    if (a.size_bytes() < 1 || a.size_bytes() > kMaxAttachmentBytes) {
      v.Add(at + "size_bytes", "must be 1-20971520 (20 MiB)");
    }
    if (a.sha256().size() != 64 || !IsLowerHex(a.sha256())) {
      v.Add(at + "sha256", "must be 64 lowercase hex digits");
    }
  }
}

void CheckBody(Violations& v, absl::string_view body) {
  CheckText(v, "body", body, 1, kMaxBodyChars);
}

std::vector<AttachmentRef> AttachmentsOf(
    const google::protobuf::RepeatedPtrField<pb::Attachment>& as) {
  std::vector<AttachmentRef> out;
  for (const pb::Attachment& a : as) out.push_back(FromProto(a));
  return out;
}

TicketView ViewOf(const Actor& actor) {
  return actor.staff() ? TicketView::kStaff : TicketView::kParty;
}

}  // namespace

namespace {

// A stored answer's bytes as the method's response.
template <typename Response>
absl::StatusOr<Response> ParseAnswer(const std::string& bytes) {
  Response response;
  if (!response.ParseFromString(bytes)) return absl::InternalError("stored answer does not parse");
  return response;
}

}  // namespace

common::idempotency::RequestKey SupportApi::KeyOf(const Actor& actor, Method method,
                                                  const std::string& request_id) {
  return {actor.id,
          absl::StrCat("/", v1::SupportService::service_full_name(), "/", MethodName(method)),
          request_id};
}

template <typename Response>
absl::StatusOr<std::optional<Response>> SupportApi::StoredAnswer(
    const Actor& actor, Method method, const google::protobuf::Message& request,
    const std::string& request_id) {
  ASSIGN_OR_RETURN(std::optional<common::idempotency::StoredResult> stored,
                   store_->FindStored(KeyOf(actor, method, request_id),
                                      common::idempotency::RequestHash(request)));
  if (!stored) return std::optional<Response>();
  if (!stored->status.ok()) return stored->status;
  ASSIGN_OR_RETURN(Response response, ParseAnswer<Response>(stored->response));
  return std::optional<Response>(std::move(response));
}

template <typename Response>
absl::StatusOr<Response> SupportApi::Idempotent(
    const Actor& actor, Method method, const google::protobuf::Message& request,
    const std::string& request_id,
    const std::function<absl::StatusOr<Response>(TicketTransaction&)>& effect) {
  ASSIGN_OR_RETURN(std::string bytes,
                   store_->RunIdempotent(KeyOf(actor, method, request_id),
                                         common::idempotency::RequestHash(request),
                                         [&](TicketTransaction& tx) -> absl::StatusOr<std::string> {
                                           ASSIGN_OR_RETURN(Response r, effect(tx));
                                           return r.SerializeAsString();
                                         }));
  return ParseAnswer<Response>(bytes);
}

absl::StatusOr<pb::Ticket> SupportApi::TicketWrite(
    const Actor& actor, Method method, const google::protobuf::Message& request,
    const std::string& request_id,
    const std::function<absl::StatusOr<TicketRecord>(TicketTransaction&)>& effect) {
  return Idempotent<pb::Ticket>(actor, method, request, request_id,
                                [&](TicketTransaction& tx) -> absl::StatusOr<pb::Ticket> {
                                  ASSIGN_OR_RETURN(TicketRecord t, effect(tx));
                                  return ToProto(t, ViewOf(actor));
                                });
}

absl::StatusOr<pb::CreateTicketResponse> SupportApi::CreateTicket(
    const Actor& actor, const pb::CreateTicketRequest& req, const common::CallOrigin& origin) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckText(v, "order_id", req.order_id(), 1, 128);
  const bool for_self = actor.buyer && !actor.staff() && !actor.intake;
  if (!for_self || !req.buyer_id().empty()) {
    v.Check(common::ValidateAccountId("buyer_id", req.buyer_id()));
  }
  if (req.category() == pb::CATEGORY_UNSPECIFIED || !pb::Category_IsValid(req.category())) {
    v.Add("category", "must be one of QUESTION, NOT_RECEIVED, DAMAGED, NOT_AS_DESCRIBED, "
                      "COUNTERFEIT, REFUND_REQUEST, OTHER");
  }
  if (req.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(req.channel())) {
    v.Add("channel", "must be one of EMAIL, CHAT, PHONE, WEB_FORM");
  }
  CheckText(v, "subject", req.subject(), 1, 200);
  CheckBody(v, req.body());
  CheckAttachments(v, req.attachments());
  RETURN_IF_ERROR(v.Status());
  if (for_self && !req.buyer_id().empty() && req.buyer_id() != actor.id) {
    return common::PermissionDenied("a BUYER opens tickets for itself only");
  }
  CreateCommand c;
  c.buyer_id = for_self ? actor.id : req.buyer_id();
  c.order_id = req.order_id();
  c.category = req.category();
  c.channel = req.channel();
  c.subject = req.subject();
  c.message.body = req.body();
  c.message.attachments = AttachmentsOf(req.attachments());
  // The order's payment, from payments, before the transaction (a network hop); the ticket's
  // own state is checked again under its lock inside.
  absl::StatusOr<std::optional<OrderPayment>> order =
      orders_->FindBuyerOrder(c.buyer_id, c.order_id, origin);
  if (!order.ok() || !order->has_value()) {
    // A retry of a request answered already gets that answer (payments down or the order
    // gone meanwhile), a request_id used for another request REQUEST_ID_REUSED; the
    // transaction makes the same checks when the order is found.
    ASSIGN_OR_RETURN(std::optional<pb::CreateTicketResponse> stored,
                     StoredAnswer<pb::CreateTicketResponse>(actor, Method::kCreateTicket, req,
                                                            req.request_id()));
    if (stored) return *std::move(stored);
    if (!order.ok()) return order.status();
    return common::NotFound("order", c.order_id);
  }
  return Idempotent<pb::CreateTicketResponse>(
      actor, Method::kCreateTicket, req, req.request_id(),
      [&](TicketTransaction& tx) -> absl::StatusOr<pb::CreateTicketResponse> {
        ASSIGN_OR_RETURN(CreateResult result, tickets_->Create(tx, actor, c, **order));
        pb::CreateTicketResponse response;
        *response.mutable_ticket() = ToProto(result.ticket, ViewOf(actor));
        response.set_merged(result.merged);
        return response;
      });
}

absl::StatusOr<pb::Ticket> SupportApi::GetTicket(const Actor& actor,
                                                 const pb::GetTicketRequest& req) {
  Violations v;
  CheckTicketId(v, "ticket_id", req.ticket_id());
  RETURN_IF_ERROR(v.Status());
  ASSIGN_OR_RETURN(std::optional<TicketRecord> t, store_->GetTicket(req.ticket_id()));
  return TicketAnswer(actor, req.ticket_id(), t);
}

void SupportApi::GetTicketAsync(const Actor& actor, const pb::GetTicketRequest& req,
                                const Offload& offload,
                                std::function<void(absl::StatusOr<pb::Ticket>)> done) {
  Violations v;
  CheckTicketId(v, "ticket_id", req.ticket_id());
  if (absl::Status valid = v.Status(); !valid.ok()) return done(valid);
  store_->ReadTicket(req.ticket_id(), [this, actor, id = req.ticket_id(), offload,
                                       done = std::move(done)](
                                          absl::StatusOr<std::optional<TicketRecord>> t) mutable {
    if (!t.ok()) return done(t.status());
    const bool more_reads = *t && (actor.staff() || (*t)->refund_state == pb::REFUND_REFUSED) &&
                            tickets_->CheckVisible(actor, id, *t).ok();
    if (!more_reads) return done(TicketAnswer(actor, id, *t));
    // Not on the reader's thread: it serves every GetTicket.
    absl::Status queued =
        offload([this, actor, id, t = *std::move(t), done]() { done(TicketAnswer(actor, id, t)); });
    if (!queued.ok()) done(queued);
  });
}

absl::StatusOr<pb::Ticket> SupportApi::TicketAnswer(const Actor& actor,
                                                    const std::string& ticket_id,
                                                    const std::optional<TicketRecord>& t) {
  RETURN_IF_ERROR(tickets_->CheckVisible(actor, ticket_id, t));
  std::vector<ChangeRecord> history;
  if (actor.staff()) {
    ASSIGN_OR_RETURN(history, store_->History(t->ticket_id));
  }
  pb::Ticket answer = ToProto(tickets_->AsOfNow(*t), ViewOf(actor), history);
  if (t->refund_state == pb::REFUND_REFUSED) {
    ASSIGN_OR_RETURN(*answer.mutable_refund_refusal_reason(),
                     store_->RefundResultReason(t->refund_request_id));
  }
  return answer;
}

absl::StatusOr<pb::ListTicketMessagesResponse> SupportApi::ListTicketMessages(
    const Actor& actor, const pb::ListTicketMessagesRequest& req) {
  Violations v;
  CheckTicketId(v, "ticket_id", req.ticket_id());
  absl::StatusOr<int> size = common::PageSize(req.page_size(), 50, 200);
  if (!size.ok()) v.Check(size.status());
  RETURN_IF_ERROR(v.Status());
  const bool internal = actor.staff();
  const std::string filters = absl::StrCat(req.ticket_id(), "|", internal ? "all" : "public");
  int after = 0;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(req.page_token(), filters, "ticket_id"));
    if (!absl::SimpleAtoi(cursor, &after) || after < 0) {
      return InvalidField("page_token", "is not a token this method issued");
    }
  }
  ASSIGN_OR_RETURN(std::optional<TicketRecord> t, store_->GetTicket(req.ticket_id()));
  RETURN_IF_ERROR(tickets_->CheckVisible(actor, req.ticket_id(), t));
  ASSIGN_OR_RETURN(std::vector<MessageRecord> messages,
                   store_->ListMessages(req.ticket_id(), internal, after, *size + 1));
  pb::ListTicketMessagesResponse response;
  const bool more = static_cast<int>(messages.size()) > *size;
  if (more) messages.resize(*size);
  for (const MessageRecord& m : messages) *response.add_messages() = ToProto(m);
  if (more) {
    response.set_next_page_token(
        common::EncodePageToken(absl::StrCat(messages.back().seq), filters));
  }
  return response;
}

absl::StatusOr<pb::ListTicketsResponse> SupportApi::ListTickets(const Actor& actor,
                                                                const pb::ListTicketsRequest& req) {
  Violations v;
  absl::StatusOr<int> size = common::PageSize(req.page_size(), 20, 100);
  if (!size.ok()) v.Check(size.status());
  if (!v1::TicketLevel_IsValid(req.level())) v.Add("level", "must be a TicketLevel");
  if (!pb::TicketStatus_IsValid(req.status())) v.Add("status", "must be a TicketStatus");
  if (!pb::Category_IsValid(req.category())) v.Add("category", "must be a Category");
  if (!req.assignee_id().empty()) {
    if (!actor.staff()) {
      v.Add("assignee_id", "is a staff filter");
    } else {
      v.Check(common::ValidateAccountId("assignee_id", req.assignee_id()));
    }
  }
  RETURN_IF_ERROR(v.Status());
  TicketFilter f;
  if (!actor.staff()) {
    if (actor.buyer) {
      f.buyer_id = actor.id;
    } else {
      f.seller_id = actor.id;
    }
  }
  f.level = req.level();
  f.status = req.status();
  f.now = tickets_->clock()->Now();
  f.assignee_id = req.assignee_id();
  f.category = req.category();
  const std::string filters =
      absl::StrCat(f.buyer_id, "|", f.seller_id, "|", f.level, "|", f.status, "|", f.assignee_id,
                   "|", f.category);
  std::optional<TicketCursor> after;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(req.page_token(), filters,
                                             "level, status, assignee_id, category"));
    ASSIGN_OR_RETURN(common::TimeIdCursor c, common::DecodeTimeIdCursor(cursor));
    after = TicketCursor{c.time, c.id};
  }
  ASSIGN_OR_RETURN(std::vector<TicketRecord> tickets, store_->ListTickets(f, after, *size + 1));
  pb::ListTicketsResponse response;
  const bool more = static_cast<int>(tickets.size()) > *size;
  if (more) tickets.resize(*size);
  for (const TicketRecord& t : tickets) {
    *response.add_tickets() = ToProto(tickets_->AsOfNow(t), ViewOf(actor));
  }
  if (more) {
    response.set_next_page_token(common::EncodePageToken(
        common::EncodeTimeIdCursor({tickets.back().sort_at, tickets.back().ticket_id}), filters));
  }
  return response;
}

absl::StatusOr<pb::TicketMessage> SupportApi::AddTicketMessage(
    const Actor& actor, const pb::AddTicketMessageRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  CheckBody(v, req.body());
  if (!pb::MessageVisibility_IsValid(req.visibility())) {
    v.Add("visibility", "must be PUBLIC or INTERNAL");
  }
  if (req.await_buyer() && req.visibility() == pb::INTERNAL) {
    v.Add("await_buyer", "only with a PUBLIC message");
  }
  if (req.await_seller() && req.visibility() == pb::INTERNAL) {
    v.Add("await_seller", "only with a PUBLIC message");
  }
  CheckAttachments(v, req.attachments());
  RETURN_IF_ERROR(v.Status());
  NewMessage m;
  m.body = req.body();
  m.visibility = req.visibility() == pb::INTERNAL ? pb::INTERNAL : pb::PUBLIC;
  m.attachments = AttachmentsOf(req.attachments());
  m.await_buyer = req.await_buyer();
  m.await_seller = req.await_seller();
  return Idempotent<pb::TicketMessage>(
      actor, Method::kAddTicketMessage, req, req.request_id(),
      [&](TicketTransaction& tx) -> absl::StatusOr<pb::TicketMessage> {
        ASSIGN_OR_RETURN(MessageRecord message,
                         tickets_->AddMessage(tx, actor, req.ticket_id(), m));
        return ToProto(message);
      });
}

absl::StatusOr<pb::Ticket> SupportApi::EscalateTicket(const Actor& actor,
                                                      const pb::EscalateTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  CheckText(v, "note", req.note(), 0, 2000);
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kEscalateTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) {
                       return tickets_->Escalate(tx, actor, req.ticket_id(), req.note());
                     });
}

absl::StatusOr<pb::Ticket> SupportApi::AssignTicket(const Actor& actor,
                                                    const pb::AssignTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  if (!req.assignee_id().empty()) {
    v.Check(common::ValidateAccountId("assignee_id", req.assignee_id()));
    if (req.unassign()) v.Add("assignee_id", "must be empty with unassign");
  } else if (actor.admin && !actor.agent && !req.unassign()) {
    v.Add("assignee_id", "is required for ADMIN unless unassign");
  }
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kAssignTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) {
                       return tickets_->Assign(tx, actor, req.ticket_id(), req.assignee_id(),
                                               req.unassign());
                     });
}

absl::StatusOr<pb::Ticket> SupportApi::ResolveTicket(const Actor& actor,
                                                     const pb::ResolveTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  if (req.outcome() == pb::OUTCOME_UNSPECIFIED || !pb::Outcome_IsValid(req.outcome())) {
    v.Add("outcome", "must be one of REFUND_FULL, REFUND_PARTIAL, REPLACEMENT_SENT, "
                     "RETURN_THEN_REFUND, ANSWERED, NO_ACTION");
  }
  std::optional<Amount> amount;
  if (req.outcome() == pb::REFUND_PARTIAL) {
    if (!req.has_refund_amount()) {
      v.Add("refund_amount", "is required for REFUND_PARTIAL");
    } else {
      absl::StatusOr<common::Money> m = common::MoneyFromProto(
          req.refund_amount(), "refund_amount", common::AmountRule::kPositive);
      if (!m.ok()) {
        v.Check(m.status());
      } else {
        amount = Amount{m->currency_code(), m->amount_minor()};
      }
    }
  } else if (req.has_refund_amount()) {
    v.Add("refund_amount", "only with REFUND_PARTIAL");
  }
  if (req.reason_code().empty()) v.Add("reason_code", "is required");
  CheckText(v, "explanation", req.explanation(), 1, 2000);
  RETURN_IF_ERROR(v.Status());
  ResolveCommand c;
  c.ticket_id = req.ticket_id();
  c.outcome = req.outcome();
  c.refund_amount = amount;
  c.reason_code = req.reason_code();
  c.explanation = req.explanation();
  c.seller_at_fault = req.seller_at_fault();
  return TicketWrite(actor, Method::kResolveTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) { return tickets_->Resolve(tx, actor, c); });
}

absl::StatusOr<pb::Ticket> SupportApi::ReopenTicket(const Actor& actor,
                                                    const pb::ReopenTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  CheckBody(v, req.body());
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kReopenTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) {
                       return tickets_->Reopen(tx, actor, req.ticket_id(), req.body());
                     });
}

absl::StatusOr<pb::Ticket> SupportApi::MergeTickets(const Actor& actor,
                                                    const pb::MergeTicketsRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "target_ticket_id", req.target_ticket_id());
  CheckTicketId(v, "source_ticket_id", req.source_ticket_id());
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kMergeTickets, req, req.request_id(),
                     [&](TicketTransaction& tx) {
                       return tickets_->Merge(tx, actor, req.target_ticket_id(),
                                              req.source_ticket_id());
                     });
}

absl::StatusOr<pb::Ticket> SupportApi::UpdateTicket(const Actor& actor,
                                                    const pb::UpdateTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  UpdateCommand c;
  c.ticket_id = req.ticket_id();
  if (req.update_mask().paths_size() == 0) v.Add("update_mask", "must name at least one path");
  for (const std::string& path : req.update_mask().paths()) {
    if (path == "category") {
      if (req.category() == pb::CATEGORY_UNSPECIFIED || !pb::Category_IsValid(req.category())) {
        v.Add("category", "must be a Category other than CATEGORY_UNSPECIFIED");
      }
      c.category = req.category();
    } else if (path == "reason_code") {
      c.reason_code = req.reason_code();
    } else if (path == "tags") {
      if (req.tags_size() > 20) v.Add("tags", "at most 20");
      for (int i = 0; i < req.tags_size(); ++i) {
        const std::string& tag = req.tags(i);
        if (common::CodePoints(tag) < 1 || common::CodePoints(tag) > 100 ||
            absl::StrContains(tag, "\n")) {
          v.Add(absl::StrCat("tags[", i, "]"), "must be 1-100 characters without a newline");
        }
      }
      c.tags = std::vector<std::string>(req.tags().begin(), req.tags().end());
    } else if (path == "seller_at_fault") {
      if (!req.seller_at_fault()) {
        v.Add("seller_at_fault", "must be true: a finding of fault is not withdrawn");
      }
      c.seller_at_fault = true;
    } else {
      v.Add("update_mask", absl::StrCat("unknown path \"", path,
                                        "\" (category, reason_code, tags, seller_at_fault)"));
    }
  }
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kUpdateTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) { return tickets_->Update(tx, actor, c); });
}

absl::StatusOr<pb::Ticket> SupportApi::RateTicket(const Actor& actor,
                                                  const pb::RateTicketRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  CheckTicketId(v, "ticket_id", req.ticket_id());
  if (req.score() < 1 || req.score() > 5) v.Add("score", "must be 1-5");
  CheckText(v, "comment", req.comment(), 0, 2000);
  RETURN_IF_ERROR(v.Status());
  return TicketWrite(actor, Method::kRateTicket, req, req.request_id(),
                     [&](TicketTransaction& tx) {
                       return tickets_->Rate(tx, actor, req.ticket_id(), req.score(),
                                             req.comment());
                     });
}

absl::StatusOr<pb::ComplaintReport> SupportApi::GetComplaintReport(
    const Actor& actor, const pb::GetComplaintReportRequest& req) {
  Violations v;
  if (!req.seller_id().empty()) v.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  absl::StatusOr<absl::Time> start = absl::InfinitePast();
  absl::StatusOr<absl::Time> end = absl::InfiniteFuture();
  if (!req.has_start_time()) {
    v.Add("start_time", "is required");
  } else {
    start = common::FromTimestamp(req.start_time(), "start_time");
    if (!start.ok()) v.Check(start.status());
  }
  if (!req.has_end_time()) {
    v.Add("end_time", "is required");
  } else {
    end = common::FromTimestamp(req.end_time(), "end_time");
    if (!end.ok()) v.Check(end.status());
  }
  if (start.ok() && end.ok() && req.has_start_time() && req.has_end_time() && *end <= *start) {
    v.Add("end_time", "must be after start_time");
  }
  RETURN_IF_ERROR(v.Status());
  std::string seller_id = req.seller_id();
  if (!actor.staff()) {
    // A SELLER: its own tickets only.
    if (!seller_id.empty() && seller_id != actor.id) {
      return common::PermissionDenied("a SELLER sees its own complaint report only");
    }
    seller_id = actor.id;
  }
  ASSIGN_OR_RETURN(ComplaintCounts counts, store_->CountComplaints(seller_id, *start, *end));
  pb::ComplaintReport report;
  for (const ComplaintCounts::Row& r : counts.rows) {
    pb::ComplaintReport::Row* row = report.add_rows();
    row->set_category(r.category);
    row->set_reason_code(r.reason_code);
    row->set_channel(r.channel);
    row->set_outcome(r.outcome);
    row->set_tickets(r.tickets);
  }
  // Nearest-rank percentiles of the sorted first-reply times.
  auto percentile = [&](int p) -> double {
    const std::vector<int64_t>& s = counts.first_reply_seconds;
    if (s.empty()) return 0;
    size_t rank = (s.size() * static_cast<size_t>(p) + 99) / 100;
    return static_cast<double>(s[std::max<size_t>(rank, 1) - 1]);
  };
  report.set_first_reply_p50_seconds(percentile(50));
  report.set_first_reply_p90_seconds(percentile(90));
  for (const ComplaintCounts::Breaches& b : counts.breaches) {
    pb::ComplaintReport::Breaches* out = report.add_breaches();
    out->set_level(b.level);
    out->set_party(b.party);
    out->set_breaches(b.breaches);
  }
  report.set_ratings(counts.ratings);
  report.set_csat_bps(counts.ratings == 0
                          ? 0
                          : static_cast<int32_t>(counts.good_ratings * 10000 / counts.ratings));
  return report;
}

absl::StatusOr<v1::SlaPolicy> SupportApi::GetSlaPolicy(const Actor&,
                                                       const pb::GetSlaPolicyRequest&) {
  ASSIGN_OR_RETURN(std::optional<v1::SlaPolicy> policy, store_->CurrentSlaPolicy());
  if (!policy) {
    return absl::UnavailableError("no SLA policy is stored yet (support_server seeds it at start)");
  }
  return *std::move(policy);
}

absl::StatusOr<v1::SlaPolicy> SupportApi::UpdateSlaPolicy(const Actor& actor,
                                                          const pb::UpdateSlaPolicyRequest& req) {
  Violations v;
  CheckRequestId(v, req.request_id());
  if (req.expected_version() < 1) {
    v.Add("expected_version", "must be the version in force (>= 1)");
  }
  v1::SlaPolicy validated;
  if (!req.has_policy()) {
    v.Add("policy", "is required");
  } else {
    // version, updated_at and updated_by are output only: the store assigns them.
    v1::SlaPolicy input = req.policy();
    input.clear_version();
    input.clear_updated_at();
    input.clear_updated_by();
    absl::StatusOr<sla::Policy> policy = sla::Policy::FromProto(input, "policy");
    if (policy.ok()) {
      validated = policy->proto();
    } else {
      v.Check(policy.status());
    }
  }
  RETURN_IF_ERROR(v.Status());
  return Idempotent<v1::SlaPolicy>(
      actor, Method::kUpdateSlaPolicy, req, req.request_id(),
      [&](TicketTransaction& tx) -> absl::StatusOr<v1::SlaPolicy> {
        ASSIGN_OR_RETURN(std::optional<v1::SlaPolicy> current, tx.LockCurrentSlaPolicy());
        if (!current) {
          return absl::UnavailableError(
              "no SLA policy is stored yet (support_server seeds it at start)");
        }
        if (current->version() != req.expected_version()) {
          return common::WithReason(
              absl::FailedPreconditionError(absl::StrCat(
                  "expected_version ", req.expected_version(), " is not the version in force (",
                  current->version(), ")")),
              "POLICY_VERSION_CHANGED", {{"version", absl::StrCat(current->version())}});
        }
        v1::SlaPolicy next = validated;
        next.set_version(current->version() + 1);
        common::ToTimestamp(tickets_->clock()->Now(), next.mutable_updated_at());
        next.set_updated_by(actor.id);
        RETURN_IF_ERROR(tx.InsertSlaPolicy(next));
        return next;
      });
}

// --- SupportService ---------------------------------------------------------------------------

SupportService::SupportService(common::UnaryRunner* runner, SupportApi* api)
    : api_(api),
      handler_(runner, v1::SupportService::service_full_name(), MethodNames(),
               [](Method method, const common::CallContext& call) {
                 return ActorFor(call.caller, method).status();
               }) {}

Actor SupportService::ActorOf(const common::CallContext& call, Method method) {
  // The guard let the call through, so the table grants an actor.
  return *ActorFor(call.caller, method);
}

#define SUPPORT_HANDLER(NAME, REQ, RESP, CALL)                                          \
  grpc::ServerUnaryReactor* SupportService::NAME(grpc::CallbackServerContext* ctx,      \
                                                 const v1::REQ* req, v1::RESP* resp) {  \
    return handler_.Unary(ctx, Method::k##NAME, resp,                                   \
                          [this, req](const common::CallContext& call) {                \
                            const Actor actor = ActorOf(call, Method::k##NAME);         \
                            return CALL;                                                \
                          });                                                           \
  }

SUPPORT_HANDLER(CreateTicket, CreateTicketRequest, CreateTicketResponse,
                api_->CreateTicket(actor, *req,
                                   common::CallOrigin{call.deadline, call.request_id}))
SUPPORT_HANDLER(ListTicketMessages, ListTicketMessagesRequest, ListTicketMessagesResponse,
                api_->ListTicketMessages(actor, *req))
SUPPORT_HANDLER(ListTickets, ListTicketsRequest, ListTicketsResponse,
                api_->ListTickets(actor, *req))
SUPPORT_HANDLER(AddTicketMessage, AddTicketMessageRequest, TicketMessage,
                api_->AddTicketMessage(actor, *req))
SUPPORT_HANDLER(EscalateTicket, EscalateTicketRequest, Ticket, api_->EscalateTicket(actor, *req))
SUPPORT_HANDLER(AssignTicket, AssignTicketRequest, Ticket, api_->AssignTicket(actor, *req))
SUPPORT_HANDLER(ResolveTicket, ResolveTicketRequest, Ticket, api_->ResolveTicket(actor, *req))
SUPPORT_HANDLER(ReopenTicket, ReopenTicketRequest, Ticket, api_->ReopenTicket(actor, *req))
SUPPORT_HANDLER(MergeTickets, MergeTicketsRequest, Ticket, api_->MergeTickets(actor, *req))
SUPPORT_HANDLER(UpdateTicket, UpdateTicketRequest, Ticket, api_->UpdateTicket(actor, *req))
SUPPORT_HANDLER(RateTicket, RateTicketRequest, Ticket, api_->RateTicket(actor, *req))

SUPPORT_HANDLER(GetSlaPolicy, GetSlaPolicyRequest, SlaPolicy, api_->GetSlaPolicy(actor, *req))
SUPPORT_HANDLER(UpdateSlaPolicy, UpdateSlaPolicyRequest, SlaPolicy,
                api_->UpdateSlaPolicy(actor, *req))
SUPPORT_HANDLER(GetComplaintReport, GetComplaintReportRequest, ComplaintReport,
                api_->GetComplaintReport(actor, *req))

#undef SUPPORT_HANDLER

// Without a thread per call: the read waits in the store's batched reader, and a caller whose
// token is already verified is answered without leaving gRPC's threads.
grpc::ServerUnaryReactor* SupportService::GetTicket(grpc::CallbackServerContext* ctx,
                                                    const v1::GetTicketRequest* req,
                                                    v1::Ticket* resp) {
  return handler_.UnaryAsync(
      ctx, Method::kGetTicket, resp,
      [this, req](const common::CallContext& call,
                  std::function<void(absl::StatusOr<v1::Ticket>)> done) {
        common::UnaryRunner* runner = handler_.runner();
        api_->GetTicketAsync(
            ActorOf(call, Method::kGetTicket), *req,
            [runner, request_id = call.request_id](std::function<void()> work) {
              return runner->Offload(request_id, std::move(work));
            },
            std::move(done));
      });
}

}  // namespace marketplace::support
