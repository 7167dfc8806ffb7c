#include "services/support/refund_funding.h"

namespace marketplace::support {

namespace ppb = ::marketplace::payments::v1;

RefundFunding FundingForResolution(v1::TicketLevel level, bool by_seller) {
  if (by_seller && level == v1::L1_SELLER) return RefundFunding::kOnBehalfOfSeller;
  return RefundFunding::kSellerBalance;
}

void ApplyFunding(RefundFunding funding, ppb::RefundPaymentRequest* request) {
  switch (funding) {
    case RefundFunding::kOnBehalfOfSeller:
      request->set_on_behalf_of_seller(true);
      return;
    case RefundFunding::kSellerBalance:
      request->set_funded_by(ppb::SELLER_BALANCE);
      return;
    case RefundFunding::kGuaranteeFund:
      request->set_funded_by(ppb::GUARANTEE_FUND);
      return;
    case RefundFunding::kUnspecified:
      return;
  }
}

const char* FundingName(RefundFunding funding) {
  switch (funding) {
    case RefundFunding::kOnBehalfOfSeller:
      return "ON_BEHALF_OF_SELLER";
    case RefundFunding::kSellerBalance:
      return "SELLER_BALANCE";
    case RefundFunding::kGuaranteeFund:
      return "GUARANTEE_FUND";
    case RefundFunding::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

}  // namespace marketplace::support
