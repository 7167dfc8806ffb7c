#ifndef MARKETPLACE_SERVICES_SUPPORT_TICKET_RECORDS_H_
#define MARKETPLACE_SERVICES_SUPPORT_TICKET_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "protos/marketplace/support/v1/support.pb.h"

// The domain's words for tickets. The enums are the API's own (support.proto), so that the
// numbers stored, emitted and answered are one list.
namespace marketplace::support {

namespace pb = ::marketplace::support::v1;

// An amount as stored (validated with common/money at the API's edge).
struct Amount {
  std::string currency;
  int64_t minor = 0;
};

struct AttachmentRef {
  std::string uri;
  std::string filename;
  std::string content_type;
  int64_t size_bytes = 0;
  std::string sha256;  // 64 lowercase hex digits
};

struct MessageRecord {
  std::string message_id;
  std::string ticket_id;
  int seq = 0;  // 1, 2, ... per ticket
  std::string author_id;
  pb::AuthorRole author_role = pb::AUTHOR_ROLE_UNSPECIFIED;
  pb::MessageVisibility visibility = pb::PUBLIC;
  std::string body;
  std::vector<AttachmentRef> attachments;
  absl::Time created_at;
};

// One line of a ticket's history.
struct ChangeRecord {
  absl::Time at;
  std::string actor_id;
  pb::AuthorRole actor_role = pb::AUTHOR_ROLE_UNSPECIFIED;
  std::string kind;  // CREATED, MESSAGE, ESCALATED, ... (support.proto TicketChange.kind)
  std::string detail;
};

struct TicketRecord {
  std::string ticket_id;
  std::string buyer_id;
  std::string seller_id;
  std::string order_id;
  std::string payment_id;
  Amount payment_amount;
  pb::Category category = pb::CATEGORY_UNSPECIFIED;
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
  v1::TicketLevel level = v1::L1_SELLER;
  pb::TicketStatus status = pb::OPEN;
  std::string assignee_id;
  std::string reason_code;
  int reason_codes_version = 0;
  std::vector<std::string> tags;
  std::string subject;
  std::string merged_into;
  std::string follow_up_of;
  absl::Time created_at;
  absl::Time updated_at;
  absl::Time escalation_allowed_at;
  bool seller_replied = false;
  std::optional<absl::Time> first_reply_at;
  std::optional<absl::Time> escalated_at;
  std::string escalation_reason;
  pb::Outcome outcome = pb::OUTCOME_UNSPECIFIED;
  std::string resolution_note;
  std::optional<Amount> refund_amount;
  pb::RefundState refund_state = pb::REFUND_STATE_UNSPECIFIED;
  std::string refund_request_id;
  std::optional<absl::Time> solved_at;
  // SOLVED: when it closes (solved_at + the policy's close_after in force at SOLVED).
  std::optional<absl::Time> closes_at;
  std::optional<absl::Time> closed_at;
  int rating = 0;
  std::string rating_comment;
  bool is_claim = false;
  bool counts_against_seller = false;
  int public_messages = 0;
  int all_messages = 0;
  int history_seq = 0;  // lines of history written so far
  absl::Time sort_at;
};

// Who pays a refund command (refund_funding.h maps it onto payments' RefundPaymentRequest).
// Stored as these numbers in refund_commands.funding.
enum class RefundFunding {
  kUnspecified = 0,       // commands recorded before the column: payments' default
  kOnBehalfOfSeller = 1,  // the seller chose it at level 1: the seller refund rule
  kSellerBalance = 2,     // an agent decided it at level 2: the seller first, then the fund
  kGuaranteeFund = 3,     // "right unless too often": the guarantee fund
};

// A refund ResolveTicket decided: carried out through payments RefundPayment later.
struct RefundCommand {
  std::string request_id;  // "support:<ticket_id>:<seq>"
  std::string ticket_id;
  std::string payment_id;
  Amount amount;
  std::string decided_by;
  v1::TicketLevel decided_level = v1::L1_SELLER;
  absl::Time created_at;
  int attempts = 0;  // payments calls made so far
  RefundFunding funding = RefundFunding::kUnspecified;
};

// Moving a guarantee-funded refund onto the seller (payments ChargeSellerForRefund), recorded
// on its refund command when an agent finds the seller at fault. Stored as these numbers in
// refund_commands.charge_state.
enum class SellerChargeState {
  kNone = 0,
  kToCharge = 1,
  kCharged = 2,
  kNotCharged = 3,  // final: payments refused it (or the refund itself was refused)
};

// A charge the worker is to carry out: the refund command it belongs to, and the request id
// of this attempt ("<refund request_id>:charge:<attempt>").
struct ChargeCommand {
  std::string refund_request_id;
  std::string request_id;
  std::string ticket_id;
  std::string payment_id;
  std::string payments_refund_id;  // payments' refund id (empty: refunded before it was kept)
  std::string decided_by;          // the agent who found the seller at fault
  int attempt = 0;                 // INSUFFICIENT_AVAILABLE_BALANCE answers so far
  int calls = 0;                   // transient failures so far (for the backoff)
};

// What ChargeSellerForRefund moved: onto the seller, and what stayed with the fund.
struct SellerCharge {
  int64_t charged_minor = 0;
  int64_t shortfall_minor = 0;
  std::string currency;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_TICKET_RECORDS_H_
