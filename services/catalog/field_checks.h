#ifndef MARKETPLACE_SERVICES_CATALOG_FIELD_CHECKS_H_
#define MARKETPLACE_SERVICES_CATALOG_FIELD_CHECKS_H_

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"
#include "common/text.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"

namespace marketplace::catalog {

// The API's field rules (catalog.proto states them), checked before any domain call.

// Empty or only ASCII white space (space, \t, \n, \v, \f, \r).
bool IsBlank(absl::string_view s);
// INVALID_ARGUMENT naming `field` unless `id` is a listing id as the catalog issues it
// (NewId("lst_")): "lst_" + 24 lowercase hex digits, nothing else. Ids are compared exactly.
[[nodiscard]] absl::Status ValidateListingId(absl::string_view field, absl::string_view id);
// 1-64 characters of UPPER_SNAKE_CASE.
bool IsReasonCode(absl::string_view code);

// The fields UpdateListing may change (its update_mask paths), also every field
// CreateListing takes.
const std::set<std::string>& UpdatablePaths();

// Checks the content fields named in `paths` of `listing`, adding violations.
void ValidateContent(const catalog::v1::Listing& listing, const std::set<std::string>& paths,
                     std::vector<common::FieldViolation>& out);

// The request's own fields (not who may call it, nor the listing's state).
[[nodiscard]] absl::Status CheckUpdate(const catalog::v1::UpdateListingRequest& request,
                                       std::set<std::string>* paths);
[[nodiscard]] absl::Status CheckReport(const catalog::v1::ReportListingRequest& request);
[[nodiscard]] absl::Status CheckDecision(const catalog::v1::DecideReviewRequest& request);
// Which fields a SetSellerModerationLevel sets (its update_mask; empty: both).
struct ModerationMask {
  bool level = false;
  bool brands = false;
};
[[nodiscard]] absl::StatusOr<ModerationMask> CheckModerationLevel(
    const catalog::v1::SetSellerModerationLevelRequest& request);
[[nodiscard]] absl::Status CheckSuspension(
    const catalog::v1::SuspendSellerListingsRequest& request);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_FIELD_CHECKS_H_
