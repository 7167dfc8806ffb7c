#include "services/support/reason_codes.h"

#include <vector>

namespace marketplace::support {
namespace {

std::vector<absl::string_view> CodesOf(pb::Category category) {
  switch (category) {
    case pb::QUESTION:
      return {"PRODUCT_INFO", "SHIPPING_INFO", "ORDER_STATUS", "OTHER"};
    case pb::NOT_RECEIVED:
      return {"CARRIER_LOST", "NOT_SHIPPED", "WRONG_ADDRESS", "DELIVERED_NOT_FOUND", "DELAYED"};
    case pb::DAMAGED:
      return {"TRANSIT_DAMAGE", "PACKAGING", "DEFECTIVE"};
    case pb::NOT_AS_DESCRIBED:
      return {"WRONG_ITEM", "WRONG_SIZE", "MISSING_PARTS", "QUALITY", "LISTING_ERROR"};
    case pb::COUNTERFEIT:
      return {"CONFIRMED_FAKE", "SUSPECTED_FAKE", "NOT_COUNTERFEIT"};
    case pb::REFUND_REQUEST:
      return {"CHANGED_MIND", "DUPLICATE_ORDER", "PRICE_DISPUTE", "RETURN_RECEIVED"};
    case pb::OTHER:
      return {"OTHER"};
    default:
      return {};
  }
}

}  // namespace

bool IsReasonCodeOf(pb::Category category, absl::string_view code) {
  for (absl::string_view c : CodesOf(category)) {
    if (c == code) return true;
  }
  return false;
}

bool IsClaim(pb::Category category) {
  switch (category) {
    case pb::NOT_RECEIVED:
    case pb::DAMAGED:
    case pb::NOT_AS_DESCRIBED:
    case pb::COUNTERFEIT:
    case pb::REFUND_REQUEST:
      return true;
    default:
      return false;
  }
}

}  // namespace marketplace::support
