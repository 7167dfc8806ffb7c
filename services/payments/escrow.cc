#include "services/payments/escrow.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::payments {
namespace {

using common::FailedPrecondition;

constexpr std::pair<PaymentState, absl::string_view> kStateNames[] = {
    {PaymentState::kHeld, "HELD"},
    {PaymentState::kDisputed, "DISPUTED"},
    {PaymentState::kReleased, "RELEASED"},
    {PaymentState::kRefunded, "REFUNDED"},
    {PaymentState::kGuaranteed, "GUARANTEED"},
};

constexpr std::pair<DisputeOutcome, absl::string_view> kOutcomeNames[] = {
    {DisputeOutcome::kBuyerWins, "BUYER_WINS"},
    {DisputeOutcome::kSellerWins, "SELLER_WINS"},
    {DisputeOutcome::kSplit, "SPLIT"},
    {DisputeOutcome::kPlatformGuarantee, "PLATFORM_GUARANTEE"},
};

AccountRef Escrow(const Payment& p) {
  return SellerAccount(AccountKind::kEscrow, p.seller_id, p.amount.currency_code());
}
AccountRef Available(const Payment& p) {
  return SellerAccount(AccountKind::kSellerAvailable, p.seller_id, p.amount.currency_code());
}
AccountRef Platform(const Payment& p, AccountKind kind) {
  return PlatformAccount(kind, p.amount.currency_code());
}

LedgerTransaction NewTransaction(TransactionKind kind, const Payment& p, std::string memo) {
  LedgerTransaction tx;
  tx.kind = kind;
  tx.payment_id = p.id;
  tx.memo = std::move(memo);
  return tx;
}

// Commission on `net_of_refunds`, by the payment's rate. The rate is validated (0..10000) when
// the payment is made, so Fraction cannot fail here.
int64_t CommissionOn(const Payment& p, int64_t net_of_refunds) {
  auto money = common::Money::Of(p.amount.currency_code(), net_of_refunds);
  auto commission = money.ok() ? money->Fraction(p.commission_bps) : money.status();
  return commission.ok() ? commission->amount_minor() : 0;
}

absl::Status StateError(const Payment& p) {
  switch (p.state) {
    case PaymentState::kDisputed:
      return FailedPrecondition("PAYMENT_DISPUTED", "the payment is frozen by an open dispute");
    case PaymentState::kRefunded:
      return FailedPrecondition("PAYMENT_REFUNDED", "the payment was refunded in full");
    case PaymentState::kGuaranteed:
      return FailedPrecondition("PAYMENT_GUARANTEED",
                                "the payment was settled by the platform guarantee");
    case PaymentState::kReleased:
      return FailedPrecondition("PAYMENT_NOT_HELD", "the payment was released to the seller");
    case PaymentState::kHeld:
      return FailedPrecondition("PAYMENT_HELD", "the payment is held in escrow");
  }
  return FailedPrecondition("PAYMENT_STATE", "unexpected payment state");
}

absl::Status CheckCurrency(const Payment& p, const common::Money& m) {
  if (m.currency_code() == p.amount.currency_code()) return absl::OkStatus();
  return FailedPrecondition(
      "CURRENCY_MISMATCH",
      absl::StrCat("the payment is in ", p.amount.currency_code(), ", not ", m.currency_code()));
}

// Escrow → seller (minus commission) for everything still held.
void ReleaseHeld(const Payment& p, LedgerTransaction& tx, Payment& after) {
  const int64_t held = HeldMinor(p);
  const int64_t commission = CommissionOn(p, held);
  Move(tx, Escrow(p), Available(p), held - commission);
  Move(tx, Escrow(p), Platform(p, AccountKind::kPlatformCommission), commission);
  after.commission_minor += commission;
  after.seller_net_minor += held - commission;
  after.state = PaymentState::kReleased;
}

}  // namespace

absl::string_view PaymentStateName(PaymentState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<PaymentState> PaymentStateFromName(absl::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n == name) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown payment state \"", name, "\""));
}

