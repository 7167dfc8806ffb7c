#include "services/catalog/listing_record.h"

#include <tuple>

namespace marketplace::catalog {

absl::string_view StateName(ListingState state) {
  switch (state) {
    case ListingState::kUnspecified:
      return "LISTING_STATE_UNSPECIFIED";
    case ListingState::kDraft:
      return "DRAFT";
    case ListingState::kPendingReview:
      return "PENDING_REVIEW";
    case ListingState::kLive:
      return "LIVE";
    case ListingState::kRejected:
      return "REJECTED";
    case ListingState::kSuspended:
      return "SUSPENDED";
    case ListingState::kWithdrawn:
      return "WITHDRAWN";
  }
  return "LISTING_STATE_UNSPECIFIED";
}

ListingState StateFromName(absl::string_view name) {
  for (ListingState s :
       {ListingState::kDraft, ListingState::kPendingReview, ListingState::kLive,
        ListingState::kRejected, ListingState::kSuspended, ListingState::kWithdrawn}) {
    if (StateName(s) == name) return s;
  }
  return ListingState::kUnspecified;
}

absl::string_view ReviewReasonName(ReviewReason reason) {
  switch (reason) {
    case ReviewReason::kUnspecified:
      return "REVIEW_REASON_UNSPECIFIED";
    case ReviewReason::kRules:
      return "RULES";
    case ReviewReason::kReports:
      return "REPORTS";
    case ReviewReason::kAppeal:
      return "APPEAL";
  }
  return "REVIEW_REASON_UNSPECIFIED";
}

ReviewReason ReviewReasonFromName(absl::string_view name) {
  for (ReviewReason r : {ReviewReason::kRules, ReviewReason::kReports, ReviewReason::kAppeal}) {
    if (ReviewReasonName(r) == name) return r;
  }
  return ReviewReason::kUnspecified;
}

absl::string_view ModerationLevelName(SellerModerationLevel level) {
  switch (level) {
    case SellerModerationLevel::kStandard:
      return "STANDARD";
    case SellerModerationLevel::kAtRisk:
      return "AT_RISK";
    case SellerModerationLevel::kTrusted:
      return "TRUSTED";
  }
  return "STANDARD";
}

SellerModerationLevel ModerationLevelFromName(absl::string_view name) {
  if (name == "AT_RISK") return SellerModerationLevel::kAtRisk;
  if (name == "TRUSTED") return SellerModerationLevel::kTrusted;
  return SellerModerationLevel::kStandard;
}

bool ContentDiffersBesidesQuantity(const ListingRecord& a, const ListingRecord& b) {
  const ListingContent& x = a.content;
  const ListingContent& y = b.content;
  return std::tie(x.title, x.description, x.category_id, x.brand, x.price, x.image_urls,
                  x.attributes, a.condition) != std::tie(y.title, y.description, y.category_id,
                                                         y.brand, y.price, y.image_urls,
                                                         y.attributes, b.condition);
}

}  // namespace marketplace::catalog
