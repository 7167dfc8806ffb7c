// The SQL of CreatePayment's intents (payment_intents, payment_intent_outcomes).
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/payments/mysql_payment_store_rows.h"

namespace marketplace::payments {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

namespace store {
namespace {

// next_check_at of a closed intent (see ClaimOpenIntents); migration 0013 uses the same.
constexpr char kClosedCheckAt[] = "'9999-12-31 00:00:00'";
// Closed intents moved out of the claim's range per statement.
constexpr int64_t kParkBatch = 1000;

constexpr char kIntentColumns[] =
    "i.intent_id, i.caller, i.method, i.request_id, i.request_hash, i.payment_id, i.order_id, "
    "i.buyer_id, i.seller_id, i.currency, i.amount_minor, i.authorization_reference, "
    "i.capture_reference, i.created_at";

constexpr char kIntentFrom[] =
    ", o.outcome FROM payment_intents i LEFT JOIN payment_intent_outcomes o ON "
    "o.intent_id = i.intent_id";

absl::StatusOr<PaymentIntent> IntentOf(const Row& row) {
  PaymentIntent i;
  ASSIGN_OR_RETURN(i.intent_id, row.GetString("intent_id"));
  ASSIGN_OR_RETURN(i.caller, row.GetString("caller"));
  ASSIGN_OR_RETURN(i.method, row.GetString("method"));
  ASSIGN_OR_RETURN(i.request_id, row.GetString("request_id"));
  ASSIGN_OR_RETURN(i.request_hash, row.GetString("request_hash"));
  ASSIGN_OR_RETURN(i.payment_id, row.GetString("payment_id"));
  ASSIGN_OR_RETURN(i.order_id, row.GetString("order_id"));
  ASSIGN_OR_RETURN(i.buyer_id, row.GetString("buyer_id"));
  ASSIGN_OR_RETURN(i.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(i.currency, row.GetString("currency"));
  ASSIGN_OR_RETURN(i.amount_minor, row.GetInt64("amount_minor"));
  ASSIGN_OR_RETURN(i.authorization_reference, row.GetString("authorization_reference"));
  ASSIGN_OR_RETURN(i.capture_reference, row.GetString("capture_reference"));
  ASSIGN_OR_RETURN(i.created_at, row.GetTime("created_at"));
  if (!row.IsNull("outcome")) {
    ASSIGN_OR_RETURN(i.outcome, row.GetString("outcome"));
  }
  return i;
}

}  // namespace

absl::Status ReusedError(const PaymentIntent& intent) {
  return common::FailedPrecondition(
      "REQUEST_ID_REUSED",
      absl::StrCat("request_id ", intent.request_id,
                   " was already used for a different request; use a new request_id"));
}

std::vector<absl::StatusOr<PaymentIntent>> BeginIntents(common::db::ConnectionPool& pool,
                                                        absl::Span<const PaymentIntent> intents) {
  std::vector<absl::StatusOr<PaymentIntent>> out;
  if (intents.empty()) return out;
  // One statement for the batch; the intents it did not insert were written before (by a
  // retry, a twin) and are read back.
  std::string values;
  std::vector<SqlValue> params;
  for (const PaymentIntent& i : intents) {
    absl::StrAppend(&values, values.empty() ? "" : ", ",
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (SqlValue v : std::vector<SqlValue>{i.intent_id, i.caller, i.method, i.request_id,
                                            i.request_hash, i.payment_id, i.order_id,
                                            i.buyer_id, i.seller_id, i.currency, i.amount_minor,
                                            i.created_at, i.created_at}) {
      params.push_back(std::move(v));
    }
  }
  const std::string insert =
      absl::StrCat("INSERT IGNORE INTO payment_intents (intent_id, caller, method, request_id, "
                   "request_hash, payment_id, order_id, buyer_id, seller_id, currency, "
                   "amount_minor, created_at, next_check_at) VALUES ",
                   values);
  absl::StatusOr<int64_t> inserted = pool.Execute(insert, params);
  // A single statement: run again when the server chose it as a deadlock's victim.
  for (int attempt = 1; attempt < 4 && absl::IsAborted(inserted.status()); ++attempt) {
    inserted = pool.Execute(insert, params);
  }
  if (!inserted.ok()) return std::vector<absl::StatusOr<PaymentIntent>>(intents.size(),
                                                                        inserted.status());
  if (*inserted == static_cast<int64_t>(intents.size())) {
    out.assign(intents.begin(), intents.end());
    return out;
  }
  std::vector<SqlValue> ids;
  for (const PaymentIntent& i : intents) ids.push_back(i.intent_id);
  absl::StatusOr<std::vector<Row>> rows =
      pool.Query(absl::StrCat("SELECT ", kIntentColumns, kIntentFrom, " WHERE i.intent_id IN (",
                              common::db::PlaceholderList(ids.size()), ")"),
                 ids);
  if (!rows.ok()) return std::vector<absl::StatusOr<PaymentIntent>>(intents.size(), rows.status());
  std::map<std::string, PaymentIntent> stored;
  for (const Row& row : *rows) {
    absl::StatusOr<PaymentIntent> i = IntentOf(row);
    if (!i.ok()) return std::vector<absl::StatusOr<PaymentIntent>>(intents.size(), i.status());
    stored[i->intent_id] = *std::move(i);
  }
  for (const PaymentIntent& i : intents) {
    auto it = stored.find(i.intent_id);
    if (it == stored.end()) {
      out.push_back(absl::UnavailableError("payment intent vanished; retry"));
    } else if (it->second.request_hash != i.request_hash) {
      out.push_back(ReusedError(i));
    } else {
      out.push_back(it->second);  // ours (same payment id) or the one written before
    }
  }
  return out;
}

std::vector<absl::StatusOr<std::string>> RecordAuthorizations(
    common::db::ConnectionPool& pool,
    absl::Span<const std::pair<std::string, std::string>> intent_authorizations) {
  if (intent_authorizations.empty()) return {};
  // Only on intents still open: once the completion worker (or a twin) has closed an intent,
  // no capture may follow. The intents' row locks are taken first (in id order, so that
  // batches do not deadlock); the worker's closing transaction holds an intent's lock
  // (LockIntent) until its outcome is committed, so the outcomes read after them (READ
  // COMMITTED: a statement sees what was committed when it starts, whatever level the pooled
  // connection had) include the worker's, and an intent open here stays open until this
  // commits.
  std::vector<SqlValue> ids;
  std::map<std::string, std::string> references;
  for (const auto& [id, reference] : intent_authorizations) {
    if (references.emplace(id, reference).second) ids.push_back(id);
  }
  const std::string in = common::db::PlaceholderList(ids.size());
  std::map<std::string, std::string> outcomes;  // intent id -> outcome ("" while open)
  common::db::TransactionOptions options;
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  absl::Status status = common::db::RunInTransaction(
      pool,
      [&](Transaction& tx) -> absl::Status {
        outcomes.clear();
        ASSIGN_OR_RETURN(std::vector<Row> locked,
                         tx.Query(absl::StrCat("SELECT intent_id FROM payment_intents WHERE "
                                               "intent_id IN (",
                                               in, ") ORDER BY intent_id FOR UPDATE"),
                                  ids));
        for (const Row& row : locked) {
          ASSIGN_OR_RETURN(std::string id, row.GetString("intent_id"));
          outcomes[std::move(id)] = "";
        }
        ASSIGN_OR_RETURN(std::vector<Row> closed,
                         tx.Query(absl::StrCat("SELECT intent_id, outcome FROM "
                                               "payment_intent_outcomes WHERE intent_id IN (",
                                               in, ")"),
                                  ids));
        for (const Row& row : closed) {
          ASSIGN_OR_RETURN(std::string id, row.GetString("intent_id"));
          ASSIGN_OR_RETURN(outcomes[std::move(id)], row.GetString("outcome"));
        }
        std::string cases;
        std::vector<SqlValue> params;
        std::vector<SqlValue> open;
        for (const auto& [id, outcome] : outcomes) {
          if (!outcome.empty()) continue;
          absl::StrAppend(&cases, " WHEN ? THEN ?");
          params.push_back(id);
          params.push_back(references[id]);
          open.push_back(id);
        }
        if (open.empty()) return absl::OkStatus();
        params.insert(params.end(), open.begin(), open.end());
        return tx
            .Execute(absl::StrCat("UPDATE payment_intents SET authorization_reference = CASE "
                                  "intent_id",
                                  cases, " END WHERE intent_id IN (",
                                  common::db::PlaceholderList(open.size()), ")"),
                     params)
            .status();
      },
      options);
  if (!status.ok()) {
    return std::vector<absl::StatusOr<std::string>>(intent_authorizations.size(), status);
  }
  std::vector<absl::StatusOr<std::string>> out;
  for (const auto& [id, reference] : intent_authorizations) {
    auto it = outcomes.find(id);
    if (it == outcomes.end()) {
      out.push_back(absl::UnavailableError("payment intent vanished; retry"));
    } else {
      out.push_back(it->second);  // "" when recorded on the open intent, else its outcome
    }
  }
  return out;
}

absl::Status RecordIntentReferences(common::db::ConnectionPool& pool, absl::string_view intent_id,
                                    absl::string_view authorization, absl::string_view capture) {
  return pool
      .Execute(
          "UPDATE payment_intents SET authorization_reference = ?, capture_reference = ? "
          "WHERE intent_id = ?",
          {std::string(authorization), std::string(capture), std::string(intent_id)})
      .status();
}

absl::StatusOr<std::vector<PaymentIntent>> ClaimOpenIntents(common::db::ConnectionPool& pool,
                                                            absl::Time created_before,
                                                            absl::Time now,
                                                            absl::Time lease_until, int limit) {
  // The closed intents are moved out of the claim's range first, in bulk: next_check_at to the
  // end of time. Without it the claim, a range of next_check_at, walked over every closed
  // intent kept for its 30-day retention on every pass of every replica. Done here, off the
  // request path, each closed intent is moved once (the pass after it was closed); the claim
  // then walks over the open intents only.
  while (true) {
    ASSIGN_OR_RETURN(
        int64_t parked,
        pool.Execute(absl::StrCat("UPDATE payment_intents SET next_check_at = ", kClosedCheckAt,
                                  " WHERE next_check_at <= ? AND EXISTS (SELECT 1 FROM "
                                  "payment_intent_outcomes o WHERE o.intent_id = "
                                  "payment_intents.intent_id) ORDER BY next_check_at LIMIT ?"),
                     {now, kParkBatch}));
    if (parked < kParkBatch) break;
  }
  return common::db::RunInTransaction(
      pool, [&](Transaction& tx) -> absl::StatusOr<std::vector<PaymentIntent>> {
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query(absl::StrCat("SELECT ", kIntentColumns, ", NULL AS outcome FROM "
                                  "payment_intents i WHERE i.next_check_at <= ? AND "
                                  "i.created_at <= ? AND NOT EXISTS (SELECT 1 FROM "
                                  "payment_intent_outcomes o WHERE o.intent_id = i.intent_id) "
                                  "ORDER BY i.next_check_at LIMIT ? FOR UPDATE SKIP LOCKED"),
                     {now, created_before, static_cast<int64_t>(limit)}));
        std::vector<PaymentIntent> claimed;
        std::vector<SqlValue> params = {lease_until};
        for (const Row& row : rows) {
          ASSIGN_OR_RETURN(PaymentIntent i, IntentOf(row));
          params.push_back(i.intent_id);
          claimed.push_back(std::move(i));
        }
        if (claimed.empty()) return claimed;
        RETURN_IF_ERROR(tx.Execute(absl::StrCat("UPDATE payment_intents SET next_check_at = ? "
                                                "WHERE intent_id IN (",
                                                common::db::PlaceholderList(claimed.size()), ")"),
                                   params)
                            .status());
        return claimed;
      });
}

absl::Status CloseIntents(Transaction& tx, absl::Span<const std::string> intent_ids,
                          absl::string_view outcome, absl::Time now) {
  if (intent_ids.empty()) return absl::OkStatus();
  std::string values;
  std::vector<SqlValue> params;
  for (const std::string& id : intent_ids) {
    absl::StrAppend(&values, values.empty() ? "" : ", ", "(?, ?, ?)");
    params.push_back(id);
    params.push_back(std::string(outcome));
    params.push_back(now);
  }
  return tx
      .Execute(absl::StrCat("INSERT INTO payment_intent_outcomes (intent_id, outcome, closed_at) "
                            "VALUES ",
                            values),
               params)
      .status();
}

absl::StatusOr<bool> CloseIntent(Transaction& tx, absl::string_view intent_id,
                                 absl::string_view outcome, absl::Time now) {
  ASSIGN_OR_RETURN(int64_t inserted,
                   tx.Execute("INSERT IGNORE INTO payment_intent_outcomes (intent_id, outcome, "
                              "closed_at) VALUES (?, ?, ?)",
                              {std::string(intent_id), std::string(outcome), now}));
  return inserted == 1;
}

absl::StatusOr<std::optional<PaymentIntent>> LockIntent(Transaction& tx,
                                                        absl::string_view intent_id) {
  // The intent row only (a record lock on the primary key): its outcome is decided by
  // CloseIntent's insert, and a locking read of a missing outcome row would take a gap lock
  // that two workers' closes could deadlock on.
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kIntentColumns,
                                         ", NULL AS outcome FROM payment_intents i WHERE "
                                         "i.intent_id = ? FOR UPDATE"),
                            {std::string(intent_id)}));
  if (rows.empty()) return std::optional<PaymentIntent>();
  ASSIGN_OR_RETURN(PaymentIntent i, IntentOf(rows[0]));
  return std::optional<PaymentIntent>(std::move(i));
}

