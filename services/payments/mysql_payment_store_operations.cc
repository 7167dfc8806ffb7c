// The SQL of payouts and processor operations (the rest in mysql_payment_store_rows.cc).
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/payments/mysql_payment_store_rows.h"

namespace marketplace::payments {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

namespace store {

absl::Status InsertPayout(Transaction& tx, const PayoutRecord& p) {
  return tx
      .Execute(
          "INSERT INTO payouts (payout_id, seller_id, currency, amount_minor, "
          "payout_account, state, processor_reference, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          {p.payout_id, p.seller_id, p.currency, p.amount_minor, p.payout_account, p.state,
           p.processor_reference, p.created_at})
      .status();
}

namespace {

constexpr char kPayoutColumns[] =
    "payout_id, seller_id, currency, amount_minor, payout_account, state, processor_reference, "
    "created_at";

absl::StatusOr<PayoutRecord> PayoutFromRow(const Row& row) {
  PayoutRecord p;
  ASSIGN_OR_RETURN(p.payout_id, row.GetString("payout_id"));
  ASSIGN_OR_RETURN(p.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(p.currency, row.GetString("currency"));
  ASSIGN_OR_RETURN(p.amount_minor, row.GetInt64("amount_minor"));
  ASSIGN_OR_RETURN(p.payout_account, row.GetString("payout_account"));
  ASSIGN_OR_RETURN(p.state, row.GetString("state"));
  ASSIGN_OR_RETURN(p.processor_reference, row.GetString("processor_reference"));
  ASSIGN_OR_RETURN(p.created_at, row.GetTime("created_at"));
  return p;
}

}  // namespace

absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(common::db::ConnectionPool& pool,
                                                       absl::string_view payout_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool.Query(absl::StrCat("SELECT ", kPayoutColumns,
                                           " FROM payouts WHERE payout_id = ?"),
                              {std::string(payout_id)}));
  if (rows.empty()) return std::optional<PayoutRecord>();
  ASSIGN_OR_RETURN(PayoutRecord p, PayoutFromRow(rows[0]));
  return std::optional<PayoutRecord>(std::move(p));
}

absl::StatusOr<std::vector<PayoutRecord>> ListPayouts(
    Transaction& tx, absl::string_view seller_id,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit) {
  std::vector<SqlValue> params = {std::string(seller_id)};
  std::string cursor;
  if (after) {
    cursor = " AND (created_at < ? OR (created_at = ? AND payout_id < ?))";
    params.push_back(after->first);
    params.push_back(after->first);
    params.push_back(after->second);
  }
  params.push_back(static_cast<int64_t>(limit));
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kPayoutColumns,
                                         " FROM payouts WHERE seller_id = ?", cursor,
                                         " ORDER BY created_at DESC, payout_id DESC LIMIT ?"),
                            params));
  return common::db::ParseRows(rows, PayoutFromRow);
}

absl::StatusOr<bool> MarkPayoutFailed(Transaction& tx, absl::string_view payout_id) {
  ASSIGN_OR_RETURN(int64_t matched,
                   tx.Execute("UPDATE payouts SET state = 'FAILED' WHERE payout_id = ? AND "
                              "state = 'PENDING'",
                              {std::string(payout_id)}));
  return matched == 1;
}

