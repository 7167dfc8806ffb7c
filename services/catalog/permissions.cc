#include "services/catalog/permissions.h"

#include "common/errors.h"

namespace marketplace::catalog {
namespace {

constexpr absl::string_view kSeller = "SELLER";
constexpr absl::string_view kBuyer = "BUYER";
constexpr absl::string_view kModerator = "MODERATOR";
constexpr absl::string_view kAdmin = "ADMIN";
constexpr absl::string_view kService = "SERVICE";
constexpr absl::string_view kSupportAgent = "SUPPORT_AGENT";
constexpr absl::string_view kStaffOnly = "only MODERATOR or ADMIN may do this";

}  // namespace

const std::array<absl::string_view, kMethodCount>& MethodNames() {
  static constexpr std::array<absl::string_view, kMethodCount> kNames = {
      "CreateListing",         "UpdateListing",
      "SubmitListing",         "GetListing",
      "ListListings",          "WithdrawListing",
      "ListCategories",        "ReportListing",
      "ListReviewQueue",       "ClaimReview",
      "DecideReview",          "AppealDecision",
      "GetModerationHistory",  "SetSellerModerationLevel",
      "SuspendSellerListings", "RestoreSellerListings",
      "GetSellerModerationLevel"};
  static_assert(static_cast<size_t>(Method::kGetSellerModerationLevel) + 1 == kMethodCount);
  return kNames;
}

const MethodRule& RuleFor(Method method) {
  // One row a method. The switch has no default: a new method does not compile (-Wswitch)
  // until it has a row here.
  static const MethodRule kDenyAll{.denied = "no one may call this method"};
  static const MethodRule kPublic{.is_public = true};
  static const MethodRule kCreate{.roles = {kSeller}, .denied = "only sellers create listings"};
  static const MethodRule kSubmit{.roles = {kSeller}, .denied = "only sellers submit listings"};
  static const MethodRule kOwnListing{.roles = {kSeller},
                                      .denied = "only the listing's seller may do this"};
  static const MethodRule kReport{.roles = {kBuyer}, .denied = "only buyers report listings"};
  static const MethodRule kHistory{
      .roles = {kSeller, kModerator, kAdmin, kSupportAgent},
      .denied = "only the listing's seller, MODERATOR, ADMIN or SUPPORT_AGENT may do this"};
  static const MethodRule kStaff{.roles = {kModerator, kAdmin}, .denied = kStaffOnly};
  static const MethodRule kEnforce{
      .roles = {kModerator, kAdmin},
      .service_scope = kScopeEnforcement,
      .denied = "only MODERATOR, ADMIN or SERVICE with catalog.enforcement may do this"};
  switch (method) {
    case Method::kGetListing:
    case Method::kListListings:
    case Method::kListCategories:
      return kPublic;
    case Method::kUpdateListing:
    case Method::kWithdrawListing:
    case Method::kAppealDecision:
      // Only a listing's seller may: other roles may never call them (PERMISSION_DENIED); a
      // seller's call on someone else's listing is the domain's NOT_FOUND (AIP-193).
      return kOwnListing;
    case Method::kGetModerationHistory:
      // A seller's call on someone else's listing is the domain's NOT_FOUND (AIP-193).
      return kHistory;
    case Method::kCreateListing:
      return kCreate;
    case Method::kSubmitListing:
      return kSubmit;
    case Method::kReportListing:
      return kReport;
    case Method::kListReviewQueue:
    case Method::kClaimReview:
    case Method::kDecideReview:
      return kStaff;
    case Method::kSetSellerModerationLevel:
    case Method::kGetSellerModerationLevel:
    case Method::kSuspendSellerListings:
    case Method::kRestoreSellerListings:
      return kEnforce;
  }
  return kDenyAll;
}

absl::Status Authorize(Method method, const MaybeCaller& caller) {
  const MethodRule& rule = RuleFor(method);
  if (rule.is_public) return absl::OkStatus();
  if (!caller.has_value()) return common::Unauthenticated("this method needs an access token");
  if (rule.any_caller) return absl::OkStatus();
  for (absl::string_view role : rule.roles) {
    if (!role.empty() && caller->HasRole(role)) return absl::OkStatus();
  }
  if (!rule.service_scope.empty() && caller->HasRole(kService) &&
      caller->HasScope(rule.service_scope)) {
    return absl::OkStatus();
  }
  return common::PermissionDenied(rule.denied);
}

bool IsStaff(const common::auth::Caller& c) { return c.HasRole(kModerator) || c.HasRole(kAdmin); }

bool SeesEverything(const common::auth::Caller& c) {
  return IsStaff(c) || c.HasRole("SUPPORT_AGENT");
}

bool IsOwner(const common::auth::Caller& c, absl::string_view seller_id) {
  return c.HasRole(kSeller) && c.subject == seller_id;
}

}  // namespace marketplace::catalog
