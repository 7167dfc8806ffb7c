#ifndef MARKETPLACE_SERVICES_SUPPORT_REFUND_FUNDING_H_
#define MARKETPLACE_SERVICES_SUPPORT_REFUND_FUNDING_H_

#include "protos/marketplace/payments/v1/payments.pb.h"
#include "protos/marketplace/support/v1/sla.pb.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// Who pays a refund support decides (support.proto ResolveTicket, README "Who pays"):
//   - the seller resolving at level 1: made on the seller's behalf (payments' seller refund
//     rule: REFUND_EXCEEDS_SELLER_BALANCE beyond its available balance);
//   - staff resolving at level 2: SELLER_BALANCE (escrow while HELD; after release the
//     seller's available balance first, then the guarantee fund for what it cannot carry);
//   - an instant refund ("right unless too often"): GUARANTEE_FUND.
RefundFunding FundingForResolution(v1::TicketLevel level, bool by_seller);

// Sets on_behalf_of_seller / funded_by of `request` for `funding` (kUnspecified: neither,
// payments' default for a SERVICE caller).
void ApplyFunding(RefundFunding funding, payments::v1::RefundPaymentRequest* request);

// "ON_BEHALF_OF_SELLER", "SELLER_BALANCE", "GUARANTEE_FUND" or "UNSPECIFIED" (history lines).
const char* FundingName(RefundFunding funding);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_REFUND_FUNDING_H_
