#ifndef MARKETPLACE_SERVICES_CATALOG_PERMISSIONS_H_
#define MARKETPLACE_SERVICES_CATALOG_PERMISSIONS_H_

#include <array>
#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/auth/token_verifier.h"

namespace marketplace::catalog {

// Who calls: nullopt for an anonymous call to a public method.
using MaybeCaller = std::optional<common::auth::Caller>;

// The scope a SERVICE account needs to suspend and restore a seller's listings and to set and
// read its moderation level.
inline constexpr absl::string_view kScopeEnforcement = "catalog.enforcement";

// Every method of the CatalogService API (values 0 .. kMethodCount-1).
enum class Method {
  kCreateListing,
  kUpdateListing,
  kSubmitListing,
  kGetListing,
  kListListings,
  kWithdrawListing,
  kListCategories,
  kReportListing,
  kListReviewQueue,
  kClaimReview,
  kDecideReview,
  kAppealDecision,
  kGetModerationHistory,
  kSetSellerModerationLevel,
  kSuspendSellerListings,
  kRestoreSellerListings,
  kGetSellerModerationLevel,
};
inline constexpr size_t kMethodCount = 17;

// "CreateListing", ...: the gRPC method names, indexed by Method.
const std::array<absl::string_view, kMethodCount>& MethodNames();

// Who may call a method at all; what a caller may do to a given listing (its own or any) is
// the domain's to decide once the listing is loaded. Anything not granted here is denied.
struct MethodRule {
  // Callable without a token.
  bool is_public = false;
  // Any authenticated caller (the domain checks ownership).
  bool any_caller = false;
  // Else: a caller with one of these roles...
  std::array<absl::string_view, 4> roles = {};
  // ...or a SERVICE caller holding this scope.
  absl::string_view service_scope;
  // The PERMISSION_DENIED message for everyone else.
  absl::string_view denied;
};

// The permission matrix.
const MethodRule& RuleFor(Method method);

// UNAUTHENTICATED for anonymous calls to non-public methods, PERMISSION_DENIED for callers the
// method's rule does not grant.
[[nodiscard]] absl::Status Authorize(Method method, const MaybeCaller& caller);

// MODERATOR or ADMIN.
bool IsStaff(const common::auth::Caller& caller);
// Staff or SUPPORT_AGENT: sees every listing in full.
bool SeesEverything(const common::auth::Caller& caller);
// The listing's seller, acting as a seller.
bool IsOwner(const common::auth::Caller& caller, absl::string_view seller_id);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_PERMISSIONS_H_