namespace {

constexpr char kOperationColumns[] =
    "operation_id, kind, payment_id, payout_id, seller_id, currency, amount_minor, "
    "target_reference, state, attempts, next_attempt_at, processor_reference, last_error, "
    "created_at, updated_at, settlement_reference, settled_by, settled_at, funded_by, "
    "paid_by_seller_minor, paid_by_guarantee_minor, on_behalf_of_seller, charged_minor, "
    "charge_shortfall_minor, charged_by, charged_at, order_id, buyer_id";

absl::StatusOr<ProcessorOperation> OperationOf(const Row& row) {
  ProcessorOperation op;
  ASSIGN_OR_RETURN(op.operation_id, row.GetString("operation_id"));
  ASSIGN_OR_RETURN(op.kind, row.GetString("kind"));
  if (!row.IsNull("payment_id")) {
    ASSIGN_OR_RETURN(op.payment_id, row.GetString("payment_id"));
  }
  if (!row.IsNull("payout_id")) {
    ASSIGN_OR_RETURN(op.payout_id, row.GetString("payout_id"));
  }
  ASSIGN_OR_RETURN(op.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(op.currency, row.GetString("currency"));
  ASSIGN_OR_RETURN(op.amount_minor, row.GetInt64("amount_minor"));
  ASSIGN_OR_RETURN(op.target_reference, row.GetString("target_reference"));
  ASSIGN_OR_RETURN(op.state, row.GetString("state"));
  ASSIGN_OR_RETURN(int64_t attempts, row.GetInt64("attempts"));
  op.attempts = static_cast<int>(attempts);
  ASSIGN_OR_RETURN(op.next_attempt_at, row.GetTime("next_attempt_at"));
  ASSIGN_OR_RETURN(op.processor_reference, row.GetString("processor_reference"));
  ASSIGN_OR_RETURN(op.last_error, row.GetString("last_error"));
  ASSIGN_OR_RETURN(op.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(op.updated_at, row.GetTime("updated_at"));
  ASSIGN_OR_RETURN(op.settlement_reference, row.GetString("settlement_reference"));
  ASSIGN_OR_RETURN(op.settled_by, row.GetString("settled_by"));
  ASSIGN_OR_RETURN(op.settled_at, row.GetOptionalTime("settled_at"));
  ASSIGN_OR_RETURN(op.funded_by, row.GetString("funded_by"));
  ASSIGN_OR_RETURN(op.paid_by_seller_minor, row.GetInt64("paid_by_seller_minor"));
  ASSIGN_OR_RETURN(op.paid_by_guarantee_minor, row.GetInt64("paid_by_guarantee_minor"));
  ASSIGN_OR_RETURN(int64_t on_behalf, row.GetInt64("on_behalf_of_seller"));
  op.on_behalf_of_seller = on_behalf != 0;
  ASSIGN_OR_RETURN(op.charged_minor, row.GetInt64("charged_minor"));
  ASSIGN_OR_RETURN(op.charge_shortfall_minor, row.GetInt64("charge_shortfall_minor"));
  ASSIGN_OR_RETURN(op.charged_by, row.GetString("charged_by"));
  ASSIGN_OR_RETURN(op.charged_at, row.GetOptionalTime("charged_at"));
  if (!row.IsNull("order_id")) {
    ASSIGN_OR_RETURN(op.order_id, row.GetString("order_id"));
  }
  if (!row.IsNull("buyer_id")) {
    ASSIGN_OR_RETURN(op.buyer_id, row.GetString("buyer_id"));
  }
  return op;
}

}  // namespace

absl::Status InsertOperation(Transaction& tx, const ProcessorOperation& op) {
  SqlValue payment_id = nullptr;
  if (!op.payment_id.empty()) payment_id = op.payment_id;
  SqlValue payout_id = nullptr;
  if (!op.payout_id.empty()) payout_id = op.payout_id;
  SqlValue order_id = nullptr;
  if (!op.order_id.empty()) order_id = op.order_id;
  SqlValue buyer_id = nullptr;
  if (!op.buyer_id.empty()) buyer_id = op.buyer_id;
  return tx
      .Execute(
          "INSERT INTO processor_operations (operation_id, kind, payment_id, payout_id, "
          "seller_id, currency, amount_minor, target_reference, state, attempts, "
          "next_attempt_at, created_at, updated_at, funded_by, paid_by_seller_minor, "
          "paid_by_guarantee_minor, on_behalf_of_seller, order_id, buyer_id) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {op.operation_id, op.kind, payment_id, payout_id, op.seller_id, op.currency,
           op.amount_minor, op.target_reference, op.next_attempt_at, op.created_at, op.created_at,
           op.funded_by, op.paid_by_seller_minor, op.paid_by_guarantee_minor,
           static_cast<int64_t>(op.on_behalf_of_seller ? 1 : 0), order_id, buyer_id})
      .status();
}

absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(common::db::ConnectionPool& pool,
                                                                absl::string_view operation_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool.Query(absl::StrCat("SELECT ", kOperationColumns,
                                           " FROM processor_operations WHERE operation_id = ?"),
                              {std::string(operation_id)}));
  if (rows.empty()) return std::optional<ProcessorOperation>();
  ASSIGN_OR_RETURN(ProcessorOperation op, OperationOf(rows[0]));
  return std::optional<ProcessorOperation>(std::move(op));
}

absl::StatusOr<std::optional<ProcessorOperation>> LoadOperationTx(Transaction& tx,
                                                                  absl::string_view operation_id,
                                                                  bool for_update) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kOperationColumns,
                                         " FROM processor_operations WHERE operation_id = ?",
                                         for_update ? " FOR UPDATE" : ""),
                            {std::string(operation_id)}));
  if (rows.empty()) return std::optional<ProcessorOperation>();
  ASSIGN_OR_RETURN(ProcessorOperation op, OperationOf(rows[0]));
  return std::optional<ProcessorOperation>(std::move(op));
}

