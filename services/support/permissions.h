#ifndef MARKETPLACE_SERVICES_SUPPORT_PERMISSIONS_H_
#define MARKETPLACE_SERVICES_SUPPORT_PERMISSIONS_H_

#include <array>
#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"
#include "services/support/actor.h"

namespace marketplace::support {

// The scope of SERVICE accounts that support interprets (support.proto).
inline constexpr absl::string_view kScopeIntake = "support.intake";

// Every method of the SupportService API.
enum class Method {
  kCreateTicket,
  kGetTicket,
  kListTicketMessages,
  kListTickets,
  kAddTicketMessage,
  kEscalateTicket,
  kAssignTicket,
  kResolveTicket,
  kReopenTicket,
  kMergeTickets,
  kUpdateTicket,
  kRateTicket,
  kGetSlaPolicy,
  kUpdateSlaPolicy,
  kGetComplaintReport,
};
inline constexpr size_t kMethodCount = 15;
inline constexpr Method kAllMethods[] = {
    Method::kCreateTicket,   Method::kGetTicket,       Method::kListTicketMessages,
    Method::kListTickets,    Method::kAddTicketMessage, Method::kEscalateTicket,
    Method::kAssignTicket,   Method::kResolveTicket,   Method::kReopenTicket,
    Method::kMergeTickets,   Method::kUpdateTicket,    Method::kRateTicket,
    Method::kGetSlaPolicy,   Method::kUpdateSlaPolicy, Method::kGetComplaintReport,
};
static_assert(sizeof(kAllMethods) / sizeof(kAllMethods[0]) == kMethodCount);

// "CreateTicket", ...: the gRPC method name.
absl::string_view MethodName(Method method);
// The names in enum order, for common::MethodHandler.
std::array<absl::string_view, kMethodCount> MethodNames();

// Which roles may call a method at all (support.proto documents each). MODERATOR: none.
struct MethodRule {
  bool buyer = false;
  bool seller = false;
  bool agent = false;
  bool admin = false;
  absl::string_view service_scope;  // SERVICE with this scope
};

// The rule of `method`: a switch without default, so a new method does not compile until it
// has a rule here.
MethodRule RuleFor(Method method);

// UNAUTHENTICATED without a caller; PERMISSION_DENIED when no role or scope of the caller is
// granted the method; else the actor with only the granted roles set.
[[nodiscard]] absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                                             Method method);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_PERMISSIONS_H_
