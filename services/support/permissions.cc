#include "services/support/permissions.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::support {

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kCreateTicket:
      return "CreateTicket";
    case Method::kGetTicket:
      return "GetTicket";
    case Method::kListTicketMessages:
      return "ListTicketMessages";
    case Method::kListTickets:
      return "ListTickets";
    case Method::kAddTicketMessage:
      return "AddTicketMessage";
    case Method::kEscalateTicket:
      return "EscalateTicket";
    case Method::kAssignTicket:
      return "AssignTicket";
    case Method::kResolveTicket:
      return "ResolveTicket";
    case Method::kReopenTicket:
      return "ReopenTicket";
    case Method::kMergeTickets:
      return "MergeTickets";
    case Method::kUpdateTicket:
      return "UpdateTicket";
    case Method::kRateTicket:
      return "RateTicket";
    case Method::kGetSlaPolicy:
      return "GetSlaPolicy";
    case Method::kUpdateSlaPolicy:
      return "UpdateSlaPolicy";
    case Method::kGetComplaintReport:
      return "GetComplaintReport";
  }
  return "Unknown";
}

std::array<absl::string_view, kMethodCount> MethodNames() {
  std::array<absl::string_view, kMethodCount> names;
  for (Method m : kAllMethods) names[static_cast<size_t>(m)] = MethodName(m);
  return names;
}

MethodRule RuleFor(Method method) {
  switch (method) {
    case Method::kCreateTicket:
      return {.buyer = true, .agent = true, .admin = true, .service_scope = kScopeIntake};
    case Method::kGetTicket:
    case Method::kListTicketMessages:
    case Method::kListTickets:
    case Method::kAddTicketMessage:
    case Method::kEscalateTicket:
      return {.buyer = true, .seller = true, .agent = true, .admin = true};
    case Method::kResolveTicket:
      return {.seller = true, .agent = true, .admin = true};
    case Method::kReopenTicket:
    case Method::kRateTicket:
      return {.buyer = true};
    case Method::kAssignTicket:
    case Method::kMergeTickets:
    case Method::kUpdateTicket:
    case Method::kGetSlaPolicy:
      return {.agent = true, .admin = true};
    case Method::kUpdateSlaPolicy:
      return {.admin = true};
    case Method::kGetComplaintReport:
      return {.seller = true, .agent = true, .admin = true};
  }
  return {};  // deny
}

absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller, Method method) {
  if (!caller) return common::Unauthenticated("a bearer token is required");
  const common::auth::Caller& c = *caller;
  const MethodRule rule = RuleFor(method);
  Actor a;
  a.id = c.subject;
  a.buyer = rule.buyer && c.HasRole("BUYER");
  a.seller = rule.seller && c.HasRole("SELLER");
  a.agent = rule.agent && c.HasRole("SUPPORT_AGENT");
  a.admin = rule.admin && c.HasRole("ADMIN");
  a.intake = !rule.service_scope.empty() && c.HasRole("SERVICE") &&
             c.HasScope(rule.service_scope);
  if (!a.buyer && !a.seller && !a.agent && !a.admin && !a.intake) {
    return common::PermissionDenied(
        absl::StrCat("the caller's roles and scopes do not allow ", MethodName(method)));
  }
  return a;
}

}  // namespace marketplace::support
