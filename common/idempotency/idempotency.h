#ifndef MARKETPLACE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
#define MARKETPLACE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/idempotency/request_id.h"
#include "google/protobuf/message.h"

namespace marketplace::common::idempotency {

// Request ids of mutating calls, stored with the first result so that a retry of the same
// request returns that result instead of doing the work again.
//
// A service that uses it:
//   1. at start-up: ApplyIdempotencyMigrations(pool) (component "idempotency": table
//      idempotency_keys in the service's own database);
//   2. per mutating call: RunIdempotent(pool, store, key, RequestHash(request), effect), which
//      runs `effect` in ONE transaction together with Begin and Complete, so that the key and
//      the result exist if and only if the effect commits;
//   3. periodically: store.Purge(pool) drops keys older than 24 hours.
//
// The rule is "a retry with the same request returns the first result":
//   - a new key runs the effect; its response is stored in the effect's transaction;
//   - the same key with the same request hash returns the stored response or error;
//   - the same key with another request hash is FAILED_PRECONDITION, reason REQUEST_ID_REUSED;
//   - an error of the effect that is definitive (IsDefinitive: a domain refusal, not a
//     transient failure) is stored too, in a transaction of its own since the effect's rolled
//     back; a transient error (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED, ...) is not stored, so
//     the retry does the work (nothing of the first attempt committed);
//   - a definitive error the effect wraps in KeepWrites is stored in the effect's own
//     transaction, which commits: for a refusal that has writes of its own to keep (e.g. the
//     return of money already taken), stored if and only if they commit.
// Concurrent identical requests: the primary key makes the second INSERT wait for the first
// transaction; once that commits the second finds its row and returns its result; if it rolled
// back the second does the work itself.

// Creates or upgrades the table (ApplyMigrations with component "idempotency").
[[nodiscard]] absl::Status ApplyIdempotencyMigrations(db::ConnectionPool& pool);

// A call's result as stored: OK with response bytes, or an error with its payloads (reason,
// field violations) kept.
struct StoredResult {
  absl::Status status;
  std::string response;
};

// True for errors that are a request's answer (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE) and are stored; false for transient
// ones (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, ...) after
// which the retry runs the work again.
bool IsDefinitive(const absl::Status& status);

// Thread-safe; holds no connection of its own.
class IdempotencyStore {
 public:
  // `clock` stamps created_at and decides what Purge drops; it must outlive the store.
  explicit IdempotencyStore(const Clock* clock = SystemClock::Get()) : clock_(clock) {}

  // In the effect's transaction, before the effect: claims the key. nullopt when the key is
  // new (the caller does the work, then Complete in the same transaction); the stored result
  // when it was done before with the same hash; FAILED_PRECONDITION REQUEST_ID_REUSED when the
  // hash differs. Waits while another transaction holds the same key.
  [[nodiscard]] absl::StatusOr<std::optional<StoredResult>> Begin(
      db::Transaction& tx, const RequestKey& key, absl::string_view request_hash) const;

  // In the same transaction as Begin: records the result.
  [[nodiscard]] absl::Status Complete(db::Transaction& tx, const RequestKey& key,
                                      const StoredResult& result) const;

  // Instead of Begin + Complete per key, for work done in batches: records several keys
  // with their results in one statement of the effects' transaction. ALREADY_EXISTS when any
  // of the keys exists already (the caller then runs its items one by one with
  // RunIdempotent, which answers a retry with the stored result).
  struct Completed {
    RequestKey key;
    std::string request_hash;
    StoredResult result;
  };
  [[nodiscard]] absl::Status InsertCompleted(db::Transaction& tx,
                                             absl::Span<const Completed> completed) const;

  // Outside any transaction: the stored result if the key was completed with this hash
  // (nullopt when unknown); REQUEST_ID_REUSED when the hash differs. For work that must not
  // be repeated before the transaction starts (e.g. a processor call).
  [[nodiscard]] absl::StatusOr<std::optional<StoredResult>> Find(
      db::ConnectionPool& pool, const RequestKey& key, absl::string_view request_hash) const;

  // Find for several requests at once, each with point reads of the caller's own tables, in
  // one statement (one round trip, one plan for the whole batch): lookup i reads
  // `value_column` of the row of `table` whose `key_column` equals the probe's values[i], as
  // the database compares them (the column's collation). Answers one result per probe, in
  // order: its stored result (nullopt when the key is unknown) and its looked-up values
  // (nullopt where no row matched or its value is NULL), or REQUEST_ID_REUSED when its key holds another request;
  // an error of the statement is every probe's. Table and column names are the caller's
  // constants, never input.
  struct Lookup {
    std::string table;         // e.g. "payments"
    std::string key_column;    // a unique key of the table, e.g. "order_id"
    std::string value_column;  // e.g. "payment_id"
  };
  struct Probe {
    RequestKey key;
    std::string request_hash;
    std::vector<std::string> values;  // one per lookup
  };
  struct Found {
    std::optional<StoredResult> stored;
    std::vector<std::optional<std::string>> values;  // one per lookup
  };
  [[nodiscard]] std::vector<absl::StatusOr<Found>> FindMany(db::ConnectionPool& pool,
                                                          absl::Span<const Lookup> lookups,
                                                          absl::Span<const Probe> probes) const;

  // In a transaction of its own: stores `error` as the key's result unless one is stored
  // already; returns the result that stands (the first one).
  [[nodiscard]] absl::StatusOr<StoredResult> RecordError(db::ConnectionPool& pool,
                                                         const RequestKey& key,
                                                         absl::string_view request_hash,
                                                         const absl::Status& error) const;

  // Deletes keys created before now - `keep`, `batch_size` rows per statement; returns how
  // many were deleted.
  [[nodiscard]] absl::StatusOr<int64_t> Purge(db::ConnectionPool& pool,
                                              absl::Duration keep = absl::Hours(24),
                                              int64_t batch_size = 1000) const;

 private:
  const Clock* clock_;
};

// Runs `effect` (returning the response bytes) at most once per key with the rule above and
// returns the first result. The transaction is retried whole on 1213/1205/1020.
// Marks a definitive refusal of an effect whose writes commit with it (see above). An error
// that is not definitive is returned unchanged (its transaction rolls back).
[[nodiscard]] absl::Status KeepWrites(absl::Status refusal);

[[nodiscard]] absl::StatusOr<std::string> RunIdempotentBytes(
    db::ConnectionPool& pool, const IdempotencyStore& store, const RequestKey& key,
    absl::string_view request_hash,
    const std::function<absl::StatusOr<std::string>(db::Transaction&)>& effect);

// The same for a protobuf response message.
template <typename Response>
[[nodiscard]] absl::StatusOr<Response> RunIdempotent(
    db::ConnectionPool& pool, const IdempotencyStore& store, const RequestKey& key,
    absl::string_view request_hash,
    const std::function<absl::StatusOr<Response>(db::Transaction&)>& effect) {
  absl::StatusOr<std::string> bytes =
      RunIdempotentBytes(pool, store, key, request_hash,
                         [&effect](db::Transaction& tx) -> absl::StatusOr<std::string> {
                           absl::StatusOr<Response> response = effect(tx);
                           if (!response.ok()) return response.status();
                           std::string out;
                           if (!response->SerializeToString(&out)) {
                             return absl::InternalError("response does not serialize");
                           }
                           return out;
                         });
  if (!bytes.ok()) return bytes.status();
  Response response;
  if (!response.ParseFromString(*bytes)) {
    return absl::InternalError("stored response does not parse");
  }
  return response;
}

}  // namespace marketplace::common::idempotency

#endif  // MARKETPLACE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