absl::StatusOr<std::optional<std::string>> IntentOutcome(Transaction& tx,
                                                         absl::string_view intent_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kIntentColumns, kIntentFrom,
                                         " WHERE i.intent_id = ?"),
                            {std::string(intent_id)}));
  if (rows.empty()) return std::optional<std::string>();
  ASSIGN_OR_RETURN(PaymentIntent i, IntentOf(rows[0]));
  return std::optional<std::string>(i.outcome);
}

absl::StatusOr<int64_t> PurgeResolvedIntents(common::db::ConnectionPool& pool,
                                             absl::Time closed_before, int64_t batch_size) {
  int64_t total = 0;
  while (true) {
    // Only intents with an outcome row are chosen (an open intent has none), and the outcome
    // is locked with the intent so that nothing reads a half-deleted pair.
    absl::StatusOr<int64_t> deleted = common::db::RunInTransaction(
        pool, [&](Transaction& tx) -> absl::StatusOr<int64_t> {
          ASSIGN_OR_RETURN(std::vector<Row> rows,
                           tx.Query("SELECT intent_id FROM payment_intent_outcomes "
                                    "WHERE closed_at < ? ORDER BY closed_at LIMIT ? "
                                    "FOR UPDATE SKIP LOCKED",
                                    {closed_before, batch_size}));
          if (rows.empty()) return int64_t{0};
          std::vector<SqlValue> ids;
          for (const Row& row : rows) {
            ASSIGN_OR_RETURN(std::string id, row.GetString("intent_id"));
            ids.push_back(std::move(id));
          }
          const std::string in = common::db::PlaceholderList(ids.size());
          RETURN_IF_ERROR(
              tx.Execute(absl::StrCat("DELETE FROM payment_intents WHERE intent_id IN (", in, ")"),
                         ids)
                  .status());
          RETURN_IF_ERROR(tx.Execute(absl::StrCat(
                                         "DELETE FROM payment_intent_outcomes WHERE intent_id IN (",
                                         in, ")"),
                                     ids)
                              .status());
          return static_cast<int64_t>(ids.size());
        });
    if (!deleted.ok()) return deleted.status();
    total += *deleted;
    if (*deleted < batch_size) return total;
  }
}

}  // namespace store
}  // namespace marketplace::payments
