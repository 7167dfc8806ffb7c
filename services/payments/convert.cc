#include "services/payments/convert.h"

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace marketplace::payments {

using common::ToTimestamp;

common::v1::Money MoneyProto(absl::string_view currency, int64_t amount_minor) {
  common::v1::Money m;
  m.set_currency_code(std::string(currency));
  m.set_amount_minor(amount_minor);
  return m;
}

v1::PaymentState ToProtoState(PaymentState state) {
  return static_cast<v1::PaymentState>(static_cast<int>(state));
}

v1::DisputeOutcome ToProtoOutcome(DisputeOutcome outcome) {
  return static_cast<v1::DisputeOutcome>(static_cast<int>(outcome));
}

v1::Payment ToProto(const PaymentRecord& p) {
  const std::string& cur = p.money.amount.currency_code();
  v1::Payment out;
  out.set_payment_id(p.money.id);
  out.set_order_id(p.order_id);
  out.set_buyer_id(p.buyer_id);
  out.set_seller_id(p.money.seller_id);
  *out.mutable_amount() = MoneyProto(cur, p.money.amount.amount_minor());
  out.set_commission_bps(p.money.commission_bps);
  out.set_state(ToProtoState(p.money.state));
  *out.mutable_refunded() = MoneyProto(cur, p.money.refunded_minor);
  *out.mutable_seller_net() = MoneyProto(cur, p.money.seller_net_minor);
  *out.mutable_commission() = MoneyProto(cur, p.money.commission_minor);
  *out.mutable_guaranteed() = MoneyProto(cur, p.money.guarantee_minor);
  out.set_processor_reference(p.processor_reference);
  ToTimestamp(p.created_at, out.mutable_created_at());
  ToTimestamp(p.release_due_at, out.mutable_release_due_at());
  if (p.released_at) ToTimestamp(*p.released_at, out.mutable_released_at());
  return out;
}

absl::StatusOr<PaymentRecord> FromProto(const v1::Payment& p) {
  PaymentRecord out;
  out.money.id = p.payment_id();
  out.money.seller_id = p.seller_id();
  ASSIGN_OR_RETURN(out.money.amount,
                   common::Money::Of(p.amount().currency_code(), p.amount().amount_minor()));
  out.money.commission_bps = p.commission_bps();
  out.money.state = static_cast<PaymentState>(static_cast<int>(p.state()));
  out.money.refunded_minor = p.refunded().amount_minor();
  out.money.seller_net_minor = p.seller_net().amount_minor();
  out.money.commission_minor = p.commission().amount_minor();
  out.money.guarantee_minor = p.guaranteed().amount_minor();
  out.order_id = p.order_id();
  out.buyer_id = p.buyer_id();
  out.processor_reference = p.processor_reference();
  ASSIGN_OR_RETURN(out.created_at, common::FromTimestamp(p.created_at(), "created_at"));
  ASSIGN_OR_RETURN(out.release_due_at, common::FromTimestamp(p.release_due_at(), "release_due_at"));
  if (p.has_released_at()) {
    ASSIGN_OR_RETURN(out.released_at, common::FromTimestamp(p.released_at(), "released_at"));
  }
  return out;
}

void AddHistory(const PaymentRecord& p, const std::vector<PaymentEventRecord>& history,
                v1::Payment* out) {
  for (const PaymentEventRecord& e : history) {
    v1::PaymentEvent* pe = out->add_history();
    pe->set_type(e.type);
    pe->set_state(ToProtoState(e.state));
    pe->set_actor(e.actor);
    if (e.amount_minor) {
      *pe->mutable_amount() = MoneyProto(p.money.amount.currency_code(), *e.amount_minor);
    }
    pe->set_reason_code(e.reason_code);
    pe->set_note(e.note);
    ToTimestamp(e.occurred_at, pe->mutable_occurred_at());
  }
}

void AddEntries(const std::vector<StoredEntry>& entries, v1::Payment* out) {
  for (const StoredEntry& s : entries) {
    v1::LedgerEntry* le = out->add_ledger_entries();
    le->set_transaction_id(absl::StrCat(s.transaction_id));
    le->set_transaction_kind(std::string(TransactionKindName(s.kind)));
    le->set_refund_id(s.refund_id);
    le->set_account_kind(std::string(AccountKindName(s.entry.account.kind)));
    le->set_account_owner(s.entry.account.owner);
    *le->mutable_amount() = MoneyProto(s.entry.account.currency, s.entry.amount_minor);
    ToTimestamp(s.created_at, le->mutable_created_at());
  }
}

v1::Payout PayoutToProto(const PayoutRecord& p) {
  v1::Payout out;
  out.set_payout_id(p.payout_id);
  out.set_seller_id(p.seller_id);
  *out.mutable_amount() = MoneyProto(p.currency, p.amount_minor);
  out.set_processor_reference(p.processor_reference);
  ToTimestamp(p.created_at, out.mutable_created_at());
  if (p.state == "PENDING") {
    out.set_state(v1::PAYOUT_PENDING);
  } else if (p.state == "PAID") {
    out.set_state(v1::PAYOUT_PAID);
  } else if (p.state == "FAILED") {
    out.set_state(v1::PAYOUT_FAILED);
  }
  return out;
}

absl::StatusOr<PayoutRecord> PayoutFromProto(const v1::Payout& p) {
  PayoutRecord out;
  out.payout_id = p.payout_id();
  out.seller_id = p.seller_id();
  out.currency = p.amount().currency_code();
  out.amount_minor = p.amount().amount_minor();
  out.processor_reference = p.processor_reference();
  if (p.state() == v1::PAYOUT_PENDING) out.state = "PENDING";
  if (p.state() == v1::PAYOUT_PAID) out.state = "PAID";
  if (p.state() == v1::PAYOUT_FAILED) out.state = "FAILED";
  ASSIGN_OR_RETURN(out.created_at, common::FromTimestamp(p.created_at(), "created_at"));
  return out;
}

void AddRefund(const ProcessorOperation& op, v1::Payment* out) {
  v1::Refund* r = out->add_refunds();
  r->set_refund_id(op.operation_id);
  *r->mutable_amount() = MoneyProto(op.currency, op.amount_minor);
  if (op.state == "PENDING") {
    r->set_state(v1::REFUND_PENDING);
    ToTimestamp(op.next_attempt_at, r->mutable_next_attempt_at());
  } else if (op.state == "DONE") {
    r->set_state(v1::REFUND_DONE);
    r->set_processor_reference(op.processor_reference);
  } else if (op.state == "FAILED") {
    r->set_state(v1::REFUND_FAILED);
  } else if (op.state == "SETTLED") {
    r->set_state(v1::REFUND_SETTLED);
    r->set_settlement_reference(op.settlement_reference);
    r->set_settled_by(op.settled_by);
    if (op.settled_at) ToTimestamp(*op.settled_at, r->mutable_settled_at());
  }
  r->set_failed_attempts(op.attempts);
  ToTimestamp(op.created_at, r->mutable_created_at());
  ToTimestamp(op.updated_at, r->mutable_updated_at());
  if (op.funded_by == "SELLER_BALANCE") r->set_funded_by(v1::SELLER_BALANCE);
  if (op.funded_by == "GUARANTEE_FUND") r->set_funded_by(v1::GUARANTEE_FUND);
  *r->mutable_paid_by_seller() = MoneyProto(op.currency, op.paid_by_seller_minor);
  *r->mutable_paid_by_guarantee_fund() = MoneyProto(op.currency, op.paid_by_guarantee_minor);
  r->set_on_behalf_of_seller(op.on_behalf_of_seller);
  *r->mutable_charged_to_seller() = MoneyProto(op.currency, op.charged_minor);
  *r->mutable_charge_shortfall() = MoneyProto(op.currency, op.charge_shortfall_minor);
  r->set_charged_by(op.charged_by);
  if (op.charged_at) ToTimestamp(*op.charged_at, r->mutable_charged_at());
}

v1::SellerHoldPolicy HoldPolicyToProto(const HoldPolicyRecord& policy) {
  v1::SellerHoldPolicy out;
  out.set_seller_id(policy.seller_id);
  out.mutable_hold_period()->set_seconds(absl::ToInt64Seconds(policy.hold));
  out.set_reason(policy.reason);
  out.set_updated_by(policy.updated_by);
  // The platform default (no stored policy) has no author and no time.
  if (!policy.updated_by.empty()) ToTimestamp(policy.updated_at, out.mutable_updated_at());
  return out;
}

v1::SellerBalance BalanceToProto(absl::string_view seller_id,
                                 const std::vector<SellerAccounts>& accounts) {
  v1::SellerBalance out;
  out.set_seller_id(std::string(seller_id));
  for (const SellerAccounts& a : accounts) {
    v1::CurrencyBalance* b = out.add_balances();
    b->set_currency_code(a.currency);
    b->set_pending_minor(a.escrow_minor);
    b->set_available_minor(a.available_minor > 0 ? a.available_minor : 0);
    b->set_paid_out_minor(a.paid_out_minor);
    b->set_debt_minor(a.available_minor < 0 ? -a.available_minor : 0);
  }
  return out;
}

v1::VerifyLedgerResponse LedgerReportToProto(const LedgerReport& report) {
  v1::VerifyLedgerResponse out;
  out.set_transactions_checked(report.transactions_checked);
  out.set_entries_checked(report.entries_checked);
  for (const std::string& v : report.violations) out.add_violations(v);
  for (const LedgerFigures::AccountSum& t : report.totals) {
    v1::AccountBalance* b = out.add_totals();
    b->set_account_kind(t.account_kind);
    *b->mutable_balance() = MoneyProto(t.currency, t.sum);
  }
  for (const auto& [currency, sum] : report.escrow_balance) {
    *out.add_escrow_balance() = MoneyProto(currency, sum);
  }
  for (const auto& [currency, sum] : report.held_by_payments) {
    *out.add_held_by_payments() = MoneyProto(currency, sum);
  }
  out.set_consistent(report.consistent);
  return out;
}

}  // namespace marketplace::payments