absl::string_view DisputeOutcomeName(DisputeOutcome outcome) {
  for (const auto& [o, name] : kOutcomeNames) {
    if (o == outcome) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<DisputeOutcome> DisputeOutcomeFromName(absl::string_view name) {
  for (const auto& [o, n] : kOutcomeNames) {
    if (n == name) return o;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dispute outcome \"", name, "\""));
}

int64_t HeldMinor(const Payment& payment) {
  if (payment.state != PaymentState::kHeld && payment.state != PaymentState::kDisputed) return 0;
  return payment.amount.amount_minor() - payment.refunded_minor;
}

EscrowStep Capture(const Payment& payment) {
  EscrowStep step{
      NewTransaction(TransactionKind::kCapture, payment, "payment captured into escrow"), payment};
  Move(step.transaction, Platform(payment, AccountKind::kBuyerFunding), Escrow(payment),
       payment.amount.amount_minor());
  step.after.state = PaymentState::kHeld;
  return step;
}

absl::StatusOr<EscrowStep> Release(const Payment& payment) {
  if (payment.state != PaymentState::kHeld) return StateError(payment);
  EscrowStep step{NewTransaction(TransactionKind::kRelease, payment, "released to the seller"),
                  payment};
  ReleaseHeld(payment, step.transaction, step.after);
  return step;
}

absl::StatusOr<EscrowStep> Refund(const Payment& payment, const common::Money& refund,
                                  std::optional<int64_t> seller_available_minor,
                                  RefundFunding funding) {
  if (absl::Status s = CheckCurrency(payment, refund); !s.ok()) return s;
  if (refund.amount_minor() <= 0) return common::InvalidField("amount.amount_minor", "must be > 0");
  if (payment.state != PaymentState::kHeld && payment.state != PaymentState::kReleased) {
    return StateError(payment);
  }
  const int64_t remaining = payment.amount.amount_minor() - payment.refunded_minor;
  if (refund.amount_minor() > remaining) {
    return FailedPrecondition(
        "REFUND_EXCEEDS_REMAINING",
        absl::StrCat("at most ", common::Money::Of(refund.currency_code(), remaining)->ToString(),
                     " is left to refund"));
  }
  EscrowStep step{NewTransaction(TransactionKind::kRefund, payment, "refunded to the buyer"),
                  payment};
  const int64_t amount = refund.amount_minor();
  const AccountRef refunds_out = Platform(payment, AccountKind::kRefundsOut);
  const bool guarantee = funding == RefundFunding::kGuaranteeFund;
  if (payment.state == PaymentState::kHeld) {
    Move(step.transaction, Escrow(payment), refunds_out, amount);
    if (guarantee) {
      // The seller keeps what this part would have netted it, paid by the guarantee fund.
      const int64_t seller_share = amount - CommissionOn(payment, amount);
      Move(step.transaction, Platform(payment, AccountKind::kGuaranteeFund), Available(payment),
           seller_share);
      step.after.seller_net_minor += seller_share;
      step.after.guarantee_minor += seller_share;
      step.paid_by_guarantee_minor = seller_share;
    } else {
      step.paid_by_seller_minor = amount;
    }
  } else {
    // The platform returns the share of its commission that this refund represents; the last
    // refund returns exactly what is left of it, so nothing is lost to rounding.
    const __int128 share = static_cast<__int128>(payment.commission_minor) * amount;
    const int64_t commission_back = amount == remaining
                                        ? payment.commission_minor
                                        : static_cast<int64_t>((share + remaining / 2) / remaining);
    const int64_t seller_share = amount - commission_back;
    int64_t from_seller = seller_share;
    if (guarantee) {
      from_seller = 0;
    } else if (seller_available_minor) {
      from_seller = std::min(seller_share, std::max<int64_t>(*seller_available_minor, 0));
    }
    const int64_t from_guarantee = seller_share - from_seller;
    if (from_seller > 0) Move(step.transaction, Available(payment), refunds_out, from_seller);
    if (from_guarantee > 0) {
      Move(step.transaction, Platform(payment, AccountKind::kGuaranteeFund), refunds_out,
           from_guarantee);
    }
    Move(step.transaction, Platform(payment, AccountKind::kPlatformCommission), refunds_out,
         commission_back);
    step.after.commission_minor -= commission_back;
    step.after.seller_net_minor -= from_seller;
    step.after.guarantee_minor += from_guarantee;
    step.paid_by_seller_minor = from_seller;
    step.paid_by_guarantee_minor = from_guarantee;
  }
  step.after.refunded_minor += amount;
  if (step.after.refunded_minor == payment.amount.amount_minor()) {
    step.after.state = PaymentState::kRefunded;
  }
  return step;
}

std::optional<EscrowStep> ChargeSeller(const Payment& payment, absl::string_view refund_id,
                                       int64_t charge_minor, int64_t seller_available_minor) {
  const int64_t charged = std::min(charge_minor, std::max<int64_t>(seller_available_minor, 0));
  if (charged <= 0) return std::nullopt;
  EscrowStep step{NewTransaction(TransactionKind::kRefundCharge, payment,
                                 absl::StrCat("refund ", refund_id, " charged to the seller")),
                  payment};
  step.transaction.refund_id = std::string(refund_id);
  Move(step.transaction, Available(payment), Platform(payment, AccountKind::kGuaranteeFund),
       charged);
  step.after.seller_net_minor -= charged;
  step.after.guarantee_minor -= charged;
  step.paid_by_seller_minor = charged;
  return step;
}

absl::StatusOr<Payment> OpenDispute(const Payment& payment) {
  if (payment.state != PaymentState::kHeld) return StateError(payment);
  Payment after = payment;
  after.state = PaymentState::kDisputed;
  return after;
}

absl::StatusOr<EscrowStep> Resolve(const Payment& payment, DisputeOutcome outcome,
                                   const std::optional<common::Money>& buyer_share) {
  if (payment.state != PaymentState::kDisputed) {
    return FailedPrecondition("PAYMENT_NOT_DISPUTED", "the payment has no open dispute");
  }
  const int64_t held = HeldMinor(payment);
  EscrowStep step{NewTransaction(TransactionKind::kDisputeResolution, payment,
                                 absl::StrCat("dispute resolved: ", DisputeOutcomeName(outcome))),
                  payment};
  LedgerTransaction& tx = step.transaction;
  Payment& after = step.after;
  const AccountRef refunds_out = Platform(payment, AccountKind::kRefundsOut);
  switch (outcome) {
    case DisputeOutcome::kBuyerWins:
      Move(tx, Escrow(payment), refunds_out, held);
      after.refunded_minor += held;
      after.state = PaymentState::kRefunded;
      break;
    case DisputeOutcome::kSellerWins: {
      Payment as_held = payment;
      as_held.state = PaymentState::kHeld;
      ReleaseHeld(as_held, tx, after);
      break;
    }
    case DisputeOutcome::kSplit: {
      if (!buyer_share.has_value()) {
        return common::InvalidField("buyer_share", "is required for a SPLIT outcome");
      }
      if (absl::Status s = CheckCurrency(payment, *buyer_share); !s.ok()) return s;
      if (buyer_share->amount_minor() <= 0 || buyer_share->amount_minor() >= held) {
        return FailedPrecondition(
            "SPLIT_OUT_OF_RANGE",
            absl::StrCat("the buyer's share must be more than zero and less than the ",
                         common::Money::Of(payment.amount.currency_code(), held)->ToString(),
                         " held"));
      }
      Move(tx, Escrow(payment), refunds_out, buyer_share->amount_minor());
      Payment rest = payment;
      rest.state = PaymentState::kHeld;
      rest.refunded_minor += buyer_share->amount_minor();
      after.refunded_minor = rest.refunded_minor;
      ReleaseHeld(rest, tx, after);
      break;
    }
    case DisputeOutcome::kPlatformGuarantee: {
      // Both sides made whole: the buyer gets the escrow back, the seller is paid as on
      // delivery, and the guarantee fund pays the seller's side.
      const int64_t commission = CommissionOn(payment, held);
      const AccountRef guarantee = Platform(payment, AccountKind::kGuaranteeFund);
      Move(tx, Escrow(payment), refunds_out, held);
      Move(tx, guarantee, Available(payment), held - commission);
      Move(tx, guarantee, Platform(payment, AccountKind::kPlatformCommission), commission);
      after.refunded_minor += held;
      after.commission_minor += commission;
      after.seller_net_minor += held - commission;
      after.guarantee_minor += held;
      after.state = PaymentState::kGuaranteed;
      break;
    }
  }
  if (tx.entries.empty()) {
    // Nothing was held (a fully refunded payment cannot be disputed, so this is a bug).
    return absl::InternalError("dispute resolution moved no money");
  }
  return step;
}

absl::StatusOr<LedgerTransaction> Payout(absl::string_view seller_id, const common::Money& amount,
                                         int64_t available_minor) {
  if (amount.amount_minor() <= 0) return common::InvalidField("amount.amount_minor", "must be > 0");
  if (amount.amount_minor() > available_minor) {
    return FailedPrecondition(
        "INSUFFICIENT_AVAILABLE_BALANCE",
        absl::StrCat("the available balance is ",
                     common::Money::Of(amount.currency_code(), available_minor)->ToString()));
  }
  LedgerTransaction tx;
  tx.kind = TransactionKind::kPayout;
  tx.memo = "paid out to the seller";
  Move(tx, SellerAccount(AccountKind::kSellerAvailable, seller_id, amount.currency_code()),
       SellerAccount(AccountKind::kSellerPaidOut, seller_id, amount.currency_code()),
       amount.amount_minor());
  return tx;
}

}  // namespace marketplace::payments
