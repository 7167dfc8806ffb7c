#ifndef MARKETPLACE_SERVICES_SUPPORT_CONVERT_H_
#define MARKETPLACE_SERVICES_SUPPORT_CONVERT_H_

#include <vector>

#include "services/support/ticket_records.h"

namespace marketplace::support {

// What the caller may see of a ticket: a party sees PUBLIC messages only (counts included)
// and no history; staff see everything.
enum class TicketView { kParty, kStaff };

pb::Ticket ToProto(const TicketRecord& ticket, TicketView view,
                   const std::vector<ChangeRecord>& history = {});
pb::TicketMessage ToProto(const MessageRecord& message);
AttachmentRef FromProto(const pb::Attachment& attachment);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_CONVERT_H_