absl::StatusOr<bool> SettleOperation(Transaction& tx, absl::string_view operation_id,
                                     absl::string_view settlement_reference,
                                     absl::string_view settled_by, absl::Time now) {
  ASSIGN_OR_RETURN(
      int64_t matched,
      tx.Execute("UPDATE processor_operations SET state = 'SETTLED', settlement_reference = ?, "
                 "settled_by = ?, settled_at = ?, updated_at = ? WHERE operation_id = ? AND "
                 "state = 'FAILED'",
                 {std::string(settlement_reference), std::string(settled_by), now, now,
                  std::string(operation_id)}));
  return matched == 1;
}

absl::StatusOr<std::vector<ProcessorOperation>> LoadRefunds(Transaction& tx,
                                                            absl::string_view payment_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kOperationColumns,
                                         " FROM processor_operations WHERE payment_id = ? AND "
                                         "kind = 'REFUND' ORDER BY created_at, operation_id"),
                            {std::string(payment_id)}));
  return common::db::ParseRows(rows, OperationOf);
}

absl::StatusOr<std::vector<ProcessorOperation>> LoadRefundsWithoutPayment(
    Transaction& tx, absl::string_view order_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kOperationColumns,
                                         " FROM processor_operations WHERE order_id = ? AND "
                                         "payment_id IS NULL AND kind = 'REFUND' "
                                         "ORDER BY created_at, operation_id"),
                            {std::string(order_id)}));
  return common::db::ParseRows(rows, OperationOf);
}

absl::StatusOr<std::vector<ProcessorOperation>> ClaimDueOperations(common::db::ConnectionPool& pool,
                                                                   absl::Time now,
                                                                   absl::Time lease_until,
                                                                   int limit) {
  return common::db::RunInTransaction(
      pool, [&](Transaction& tx) -> absl::StatusOr<std::vector<ProcessorOperation>> {
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query(absl::StrCat("SELECT ", kOperationColumns,
                                  " FROM processor_operations WHERE state = 'PENDING' AND "
                                  "next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ? "
                                  "FOR UPDATE SKIP LOCKED"),
                     {now, static_cast<int64_t>(limit)}));
        std::vector<ProcessorOperation> claimed;
        std::vector<SqlValue> params = {lease_until, now};
        for (const Row& row : rows) {
          ASSIGN_OR_RETURN(ProcessorOperation op, OperationOf(row));
          params.push_back(op.operation_id);
          claimed.push_back(std::move(op));
        }
        if (claimed.empty()) return claimed;
        RETURN_IF_ERROR(tx.Execute(absl::StrCat("UPDATE processor_operations SET "
                                                "next_attempt_at = ?, updated_at = ? WHERE "
                                                "operation_id IN (",
                                                common::db::PlaceholderList(claimed.size()), ")"),
                                   params)
                            .status());
        return claimed;
      });
}

absl::StatusOr<bool> FinishOperation(Transaction& tx, absl::string_view operation_id,
                                     absl::string_view state, absl::string_view processor_reference,
                                     absl::Time now) {
  ASSIGN_OR_RETURN(int64_t matched,
                   tx.Execute("UPDATE processor_operations SET state = ?, "
                              "processor_reference = ?, updated_at = ? WHERE operation_id = ? "
                              "AND state = 'PENDING'",
                              {std::string(state), std::string(processor_reference), now,
                               std::string(operation_id)}));
  return matched == 1;
}

absl::Status RescheduleOperation(common::db::ConnectionPool& pool, absl::string_view operation_id,
                                 absl::string_view error, absl::Time next_attempt_at,
                                 absl::Time now) {
  return pool
      .Execute(
          "UPDATE processor_operations SET attempts = attempts + 1, next_attempt_at = ?, "
          "last_error = ?, updated_at = ? WHERE operation_id = ? AND state = 'PENDING'",
          {next_attempt_at, std::string(common::PrefixCodePoints(error, 500)), now,
           std::string(operation_id)})
      .status();
}

absl::StatusOr<bool> ChargeRefund(Transaction& tx, const RefundCharge& charge, absl::Time now) {
  ASSIGN_OR_RETURN(int64_t matched,
                   tx.Execute("UPDATE processor_operations SET charged_minor = ?, "
                              "charge_shortfall_minor = ?, charged_by = ?, charged_at = ?, "
                              "updated_at = ? WHERE operation_id = ? AND kind = 'REFUND' AND "
                              "charged_at IS NULL",
                              {charge.charged_minor, charge.shortfall_minor, charge.charged_by,
                               now, now, charge.refund_id}));
  return matched == 1;
}

absl::Status MarkPayoutPaidTx(Transaction& tx, absl::string_view payout_id,
                              absl::string_view processor_reference) {
  return tx
      .Execute(
          "UPDATE payouts SET state = 'PAID', processor_reference = ? WHERE payout_id = ? AND "
          "state = 'PENDING'",
          {std::string(processor_reference), std::string(payout_id)})
      .status();
}

}  // namespace store
}  // namespace marketplace::payments
