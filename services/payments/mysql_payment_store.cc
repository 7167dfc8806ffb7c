#include "services/payments/mysql_payment_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "common/db/migrations.h"
#include "common/db/transaction.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/payments/mysql_payment_store_rows.h"
#include "services/payments/payments_migrations.h"

namespace marketplace::payments {
namespace {

using common::db::Transaction;
namespace idem = common::idempotency;

idem::RequestKey IdempotencyKey(const RequestKey& key) {
  return {key.caller, key.method, key.request_id};
}

std::optional<StoredAnswer> AnswerOf(const std::optional<idem::StoredResult>& stored) {
  if (!stored) return std::nullopt;
  return StoredAnswer{stored->status, stored->response};
}

// VerifyLedger's figures, each summed by the database.
absl::StatusOr<LedgerFigures> LoadLedgerFigures(Transaction& tx) {
  LedgerFigures out;
  ASSIGN_OR_RETURN(auto counts, tx.Query("SELECT (SELECT COUNT(*) FROM ledger_transactions) AS t, "
                                         "(SELECT COUNT(*) FROM ledger_entries) AS e"));
  ASSIGN_OR_RETURN(out.transactions, counts[0].GetInt64("t"));
  ASSIGN_OR_RETURN(out.entries, counts[0].GetInt64("e"));
  ASSIGN_OR_RETURN(auto unbalanced,
                   tx.Query("SELECT transaction_id, currency, SUM(amount_minor) AS s "
                            "FROM ledger_entries GROUP BY transaction_id, currency "
                            "HAVING SUM(amount_minor) <> 0 ORDER BY transaction_id"));
  for (const auto& row : unbalanced) {
    LedgerFigures::Unbalanced u;
    ASSIGN_OR_RETURN(u.transaction_id, row.GetInt64("transaction_id"));
    ASSIGN_OR_RETURN(u.currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(u.sum, row.GetInt64("s"));
    out.unbalanced.push_back(std::move(u));
  }
  ASSIGN_OR_RETURN(auto thin,
                   tx.Query("SELECT t.id AS id, COUNT(e.id) AS n FROM "
                            "ledger_transactions t LEFT JOIN ledger_entries e ON "
                            "e.transaction_id = t.id GROUP BY t.id HAVING COUNT(e.id) < 2"));
  for (const auto& row : thin) {
    ASSIGN_OR_RETURN(int64_t id, row.GetInt64("id"));
    out.thin_transactions.push_back(id);
  }
  ASSIGN_OR_RETURN(auto totals, tx.Query("SELECT account_kind, currency, SUM(amount_minor) AS s "
                                         "FROM ledger_entries GROUP BY account_kind, currency "
                                         "ORDER BY account_kind, currency"));
  // A sum per account kind (and owner, when `with_owner`) and currency.
  auto account_sums = [](const std::vector<common::db::Row>& rows, bool with_owner,
                         std::vector<LedgerFigures::AccountSum>* out) -> absl::Status {
    for (const common::db::Row& row : rows) {
      LedgerFigures::AccountSum a;
      ASSIGN_OR_RETURN(a.account_kind, row.GetString("account_kind"));
      if (with_owner) {
        ASSIGN_OR_RETURN(a.owner, row.GetString("account_owner"));
      }
      ASSIGN_OR_RETURN(a.currency, row.GetString("currency"));
      ASSIGN_OR_RETURN(a.sum, row.GetInt64("s"));
      out->push_back(std::move(a));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(account_sums(totals, /*with_owner=*/false, &out.totals));
  ASSIGN_OR_RETURN(auto accounts, tx.Query("SELECT account_kind, account_owner, currency, "
                                           "SUM(amount_minor) AS s FROM ledger_entries "
                                           "GROUP BY account_kind, account_owner, currency"));
  RETURN_IF_ERROR(account_sums(accounts, /*with_owner=*/true, &out.accounts));
  ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT seller_id, currency, escrow_minor, "
                                       "available_minor, paid_out_minor FROM seller_accounts"));
  for (const auto& row : rows) {
    SellerAccounts s;
    ASSIGN_OR_RETURN(s.seller_id, row.GetString("seller_id"));
    ASSIGN_OR_RETURN(s.currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(s.escrow_minor, row.GetInt64("escrow_minor"));
    ASSIGN_OR_RETURN(s.available_minor, row.GetInt64("available_minor"));
    ASSIGN_OR_RETURN(s.paid_out_minor, row.GetInt64("paid_out_minor"));
    out.seller_rows.push_back(std::move(s));
  }
  ASSIGN_OR_RETURN(auto held, tx.Query("SELECT currency, SUM(amount_minor - refunded_minor) AS s "
                                       "FROM payments WHERE state IN ('HELD', 'DISPUTED') "
                                       "GROUP BY currency"));
  for (const auto& row : held) {
    ASSIGN_OR_RETURN(std::string currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(int64_t sum, row.GetInt64("s"));
    out.held_by_payments.emplace_back(std::move(currency), sum);
  }
  return out;
}

// The unit of work over one database transaction.
class MySqlPaymentTransaction final : public PaymentTransaction {
 public:
  MySqlPaymentTransaction(Transaction& tx, const common::outbox::Outbox& outbox,
                          const idem::IdempotencyStore& idempotency)
      : tx_(tx), outbox_(outbox), idempotency_(idempotency) {}

  absl::StatusOr<std::optional<PaymentRecord>> LoadPayment(absl::string_view payment_id,
                                                           bool for_update) override {
    return store::LoadPayment(tx_, payment_id, for_update);
  }
  absl::StatusOr<std::vector<PaymentRecord>> LoadPaymentsForUpdate(
      absl::Span<const std::string> payment_ids) override {
    return store::LoadPaymentsForUpdate(tx_, payment_ids);
  }
  absl::Status InsertPayment(const PaymentRecord& payment) override {
    return store::InsertPayment(tx_, payment);
  }
  absl::Status InsertPayments(absl::Span<const PaymentRecord> payments) override {
    return store::InsertPayments(tx_, payments);
  }
  absl::Status UpdatePayment(const PaymentRecord& payment) override {
    return store::UpdatePayment(tx_, payment);
  }
  absl::Status UpdatePayments(absl::Span<const PaymentRecord> payments) override {
    return store::UpdatePayments(tx_, payments);
  }
  absl::Status AppendEvent(absl::string_view payment_id, absl::string_view currency,
                           const PaymentEventRecord& event) override {
    return store::AppendEvent(tx_, payment_id, currency, event);
  }
  absl::Status AppendEvents(absl::Span<const PaymentEvent> events) override {
    return store::AppendEvents(tx_, events);
  }
  absl::StatusOr<std::vector<PaymentEventRecord>> LoadHistory(
      absl::string_view payment_id) override {
    return store::LoadHistory(tx_, payment_id);
  }
  absl::StatusOr<std::vector<StoredEntry>> LoadEntries(absl::string_view payment_id) override {
    return store::LoadEntries(tx_, payment_id);
  }
  absl::StatusOr<std::vector<PaymentRecord>> ListPayments(const ListFilter& filter) override {
    return store::ListPayments(tx_, filter);
  }
  absl::StatusOr<std::vector<PaymentRecord>> ClaimDuePayments(absl::Time now, int limit) override {
    return store::ClaimDuePayments(tx_, now, limit);
  }
  absl::StatusOr<std::optional<PaymentRecord>> ClaimDuePayment(absl::string_view payment_id,
                                                               absl::Time now) override {
    return store::ClaimDuePayment(tx_, payment_id, now);
  }
  absl::StatusOr<SellerAccounts> LockSellerAccounts(absl::string_view seller_id,
                                                    absl::string_view currency,
                                                    absl::Time now) override {
    return store::LockSellerAccounts(tx_, seller_id, currency, now);
  }
  absl::Status WriteLedger(const LedgerTransaction& ledger, absl::Time now) override {
    return store::WriteLedger(tx_, ledger, now);
  }
  absl::Status WriteLedgers(absl::Span<const LedgerTransaction> ledgers, absl::Time now) override {
    return store::WriteLedgers(tx_, ledgers, now);
  }
  absl::StatusOr<std::vector<SellerAccounts>> LoadSellerBalances(
      absl::string_view seller_id) override {
    return store::LoadSellerBalances(tx_, seller_id);
  }
  absl::StatusOr<LedgerFigures> LoadLedgerFigures() override {
    return payments::LoadLedgerFigures(tx_);
  }
  absl::Status UpsertHoldPolicy(const HoldPolicyRecord& policy) override {
    return store::UpsertHoldPolicy(tx_, policy);
  }
  absl::StatusOr<std::optional<HoldPolicyRecord>> LoadHoldPolicy(
      const std::string& seller_id) override {
    return store::LoadHoldPolicy(tx_, seller_id);
  }
  absl::Status InsertDispute(const DisputeRecord& dispute, absl::Time now) override {
    return store::InsertDispute(tx_, dispute, now);
  }
  absl::Status ResolveDispute(absl::string_view payment_id, DisputeOutcome outcome,
                              std::optional<int64_t> buyer_share_minor,
                              absl::string_view explanation, absl::string_view resolved_by,
                              absl::Time now) override {
    return store::ResolveDisputeRow(tx_, payment_id, outcome, buyer_share_minor, explanation,
                                    resolved_by, now);
  }
  absl::Status InsertPayout(const PayoutRecord& payout) override {
    return store::InsertPayout(tx_, payout);
  }
  absl::StatusOr<std::vector<PayoutRecord>> ListPayouts(
      absl::string_view seller_id, const std::optional<std::pair<absl::Time, std::string>>& after,
      int limit) override {
    return store::ListPayouts(tx_, seller_id, after, limit);
  }
  absl::Status MarkPayoutPaid(absl::string_view payout_id,
                              absl::string_view processor_reference) override {
    return store::MarkPayoutPaidTx(tx_, payout_id, processor_reference);
  }
  absl::StatusOr<bool> MarkPayoutFailed(absl::string_view payout_id) override {
    return store::MarkPayoutFailed(tx_, payout_id);
  }
  absl::Status InsertOperation(const ProcessorOperation& op) override {
    return store::InsertOperation(tx_, op);
  }
  absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(absl::string_view operation_id,
                                                                  bool for_update) override {
    return store::LoadOperationTx(tx_, operation_id, for_update);
  }
  absl::StatusOr<std::vector<ProcessorOperation>> LoadRefunds(
      absl::string_view payment_id) override {
    return store::LoadRefunds(tx_, payment_id);
  }
  absl::StatusOr<std::vector<ProcessorOperation>> LoadRefundsWithoutPayment(
      absl::string_view order_id) override {
    return store::LoadRefundsWithoutPayment(tx_, order_id);
  }
  absl::StatusOr<bool> ChargeRefund(const RefundCharge& charge, absl::Time now) override {
    return store::ChargeRefund(tx_, charge, now);
  }
  absl::StatusOr<bool> SettleOperation(absl::string_view operation_id,
                                       absl::string_view settlement_reference,
                                       absl::string_view settled_by, absl::Time now) override {
    return store::SettleOperation(tx_, operation_id, settlement_reference, settled_by, now);
  }
  absl::StatusOr<bool> FinishOperation(absl::string_view operation_id, absl::string_view state,
                                       absl::string_view processor_reference,
                                       absl::Time now) override {
    return store::FinishOperation(tx_, operation_id, state, processor_reference, now);
  }
  absl::Status CloseIntents(absl::Span<const std::string> intent_ids, absl::string_view outcome,
                            absl::Time now) override {
    return store::CloseIntents(tx_, intent_ids, outcome, now);
  }
  absl::StatusOr<bool> CloseIntent(absl::string_view intent_id, absl::string_view outcome,
                                   absl::Time now) override {
    return store::CloseIntent(tx_, intent_id, outcome, now);
  }
  absl::StatusOr<std::optional<std::string>> IntentOutcome(absl::string_view intent_id) override {
    return store::IntentOutcome(tx_, intent_id);
  }
  absl::StatusOr<std::optional<PaymentIntent>> LockIntent(absl::string_view intent_id) override {
    return store::LockIntent(tx_, intent_id);
  }
  absl::Status CompleteRequests(absl::Span<const CompletedRequest> completed) override {
    std::vector<idem::IdempotencyStore::Completed> rows;
    rows.reserve(completed.size());
    for (const CompletedRequest& c : completed) {
      rows.push_back(
          {IdempotencyKey(c.key), c.key.request_hash, {c.answer.status, c.answer.response}});
    }
    return idempotency_.InsertCompleted(tx_, rows);
  }
  absl::Status Enqueue(absl::Span<const OutboxEvent> events) override {
    std::vector<common::outbox::Outbox::Event> rows;
    rows.reserve(events.size());
    for (const OutboxEvent& e : events) rows.push_back({e.topic, e.key, e.payload});
    return outbox_.EnqueueAll(tx_, rows).status();
  }
  using PaymentTransaction::Enqueue;

 private:
  Transaction& tx_;
  const common::outbox::Outbox& outbox_;
  const idem::IdempotencyStore& idempotency_;
};

common::db::TransactionOptions OptionsOf(StoreTransactionOptions options) {
  common::db::TransactionOptions out;
  out.read_only = options.read_only;
  out.defer_writes = options.defer_writes;
  return out;
}

}  // namespace

absl::Status ApplyPaymentsMigrations(common::db::ConnectionPool& pool) {
  RETURN_IF_ERROR(common::db::ApplyMigrations(pool, "payments", PaymentsMigrations()));
  RETURN_IF_ERROR(common::outbox::ApplyOutboxMigrations(pool));
  return idem::ApplyIdempotencyMigrations(pool);
}

MySqlPaymentStore::MySqlPaymentStore(common::db::ConnectionPool* pool, const common::Clock* clock)
    : pool_(pool), clock_(clock), outbox_("payments", clock), idempotency_(clock) {}

absl::Status MySqlPaymentStore::RunInTransaction(const TransactionBody& body,
                                                 StoreTransactionOptions options) {
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) {
        MySqlPaymentTransaction unit(tx, outbox_, idempotency_);
        return body(unit);
      },
      OptionsOf(options));
}

absl::StatusOr<std::string> MySqlPaymentStore::RunIdempotent(const RequestKey& key,
                                                             const RequestBody& effect) {
  return idem::RunIdempotentBytes(*pool_, idempotency_, IdempotencyKey(key), key.request_hash,
                                  [&](Transaction& tx) {
                                    MySqlPaymentTransaction unit(tx, outbox_, idempotency_);
                                    return effect(unit);
                                  });
}

absl::Status MySqlPaymentStore::KeepWrites(absl::Status refusal) const {
  return idem::KeepWrites(std::move(refusal));
}

absl::StatusOr<std::optional<StoredAnswer>> MySqlPaymentStore::FindAnswer(const RequestKey& key) {
  ASSIGN_OR_RETURN(std::optional<idem::StoredResult> stored,
                   idempotency_.Find(*pool_, IdempotencyKey(key), key.request_hash));
  return AnswerOf(stored);
}

absl::StatusOr<StoredAnswer> MySqlPaymentStore::RecordError(const RequestKey& key,
                                                            const absl::Status& error) {
  ASSIGN_OR_RETURN(idem::StoredResult stood,
                   idempotency_.RecordError(*pool_, IdempotencyKey(key), key.request_hash, error));
  return StoredAnswer{stood.status, stood.response};
}

std::vector<absl::StatusOr<CheckoutFacts>> MySqlPaymentStore::ReadCheckouts(
    absl::Span<const CheckoutLookup> lookups) {
  // Point reads beside the idempotency record: the order's payment, the seller's policy.
  static const std::vector<idem::IdempotencyStore::Lookup> kLookups = {
      {"payments", "order_id", "payment_id"}, {"hold_policies", "seller_id", "hold_seconds"}};
  std::vector<idem::IdempotencyStore::Probe> probes;
  probes.reserve(lookups.size());
  for (const CheckoutLookup& l : lookups) {
    probes.push_back({IdempotencyKey(l.key), l.key.request_hash, {l.order_id, l.seller_id}});
  }
  std::vector<absl::StatusOr<idem::IdempotencyStore::Found>> found =
      idempotency_.FindMany(*pool_, kLookups, probes);
  std::vector<absl::StatusOr<CheckoutFacts>> out;
  out.reserve(found.size());
  for (absl::StatusOr<idem::IdempotencyStore::Found>& f : found) {
    if (!f.ok()) {
      out.push_back(f.status());
      continue;
    }
    CheckoutFacts facts;
    facts.stored = AnswerOf(f->stored);
    facts.order_payment_id = f->values[0];
    if (const std::optional<std::string>& seconds = f->values[1]) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(*seconds, &n)) {
        out.push_back(absl::InternalError("hold_policies.hold_seconds is not a number"));
        continue;
      }
      facts.hold = absl::Seconds(n);
    }
    out.push_back(std::move(facts));
  }
  return out;
}

