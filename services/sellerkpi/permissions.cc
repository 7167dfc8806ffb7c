#include "services/sellerkpi/permissions.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"

namespace marketplace::sellerkpi {
namespace {

constexpr absl::string_view kSeller = "SELLER";
constexpr absl::string_view kSupportAgent = "SUPPORT_AGENT";
constexpr absl::string_view kModerator = "MODERATOR";
constexpr absl::string_view kAdmin = "ADMIN";
constexpr absl::string_view kService = "SERVICE";

}  // namespace

const std::array<absl::string_view, kMethodCount>& MethodNames() {
  static constexpr std::array<absl::string_view, kMethodCount> kNames = {
      "RecordSellerEvents",  "GetSellerScorecard",    "ListKpiEvidence",
      "GetKpiHistory",       "ListEnforcementActions", "GetPublicSellerRating",
      "AppealEnforcement",   "ExcludeSellerEvent",    "ListSellersByHealth",
      "EvaluateSellers",     "GetThresholds",         "UpdateThresholds",
      "DecideAppeal",        "ReplaySellerKpis"};
  static_assert(static_cast<size_t>(Method::kReplaySellerKpis) + 1 == kMethodCount);
  return kNames;
}

const MethodRule& RuleFor(Method method) {
  // One row a method. No default: a new method does not compile (-Wswitch) without a row.
  static const MethodRule kDenyAll{.denied = "no one may call this method"};
  static const MethodRule kPublic{.is_public = true};
  static const MethodRule kRecord{
      .roles = {kAdmin},
      .service_scope = kScopeEventsWrite,
      .denied = "only ADMIN or SERVICE with sellerkpi.events.write may record events"};
  static const MethodRule kSellerData{
      .roles = {kSeller, kSupportAgent, kModerator, kAdmin},
      .service_scope = kScopeRead,
      .denied = "only the seller, SUPPORT_AGENT, MODERATOR, ADMIN or SERVICE with "
                "sellerkpi.read may read seller KPIs"};
  static const MethodRule kAppeal{
      .roles = {kSeller, kSupportAgent},
      .denied = "only the seller, or a SUPPORT_AGENT for the seller, may appeal its "
                "enforcement"};
  static const MethodRule kExclude{.roles = {kAdmin, kSupportAgent},
                                   .denied = "only ADMIN or SUPPORT_AGENT may exclude events"};
  static const MethodRule kStaff{.roles = {kSupportAgent, kModerator, kAdmin},
                                 .denied = "only SUPPORT_AGENT, MODERATOR or ADMIN may do this"};
  static const MethodRule kAdminOnly{.roles = {kAdmin}, .denied = "only ADMIN may do this"};
  switch (method) {
    case Method::kRecordSellerEvents:
      return kRecord;
    case Method::kGetSellerScorecard:
    case Method::kListKpiEvidence:
    case Method::kGetKpiHistory:
    case Method::kListEnforcementActions:
      // Another seller's data is the domain's NOT_FOUND (README's not-found rule).
      return kSellerData;
    case Method::kGetPublicSellerRating:
      return kPublic;
    case Method::kAppealEnforcement:
      return kAppeal;
    case Method::kExcludeSellerEvent:
      return kExclude;
    case Method::kListSellersByHealth:
      return kStaff;
    case Method::kEvaluateSellers:
    case Method::kGetThresholds:
    case Method::kUpdateThresholds:
    case Method::kDecideAppeal:
    case Method::kReplaySellerKpis:
      return kAdminOnly;
  }
  return kDenyAll;
}

absl::Status Authorize(Method method, const MaybeCaller& caller) {
  const MethodRule& rule = RuleFor(method);
  if (rule.is_public) return absl::OkStatus();
  if (!caller.has_value()) return common::Unauthenticated("this method needs an access token");
  for (absl::string_view role : rule.roles) {
    if (!role.empty() && caller->HasRole(role)) return absl::OkStatus();
  }
  if (!rule.service_scope.empty() && caller->HasRole(kService) &&
      caller->HasScope(rule.service_scope)) {
    return absl::OkStatus();
  }
  return common::PermissionDenied(rule.denied);
}

std::set<std::string> PublicMethods() {
  std::set<std::string> out;
  for (size_t i = 0; i < kMethodCount; ++i) {
    if (RuleFor(static_cast<Method>(i)).is_public) {
      out.insert(absl::StrCat("/", v1::SellerKpiService::service_full_name(), "/",
                              MethodNames()[i]));
    }
  }
  return out;
}

bool SeesEverySeller(const common::auth::Caller& c) {
  return c.HasRole(kSupportAgent) || c.HasRole(kModerator) || c.HasRole(kAdmin) ||
         (c.HasRole(kService) && c.HasScope(kScopeRead));
}

}  // namespace marketplace::sellerkpi
