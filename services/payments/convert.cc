#include "services/payments/convert.h"

#include "absl/strings/str_cat.h"

namespace marketplace::payments {

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

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
}

}  // namespace marketplace::payments
