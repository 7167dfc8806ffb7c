#include "services/payments/mysql_payment_store_rows.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "common/text.h"

namespace marketplace::payments {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

namespace store {
namespace {

constexpr char kPaymentColumns[] =
    "payment_id, order_id, buyer_id, seller_id, currency, amount_minor, commission_bps, state, "
    "refunded_minor, commission_minor, seller_net_minor, guarantee_minor, processor_reference, "
    "created_at, release_due_at, released_at";

absl::StatusOr<PaymentRecord> PaymentFromRow(const Row& row) {
  PaymentRecord p;
  ASSIGN_OR_RETURN(p.money.id, row.GetString("payment_id"));
  ASSIGN_OR_RETURN(p.order_id, row.GetString("order_id"));
  ASSIGN_OR_RETURN(p.buyer_id, row.GetString("buyer_id"));
  ASSIGN_OR_RETURN(p.money.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(std::string currency, row.GetString("currency"));
  ASSIGN_OR_RETURN(int64_t amount, row.GetInt64("amount_minor"));
  ASSIGN_OR_RETURN(p.money.amount, common::Money::Of(currency, amount));
  ASSIGN_OR_RETURN(int64_t bps, row.GetInt64("commission_bps"));
  p.money.commission_bps = static_cast<int32_t>(bps);
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  ASSIGN_OR_RETURN(p.money.state, PaymentStateFromName(state));
  ASSIGN_OR_RETURN(p.money.refunded_minor, row.GetInt64("refunded_minor"));
  ASSIGN_OR_RETURN(p.money.commission_minor, row.GetInt64("commission_minor"));
  ASSIGN_OR_RETURN(p.money.seller_net_minor, row.GetInt64("seller_net_minor"));
  ASSIGN_OR_RETURN(p.money.guarantee_minor, row.GetInt64("guarantee_minor"));
  ASSIGN_OR_RETURN(p.processor_reference, row.GetString("processor_reference"));
  ASSIGN_OR_RETURN(p.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(p.release_due_at, row.GetTime("release_due_at"));
  ASSIGN_OR_RETURN(p.released_at, row.GetOptionalTime("released_at"));
  return p;
}

absl::StatusOr<std::optional<PaymentRecord>> FirstPayment(absl::StatusOr<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<PaymentRecord>();
  ASSIGN_OR_RETURN(PaymentRecord p, PaymentFromRow((*rows)[0]));
  return std::optional<PaymentRecord>(std::move(p));
}

SqlValue OptionalTime(const std::optional<absl::Time>& t) {
  if (t) return *t;
  return nullptr;
}

// The values of kPaymentColumns for each payment, row after row.
std::vector<SqlValue> PaymentRows(absl::Span<const PaymentRecord> payments) {
  std::vector<SqlValue> params;
  params.reserve(payments.size() * 16);
  for (const PaymentRecord& p : payments) {
    for (SqlValue v : std::initializer_list<SqlValue>{
             p.money.id, p.order_id, p.buyer_id, p.money.seller_id,
             p.money.amount.currency_code(), p.money.amount.amount_minor(),
             static_cast<int64_t>(p.money.commission_bps),
             std::string(PaymentStateName(p.money.state)), p.money.refunded_minor,
             p.money.commission_minor, p.money.seller_net_minor, p.money.guarantee_minor,
             p.processor_reference, p.created_at, p.release_due_at,
             OptionalTime(p.released_at)}) {
      params.push_back(std::move(v));
    }
  }
  return params;
}

absl::StatusOr<SellerAccounts> SellerAccountsFromRow(const Row& row) {
  SellerAccounts a;
  ASSIGN_OR_RETURN(a.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(a.currency, row.GetString("currency"));
  ASSIGN_OR_RETURN(a.escrow_minor, row.GetInt64("escrow_minor"));
  ASSIGN_OR_RETURN(a.available_minor, row.GetInt64("available_minor"));
  ASSIGN_OR_RETURN(a.paid_out_minor, row.GetInt64("paid_out_minor"));
  return a;
}

}  // namespace

absl::StatusOr<std::optional<PaymentRecord>> LoadPayment(Transaction& tx,
                                                         absl::string_view payment_id,
                                                         bool for_update) {
  return FirstPayment(
      tx.Query(absl::StrCat("SELECT ", kPaymentColumns, " FROM payments WHERE payment_id = ?",
                            for_update ? " FOR UPDATE" : ""),
               {std::string(payment_id)}));
}

absl::Status InsertPayment(Transaction& tx, const PaymentRecord& p) {
  return InsertPayments(tx, absl::MakeConstSpan(&p, 1));
}

absl::Status InsertPayments(Transaction& tx, absl::Span<const PaymentRecord> payments) {
  if (payments.empty()) return absl::OkStatus();
  const std::vector<SqlValue> params = PaymentRows(payments);
  const absl::Status inserted =
      tx.Write(absl::StrCat("INSERT INTO payments (", kPaymentColumns, ") VALUES ",
                            common::db::PlaceholderRows(payments.size(), 16)),
               params);
  if (inserted.code() == absl::StatusCode::kAlreadyExists) {
    return common::WithReason(
        absl::AlreadyExistsError(
            payments.size() == 1
                ? absl::StrCat("order ", payments[0].order_id, " already has a payment")
                : "an order of the batch already has a payment"),
        "ORDER_ALREADY_PAID");
  }
  return inserted;
}

absl::StatusOr<std::vector<PaymentRecord>> LoadPaymentsForUpdate(
    Transaction& tx, absl::Span<const std::string> payment_ids) {
  std::vector<SqlValue> params(payment_ids.begin(), payment_ids.end());
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kPaymentColumns,
                                         " FROM payments WHERE payment_id IN (",
                                         common::db::PlaceholderList(payment_ids.size()),
                                         ") ORDER BY payment_id FOR UPDATE"),
                            params));
  return common::db::ParseRows(rows, PaymentFromRow);
}

absl::Status UpdatePayments(Transaction& tx, absl::Span<const PaymentRecord> payments) {
  if (payments.empty()) return absl::OkStatus();
  if (payments.size() == 1) return UpdatePayment(tx, payments[0]);
  // The rows are locked and exist: each "insert" meets its own row and updates it.
  const std::vector<SqlValue> params = PaymentRows(payments);
  return tx.Write(absl::StrCat("INSERT INTO payments (", kPaymentColumns, ") VALUES ",
                               common::db::PlaceholderRows(payments.size(), 16),
                               " ON DUPLICATE KEY UPDATE state = VALUES(state), "
                               "refunded_minor = VALUES(refunded_minor), "
                               "commission_minor = VALUES(commission_minor), "
                               "seller_net_minor = VALUES(seller_net_minor), "
                               "guarantee_minor = VALUES(guarantee_minor), "
                               "released_at = VALUES(released_at)"),
                  params);
}

absl::Status UpdatePayment(Transaction& tx, const PaymentRecord& p) {
  // The row is locked: not matching it is a bug.
  return tx.Write("UPDATE payments SET state = ?, refunded_minor = ?, commission_minor = ?, "
                  "seller_net_minor = ?, guarantee_minor = ?, released_at = ? "
                  "WHERE payment_id = ?",
                  {std::string(PaymentStateName(p.money.state)), p.money.refunded_minor,
                   p.money.commission_minor, p.money.seller_net_minor, p.money.guarantee_minor,
                   OptionalTime(p.released_at), p.money.id},
                  /*expect_matched=*/1);
}

absl::Status AppendEvent(Transaction& tx, absl::string_view payment_id, absl::string_view currency,
                         const PaymentEventRecord& e) {
  const PaymentEvent event{std::string(payment_id), std::string(currency), e};
  return AppendEvents(tx, absl::MakeConstSpan(&event, 1));
}

absl::Status AppendEvents(Transaction& tx, absl::Span<const PaymentEvent> events) {
  if (events.empty()) return absl::OkStatus();
  std::vector<SqlValue> params;
  params.reserve(events.size() * 9);
  for (const PaymentEvent& pe : events) {
    const PaymentEventRecord& e = pe.event;
    SqlValue amount = nullptr;
    SqlValue cur = nullptr;
    if (e.amount_minor) {
      amount = *e.amount_minor;
      cur = pe.currency;
    }
    for (SqlValue v : std::initializer_list<SqlValue>{
             pe.payment_id, e.type, std::string(PaymentStateName(e.state)), e.actor, amount, cur,
             e.reason_code, e.note, e.occurred_at}) {
      params.push_back(std::move(v));
    }
  }
  return tx.Write(absl::StrCat("INSERT INTO payment_events (payment_id, type, state, actor, "
                               "amount_minor, currency, reason_code, note, occurred_at) VALUES ",
                               common::db::PlaceholderRows(events.size(), 9)),
                  params);
}

absl::Status EnsureSellerAccounts(common::db::ConnectionPool& pool, absl::string_view seller_id,
                                  absl::string_view currency, absl::Time now) {
  return pool
      .Execute(
          "INSERT IGNORE INTO seller_accounts (seller_id, currency, updated_at) "
          "VALUES (?, ?, ?)",
          {std::string(seller_id), std::string(currency), now})
      .status();
}

absl::StatusOr<SellerAccounts> LockSellerAccounts(Transaction& tx, absl::string_view seller_id,
                                                  absl::string_view currency, absl::Time now) {
  // ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once (INSERT IGNORE would take
  // a shared one, and two transactions upgrading shared locks deadlock).
  RETURN_IF_ERROR(tx.Execute("INSERT INTO seller_accounts (seller_id, currency, updated_at) "
                             "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE seller_id = seller_id",
                             {std::string(seller_id), std::string(currency), now})
                      .status());
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT seller_id, currency, escrow_minor, available_minor, "
                            "paid_out_minor FROM seller_accounts "
                            "WHERE seller_id = ? AND currency = ? FOR UPDATE",
                            {std::string(seller_id), std::string(currency)}));
  if (rows.empty()) return absl::InternalError("seller account row missing after its insert");
  return SellerAccountsFromRow(rows[0]);
}

