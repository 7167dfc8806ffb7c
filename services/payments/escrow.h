#ifndef MARKETPLACE_SERVICES_PAYMENTS_ESCROW_H_
#define MARKETPLACE_SERVICES_PAYMENTS_ESCROW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/money.h"
#include "services/payments/ledger.h"

namespace marketplace::payments {

// Where a payment's money is. Captured money starts HELD in escrow; it leaves escrow by
// release to the seller, refund to the buyer, or a dispute's resolution.
enum class PaymentState {
  kHeld = 1,        // in escrow, released on delivery or at release_due_at
  kDisputed = 2,    // in escrow and frozen until the dispute is resolved
  kReleased = 3,    // the seller was credited (it may since have been partly refunded)
  kRefunded = 4,    // everything went back to the buyer
  kGuaranteed = 5,  // the buyer was refunded and the seller paid by the platform's guarantee
};
absl::string_view PaymentStateName(PaymentState state);  // "HELD", ...
absl::StatusOr<PaymentState> PaymentStateFromName(absl::string_view name);

// How a dispute ends.
enum class DisputeOutcome {
  kBuyerWins = 1,          // what is left in escrow goes back to the buyer
  kSellerWins = 2,         // released to the seller as on delivery
  kSplit = 3,              // the buyer gets a given part back, the seller the rest
  kPlatformGuarantee = 4,  // buyer refunded, seller paid; the guarantee fund pays the difference
};
absl::string_view DisputeOutcomeName(DisputeOutcome outcome);
absl::StatusOr<DisputeOutcome> DisputeOutcomeFromName(absl::string_view name);

// A payment's money figures, all in the payment's currency, in minor units.
struct Payment {
  std::string id;
  std::string seller_id;
  common::Money amount;  // captured from the buyer
  int32_t commission_bps = 0;
  PaymentState state = PaymentState::kHeld;
  int64_t refunded_minor = 0;    // returned to the buyer so far
  int64_t commission_minor = 0;  // commission the platform keeps at present
  int64_t seller_net_minor = 0;  // credited to the seller at present (after refunds after release)
  int64_t guarantee_minor = 0;   // paid by the guarantee fund
};

// Money still in escrow for `payment` (zero once it left escrow).
int64_t HeldMinor(const Payment& payment);

// A ledger transaction with the payment as it is once the transaction is written.
struct EscrowStep {
  LedgerTransaction transaction;
  Payment after;
  // Refunds only: the seller's money (escrow or available balance) and the guarantee fund's
  // money that paid it (the rest is commission given back or not earned).
  int64_t paid_by_seller_minor = 0;
  int64_t paid_by_guarantee_minor = 0;
};

// Who pays the seller's share of a refund.
enum class RefundFunding {
  // The seller's money: escrow while HELD; after release its available balance as far as it
  // covers it, the guarantee fund the rest.
  kSellerFirst = 1,
  // The guarantee fund; the seller's money untouched. After release the seller's share comes
  // from the fund instead of the seller's balance. While HELD the buyer is paid from escrow
  // and the fund pays the seller what that part would have netted it (amount minus
  // commission at the payment's rate; the platform earns no commission on it).
  kGuaranteeFund = 2,
};

// The capture of a new HELD payment: the buyer's money into the seller's escrow.
EscrowStep Capture(const Payment& payment);

// Release on delivery (or at the end of the hold): escrow to the seller's available balance,
// commission_bps of it to the platform. FAILED_PRECONDITION (reason PAYMENT_DISPUTED,
// PAYMENT_NOT_HELD) unless the payment is HELD.
absl::StatusOr<EscrowStep> Release(const Payment& payment);

// A refund of `refund` (> 0, the payment's currency) to the buyer. While HELD it comes out of
// escrow; after release the seller's share comes back from the seller's available balance
// and the platform gives back the matching share of its commission. FAILED_PRECONDITION: CURRENCY_MISMATCH, REFUND_EXCEEDS_REMAINING (more than
// amount minus what was refunded), PAYMENT_DISPUTED (resolve the dispute instead),
// PAYMENT_REFUNDED / PAYMENT_GUARANTEED (nothing left to refund).
// After release the seller's share of the refund comes from its available balance as far as
// `seller_available_minor` (the balance before the refund; nullopt: without limit) covers it,
// never below zero; the rest comes from the platform's guarantee fund (guarantee_fund ->
// refunds_out, added to guarantee_minor). Who may make a refund the seller cannot cover is
// the caller's rule (settlement.cc).
absl::StatusOr<EscrowStep> Refund(const Payment& payment, const common::Money& refund,
                                  std::optional<int64_t> seller_available_minor = std::nullopt,
                                  RefundFunding funding = RefundFunding::kSellerFirst);

// Moves up to `charge_minor` of a guarantee-funded refund onto the seller: seller_available
// -X, guarantee_fund +X with X = min(charge_minor, max(seller_available_minor, 0)), so the
// seller is never put in debt. nullopt when X is zero (nothing to move). `refund_id` names
// the refund on the transaction.
std::optional<EscrowStep> ChargeSeller(const Payment& payment, absl::string_view refund_id,
                                       int64_t charge_minor, int64_t seller_available_minor);

// A dispute freezes a HELD payment. FAILED_PRECONDITION (PAYMENT_DISPUTED, PAYMENT_NOT_HELD)
// otherwise. No money moves.
absl::StatusOr<Payment> OpenDispute(const Payment& payment);

// Resolves a DISPUTED payment. `buyer_share` is required for kSplit (> 0 and < what is held)
// and ignored otherwise. FAILED_PRECONDITION (PAYMENT_NOT_DISPUTED, CURRENCY_MISMATCH,
// SPLIT_OUT_OF_RANGE).
absl::StatusOr<EscrowStep> Resolve(const Payment& payment, DisputeOutcome outcome,
                                   const std::optional<common::Money>& buyer_share);

// A payout of `amount` from the seller's available balance `available_minor` to its paid-out
// account. FAILED_PRECONDITION (INSUFFICIENT_AVAILABLE_BALANCE) when it is more than available.
absl::StatusOr<LedgerTransaction> Payout(absl::string_view seller_id, const common::Money& amount,
                                         int64_t available_minor);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_ESCROW_H_
