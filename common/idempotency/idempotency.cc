#include "common/idempotency/idempotency.h"


#include <array>
#include <functional>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/sql_errors.h"
#include "common/errors.h"
#include "common/idempotency/idempotency_migrations.h"
#include "common/status_macros.h"
#include "google/rpc/status.pb.h"

namespace marketplace::common::idempotency {
namespace {

using db::SqlValue;

std::string EncodeDetails(const absl::Status& status) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(status.code()));
  proto.set_message(std::string(status.message()));
  status.ForEachPayload([&proto](absl::string_view url, const absl::Cord& payload) {
    auto* any = proto.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return proto.SerializeAsString();
}

absl::Status DecodeStatus(int64_t code, const std::string& message, const std::string& details) {
  absl::Status status(static_cast<absl::StatusCode>(code), message);
  google::rpc::Status proto;
  if (!details.empty() && proto.ParseFromString(details)) {
    for (const auto& any : proto.details()) {
      status.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return status;
}

absl::Status ReusedError(const RequestKey& key) {
  return FailedPrecondition(
      "REQUEST_ID_REUSED",
      absl::StrCat("request_id ", key.request_id,
                   " was already used for a different request; use a new request_id"));
}

constexpr char kSelectKey[] =
    "SELECT request_hash, completed, status_code, status_message, status_details, response "
    "FROM idempotency_keys WHERE caller = ? AND method = ? AND request_id = ?";

// The stored result of `row`, or REQUEST_ID_REUSED when its hash differs.
absl::StatusOr<std::optional<StoredResult>> ResultOfRow(const db::Row& row, const RequestKey& key,
                                                        absl::string_view request_hash) {
  ASSIGN_OR_RETURN(std::string hash, row.GetString("request_hash"));
  if (hash != request_hash) return ReusedError(key);
  ASSIGN_OR_RETURN(bool completed, row.GetBool("completed"));
  if (!completed) return std::optional<StoredResult>();
  ASSIGN_OR_RETURN(int64_t code, row.GetInt64("status_code"));
  ASSIGN_OR_RETURN(std::optional<std::string> message, row.GetOptionalString("status_message"));
  ASSIGN_OR_RETURN(std::optional<std::string> details, row.GetOptionalString("status_details"));
  ASSIGN_OR_RETURN(std::optional<std::string> response, row.GetOptionalString("response"));
  StoredResult result;
  if (code != 0) {
    result.status = DecodeStatus(code, message.value_or(""), details.value_or(""));
  } else {
    result.response = response.value_or("");
  }
  return std::optional<StoredResult>(std::move(result));
}

bool IsDuplicateKey(const absl::Status& status) {
  return db::MySqlErrorCodeOf(status) == db::kErrDuplicateKey;
}

std::vector<SqlValue> ResultParams(const StoredResult& result) {
  std::vector<SqlValue> params;
  params.push_back(static_cast<int64_t>(result.status.code()));
  if (result.status.ok()) {
    params.push_back(nullptr);
    params.push_back(nullptr);
    params.push_back(result.response);
  } else {
    params.push_back(std::string(result.status.message()));
    params.push_back(EncodeDetails(result.status));
    params.push_back(nullptr);
  }
  return params;
}

}  // namespace

absl::Status ApplyIdempotencyMigrations(db::ConnectionPool& pool) {
  return db::ApplyMigrations(pool, "idempotency", IdempotencyMigrations());
}

bool IsDefinitive(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::optional<StoredResult>> IdempotencyStore::Begin(
    db::Transaction& tx, const RequestKey& key, absl::string_view request_hash) const {
  absl::StatusOr<int64_t> inserted = tx.Execute(
      "INSERT INTO idempotency_keys (caller, method, request_id, request_hash, created_at) "
      "VALUES (?, ?, ?, ?, ?)",
      {key.caller, key.method, key.request_id, std::string(request_hash), clock_->Now()});
  if (inserted.ok()) return std::optional<StoredResult>();
  if (!IsDuplicateKey(inserted.status())) return inserted.status();
  // Another transaction committed this key: a locking read sees its latest version.
  ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                   tx.Query(absl::StrCat(kSelectKey, " LOCK IN SHARE MODE"),
                            {key.caller, key.method, key.request_id}));
  if (rows.empty()) return absl::AbortedError("idempotency key vanished; retry");
  ASSIGN_OR_RETURN(std::optional<StoredResult> stored, ResultOfRow(rows[0], key, request_hash));
  if (!stored) return absl::InternalError("idempotency key committed without a result");
  return stored;
}

absl::Status IdempotencyStore::Complete(db::Transaction& tx, const RequestKey& key,
                                        const StoredResult& result) const {
  std::vector<SqlValue> params = ResultParams(result);
  params.push_back(key.caller);
  params.push_back(key.method);
  params.push_back(key.request_id);
  ASSIGN_OR_RETURN(int64_t matched,
                   tx.Execute("UPDATE idempotency_keys SET completed = TRUE, status_code = ?, "
                              "status_message = ?, status_details = ?, response = ? "
                              "WHERE caller = ? AND method = ? AND request_id = ?",
                              params));
  if (matched != 1) return absl::InternalError("Complete without Begin");
  return absl::OkStatus();
}

absl::Status IdempotencyStore::InsertCompleted(db::Transaction& tx,
                                               absl::Span<const Completed> completed) const {
  if (completed.empty()) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  std::vector<SqlValue> params;
  params.reserve(completed.size() * 9);
  for (const Completed& c : completed) {
    for (SqlValue v : std::initializer_list<SqlValue>{c.key.caller, c.key.method,
                                                      c.key.request_id, c.request_hash, now}) {
      params.push_back(std::move(v));
    }
    for (SqlValue& v : ResultParams(c.result)) params.push_back(std::move(v));
  }
  return tx.Write(absl::StrCat("INSERT INTO idempotency_keys (caller, method, request_id, "
                               "request_hash, created_at, status_code, status_message, "
                               "status_details, response, completed) VALUES ",
                               db::PlaceholderRows(completed.size(), 9, ", TRUE")),
                  params);
}

absl::StatusOr<std::optional<StoredResult>> IdempotencyStore::Find(
    db::ConnectionPool& pool, const RequestKey& key, absl::string_view request_hash) const {
  ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                   pool.Query(kSelectKey, {key.caller, key.method, key.request_id}));
  if (rows.empty()) return std::optional<StoredResult>();
  return ResultOfRow(rows[0], key, request_hash);
}

std::vector<absl::StatusOr<IdempotencyStore::Found>> IdempotencyStore::FindMany(
    db::ConnectionPool& pool, absl::Span<const Lookup> lookups,
    absl::Span<const Probe> probes) const {
  const size_t n = probes.size();
  std::vector<absl::StatusOr<Found>> out;
  if (n == 0) return out;
  for (const Probe& p : probes) {
    if (p.values.size() != lookups.size()) {
      out.assign(n, absl::InternalError("FindMany: a probe has the wrong number of values"));
      return out;
    }
  }
  // One branch per table: its rows for all probes (an IN list on its unique key). The keys'
  // rows are paired with probes by their key columns, byte for byte: the columns compare
  // bytes (ascii_bin) and request ids have no trailing spaces (IsValidRequestId), so that is
  // the database's own equality. A lookup's rows carry one column per probe saying whether
  // the row is that probe's (m0, m1, ...), so that the database's comparison (the column's
  // collation) pairs them.
  std::vector<SqlValue> params;
  std::string no_flags;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&no_flags, ", NULL AS m", i);
  }
  std::string sql =
      absl::StrCat("SELECT -1 AS part, caller, method, request_id, request_hash, completed, "
                   "status_code, status_message, status_details, response, NULL AS value",
                   no_flags, " FROM idempotency_keys WHERE (caller, method, request_id) IN (",
                   db::PlaceholderRows(n, 3), ")");
  for (const Probe& p : probes) {
    params.insert(params.end(), {p.key.caller, p.key.method, p.key.request_id});
  }
  for (size_t l = 0; l < lookups.size(); ++l) {
    const Lookup& lookup = lookups[l];
    absl::StrAppend(&sql, " UNION ALL SELECT ", l,
                    ", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ",
                    lookup.value_column);
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(&sql, ", (", lookup.key_column, " = ?)");
      params.push_back(probes[i].values[l]);
    }
    absl::StrAppend(&sql, " FROM ", lookup.table, " WHERE ", lookup.key_column, " IN (",
                    db::PlaceholderList(n), ")");
    for (const Probe& p : probes) params.push_back(p.values[l]);
  }
  absl::StatusOr<std::vector<db::Row>> rows = pool.Query(sql, params);
  if (!rows.ok()) {
    out.assign(n, rows.status());
    return out;
  }
  std::vector<Found> found(n, Found{std::nullopt, std::vector<std::optional<std::string>>(
                                                      lookups.size())});
  std::vector<absl::Status> failed(n);
  for (const db::Row& row : *rows) {
    absl::StatusOr<int64_t> part = row.GetInt64("part");
    if (!part.ok() || *part < -1 || *part >= static_cast<int64_t>(lookups.size())) {
      out.assign(n, absl::InternalError("FindMany: a row of an unknown part"));
      return out;
    }
    static constexpr std::array<const char*, 3> kKeyColumns = {"caller", "method", "request_id"};
    std::array<std::string, 3> key_columns;
    for (size_t c = 0; *part < 0 && c < kKeyColumns.size(); ++c) {
      absl::StatusOr<std::string> v = row.GetString(kKeyColumns[c]);
      if (!v.ok()) {
        out.assign(n, v.status());
        return out;
      }
      key_columns[c] = *std::move(v);
    }
    for (size_t i = 0; i < n; ++i) {
      if (*part < 0) {
        const RequestKey& k = probes[i].key;
        if (k.caller != key_columns[0] || k.method != key_columns[1] ||
            k.request_id != key_columns[2]) {
          continue;
        }
      } else {
        absl::StatusOr<bool> mine = row.GetBool(absl::StrCat("m", i));
        if (!mine.ok()) {
          out.assign(n, mine.status());
          return out;
        }
        if (!*mine) continue;
      }
      if (*part < 0) {
        absl::StatusOr<std::optional<StoredResult>> stored =
            ResultOfRow(row, probes[i].key, probes[i].request_hash);
        if (stored.ok()) {
          found[i].stored = *std::move(stored);
        } else {
          failed[i] = stored.status();
        }
      } else {
        absl::StatusOr<std::optional<std::string>> value = row.GetOptionalString("value");
        if (!value.ok()) {
          out.assign(n, value.status());
          return out;
        }
        found[i].values[*part] = *std::move(value);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (failed[i].ok()) {
      out.emplace_back(std::move(found[i]));
    } else {
      out.emplace_back(failed[i]);
    }
  }
  return out;
}

absl::StatusOr<StoredResult> IdempotencyStore::RecordError(db::ConnectionPool& pool,
                                                           const RequestKey& key,
                                                           absl::string_view request_hash,
                                                           const absl::Status& error) const {
  StoredResult mine{error, ""};
  return db::RunInTransaction(pool, [&](db::Transaction& tx) -> absl::StatusOr<StoredResult> {
    std::vector<SqlValue> params = {key.caller, key.method, key.request_id,
                                    std::string(request_hash), clock_->Now()};
    for (SqlValue& v : ResultParams(mine)) params.push_back(std::move(v));
    absl::StatusOr<int64_t> inserted = tx.Execute(
        "INSERT INTO idempotency_keys (caller, method, request_id, request_hash, "
        "created_at, completed, status_code, status_message, status_details, "
        "response) VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?)",
        params);
    if (inserted.ok()) return mine;
    if (!IsDuplicateKey(inserted.status())) return inserted.status();
    ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                     tx.Query(absl::StrCat(kSelectKey, " LOCK IN SHARE MODE"),
                              {key.caller, key.method, key.request_id}));
    if (rows.empty()) return absl::AbortedError("idempotency key vanished; retry");
    ASSIGN_OR_RETURN(std::optional<StoredResult> stored, ResultOfRow(rows[0], key, request_hash));
    if (!stored) return absl::InternalError("idempotency key committed without a result");
    return *std::move(stored);
  });
}