namespace {

// Per-seller balance changes of ledger transactions, by (seller, currency) in key order (the
// lock order): escrow, available, paid out.
using SellerDeltas =
    std::map<std::pair<std::string, std::string>, std::array<int64_t, 3>>;

absl::StatusOr<SellerDeltas> DeltasOf(absl::Span<const LedgerTransaction> ledgers) {
  SellerDeltas deltas;
  for (const LedgerTransaction& ledger : ledgers) {
    for (const Entry& e : ledger.entries) {
      if (!IsPerSeller(e.account.kind)) continue;
      auto& [escrow, available, paid_out] = deltas[{e.account.owner, e.account.currency}];
      switch (e.account.kind) {
        case AccountKind::kEscrow:
          escrow += e.amount_minor;
          break;
        case AccountKind::kSellerAvailable:
          available += e.amount_minor;
          break;
        case AccountKind::kSellerPaidOut:
          paid_out += e.amount_minor;
          break;
        default:
          return absl::InternalError("unexpected per-seller account kind");
      }
    }
  }
  return deltas;
}

// Whether a multi-row INSERT gets consecutive auto-increment ids (innodb_autoinc_lock_mode 0
// or 1, a server start-up setting): asked once per process.
absl::StatusOr<bool> AutoIncrementIsConsecutive(Transaction& tx) {
  static std::atomic<int> known{-1};
  if (const int k = known.load(); k >= 0) return k == 1;
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT @@GLOBAL.innodb_autoinc_lock_mode AS mode"));
  if (rows.size() != 1) return absl::InternalError("innodb_autoinc_lock_mode not read");
  ASSIGN_OR_RETURN(int64_t mode, rows[0].GetInt64("mode"));
  known.store(mode <= 1 ? 1 : 0);
  return mode <= 1;
}

// The journal rows of balanced `ledgers`: their ledger_transactions rows in one statement and
// all their entries in one more, which takes the transactions' ids from LAST_INSERT_ID() on the
// server (consecutive ids), or, with interleaved ids, from reading them back by (payment_id,
// kind), which must be unique among them and name no other transaction written meanwhile (the
// payment rows are locked, or new).
absl::Status InsertJournal(Transaction& tx, absl::Span<const LedgerTransaction> ledgers,
                           absl::Time now) {
  std::vector<SqlValue> params;
  // The refund_id column only when a transaction names a refund: the group-committed
  // captures and releases send the statement they always did.
  const bool with_refund = std::any_of(ledgers.begin(), ledgers.end(),
                                       [](const LedgerTransaction& l) { return !l.refund_id.empty(); });
  for (const LedgerTransaction& ledger : ledgers) {
    RETURN_IF_ERROR(CheckBalanced(ledger));
    SqlValue payment_id = nullptr;
    if (!ledger.payment_id.empty()) payment_id = ledger.payment_id;
    SqlValue payout_id = nullptr;
    if (!ledger.payout_id.empty()) payout_id = ledger.payout_id;
    params.push_back(std::string(TransactionKindName(ledger.kind)));
    params.push_back(std::move(payment_id));
    params.push_back(std::move(payout_id));
    if (with_refund) {
      SqlValue refund_id = nullptr;
      if (!ledger.refund_id.empty()) refund_id = ledger.refund_id;
      params.push_back(std::move(refund_id));
    }
    params.push_back(std::string(common::PrefixCodePoints(ledger.memo, 255)));
    params.push_back(now);
  }
  RETURN_IF_ERROR(tx.Write(
      absl::StrCat("INSERT INTO ledger_transactions (kind, payment_id, payout_id, ",
                   with_refund ? "refund_id, " : "", "memo, created_at) VALUES ",
                   common::db::PlaceholderRows(ledgers.size(), with_refund ? 6 : 5)),
      params));
  // Each ledger transaction's id: LAST_INSERT_ID() is the first row's for the whole next
  // statement (it changes only after a statement). With InnoDB's "traditional" or
  // "consecutive" auto-increment lock mode a multi-row INSERT gets consecutive ids, so row i's
  // is LAST_INSERT_ID() + i * auto_increment_increment; with "interleaved" (2, e.g. Galera)
  // the rows are read back.
  std::vector<std::optional<int64_t>> ids(ledgers.size());
  ASSIGN_OR_RETURN(bool consecutive,
                   ledgers.size() > 1 ? AutoIncrementIsConsecutive(tx) : absl::StatusOr<bool>(true));
  if (!consecutive) {
    std::map<std::pair<std::string, std::string>, size_t> index;
    std::vector<SqlValue> payment_ids;
    for (size_t i = 0; i < ledgers.size(); ++i) {
      const std::string kind(TransactionKindName(ledgers[i].kind));
      if (ledgers[i].payment_id.empty() ||
          !index.emplace(std::make_pair(ledgers[i].payment_id, kind), i).second) {
        return absl::InternalError("batched ledger transactions need distinct payment and kind");
      }
      payment_ids.push_back(ledgers[i].payment_id);
    }
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query(absl::StrCat("SELECT id, payment_id, kind FROM ledger_transactions "
                                           "WHERE id >= LAST_INSERT_ID() AND payment_id IN (",
                                           common::db::PlaceholderList(payment_ids.size()), ")"),
                              payment_ids));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(std::string payment_id, row.GetString("payment_id"));
      ASSIGN_OR_RETURN(std::string kind, row.GetString("kind"));
      auto it = index.find({payment_id, kind});
      if (it == index.end()) continue;
      ASSIGN_OR_RETURN(int64_t id, row.GetInt64("id"));
      ids[it->second] = id;
    }
    for (const auto& id : ids) {
      if (!id) return absl::InternalError("a batched ledger transaction was not read back");
    }
  }
  params.clear();
  std::vector<std::string> rows;
  for (size_t i = 0; i < ledgers.size(); ++i) {
    for (const Entry& e : ledgers[i].entries) {
      if (ids[i]) {
        rows.push_back("(?, ?, ?, ?, ?, ?)");
        params.push_back(*ids[i]);
      } else if (i == 0) {
        rows.push_back("(LAST_INSERT_ID(), ?, ?, ?, ?, ?)");
      } else {
        rows.push_back("(LAST_INSERT_ID() + ? * @@auto_increment_increment, ?, ?, ?, ?, ?)");
        params.push_back(static_cast<int64_t>(i));
      }
      for (SqlValue v : std::initializer_list<SqlValue>{
               std::string(AccountKindName(e.account.kind)), e.account.owner,
               e.account.currency, e.amount_minor, now}) {
        params.push_back(std::move(v));
      }
    }
  }
  return tx.Write(absl::StrCat("INSERT INTO ledger_entries (transaction_id, account_kind, "
                               "account_owner, currency, amount_minor, created_at) VALUES ",
                               absl::StrJoin(rows, ", ")),
                  params);
}

}  // namespace