absl::StatusOr<int64_t> MySqlPaymentStore::PurgeAnswers() { return idempotency_.Purge(*pool_); }

absl::StatusOr<int64_t> MySqlPaymentStore::PurgeResolvedIntents(absl::Duration keep,
                                                                int64_t batch_size) {
  return store::PurgeResolvedIntents(*pool_, clock_->Now() - keep, batch_size);
}

absl::Status MySqlPaymentStore::EnsureSellerAccounts(absl::string_view seller_id,
                                                     absl::string_view currency, absl::Time now) {
  return store::EnsureSellerAccounts(*pool_, seller_id, currency, now);
}

absl::StatusOr<std::optional<ProcessorOperation>> MySqlPaymentStore::LoadOperation(
    absl::string_view operation_id) {
  return store::LoadOperation(*pool_, operation_id);
}

absl::StatusOr<std::optional<PayoutRecord>> MySqlPaymentStore::LoadPayout(
    absl::string_view payout_id) {
  return store::LoadPayout(*pool_, payout_id);
}

absl::StatusOr<std::vector<ProcessorOperation>> MySqlPaymentStore::ClaimDueOperations(
    absl::Time now, absl::Time lease_until, int limit) {
  return store::ClaimDueOperations(*pool_, now, lease_until, limit);
}