absl::StatusOr<int64_t> IdempotencyStore::Purge(db::ConnectionPool& pool, absl::Duration keep,
                                                int64_t batch_size) const {
  const absl::Time cutoff = clock_->Now() - keep;
  int64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(int64_t deleted,
                     pool.Execute("DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?",
                                  {cutoff, batch_size}));
    total += deleted;
    if (deleted < batch_size) return total;
  }
}

namespace {
constexpr char kKeepWrites[] = "marketplace.idempotency/keep-writes";
}  // namespace

absl::Status KeepWrites(absl::Status refusal) {
  if (IsDefinitive(refusal)) refusal.SetPayload(kKeepWrites, absl::Cord());
  return refusal;
}

absl::StatusOr<std::string> RunIdempotentBytes(
    db::ConnectionPool& pool, const IdempotencyStore& store, const RequestKey& key,
    absl::string_view request_hash,
    const std::function<absl::StatusOr<std::string>(db::Transaction&)>& effect) {
  bool effect_failed = false;
  // OK: the transaction commits with the result it holds (a response, a kept refusal or the
  // stored result of an earlier attempt).
  absl::StatusOr<StoredResult> result =
      db::RunInTransaction(pool, [&](db::Transaction& tx) -> absl::StatusOr<StoredResult> {
        effect_failed = false;
        ASSIGN_OR_RETURN(std::optional<StoredResult> stored, store.Begin(tx, key, request_hash));
        if (stored) return *std::move(stored);
        absl::StatusOr<std::string> response = effect(tx);
        if (!response.ok() && response.status().GetPayload(kKeepWrites).has_value()) {
          StoredResult refused{response.status(), ""};
          refused.status.ErasePayload(kKeepWrites);
          RETURN_IF_ERROR(store.Complete(tx, key, refused));
          return refused;
        }
        if (!response.ok()) {
          effect_failed = true;
          return response.status();
        }
        StoredResult done{absl::OkStatus(), *std::move(response)};
        RETURN_IF_ERROR(store.Complete(tx, key, done));
        return done;
      });
  if (result.ok()) {
    if (!result->status.ok()) return result->status;
    return std::move(result->response);
  }
  if (!effect_failed || !IsDefinitive(result.status())) return result.status();
  // The effect refused after the work began and its transaction rolled back: its answer is
  // the request's result, kept so that a retry gets the same one.
  ASSIGN_OR_RETURN(StoredResult stood, store.RecordError(pool, key, request_hash, result.status()));
  if (!stood.status.ok()) return stood.status;
  return stood.response;
}

}  // namespace marketplace::common::idempotency