absl::Status WriteLedger(Transaction& tx, const LedgerTransaction& ledger, absl::Time now) {
  // The journal first and the balance rows last: the seller's row is the lock other
  // payments of the seller wait for, so it is taken as late as possible.
  RETURN_IF_ERROR(InsertJournal(tx, absl::MakeConstSpan(&ledger, 1), now));
  ASSIGN_OR_RETURN(SellerDeltas deltas, DeltasOf(absl::MakeConstSpan(&ledger, 1)));
  for (const auto& [key, delta] : deltas) {
    const auto [escrow, available, paid_out] = delta;
    // One conditional UPDATE takes the row's lock and applies the deltas only while escrow
    // and paid-out stay >= 0; zero rows means the row is missing or the bound would break.
    const std::vector<SqlValue> update_params = {escrow,    available,  paid_out, now,
                                                 key.first, key.second, escrow,   paid_out};
    constexpr char kUpdate[] =
        "UPDATE seller_accounts SET escrow_minor = escrow_minor + ?, "
        "available_minor = available_minor + ?, paid_out_minor = paid_out_minor + ?, "
        "updated_at = ? WHERE seller_id = ? AND currency = ? AND escrow_minor + ? >= 0 AND "
        "paid_out_minor + ? >= 0";
    ASSIGN_OR_RETURN(int64_t matched, tx.Execute(kUpdate, update_params));
    if (matched == 1) continue;
    // The row is missing (EnsureSellerAccounts was not called) or the bound would break.
    ASSIGN_OR_RETURN(SellerAccounts a, LockSellerAccounts(tx, key.first, key.second, now));
    if (a.escrow_minor + escrow < 0 || a.paid_out_minor + paid_out < 0) {
      return absl::InternalError(absl::StrCat("ledger transaction would take seller ", key.first,
                                              " ", key.second, " escrow or paid-out below 0"));
    }
    ASSIGN_OR_RETURN(int64_t again, tx.Execute(kUpdate, update_params));
    if (again != 1) return absl::InternalError("seller account row vanished");
  }
  return absl::OkStatus();
}