absl::Status MySqlPaymentStore::RescheduleOperation(absl::string_view operation_id,
                                                    absl::string_view error,
                                                    absl::Time next_attempt_at, absl::Time now) {
  return store::RescheduleOperation(*pool_, operation_id, error, next_attempt_at, now);
}

std::vector<absl::StatusOr<PaymentIntent>> MySqlPaymentStore::BeginIntents(
    absl::Span<const PaymentIntent> intents) {
  return store::BeginIntents(*pool_, intents);
}

std::vector<absl::StatusOr<std::string>> MySqlPaymentStore::RecordAuthorizations(
    absl::Span<const std::pair<std::string, std::string>> intent_authorizations) {
  return store::RecordAuthorizations(*pool_, intent_authorizations);
}

absl::Status MySqlPaymentStore::RecordIntentReferences(absl::string_view intent_id,
                                                       absl::string_view authorization,
                                                       absl::string_view capture) {
  return store::RecordIntentReferences(*pool_, intent_id, authorization, capture);
}

absl::StatusOr<std::vector<PaymentIntent>> MySqlPaymentStore::ClaimOpenIntents(
    absl::Time created_before, absl::Time now, absl::Time lease_until, int limit) {
  return store::ClaimOpenIntents(*pool_, created_before, now, lease_until, limit);
}

