#include "services/catalog/field_checks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/money_proto.h"
#include "common/status_macros.h"
#include "common/text.h"

namespace marketplace::catalog {
namespace {

namespace v1 = marketplace::catalog::v1;

bool IsCategoryId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

bool IsAttributeKey(absl::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

bool IsBlank(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isspace(c); });
}

absl::Status ValidateListingId(absl::string_view field, absl::string_view id) {
  return common::ValidateIdOfKind(field, id, "lst_", "listing");
}

bool IsReasonCode(absl::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return absl::ascii_isupper(code[0]);
}

const std::set<std::string>& UpdatablePaths() {
  static const auto* paths =
      new std::set<std::string>{"title", "description", "category_id", "brand",     "condition",
                                "price", "quantity",    "image_urls",  "attributes"};
  return *paths;
}

void ValidateContent(const v1::Listing& l, const std::set<std::string>& paths,
                     std::vector<common::FieldViolation>& out) {
  auto has = [&paths](const char* p) { return paths.count(p) > 0; };
  if (has("title") &&
      (l.title().empty() || common::CodePoints(l.title()) > 200 || IsBlank(l.title()))) {
    out.push_back({"listing.title", "must be 1-200 characters, not only whitespace"});
  }
  if (has("description") && common::CodePoints(l.description()) > 5000) {
    out.push_back({"listing.description", "must be at most 5000 characters"});
  }
  if (has("category_id") && !l.category_id().empty() && !IsCategoryId(l.category_id())) {
    out.push_back({"listing.category_id", "must be 1-64 characters of [a-z0-9-]"});
  }
  if (has("brand") && common::CodePoints(l.brand()) > 100) {
    out.push_back({"listing.brand", "must be at most 100 characters"});
  }
  if (has("condition") && (l.condition() == v1::ITEM_CONDITION_UNSPECIFIED ||
                           !v1::ItemCondition_IsValid(l.condition()))) {
    out.push_back({"listing.condition",
                   "must be one of NEW, USED_LIKE_NEW, USED_GOOD, "
                   "USED_FAIR, REFURBISHED"});
  }
  if (has("price") && l.has_price()) {
    absl::Status s =
        common::MoneyFromProto(l.price(), "listing.price", common::AmountRule::kPositive).status();
    if (!s.ok()) {
      std::vector<common::FieldViolation> v = common::FieldViolationsOf(s);
      if (v.empty()) v.push_back({"listing.price", std::string(s.message())});
      out.insert(out.end(), v.begin(), v.end());
    }
  }
  if (has("quantity") && (l.quantity() < 0 || l.quantity() > 1000000)) {
    out.push_back({"listing.quantity", "must be 0-1000000"});
  }
  if (has("image_urls")) {
    if (l.image_urls_size() > 20) out.push_back({"listing.image_urls", "at most 20 URLs"});
    for (int i = 0; i < l.image_urls_size(); ++i) {
      const std::string& url = l.image_urls(i);
      if (url.size() <= 8 || common::CodePoints(url) > 2048 || url.compare(0, 8, "https://") != 0 ||
          std::any_of(url.begin(), url.end(),
                      [](char c) { return absl::ascii_isspace(c) || absl::ascii_iscntrl(c); })) {
        out.push_back({absl::StrCat("listing.image_urls[", i, "]"),
                       "must be an https:// URL of at most 2048 characters"});
      }
    }
  }
  if (has("attributes")) {
    if (l.attributes_size() > 50) out.push_back({"listing.attributes", "at most 50 attributes"});
    for (const auto& [key, value] : l.attributes()) {
      if (!IsAttributeKey(key)) {
        out.push_back({absl::StrCat("listing.attributes[", key, "]"),
                       "key must be 1-64 characters of [a-z0-9_]"});
      } else if (value.empty() || common::CodePoints(value) > 500) {
        out.push_back(
            {absl::StrCat("listing.attributes[", key, "]"), "value must be 1-500 characters"});
      }
    }
  }
}

absl::Status CheckUpdate(const v1::UpdateListingRequest& request, std::set<std::string>* paths) {
  RETURN_IF_ERROR(ValidateListingId("listing.listing_id", request.listing().listing_id()));
  if (request.update_mask().paths_size() == 0) {
    return common::InvalidField("update_mask", "must name at least one field");
  }
  for (const std::string& p : request.update_mask().paths()) {
    if (!UpdatablePaths().count(p)) {
      return common::InvalidField("update_mask",
                                  absl::StrCat("\"", p,
                                               "\" is not an updatable field (title, "
                                               "description, category_id, brand, condition, price, "
                                               "quantity, image_urls, attributes)"));
    }
    paths->insert(p);
  }
  std::vector<common::FieldViolation> violations;
  ValidateContent(request.listing(), *paths, violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  return absl::OkStatus();
}

absl::Status CheckReport(const v1::ReportListingRequest& request) {
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  if (request.reason() == v1::REPORT_REASON_UNSPECIFIED ||
      !v1::ReportReason_IsValid(request.reason())) {
    return common::InvalidField("reason",
                                "must be one of COUNTERFEIT, PROHIBITED, "
                                "WRONG_CATEGORY, MISLEADING, OTHER");
  }
  if (common::CodePoints(request.comment()) > 1000) {
    return common::InvalidField("comment", "must be at most 1000 characters");
  }
  if (request.reason() == v1::OTHER && IsBlank(request.comment())) {
    return common::InvalidField("comment", "is required for reason OTHER");
  }
  return absl::OkStatus();
}

absl::Status CheckDecision(const v1::DecideReviewRequest& request) {
  RETURN_IF_ERROR(ValidateListingId("listing_id", request.listing_id()));
  const bool approve = request.decision() == v1::APPROVE;
  if (!approve && request.decision() != v1::REJECT_LISTING) {
    return common::InvalidField("decision", "must be APPROVE or REJECT_LISTING");
  }
  std::vector<common::FieldViolation> violations;
  if (approve && request.reason_codes_size() > 0) {
    violations.push_back({"reason_codes", "must be empty for APPROVE"});
  }
  if (!approve && (request.reason_codes_size() < 1 || request.reason_codes_size() > 10)) {
    violations.push_back({"reason_codes", "must hold 1-10 codes for REJECT_LISTING"});
  }
  for (int i = 0; i < request.reason_codes_size(); ++i) {
    if (!IsReasonCode(request.reason_codes(i))) {
      violations.push_back(
          {absl::StrCat("reason_codes[", i, "]"), "must be 1-64 characters of UPPER_SNAKE_CASE"});
    }
  }
  if (common::CodePoints(request.note()) > 2000) {
    violations.push_back({"note", "must be at most 2000 characters"});
  }
  if (!approve && IsBlank(request.note())) {
    violations.push_back({"note", "is required for REJECT_LISTING"});
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  return absl::OkStatus();
}

absl::StatusOr<ModerationMask> CheckModerationLevel(
    const v1::SetSellerModerationLevelRequest& request) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", request.seller_id()));
  ModerationMask mask{.level = request.update_mask().paths_size() == 0,
                      .brands = request.update_mask().paths_size() == 0};
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "level") {
      mask.level = true;
    } else if (path == "authorized_brands") {
      mask.brands = true;
    } else {
      return common::InvalidField(
          "update_mask", absl::StrCat("unknown path \"", path,
                                      "\": only \"level\" and \"authorized_brands\""));
    }
  }
  if (mask.level && (request.level() == v1::SELLER_MODERATION_LEVEL_UNSPECIFIED ||
                     !v1::SellerModerationLevel_IsValid(request.level()))) {
    return common::InvalidField("level", "must be STANDARD, AT_RISK or TRUSTED");
  }
  if (!mask.brands) return mask;  // brands sent without their path are ignored
  if (request.authorized_brands_size() > 100) {
    return common::InvalidField("authorized_brands", "at most 100 brands");
  }
  for (int i = 0; i < request.authorized_brands_size(); ++i) {
    const std::string& b = request.authorized_brands(i);
    if (IsBlank(b) || common::CodePoints(b) > 100 || b.find_first_of("\r\n") != std::string::npos) {
      return common::InvalidField(absl::StrCat("authorized_brands[", i, "]"),
                                  "must be 1-100 characters on one line");
    }
  }
  return mask;
}

absl::Status CheckSuspension(const v1::SuspendSellerListingsRequest& request) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", request.seller_id()));
  if (!IsReasonCode(request.reason_code())) {
    return common::InvalidField("reason_code", "must be 1-64 characters of UPPER_SNAKE_CASE");
  }
  if (common::CodePoints(request.explanation()) > 2000) {
    return common::InvalidField("explanation", "must be at most 2000 characters");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::catalog