absl::Status WriteLedgers(Transaction& tx, absl::Span<const LedgerTransaction> ledgers,
                          absl::Time now) {
  if (ledgers.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(InsertJournal(tx, ledgers, now));
  ASSIGN_OR_RETURN(SellerDeltas deltas, DeltasOf(ledgers));
  if (deltas.empty()) return absl::OkStatus();
  // One single-table UPDATE for every seller row (created by EnsureSellerAccounts before the
  // payment), each row's deltas picked by CASE, a balance no delta changes left out; the
  // table's CHECK keeps escrow and paid out >= 0: a breach fails the statement, and with it
  // the transaction.
  constexpr std::array<const char*, 3> kColumns = {"escrow_minor", "available_minor",
                                                   "paid_out_minor"};
  std::string sql = "UPDATE seller_accounts SET ";
  std::vector<SqlValue> params;
  for (size_t c = 0; c < kColumns.size(); ++c) {
    if (std::none_of(deltas.begin(), deltas.end(),
                     [c](const auto& entry) { return entry.second[c] != 0; })) {
      continue;
    }
    absl::StrAppend(&sql, kColumns[c], " = ", kColumns[c], " + CASE");
    for (const auto& [key, delta] : deltas) {
      absl::StrAppend(&sql, " WHEN seller_id = ? AND currency = ? THEN ?");
      params.insert(params.end(), {key.first, key.second, delta[c]});
    }
    absl::StrAppend(&sql, " ELSE 0 END, ");
  }
  absl::StrAppend(&sql, "updated_at = ? WHERE (seller_id, currency) IN (",
                  common::db::PlaceholderRows(deltas.size(), 2), ")");
  params.push_back(now);
  for (const auto& entry : deltas) {
    params.insert(params.end(), {entry.first.first, entry.first.second});
  }
  // Every row must be there: a missing one fails the statement's row count.
  return tx.Write(sql, params, static_cast<int64_t>(deltas.size()));
}

absl::StatusOr<std::vector<PaymentEventRecord>> LoadHistory(Transaction& tx,
                                                            absl::string_view payment_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT type, state, actor, amount_minor, reason_code, note, "
                            "occurred_at FROM payment_events WHERE payment_id = ? ORDER BY id",
                            {std::string(payment_id)}));
  std::vector<PaymentEventRecord> out;
  for (const Row& row : rows) {
    PaymentEventRecord e;
    ASSIGN_OR_RETURN(e.type, row.GetString("type"));
    ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
    ASSIGN_OR_RETURN(e.state, PaymentStateFromName(state));
    ASSIGN_OR_RETURN(e.actor, row.GetString("actor"));
    ASSIGN_OR_RETURN(e.amount_minor, row.GetOptionalInt64("amount_minor"));
    ASSIGN_OR_RETURN(e.reason_code, row.GetString("reason_code"));
    ASSIGN_OR_RETURN(e.note, row.GetString("note"));
    ASSIGN_OR_RETURN(e.occurred_at, row.GetTime("occurred_at"));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<StoredEntry>> LoadEntries(Transaction& tx,
                                                     absl::string_view payment_id) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      tx.Query("SELECT e.transaction_id, t.kind, t.refund_id, e.account_kind, e.account_owner, "
               "e.currency, e.amount_minor, e.created_at FROM ledger_transactions t "
               "JOIN ledger_entries e ON e.transaction_id = t.id "
               "WHERE t.payment_id = ? ORDER BY e.id",
               {std::string(payment_id)}));
  std::vector<StoredEntry> out;
  for (const Row& row : rows) {
    StoredEntry s;
    ASSIGN_OR_RETURN(s.transaction_id, row.GetInt64("transaction_id"));
    ASSIGN_OR_RETURN(std::string kind, row.GetString("kind"));
    ASSIGN_OR_RETURN(s.kind, TransactionKindFromName(kind));
    if (!row.IsNull("refund_id")) {
      ASSIGN_OR_RETURN(s.refund_id, row.GetString("refund_id"));
    }
    ASSIGN_OR_RETURN(std::string account_kind, row.GetString("account_kind"));
    ASSIGN_OR_RETURN(s.entry.account.kind, AccountKindFromName(account_kind));
    ASSIGN_OR_RETURN(s.entry.account.owner, row.GetString("account_owner"));
    ASSIGN_OR_RETURN(s.entry.account.currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(s.entry.amount_minor, row.GetInt64("amount_minor"));
    ASSIGN_OR_RETURN(s.created_at, row.GetTime("created_at"));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<PaymentRecord>> ListPayments(Transaction& tx, const ListFilter& filter) {
  std::vector<std::string> where;
  std::vector<SqlValue> params;
  if (!filter.buyer_id.empty()) {
    where.push_back("buyer_id = ?");
    params.push_back(filter.buyer_id);
  }
  if (!filter.seller_id.empty()) {
    where.push_back("seller_id = ?");
    params.push_back(filter.seller_id);
  }
  if (filter.state) {
    where.push_back("state = ?");
    params.push_back(std::string(PaymentStateName(*filter.state)));
  }
  if (filter.order_id) {
    where.push_back("order_id = ?");
    params.push_back(*filter.order_id);
  }
  if (filter.after) {
    where.push_back("(created_at < ? OR (created_at = ? AND payment_id < ?))");
    params.push_back(filter.after->first);
    params.push_back(filter.after->first);
    params.push_back(filter.after->second);
  }
  params.push_back(static_cast<int64_t>(filter.limit));
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      tx.Query(absl::StrCat("SELECT ", kPaymentColumns, " FROM payments",
                            where.empty() ? "" : " WHERE ", absl::StrJoin(where, " AND "),
                            " ORDER BY created_at DESC, payment_id DESC LIMIT ?"),
               params));
  return common::db::ParseRows(rows, PaymentFromRow);
}

absl::StatusOr<std::vector<SellerAccounts>> LoadSellerBalances(Transaction& tx,
                                                               absl::string_view seller_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT seller_id, currency, escrow_minor, available_minor, "
                            "paid_out_minor FROM seller_accounts WHERE seller_id = ? "
                            "ORDER BY currency",
                            {std::string(seller_id)}));
  return common::db::ParseRows(rows, SellerAccountsFromRow);
}