absl::Status MySqlPaymentStore::DeferRelease(absl::string_view payment_id, absl::Time now,
                                             absl::Duration initial, absl::Duration max) {
  return store::DeferRelease(*pool_, payment_id, now, initial, max);
}


absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
MySqlPaymentStore::EscrowHeldByCurrency() {
  ASSIGN_OR_RETURN(std::vector<common::db::Row> rows,
                   pool_->Query("SELECT currency, SUM(escrow_minor) AS held FROM seller_accounts "
                                "GROUP BY currency"));
  std::vector<std::pair<std::string, int64_t>> out;
  for (const common::db::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(int64_t held, row.GetInt64("held"));
    out.emplace_back(std::move(currency), held);
  }
  return out;
}

absl::StatusOr<bool> MySqlPaymentStore::ClaimLedgerVerification(absl::Time now,
                                                               absl::Time lease_until,
                                                               absl::string_view replica) {
  // One statement: the row lock orders concurrent claims; the second sees the first's lease.
  ASSIGN_OR_RETURN(
      int64_t claimed,
      pool_->Execute("UPDATE ledger_verifications SET lease_until = ?, leased_by = ? "
                     "WHERE job = 'ledger' AND next_run_at <= ? AND "
                     "(lease_until IS NULL OR lease_until <= ?)",
                     {lease_until, std::string(replica), now, now}));
  return claimed == 1;
}

