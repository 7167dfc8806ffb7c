#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYOUTS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYOUTS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/client/call_origin.h"
#include "common/money.h"
#include "services/payments/actor.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_context.h"
#include "services/payments/processor_operations.h"

namespace marketplace::payments {

struct PayoutRequest {
  RequestKey key;
  std::string seller_id;
  common::Money amount;
  // The call being served: the seller lookup carries its deadline and x-request-id.
  common::CallOrigin origin;
};

// One page of a seller's payouts, newest first.
struct PayoutPage {
  std::vector<PayoutRecord> payouts;
  bool more = false;  // another page follows the last one
};

// A seller's money: balances, payouts to its payout account, its hold policy.
class Payouts {
 public:
  // `context` and `operations` must outlive the payouts.
  Payouts(const PaymentsContext* context, ProcessorOperations* operations)
      : context_(*context), operations_(operations) {}

  // The payout PAID, or the first answer of this request. The ledger moves the money out of
  // `available` first; the processor sends it afterwards under the operation's id, so this
  // call, its retries and the completion worker send it once. PAYOUT_DECLINED when refused
  // (the amount is available again); UNAVAILABLE while another attempt is sending it.
  [[nodiscard]] absl::StatusOr<PayoutRecord> CreatePayout(const Actor& actor,
                                                          const PayoutRequest& request);
  // PERMISSION_DENIED unless `actor` may see the payouts of `seller_id`.
  [[nodiscard]] static absl::Status MaySeePayouts(const Actor& actor, const std::string& seller_id);
  [[nodiscard]] absl::StatusOr<PayoutPage> ListPayouts(
      const Actor& actor, const std::string& seller_id,
      const std::optional<std::pair<absl::Time, std::string>>& after, int limit);
  [[nodiscard]] absl::StatusOr<std::vector<SellerAccounts>> GetSellerBalance(
      const Actor& actor, const std::string& seller_id);
  // The seller's policy; without one, the platform default (--default_hold_period) with an
  // empty reason and updated_by and no updated_at.
  [[nodiscard]] absl::StatusOr<HoldPolicyRecord> GetSellerHoldPolicy(const Actor& actor,
                                                                     const std::string& seller_id);
  // The policy as stored (applies to payments created after it).
  [[nodiscard]] absl::StatusOr<HoldPolicyRecord> SetSellerHoldPolicy(const Actor& actor,
                                                                     const std::string& seller_id,
                                                                     absl::Duration hold,
                                                                     const std::string& reason);

 private:
  // The payout recorded by this request (or its stored answer); `ran` when this call did it.
  absl::StatusOr<PayoutRecord> RecordPayout(const PayoutRequest& request, bool& ran);

  const PaymentsContext& context_;
  ProcessorOperations* operations_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYOUTS_H_