absl::Status UpsertHoldPolicy(Transaction& tx, const HoldPolicyRecord& p) {
  return tx
      .Execute(
          "INSERT INTO hold_policies (seller_id, hold_seconds, reason, updated_by, "
          "updated_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
          "hold_seconds = VALUES(hold_seconds), reason = VALUES(reason), "
          "updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)",
          {p.seller_id, absl::ToInt64Seconds(p.hold), p.reason, p.updated_by, p.updated_at})
      .status();
}

absl::StatusOr<std::optional<HoldPolicyRecord>> LoadHoldPolicy(Transaction& tx,
                                                               absl::string_view seller_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT hold_seconds, reason, updated_by, updated_at "
                            "FROM hold_policies WHERE seller_id = ?",
                            {std::string(seller_id)}));
  if (rows.empty()) return std::optional<HoldPolicyRecord>();
  HoldPolicyRecord p;
  p.seller_id = std::string(seller_id);
  ASSIGN_OR_RETURN(int64_t seconds, rows[0].GetInt64("hold_seconds"));
  p.hold = absl::Seconds(seconds);
  ASSIGN_OR_RETURN(p.reason, rows[0].GetString("reason"));
  ASSIGN_OR_RETURN(p.updated_by, rows[0].GetString("updated_by"));
  ASSIGN_OR_RETURN(p.updated_at, rows[0].GetTime("updated_at"));
  return std::optional<HoldPolicyRecord>(std::move(p));
}