absl::Status MySqlPaymentStore::RecordLedgerVerification(const LedgerVerificationRecord& result,
                                                        absl::Time next_run_at) {
  return pool_
      ->Execute(
          "UPDATE ledger_verifications SET next_run_at = ?, lease_until = NULL, "
          "leased_by = '', last_run_at = ?, last_ok = ?, last_violations = ?, "
          "last_detail = ?, last_by = ? WHERE job = 'ledger'",
          {next_run_at, result.ran_at, result.ok, static_cast<int64_t>(result.violations),
           std::string(common::PrefixCodePoints(result.detail, 1000)), result.ran_by})
      .status();
}

absl::StatusOr<std::optional<LedgerVerificationRecord>>
MySqlPaymentStore::LastLedgerVerification() {
  ASSIGN_OR_RETURN(std::vector<common::db::Row> rows,
                   pool_->Query("SELECT last_run_at, last_ok, last_violations, last_detail, "
                                "last_by FROM ledger_verifications WHERE job = 'ledger' AND "
                                "last_run_at IS NOT NULL"));
  if (rows.empty()) return std::optional<LedgerVerificationRecord>();
  LedgerVerificationRecord r;
  ASSIGN_OR_RETURN(r.ran_at, rows[0].GetTime("last_run_at"));
  ASSIGN_OR_RETURN(r.ok, rows[0].GetBool("last_ok"));
  ASSIGN_OR_RETURN(int64_t violations, rows[0].GetInt64("last_violations"));
  r.violations = static_cast<int>(violations);
  ASSIGN_OR_RETURN(r.detail, rows[0].GetString("last_detail"));
  ASSIGN_OR_RETURN(r.ran_by, rows[0].GetString("last_by"));
  return std::optional<LedgerVerificationRecord>(std::move(r));
}

}  // namespace marketplace::payments
