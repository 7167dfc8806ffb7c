#ifndef MARKETPLACE_SERVICES_SELLERKPI_PERMISSIONS_H_
#define MARKETPLACE_SERVICES_SELLERKPI_PERMISSIONS_H_

#include <array>
#include <cstddef>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"

namespace marketplace::sellerkpi {

// Who calls: nullopt for an anonymous call to a public method.
using MaybeCaller = std::optional<common::auth::Caller>;

// SERVICE scopes this service interprets (sellerkpi.proto).
inline constexpr absl::string_view kScopeEventsWrite = "sellerkpi.events.write";
inline constexpr absl::string_view kScopeRead = "sellerkpi.read";

// Every method of SellerKpiService (values 0 .. kMethodCount-1).
enum class Method {
  kRecordSellerEvents,
  kGetSellerScorecard,
  kListKpiEvidence,
  kGetKpiHistory,
  kListEnforcementActions,
  kGetPublicSellerRating,
  kAppealEnforcement,
  kExcludeSellerEvent,
  kListSellersByHealth,
  kEvaluateSellers,
  kGetThresholds,
  kUpdateThresholds,
  kDecideAppeal,
  kReplaySellerKpis,
};
inline constexpr size_t kMethodCount = 14;

// "RecordSellerEvents", ...: the gRPC method names, indexed by Method.
const std::array<absl::string_view, kMethodCount>& MethodNames();

// Who may call a method at all; which seller's data a caller may see is the domain's to decide
// (a seller sees its own only). Anything not granted here is denied.
struct MethodRule {
  bool is_public = false;
  // A caller with one of these roles...
  std::array<absl::string_view, 4> roles = {};
  // ...or a SERVICE caller holding this scope.
  absl::string_view service_scope;
  // The PERMISSION_DENIED message for everyone else.
  absl::string_view denied;
};

const MethodRule& RuleFor(Method method);

// UNAUTHENTICATED for anonymous calls to non-public methods, PERMISSION_DENIED for callers the
// method's rule does not grant.
[[nodiscard]] absl::Status Authorize(Method method, const MaybeCaller& caller);

// The full names of the public methods, for the Authenticator.
std::set<std::string> PublicMethods();

// SUPPORT_AGENT, MODERATOR, ADMIN, or SERVICE with sellerkpi.read: sees every seller's data.
bool SeesEverySeller(const common::auth::Caller& caller);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_PERMISSIONS_H_