absl::Status InsertDispute(Transaction& tx, const DisputeRecord& d, absl::Time now) {
  return tx
      .Execute(
          "INSERT INTO disputes (payment_id, reason_code, description, opened_by, "
          "opened_at) VALUES (?, ?, ?, ?, ?)",
          {d.payment_id, d.reason_code, d.description, d.opened_by, now})
      .status();
}

absl::Status ResolveDisputeRow(Transaction& tx, absl::string_view payment_id,
                               DisputeOutcome outcome, std::optional<int64_t> buyer_share_minor,
                               absl::string_view explanation, absl::string_view resolved_by,
                               absl::Time now) {
  SqlValue share = nullptr;
  if (buyer_share_minor) share = *buyer_share_minor;
  ASSIGN_OR_RETURN(
      int64_t matched,
      tx.Execute("UPDATE disputes SET outcome = ?, buyer_share_minor = ?, "
                 "explanation = ?, resolved_by = ?, resolved_at = ? "
                 "WHERE payment_id = ? AND outcome IS NULL",
                 {std::string(DisputeOutcomeName(outcome)), share, std::string(explanation),
                  std::string(resolved_by), now, std::string(payment_id)}));
  if (matched != 1) return absl::InternalError("open dispute row missing");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PaymentRecord>> ClaimDuePayments(Transaction& tx, absl::Time now,
                                                            int limit) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      tx.Query(absl::StrCat("SELECT ", kPaymentColumns,
                            " FROM payments WHERE state = 'HELD' AND release_due_at <= ? AND "
                            "(release_retry_at IS NULL OR release_retry_at <= ?) "
                            "ORDER BY release_due_at LIMIT ? FOR UPDATE SKIP LOCKED"),
               {now, now, static_cast<int64_t>(limit)}));
  return common::db::ParseRows(rows, PaymentFromRow);
}

