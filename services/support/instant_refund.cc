#include "services/support/instant_refund.h"

#include "absl/strings/str_cat.h"
#include "services/support/sla/claim_rate.h"

namespace marketplace::support {

bool IsInstantRefundCategory(pb::Category category) {
  return category == pb::NOT_RECEIVED || category == pb::DAMAGED ||
         category == pb::NOT_AS_DESCRIBED || category == pb::REFUND_REQUEST;
}

InstantRefundDecision DecideInstantRefund(const InstantRefundFacts& f) {
  InstantRefundDecision d;
  const std::string counts =
      absl::StrCat("claims ", f.claims, " / paid orders ", f.paid_orders, " in 365 days");
  if (!IsInstantRefundCategory(f.category)) {
    d.why = "not an instant-refund category";
  } else if (!f.cap_minor) {
    d.why = absl::StrCat("no auto_refund_cap for ", f.amount.currency);
  } else if (f.amount.minor > *f.cap_minor) {
    d.why = absl::StrCat("amount ", f.amount.minor, " over the cap ", *f.cap_minor, " ",
                         f.amount.currency);
  } else if (f.claims > f.paid_orders ||
             !sla::ClaimRateAllowsInstantRefund(f.claims, f.paid_orders)) {
    d.why = absl::StrCat(counts, ": too often");
  } else {
    d.refund = true;
    d.why = counts;
  }
  return d;
}

}  // namespace marketplace::support