absl::StatusOr<std::optional<PaymentRecord>> ClaimDuePayment(Transaction& tx,
                                                             absl::string_view payment_id,
                                                             absl::Time now) {
  return FirstPayment(
      tx.Query(absl::StrCat("SELECT ", kPaymentColumns,
                            " FROM payments WHERE payment_id = ? AND state = 'HELD' AND "
                            "release_due_at <= ? AND (release_retry_at IS NULL OR "
                            "release_retry_at <= ?) FOR UPDATE SKIP LOCKED"),
               {std::string(payment_id), now, now}));
}

absl::Status DeferRelease(common::db::ConnectionPool& pool, absl::string_view payment_id,
                          absl::Time now, absl::Duration initial, absl::Duration max) {
  // Assignments apply left to right: the delay uses the failures counted before this one.
  return pool
      .Execute(
          "UPDATE payments SET release_retry_at = ? + INTERVAL LEAST(?, ? * POW(2, "
          "LEAST(release_failures, 40))) MICROSECOND, release_failures = release_failures + 1 "
          "WHERE payment_id = ? AND state = 'HELD'",
          {now, absl::ToInt64Microseconds(max), absl::ToInt64Microseconds(initial),
           std::string(payment_id)})
      .status();
}

}  // namespace store
}  // namespace marketplace::payments
