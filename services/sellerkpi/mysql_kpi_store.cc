#include "services/sellerkpi/mysql_kpi_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/migrations.h"
#include "common/db/sql_errors.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/sellerkpi/sellerkpi_migrations.h"

namespace marketplace::sellerkpi {
namespace {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

// Counter rows written per statement.
constexpr size_t kCounterChunk = 200;

std::string DayText(absl::CivilDay day) { return absl::FormatCivilTime(day); }

absl::StatusOr<absl::CivilDay> ParseDay(const std::string& text) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    return absl::InternalError(absl::StrCat("stored day does not parse: ", text));
  }
  return day;
}

SqlValue OptionalTime(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return nullptr;
  return *t;
}

absl::StatusOr<OrderState> ParseOrder(const Row& row) {
  OrderState o;
  ASSIGN_OR_RETURN(std::optional<std::string> day, row.GetOptionalString("order_day"));
  if (day.has_value()) {
    ASSIGN_OR_RETURN(absl::CivilDay d, ParseDay(*day));
    o.order_day = d;
  }
  ASSIGN_OR_RETURN(o.low_rating, row.GetBool("low_rating"));
  ASSIGN_OR_RETURN(o.claim_counts, row.GetBool("claim_counts"));
  ASSIGN_OR_RETURN(o.claim_at, row.GetOptionalTime("claim_at"));
  ASSIGN_OR_RETURN(o.claim_event_id, row.GetString("claim_event_id"));
  ASSIGN_OR_RETURN(o.disputed, row.GetBool("disputed"));
  ASSIGN_OR_RETURN(o.seller_cancelled, row.GetBool("seller_cancelled"));
  ASSIGN_OR_RETURN(o.first_defect_at, row.GetOptionalTime("first_defect_at"));
  ASSIGN_OR_RETURN(o.first_defect_event_id, row.GetString("first_defect_event_id"));
  return o;
}

// Writes the rows of `keys` (sorted) from `orders`, in one statement: a plain INSERT, or with
// `update_existing` an INSERT ... ON DUPLICATE KEY UPDATE of every column.
absl::Status WriteOrderRows(Transaction& tx,
                            const std::set<std::pair<std::string, std::string>>& keys,
                            const std::map<std::pair<std::string, std::string>, OrderState>& orders,
                            bool update_existing) {
  if (keys.empty()) return absl::OkStatus();
  std::vector<SqlValue> params;
  for (const auto& key : keys) {
    const OrderState& o = orders.at(key);
    SqlValue day = nullptr;
    if (o.order_day.has_value()) day = DayText(*o.order_day);
    for (SqlValue v : std::initializer_list<SqlValue>{
             key.first, key.second, day, o.low_rating, o.claim_counts, OptionalTime(o.claim_at),
             o.claim_event_id, o.disputed, o.seller_cancelled, OptionalTime(o.first_defect_at),
             o.first_defect_event_id}) {
      params.push_back(std::move(v));
    }
  }
  return tx.Write(
      absl::StrCat(
          "INSERT INTO seller_orders (seller_id, order_id, order_day, low_rating, claim_counts, "
          "claim_at, claim_event_id, disputed, seller_cancelled, first_defect_at, "
          "first_defect_event_id) VALUES ",
          common::db::PlaceholderRows(keys.size(), 11),
          update_existing
              ? " ON DUPLICATE KEY UPDATE order_day = VALUES(order_day), "
                "low_rating = VALUES(low_rating), claim_counts = VALUES(claim_counts), "
                "claim_at = VALUES(claim_at), claim_event_id = VALUES(claim_event_id), "
                "disputed = VALUES(disputed), seller_cancelled = VALUES(seller_cancelled), "
                "first_defect_at = VALUES(first_defect_at), "
                "first_defect_event_id = VALUES(first_defect_event_id)"
              : ""),
      params);
}

using CounterKey = std::tuple<std::string, absl::CivilDay, std::string>;

absl::Status WriteCounters(Transaction& tx, const std::map<CounterKey, int64_t>& deltas) {
  std::vector<std::pair<CounterKey, int64_t>> rows;
  for (const auto& [key, delta] : deltas) {
    if (delta != 0) rows.emplace_back(key, delta);
  }
  // Sorted by key (std::map), so concurrent batches lock rows in one order.
  for (size_t start = 0; start < rows.size(); start += kCounterChunk) {
    const size_t end = std::min(rows.size(), start + kCounterChunk);
    std::vector<SqlValue> params;
    for (size_t i = start; i < end; ++i) {
      const auto& [seller, day, counter] = rows[i].first;
      params.push_back(seller);
      params.push_back(DayText(day));
      params.push_back(counter);
      params.push_back(rows[i].second);
    }
    RETURN_IF_ERROR(tx.Write(
        absl::StrCat("INSERT INTO seller_day_counters (seller_id, day, counter, n) VALUES ",
                     common::db::PlaceholderRows(end - start, 4),
                     " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"),
        params));
  }
  return absl::OkStatus();
}

absl::Status MarkSellers(Transaction& tx, const std::set<std::string>& sellers) {
  if (sellers.empty()) return absl::OkStatus();
  std::vector<SqlValue> params(sellers.begin(), sellers.end());
  // dirty_since first: it reads `dirty` before the next assignment sets it.
  return tx.Write(
      absl::StrCat("INSERT INTO seller_health (seller_id, dirty, dirty_since) VALUES ",
                   common::db::PlaceholderRows(sellers.size(), 1, ", TRUE, UTC_TIMESTAMP(6)"),
                   " ON DUPLICATE KEY UPDATE dirty_since = IF(dirty, dirty_since, "
                   "VALUES(dirty_since)), dirty = TRUE"),
      params);
}

absl::StatusOr<pb::SellerEvent> ParseEvent(const Row& row) {
  ASSIGN_OR_RETURN(std::string payload, row.GetString("payload"));
  pb::SellerEvent event;
  if (!event.ParseFromString(payload)) return absl::InternalError("stored event does not parse");
  ASSIGN_OR_RETURN(std::string source, row.GetString("source"));
  ASSIGN_OR_RETURN(bool excluded, row.GetBool("excluded"));
  event.set_source(source);
  event.set_excluded(excluded);
  return event;
}

// The order KPIs: their evidence follows the order's current row.
const char* OrderCondition(pb::Kpi kpi) {
  switch (kpi) {
    case pb::ORDER_DEFECT_RATE:
      return "(o.low_rating OR o.claim_counts OR o.disputed)";
    case pb::INCIDENT_RATE:
      return "o.claim_counts";
    case pb::DISPUTE_RATE:
      return "o.disputed";
    case pb::CANCELLATION_RATE:
      return "o.seller_cancelled";
    default:
      return nullptr;
  }
}

absl::StatusOr<pb::Thresholds> ParseThresholds(const Row& row) {
  ASSIGN_OR_RETURN(std::string body, row.GetString("body"));
  pb::Thresholds t;
  if (!t.ParseFromString(body)) return absl::InternalError("stored thresholds do not parse");
  ASSIGN_OR_RETURN(int64_t version, row.GetInt64("version"));
  ASSIGN_OR_RETURN(absl::Time updated_at, row.GetTime("updated_at"));
  ASSIGN_OR_RETURN(std::string updated_by, row.GetString("updated_by"));
  t.set_version(version);
  common::ToTimestamp(updated_at, t.mutable_updated_at());
  t.set_updated_by(updated_by);
  return t;
}

absl::StatusOr<std::vector<CounterRow>> CountersIn(Transaction& tx, const std::string& seller_id,
                                                   absl::CivilDay first, absl::CivilDay last) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day, counter, n "
                            "FROM seller_day_counters WHERE seller_id = ? AND day BETWEEN ? AND ?",
                            {seller_id, DayText(first), DayText(last)}));
  return common::db::ParseRows(rows, [](const Row& row) -> absl::StatusOr<CounterRow> {
    CounterRow c;
    ASSIGN_OR_RETURN(std::string day, row.GetString("day"));
    ASSIGN_OR_RETURN(c.day, ParseDay(day));
    ASSIGN_OR_RETURN(c.counter, row.GetString("counter"));
    ASSIGN_OR_RETURN(c.n, row.GetInt64("n"));
    return c;
  });
}

// Judges the sellers whose seller_health rows `rows` are (locked by the caller, at most a
// few hundred), and stores their evaluations: counters read in one statement, evaluations and
// health rows written in one statement each.
absl::StatusOr<EvaluationCounts> EvaluateLocked(Transaction& tx, const std::vector<Row>& rows,
                                                absl::CivilDay first, absl::CivilDay last,
                                                const Judge& judge, EvaluationHook* hook) {
  EvaluationCounts counts;
  if (rows.empty()) return counts;
  std::map<std::string, SellerSnapshot> snapshots;
  std::vector<SqlValue> ids;
  for (const Row& row : rows) {
    SellerSnapshot snapshot;
    ASSIGN_OR_RETURN(snapshot.seller_id, row.GetString("seller_id"));
    ASSIGN_OR_RETURN(int64_t health, row.GetInt64("health"));
    ASSIGN_OR_RETURN(int64_t streak, row.GetInt64("recovery_streak"));
    snapshot.previous.health = pb::HealthLevel_IsValid(static_cast<int>(health))
                                   ? static_cast<pb::HealthLevel>(health)
                                   : pb::NO_LEVEL;
    snapshot.previous.recovery_streak = static_cast<int>(streak);
    ids.push_back(snapshot.seller_id);
    snapshots.emplace(snapshot.seller_id, std::move(snapshot));
  }
  std::vector<SqlValue> params = ids;
  params.push_back(DayText(first));
  params.push_back(DayText(last));
  ASSIGN_OR_RETURN(
      std::vector<Row> counter_rows,
      tx.Query(absl::StrCat("SELECT seller_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, counter, n "
                            "FROM seller_day_counters WHERE seller_id IN (",
                            common::db::PlaceholderList(ids.size()), ") AND day BETWEEN ? AND ?"),
               params));
  for (const Row& row : counter_rows) {
    ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
    CounterRow c;
    ASSIGN_OR_RETURN(std::string day, row.GetString("day"));
    ASSIGN_OR_RETURN(c.day, ParseDay(day));
    ASSIGN_OR_RETURN(c.counter, row.GetString("counter"));
    ASSIGN_OR_RETURN(c.n, row.GetInt64("n"));
    snapshots[seller].counters.push_back(std::move(c));
  }
  std::vector<SqlValue> evaluations, health;
  std::vector<EvaluationResult> results;
  for (auto& [seller, snapshot] : snapshots) {
    ASSIGN_OR_RETURN(EvaluationResult result, judge(snapshot));
    absl::StatusOr<absl::Time> as_of = common::FromTimestamp(result.scorecard.as_of(), "as_of");
    if (!as_of.ok()) return as_of.status();
    std::string bytes;
    if (!result.scorecard.SerializeToString(&bytes)) {
      return absl::InternalError("scorecard does not serialize");
    }
    for (SqlValue v : std::initializer_list<SqlValue>{
             seller, *as_of, result.scorecard.thresholds_version(),
             static_cast<int64_t>(result.state.health), result.scorecard.top_badge(), bytes}) {
      evaluations.push_back(v);
    }
    for (SqlValue v : std::initializer_list<SqlValue>{
             seller, static_cast<int64_t>(result.state.health),
             int64_t{result.state.recovery_streak}, result.scorecard.top_badge(), *as_of,
             bytes}) {
      health.push_back(std::move(v));
    }
    ++counts.evaluated;
    if (result.state.health != snapshot.previous.health) ++counts.changed;
    if (hook != nullptr) results.push_back(std::move(result));
  }
  RETURN_IF_ERROR(tx.Write(
      absl::StrCat("INSERT INTO seller_evaluations (seller_id, as_of, thresholds_version, "
                   "health, top_badge, scorecard, evaluated_at) VALUES ",
                   common::db::PlaceholderRows(snapshots.size(), 6, ", UTC_TIMESTAMP(6)"),
                   " ON DUPLICATE KEY UPDATE thresholds_version = VALUES(thresholds_version), "
                   "health = VALUES(health), top_badge = VALUES(top_badge), "
                   "scorecard = VALUES(scorecard), evaluated_at = VALUES(evaluated_at)"),
      evaluations));
  // The rows exist and are locked: this updates each, clearing its mark.
  RETURN_IF_ERROR(tx.Write(
      absl::StrCat("INSERT INTO seller_health (seller_id, health, recovery_streak, top_badge, "
                   "last_as_of, scorecard, dirty, dirty_since) VALUES ",
                   common::db::PlaceholderRows(snapshots.size(), 6, ", FALSE, NULL"),
                   " ON DUPLICATE KEY UPDATE health = VALUES(health), "
                   "recovery_streak = VALUES(recovery_streak), top_badge = VALUES(top_badge), "
                   "last_as_of = VALUES(last_as_of), scorecard = VALUES(scorecard), "
                   "dirty = FALSE, dirty_since = NULL"),
      health));
  if (hook != nullptr) RETURN_IF_ERROR(hook->Evaluated(tx, results));
  return counts;
}

// Sellers evaluated per transaction.
constexpr int kEvaluationChunk = 100;

constexpr char kHealthColumns[] = "seller_id, health, recovery_streak";

// A concurrent transaction recorded one of the batch's event ids, or created one of its
// (seller, order) rows, after this one looked: the whole batch runs again, reading which of its
// event ids are recorded first (it then sees that event as recorded, and that row as there).
constexpr absl::string_view kRaced = "sellerkpi: concurrent insert of an event id or order row";

// Writes the rows of `keys` (sorted) from `orders`: the rows that were not there when the batch
// locked its rows with a plain INSERT (a row another transaction created since fails it with
// a duplicate key: kRaced), the others with INSERT ... ON DUPLICATE KEY UPDATE.
absl::Status WriteOrders(Transaction& tx, const std::set<std::pair<std::string, std::string>>& keys,
                         const std::set<std::pair<std::string, std::string>>& stored,
                         const std::map<std::pair<std::string, std::string>, OrderState>& orders) {
  std::set<std::pair<std::string, std::string>> created, updated;
  for (const auto& key : keys) (stored.count(key) > 0 ? updated : created).insert(key);
  absl::Status status = WriteOrderRows(tx, created, orders, /*update_existing=*/false);
  if (common::db::MySqlErrorCodeOf(status) == common::db::kErrDuplicateKey) {
    return absl::AbortedError(kRaced);
  }
  RETURN_IF_ERROR(status);
  return WriteOrderRows(tx, updated, orders, /*update_existing=*/true);
}

// Records a batch in `tx`. With `read_recorded` false (a first attempt) the batch is taken to
// be all new and nothing is read of seller_events: the insert then tells, since fewer rows
// inserted than sent means some were recorded already (kRaced: the batch runs again with
// `read_recorded`, which reads them first, with a shared lock, and skips them). With
// `deferred` (a transaction with defer_writes) the writes are queued, and the same two races
// fail the COMMIT with a duplicate key instead (RecordEvents runs the batch again for both).
absl::StatusOr<RecordCounts> RecordBatch(Transaction& tx, const std::vector<EventRecord>& events,
                                         bool read_recorded, bool deferred) {
  using OrderKey = std::pair<std::string, std::string>;  // (seller, order)
  // 1. Lock the batch's existing (seller, order) rows, sorted, in one statement: concurrent
  //    batches take them in the same order, so they wait for each other instead of
  //    deadlocking. Rows not there yet are inserted in step 5, sorted too.
  std::map<OrderKey, OrderState> orders;
  std::set<OrderKey> stored;
  for (const EventRecord& r : events) {
    if (TouchesOrder(r)) orders[{r.event.seller_id(), r.event.links().order_id()}];
  }
  if (!orders.empty()) {
    std::vector<SqlValue> keys;
    for (const auto& [key, unused] : orders) {
      keys.push_back(key.first);
      keys.push_back(key.second);
    }
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx.Query(absl::StrCat(
                     "SELECT seller_id, order_id, DATE_FORMAT(order_day, '%Y-%m-%d') AS order_day, "
                     "low_rating, claim_counts, claim_at, claim_event_id, disputed, "
                     "seller_cancelled, first_defect_at, first_defect_event_id FROM seller_orders "
                     "WHERE (seller_id, order_id) IN (",
                     common::db::PlaceholderRows(orders.size(), 2), ") FOR UPDATE"),
                 keys));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
      ASSIGN_OR_RETURN(std::string order, row.GetString("order_id"));
      ASSIGN_OR_RETURN(OrderState state, ParseOrder(row));
      OrderKey key(std::move(seller), std::move(order));
      orders[key] = std::move(state);
      stored.insert(std::move(key));
    }
  }
  // 2. Which event ids are recorded already (a locking read: the latest committed rows).
  std::map<std::string, std::string> known;  // event_id -> content hash
  if (read_recorded) {
    std::vector<SqlValue> ids;
    for (const EventRecord& r : events) ids.push_back(r.event.event_id());
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query(absl::StrCat("SELECT event_id, content_hash FROM seller_events "
                                           "WHERE event_id IN (",
                                           common::db::PlaceholderList(ids.size()),
                                           ") LOCK IN SHARE MODE"),
                              ids));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(std::string id, row.GetString("event_id"));
      ASSIGN_OR_RETURN(known[id], row.GetString("content_hash"));
    }
  }
  // 3. The batch in order, in memory: duplicates, conflicts, rows and counters.
  RecordCounts counts;
  std::map<CounterKey, int64_t> deltas;
  std::set<std::string> sellers;
  std::set<OrderKey> changed_orders;
  std::vector<SqlValue> inserts;
  for (const EventRecord& r : events) {
    const pb::SellerEvent& e = r.event;
    auto [it, is_new] = known.emplace(e.event_id(), r.content_hash);
    counts.recorded_each.push_back(is_new);
    if (!is_new) {
      if (it->second != r.content_hash) {
        return common::WithReason(
            absl::AlreadyExistsError(absl::StrCat("event_id ", e.event_id(),
                                                  " is already recorded with another content")),
            "EVENT_ID_CONFLICT", {{"event_id", e.event_id()}});
      }
      ++counts.duplicates;
      continue;
    }
    ++counts.recorded;
    pb::SellerEvent stored = e;
    stored.clear_source();
    stored.clear_excluded();
    std::string payload;
    if (!stored.SerializeToString(&payload)) return absl::InternalError("event does not serialize");
    for (SqlValue v : std::initializer_list<SqlValue>{
             e.event_id(), r.content_hash, e.source(), r.type, e.seller_id(), r.occurred_at,
             e.links().order_id(), e.links().ticket_id(), e.links().dispute_id(),
             e.links().listing_id(), r.kpi_mask, payload}) {
      inserts.push_back(std::move(v));
    }
    std::vector<CounterDelta> changes;
    if (TouchesOrder(r)) {
      const OrderKey key{e.seller_id(), e.links().order_id()};
      changes = ApplyEvent(r, &orders[key]);
      changed_orders.insert(key);
    } else {
      changes = ApplyEvent(r, nullptr);
    }
    for (const CounterDelta& d : changes) deltas[{e.seller_id(), d.day, d.counter}] += d.delta;
    sellers.insert(e.seller_id());
  }
  // 4. The new events in one statement. One of them recorded already (not read in step 2) or
  //    by another transaction since shows as fewer rows inserted than sent, or, deferred, as
  //    a duplicate key that fails the COMMIT.
  if (counts.recorded > 0) {
    const std::string columns = absl::StrCat(
        " INTO seller_events (event_id, content_hash, source, type, seller_id, occurred_at, "
        "order_id, ticket_id, dispute_id, listing_id, kpi_mask, payload, recorded_at) VALUES ",
        common::db::PlaceholderRows(counts.recorded, 12, ", UTC_TIMESTAMP(6)"));
    if (deferred) {
      // A plain INSERT: an id recorded meanwhile fails it with a duplicate key, which stops
      // the queued statements there.
      RETURN_IF_ERROR(tx.Write(absl::StrCat("INSERT", columns), inserts));
    } else {
      ASSIGN_OR_RETURN(int64_t inserted,
                       tx.Execute(absl::StrCat("INSERT IGNORE", columns), inserts));
      if (inserted != counts.recorded) return absl::AbortedError(kRaced);
    }
  }
  // 5. The rows, the counters and the evaluation marks, each sorted, one statement each.
  RETURN_IF_ERROR(WriteOrders(tx, changed_orders, stored, orders));
  RETURN_IF_ERROR(WriteCounters(tx, deltas));
  RETURN_IF_ERROR(MarkSellers(tx, sellers));
  return counts;
}

}  // namespace

absl::Status ApplySellerKpiMigrations(common::db::ConnectionPool& pool) {
  return common::db::ApplyMigrations(pool, "sellerkpi", SellerKpiMigrations());
}

absl::StatusOr<RecordCounts> MysqlKpiStore::RecordEvents(const std::vector<EventRecord>& events) {
  if (events.empty()) return RecordCounts{};
  common::db::TransactionOptions options;
  // No gap locks: the rows a batch needs are locked by key, in sorted order (RecordBatch).
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  options.defer_writes = static_cast<int>(events.size()) <= options_.one_round_trip_up_to;
  // A deferred batch's race fails its COMMIT with a duplicate key: an event id or a new order
  // row recorded meanwhile (the plain INSERTs of RecordBatch).
  const auto raced = [&](const absl::Status& status) {
    return status.message() == kRaced ||
           (options.defer_writes &&
            common::db::MySqlErrorCodeOf(status) == common::db::kErrDuplicateKey);
  };
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<RecordCounts> counts = common::db::RunInTransaction(
        *pool_,
        [&](Transaction& tx) {
          return RecordBatch(tx, events, /*read_recorded=*/attempt > 1, options.defer_writes);
        },
        options);
    if (counts.ok() || !raced(counts.status())) return counts;
    // Raced every time: retryable, never the duplicate key (ALREADY_EXISTS is a conflict).
    if (attempt == 5) return absl::AbortedError(kRaced);
  }
}

absl::StatusOr<pb::SellerEvent> MysqlKpiStore::ExcludeEvent(const std::string& event_id,
                                                            const pb::SellerEvent& exclusion) {
  common::db::TransactionOptions options;
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<pb::SellerEvent> {
        constexpr char kColumns[] = "event_id, source, excluded, payload, occurred_at";
        ASSIGN_OR_RETURN(std::vector<Row> rows,
                         tx.Query(absl::StrCat("SELECT ", kColumns,
                                               " FROM seller_events WHERE event_id = ? "
                                               "FOR UPDATE"),
                                  {event_id}));
        if (rows.empty()) return common::NotFound("event", event_id);
        ASSIGN_OR_RETURN(pb::SellerEvent event, ParseEvent(rows[0]));
        if (event.excluded()) return event;
        ASSIGN_OR_RETURN(EventRecord record, MakeRecord(event, event.source()));
        std::map<CounterKey, int64_t> deltas;
        // Its own counters (those on the event's day) come off.
        for (const CounterDelta& d : ApplyEvent(record, nullptr)) {
          deltas[{event.seller_id(), d.day, d.counter}] -= d.delta;
        }
        if (TouchesOrder(record)) {
          const std::string& seller = event.seller_id();
          const std::string& order = event.links().order_id();
          ASSIGN_OR_RETURN(
              std::vector<Row> current,
              tx.Query("SELECT DATE_FORMAT(order_day, '%Y-%m-%d') AS order_day, low_rating, "
                       "claim_counts, claim_at, claim_event_id, disputed, seller_cancelled, "
                       "first_defect_at, first_defect_event_id FROM seller_orders "
                       "WHERE seller_id = ? AND order_id = ? FOR UPDATE",
                       {seller, order}));
          OrderState before;
          if (!current.empty()) {
            ASSIGN_OR_RETURN(before, ParseOrder(current[0]));
          }
          // The row rebuilt from the order's other events (any order gives the same row).
          ASSIGN_OR_RETURN(std::vector<Row> others,
                           tx.Query(absl::StrCat("SELECT ", kColumns,
                                                 " FROM seller_events WHERE seller_id = ? AND "
                                                 "order_id = ? AND NOT excluded AND "
                                                 "event_id <> ? FOR UPDATE"),
                                    {seller, order, event_id}));
          OrderState after;
          for (const Row& row : others) {
            ASSIGN_OR_RETURN(pb::SellerEvent other, ParseEvent(row));
            ASSIGN_OR_RETURN(EventRecord r, MakeRecord(other, other.source()));
            if (TouchesOrder(r)) (void)ApplyEvent(r, &after);
          }
          // The order counters: the old row's off its day, the rebuilt row's on.
          auto add_order = [&](const OrderState& o, int64_t sign) {
            if (!o.order_day.has_value()) return;
            const absl::CivilDay day = *o.order_day;
            deltas[{seller, day, "orders"}] += sign;
            if (o.defective()) deltas[{seller, day, "odr_defects"}] += sign;
            if (o.claim_counts) deltas[{seller, day, "incidents"}] += sign;
            if (o.disputed) deltas[{seller, day, "disputed_orders"}] += sign;
            if (o.seller_cancelled) deltas[{seller, day, "seller_cancellations"}] += sign;
          };
          add_order(before, -1);
          add_order(after, +1);
          std::set<std::pair<std::string, std::string>> keys = {{seller, order}};
          std::map<std::pair<std::string, std::string>, OrderState> rebuilt = {
              {{seller, order}, after}};
          RETURN_IF_ERROR(WriteOrderRows(tx, keys, rebuilt, /*update_existing=*/true));
        }
        RETURN_IF_ERROR(tx.Write("UPDATE seller_events SET excluded = TRUE WHERE event_id = ?",
                                 {event_id}, 1));
        // The exclusion itself, in the log (a replay honours it).
        pb::SellerEvent excluding = exclusion;
        excluding.set_seller_id(event.seller_id());
        ASSIGN_OR_RETURN(EventRecord logged, MakeRecord(excluding, exclusion.source()));
        std::string payload;
        pb::SellerEvent stored = excluding;
        stored.clear_source();
        stored.clear_excluded();
        if (!stored.SerializeToString(&payload)) {
          return absl::InternalError("event does not serialize");
        }
        RETURN_IF_ERROR(tx.Write(
            "INSERT INTO seller_events (event_id, content_hash, source, type, seller_id, "
            "occurred_at, kpi_mask, payload, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?, UTC_TIMESTAMP(6))",
            {exclusion.event_id(), logged.content_hash, exclusion.source(), logged.type,
             event.seller_id(), logged.occurred_at, payload}));
        RETURN_IF_ERROR(WriteCounters(tx, deltas));
        RETURN_IF_ERROR(MarkSellers(tx, {event.seller_id()}));
        event.set_excluded(true);
        return event;
      },
      options);
}

absl::StatusOr<KpiStore::ReplayReport> MysqlKpiStore::ReplayCounters(
    const std::vector<std::string>& seller_ids, int max_examples) {
  constexpr int64_t kPage = 5000;
  std::string filter;
  std::vector<SqlValue> filter_params;
  if (!seller_ids.empty()) {
    filter = absl::StrCat(" AND seller_id IN (", common::db::PlaceholderList(seller_ids.size()),
                          ")");
    filter_params.assign(seller_ids.begin(), seller_ids.end());
  }
  ReplayReport report;
  std::map<std::pair<std::string, std::string>, OrderState> orders;
  std::map<CounterKey, int64_t> replayed;
  std::set<std::string> sellers;
  int64_t after = 0;
  while (true) {
    std::vector<SqlValue> params = {after};
    params.insert(params.end(), filter_params.begin(), filter_params.end());
    params.push_back(kPage);
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     pool_->Query(absl::StrCat("SELECT seq, event_id, source, excluded, payload, "
                                               "occurred_at FROM seller_events WHERE seq > ? "
                                               "AND NOT excluded",
                                               filter, " ORDER BY seq LIMIT ?"),
                                  params));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(after, row.GetInt64("seq"));
      ASSIGN_OR_RETURN(pb::SellerEvent event, ParseEvent(row));
      ASSIGN_OR_RETURN(EventRecord r, MakeRecord(event, event.source()));
      ++report.events_replayed;
      sellers.insert(event.seller_id());
      std::vector<CounterDelta> changes =
          TouchesOrder(r)
              ? ApplyEvent(r, &orders[{event.seller_id(), event.links().order_id()}])
              : ApplyEvent(r, nullptr);
      for (const CounterDelta& d : changes) {
        replayed[{event.seller_id(), d.day, d.counter}] += d.delta;
      }
    }
    if (rows.size() < static_cast<size_t>(kPage)) break;
  }
  std::map<CounterKey, int64_t> live;
  std::string live_filter;
  if (!seller_ids.empty()) {
    live_filter = absl::StrCat(" AND seller_id IN (",
                               common::db::PlaceholderList(seller_ids.size()), ")");
  }
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query(absl::StrCat("SELECT seller_id, DATE_FORMAT(day, '%Y-%m-%d') AS "
                                             "day, counter, n FROM seller_day_counters "
                                             "WHERE n <> 0",
                                             live_filter),
                                filter_params));
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
    ASSIGN_OR_RETURN(std::string day_text, row.GetString("day"));
    ASSIGN_OR_RETURN(absl::CivilDay day, ParseDay(day_text));
    ASSIGN_OR_RETURN(std::string counter, row.GetString("counter"));
    ASSIGN_OR_RETURN(live[std::make_tuple(seller, day, counter)], row.GetInt64("n"));
  }
  std::set<CounterKey> keys;
  for (const auto& [key, n] : live) keys.insert(key);
  for (const auto& [key, n] : replayed) {
    if (n != 0) keys.insert(key);
  }
  for (const CounterKey& key : keys) {
    const int64_t l = live.count(key) ? live[key] : 0;
    const int64_t r = replayed.count(key) ? replayed[key] : 0;
    if (l == r) continue;
    ++report.aggregate_differences;
    if (static_cast<int>(report.examples.size()) < max_examples) {
      report.examples.push_back(absl::StrCat(std::get<0>(key), "/",
                                             absl::FormatCivilTime(std::get<1>(key)), "/",
                                             std::get<2>(key), ": live ", l, ", replay ", r));
    }
  }
  report.sellers = static_cast<int>(sellers.size());
  return report;
}

absl::StatusOr<int64_t> MysqlKpiStore::ReplayStoredEvaluations(
    const std::vector<std::string>& seller_ids, const EvaluationVisitor& visit) {
  constexpr size_t kSellersPerRead = 100;
  std::vector<std::string> sellers = seller_ids;
  if (sellers.empty()) {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     pool_->Query("SELECT DISTINCT seller_id FROM seller_evaluations "
                                  "ORDER BY seller_id"));
    ASSIGN_OR_RETURN(sellers, common::db::ParseRows(rows, [](const Row& row) {
                       return row.GetString("seller_id");
                     }));
  } else {
    std::sort(sellers.begin(), sellers.end());
    sellers.erase(std::unique(sellers.begin(), sellers.end()), sellers.end());
  }
  // One logged event of a seller: when it was recorded and, for an EVENT_EXCLUDED, the id it
  // takes out.
  struct Logged {
    int64_t seq = 0;
    absl::Time recorded_at;
    EventRecord record;
    std::string excludes;
  };
  int64_t events_read = 0;
  for (size_t start = 0; start < sellers.size(); start += kSellersPerRead) {
    const std::vector<SqlValue> chunk(
        sellers.begin() + start, sellers.begin() + std::min(sellers.size(), start + kSellersPerRead));
    std::map<std::string, std::vector<StoredEvaluation>> evaluations;
    std::map<std::string, std::vector<Logged>> log;
    // One snapshot for both reads: every evaluation read has the events it saw.
    RETURN_IF_ERROR(common::db::RunInTransaction(
        *pool_,
        [&](Transaction& tx) -> absl::Status {
          evaluations.clear();
          log.clear();
          ASSIGN_OR_RETURN(
              std::vector<Row> rows,
              tx.Query(absl::StrCat("SELECT seller_id, as_of, evaluated_at, thresholds_version, "
                                    "health, top_badge, scorecard FROM seller_evaluations "
                                    "WHERE seller_id IN (",
                                    common::db::PlaceholderList(chunk.size()),
                                    ") ORDER BY seller_id, evaluated_at, as_of"),
                       chunk));
          for (const Row& row : rows) {
            StoredEvaluation e;
            ASSIGN_OR_RETURN(e.seller_id, row.GetString("seller_id"));
            ASSIGN_OR_RETURN(e.as_of, row.GetTime("as_of"));
            ASSIGN_OR_RETURN(e.evaluated_at, row.GetTime("evaluated_at"));
            ASSIGN_OR_RETURN(e.thresholds_version, row.GetInt64("thresholds_version"));
            ASSIGN_OR_RETURN(int64_t health, row.GetInt64("health"));
            e.health = pb::HealthLevel_IsValid(static_cast<int>(health))
                           ? static_cast<pb::HealthLevel>(health)
                           : pb::HEALTH_LEVEL_UNSPECIFIED;
            ASSIGN_OR_RETURN(e.top_badge, row.GetBool("top_badge"));
            ASSIGN_OR_RETURN(std::string bytes, row.GetString("scorecard"));
            if (!e.scorecard.ParseFromString(bytes)) {
              return absl::InternalError("stored scorecard does not parse");
            }
            evaluations[e.seller_id].push_back(std::move(e));
          }
          ASSIGN_OR_RETURN(rows, tx.Query(absl::StrCat("SELECT ", kHealthColumns,
                                                       " FROM seller_health WHERE seller_id IN (",
                                                       common::db::PlaceholderList(chunk.size()),
                                                       ")"),
                                          chunk));
          for (const Row& row : rows) {
            ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
            auto it = evaluations.find(seller);
            if (it == evaluations.end()) continue;
            ASSIGN_OR_RETURN(int64_t health, row.GetInt64("health"));
            ASSIGN_OR_RETURN(int64_t streak, row.GetInt64("recovery_streak"));
            it->second.back().in_force =
                HealthState{pb::HealthLevel_IsValid(static_cast<int>(health))
                                ? static_cast<pb::HealthLevel>(health)
                                : pb::HEALTH_LEVEL_UNSPECIFIED,
                            static_cast<int>(streak)};
          }
          ASSIGN_OR_RETURN(rows, tx.Query(absl::StrCat("SELECT seq, seller_id, event_id, source, "
                                                       "excluded, payload, recorded_at "
                                                       "FROM seller_events WHERE seller_id IN (",
                                                       common::db::PlaceholderList(chunk.size()),
                                                       ")"),
                                          chunk));
          // Sorted here by seq, not by the server (a sort of rows with their payloads).
          for (const Row& row : rows) {
            ASSIGN_OR_RETURN(pb::SellerEvent event, ParseEvent(row));
            event.set_excluded(false);  // what counts is when its exclusion was recorded
            Logged l;
            ASSIGN_OR_RETURN(l.seq, row.GetInt64("seq"));
            ASSIGN_OR_RETURN(l.recorded_at, row.GetTime("recorded_at"));
            if (event.has_event_excluded()) {
              l.excludes = event.event_excluded().excluded_event_id();
            }
            ASSIGN_OR_RETURN(l.record, MakeRecord(event, event.source()));
            log[event.seller_id()].push_back(std::move(l));
          }
          for (auto& [seller, events] : log) {
            std::sort(events.begin(), events.end(),
                      [](const Logged& a, const Logged& b) { return a.seq < b.seq; });
          }
          return absl::OkStatus();
        },
        {.read_only = true}));
    for (auto& [seller, list] : evaluations) {
      const std::vector<Logged>& events = log[seller];
      events_read += static_cast<int64_t>(events.size());
      // When each event was taken out (its first exclusion recorded).
      std::map<std::string, absl::Time> excluded_at;
      for (const Logged& l : events) {
        if (l.excludes.empty()) continue;
        auto [it, is_new] = excluded_at.emplace(l.excludes, l.recorded_at);
        if (!is_new) it->second = std::min(it->second, l.recorded_at);
      }
      // The counters of the events applied so far; ApplyEvent's result does not depend on the
      // order of the events, so the next evaluation only adds the events recorded since,
      // unless an exclusion took one out (then they are rebuilt).
      std::vector<bool> applied(events.size(), false);
      std::map<std::pair<absl::CivilDay, std::string>, int64_t> counters;
      std::map<std::string, OrderState> orders;
      for (StoredEvaluation& evaluation : list) {
        const absl::Time at = evaluation.evaluated_at;
        std::vector<bool> counts(events.size(), false);
        bool rebuild = false;
        for (size_t i = 0; i < events.size(); ++i) {
          const Logged& l = events[i];
          if (!l.excludes.empty() || l.recorded_at > at) continue;
          auto ex = excluded_at.find(l.record.event.event_id());
          counts[i] = ex == excluded_at.end() || ex->second > at;
          if (applied[i] && !counts[i]) rebuild = true;
        }
        if (rebuild) {
          applied.assign(events.size(), false);
          counters.clear();
          orders.clear();
        }
        for (size_t i = 0; i < events.size(); ++i) {
          if (!counts[i] || applied[i]) continue;
          applied[i] = true;
          const EventRecord& r = events[i].record;
          const std::vector<CounterDelta> changes =
              TouchesOrder(r) ? ApplyEvent(r, &orders[r.event.links().order_id()])
                              : ApplyEvent(r, nullptr);
          for (const CounterDelta& d : changes) counters[{d.day, d.counter}] += d.delta;
        }
        for (const auto& [key, n] : counters) {
          if (n != 0) evaluation.counters.push_back({key.first, key.second, n});
        }
        RETURN_IF_ERROR(visit(evaluation));
        evaluation.counters.clear();
        evaluation.counters.shrink_to_fit();
      }
    }
  }
  return events_read;
}

absl::StatusOr<std::map<int64_t, pb::Thresholds>> MysqlKpiStore::AllThresholds() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT version, body, updated_at, updated_by FROM kpi_thresholds "
                                "ORDER BY version"));
  std::map<int64_t, pb::Thresholds> out;
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(pb::Thresholds t, ParseThresholds(row));
    out.emplace(t.version(), std::move(t));
  }
  return out;
}

absl::StatusOr<std::vector<CounterRow>> MysqlKpiStore::ReadCounters(const std::string& seller_id,
                                                                    absl::CivilDay first,
                                                                    absl::CivilDay last) {
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) { return CountersIn(tx, seller_id, first, last); },
      {.read_only = true});
}

absl::StatusOr<std::pair<int64_t, int64_t>> MysqlKpiStore::PlatformRatings(absl::CivilDay first,
                                                                           absl::CivilDay last) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query("SELECT counter, CAST(COALESCE(SUM(n), 0) AS SIGNED) AS total "
                   "FROM seller_day_counters WHERE day BETWEEN ? AND ? AND counter IN (?, ?) "
                   "GROUP BY counter",
                   {DayText(first), DayText(last), std::string("ratings"),
                    std::string("rating_stars")}));
  std::pair<int64_t, int64_t> out{0, 0};
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(std::string counter, row.GetString("counter"));
    ASSIGN_OR_RETURN(int64_t total, row.GetInt64("total"));
    (counter == "ratings" ? out.first : out.second) = total;
  }
  return out;
}

absl::Status MysqlKpiStore::RememberTicket(const SupportTicket& ticket) {
  return pool_
      ->Execute("INSERT IGNORE INTO support_tickets (ticket_id, seller_id, order_id, recorded_at) "
                "VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
                {ticket.ticket_id, ticket.seller_id, ticket.order_id})
      .status();
}

absl::StatusOr<std::optional<SupportTicket>> MysqlKpiStore::FindTicket(
    const std::string& ticket_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT seller_id, order_id FROM support_tickets "
                                "WHERE ticket_id = ?",
                                {ticket_id}));
  if (rows.empty()) return std::optional<SupportTicket>();
  SupportTicket t{.ticket_id = ticket_id};
  ASSIGN_OR_RETURN(t.seller_id, rows[0].GetString("seller_id"));
  ASSIGN_OR_RETURN(t.order_id, rows[0].GetString("order_id"));
  return std::optional<SupportTicket>(std::move(t));
}

absl::StatusOr<bool> MysqlKpiStore::SellerKnown(const std::string& seller_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT 1 AS one FROM seller_health WHERE seller_id = ?",
                                {seller_id}));
  return !rows.empty();
}

absl::StatusOr<std::vector<pb::SellerEvent>> MysqlKpiStore::ListEvidence(
    const std::string& seller_id, pb::Kpi kpi, absl::CivilDay first, absl::CivilDay last,
    std::optional<std::pair<absl::Time, std::string>> after, int limit) {
  std::vector<SqlValue> params = {seller_id, int64_t{1} << static_cast<int>(kpi)};
  std::string sql;
  if (const char* condition = OrderCondition(kpi); condition != nullptr) {
    sql = absl::StrCat(
        "SELECT e.event_id, e.source, e.excluded, e.payload, e.occurred_at FROM seller_events e "
        "JOIN seller_orders o ON o.seller_id = e.seller_id AND o.order_id = e.order_id "
        "WHERE e.seller_id = ? AND (e.kpi_mask & ?) <> 0 AND NOT e.excluded AND ",
        condition, " AND o.order_day BETWEEN ? AND ?");
    params.push_back(DayText(first));
    params.push_back(DayText(last));
  } else {
    sql =
        "SELECT e.event_id, e.source, e.excluded, e.payload, e.occurred_at FROM seller_events e "
        "WHERE e.seller_id = ? AND (e.kpi_mask & ?) <> 0 AND NOT e.excluded "
        "AND e.occurred_at >= ? AND e.occurred_at < ?";
    params.push_back(absl::FromCivil(first, absl::UTCTimeZone()));
    params.push_back(absl::FromCivil(last + 1, absl::UTCTimeZone()));
  }
  if (after.has_value()) {
    absl::StrAppend(&sql, " AND (e.occurred_at < ? OR (e.occurred_at = ? AND e.event_id < ?))");
    params.push_back(after->first);
    params.push_back(after->first);
    params.push_back(after->second);
  }
  absl::StrAppend(&sql, " ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT ?");
  params.push_back(int64_t{limit});
  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  return common::db::ParseRows(rows, ParseEvent);
}

absl::Status MysqlKpiStore::SeedThresholds(const pb::Thresholds& seed, absl::Time now) {
  pb::Thresholds body = seed;
  body.clear_version();
  body.clear_updated_at();
  body.clear_updated_by();
  std::string bytes;
  if (!body.SerializeToString(&bytes)) return absl::InternalError("thresholds do not serialize");
  return pool_
      ->Execute("INSERT IGNORE INTO kpi_thresholds (version, body, updated_at, updated_by) "
                "VALUES (1, ?, ?, 'seed')",
                {bytes, now})
      .status();
}

absl::StatusOr<pb::Thresholds> MysqlKpiStore::CurrentThresholds() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT version, body, updated_at, updated_by FROM kpi_thresholds "
                                "ORDER BY version DESC LIMIT 1"));
  if (rows.empty()) return absl::FailedPreconditionError("no thresholds stored (not seeded)");
  return ParseThresholds(rows[0]);
}

absl::StatusOr<pb::Thresholds> MysqlKpiStore::UpdateThresholds(int64_t expected_version,
                                                               const pb::Thresholds& next,
                                                               const std::string& updated_by,
                                                               absl::Time now) {
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<pb::Thresholds> {
        ASSIGN_OR_RETURN(std::vector<Row> rows,
                         tx.Query("SELECT version FROM kpi_thresholds ORDER BY version DESC "
                                  "LIMIT 1 FOR UPDATE"));
        int64_t current = 0;
        if (!rows.empty()) {
          ASSIGN_OR_RETURN(current, rows[0].GetInt64("version"));
        }
        if (current != expected_version) {
          return common::FailedPrecondition(
              "THRESHOLDS_VERSION_MISMATCH",
              absl::StrCat("the thresholds in force are version ", current, ", not ",
                           expected_version));
        }
        pb::Thresholds body = next;
        body.clear_version();
        body.clear_updated_at();
        body.clear_updated_by();
        std::string bytes;
        if (!body.SerializeToString(&bytes)) {
          return absl::InternalError("thresholds do not serialize");
        }
        RETURN_IF_ERROR(tx.Write(
            "INSERT INTO kpi_thresholds (version, body, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?)",
            {current + 1, bytes, now, updated_by}));
        body.set_version(current + 1);
        common::ToTimestamp(now, body.mutable_updated_at());
        body.set_updated_by(updated_by);
        return body;
      });
}

absl::StatusOr<EvaluationCounts> MysqlKpiStore::EvaluateQueued(int limit, absl::Time stale_before,
                                                               absl::CivilDay first,
                                                               absl::CivilDay last,
                                                               const Judge& judge) {
  common::db::TransactionOptions options;
  // A locking read under READ COMMITTED locks only the rows it returns.
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  EvaluationCounts counts;
  while (counts.evaluated < limit) {
    const int64_t take = std::min(kEvaluationChunk, limit - counts.evaluated);
    ASSIGN_OR_RETURN(
        EvaluationCounts done,
        common::db::RunInTransaction(
            *pool_,
            [&](Transaction& tx) -> absl::StatusOr<EvaluationCounts> {
              // Sellers with new events first, then those not evaluated since
              // `stale_before`; rows another replica holds are skipped, not waited for.
              ASSIGN_OR_RETURN(
                  std::vector<Row> rows,
                  tx.Query(absl::StrCat("SELECT ", kHealthColumns,
                                        " FROM seller_health FORCE INDEX (seller_health_dirty) "
                                        "WHERE dirty = TRUE ORDER BY dirty_since LIMIT ? "
                                        "FOR UPDATE SKIP LOCKED"),
                           {take}));
              if (rows.empty()) {
                ASSIGN_OR_RETURN(
                    rows, tx.Query(absl::StrCat("SELECT ", kHealthColumns,
                                                " FROM seller_health FORCE INDEX "
                                                "(seller_health_stale) WHERE last_as_of < ? "
                                                "ORDER BY last_as_of LIMIT ? "
                                                "FOR UPDATE SKIP LOCKED"),
                                   {stale_before, take}));
              }
              return EvaluateLocked(tx, rows, first, last, judge, hook_);
            },
            options));
    if (done.evaluated == 0) break;
    counts.evaluated += done.evaluated;
    counts.changed += done.changed;
  }
  return counts;
}

absl::StatusOr<EvaluationCounts> MysqlKpiStore::EvaluateSellers(
    const std::vector<std::string>& ids, absl::CivilDay first, absl::CivilDay last,
    const Judge& judge) {
  common::db::TransactionOptions options;
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  EvaluationCounts counts;
  for (size_t start = 0; start < sorted.size(); start += kEvaluationChunk) {
    std::vector<SqlValue> chunk(sorted.begin() + start,
                                sorted.begin() + std::min(sorted.size(), start + kEvaluationChunk));
    ASSIGN_OR_RETURN(
        EvaluationCounts done,
        common::db::RunInTransaction(
            *pool_,
            [&](Transaction& tx) -> absl::StatusOr<EvaluationCounts> {
              ASSIGN_OR_RETURN(std::vector<Row> rows,
                               tx.Query(absl::StrCat("SELECT ", kHealthColumns,
                                                     " FROM seller_health WHERE seller_id IN (",
                                                     common::db::PlaceholderList(chunk.size()),
                                                     ") ORDER BY seller_id FOR UPDATE"),
                                        chunk));
              return EvaluateLocked(tx, rows, first, last, judge, hook_);
            },
            options));
    counts.evaluated += done.evaluated;
    counts.changed += done.changed;
  }
  return counts;
}

absl::StatusOr<std::map<pb::HealthLevel, int64_t>> MysqlKpiStore::CountByHealth() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT health, COUNT(*) AS n FROM seller_health GROUP BY health"));
  std::map<pb::HealthLevel, int64_t> out;
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(int64_t health, row.GetInt64("health"));
    ASSIGN_OR_RETURN(int64_t n, row.GetInt64("n"));
    if (pb::HealthLevel_IsValid(static_cast<int>(health))) {
      out[static_cast<pb::HealthLevel>(health)] += n;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MysqlKpiStore::AllSellers() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT seller_id FROM seller_health ORDER BY seller_id"));
  return common::db::ParseRows(
      rows, [](const Row& row) -> absl::StatusOr<std::string> { return row.GetString("seller_id"); });
}

absl::StatusOr<std::optional<pb::SellerScorecard>> MysqlKpiStore::LatestScorecard(
    const std::string& seller_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT scorecard FROM seller_health WHERE seller_id = ? "
                                "AND scorecard IS NOT NULL",
                                {seller_id}));
  if (rows.empty()) return std::optional<pb::SellerScorecard>();
  ASSIGN_OR_RETURN(std::string bytes, rows[0].GetString("scorecard"));
  pb::SellerScorecard card;
  if (!card.ParseFromString(bytes)) return absl::InternalError("stored scorecard does not parse");
  return std::optional<pb::SellerScorecard>(std::move(card));
}

absl::StatusOr<HealthPage> MysqlKpiStore::ListByHealth(
    const std::vector<pb::HealthLevel>& levels, std::optional<std::pair<int, std::string>> after,
    int limit) {
  HealthPage page;
  if (levels.empty()) return page;
  std::vector<SqlValue> params;
  for (pb::HealthLevel level : levels) params.push_back(static_cast<int64_t>(level));
  std::string sql = absl::StrCat(
      "SELECT seller_id, health, scorecard FROM seller_health WHERE scorecard IS NOT NULL "
      "AND health IN (",
      common::db::PlaceholderList(levels.size()), ")");
  if (after.has_value()) {
    absl::StrAppend(&sql, " AND (health < ? OR (health = ? AND seller_id > ?))");
    params.push_back(int64_t{after->first});
    params.push_back(int64_t{after->first});
    params.push_back(after->second);
  }
  absl::StrAppend(&sql, " ORDER BY health DESC, seller_id LIMIT ?");
  params.push_back(int64_t{limit + 1});
  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
    ASSIGN_OR_RETURN(std::string bytes, rows[i].GetString("scorecard"));
    pb::SellerScorecard card;
    if (!card.ParseFromString(bytes)) {
      return absl::InternalError("stored scorecard does not parse");
    }
    page.sellers.push_back(std::move(card));
  }
  if (rows.size() > static_cast<size_t>(limit)) {
    ASSIGN_OR_RETURN(int64_t health, rows[limit - 1].GetInt64("health"));
    ASSIGN_OR_RETURN(std::string seller, rows[limit - 1].GetString("seller_id"));
    page.next = std::make_pair(static_cast<int>(health), seller);
  }
  return page;
}

}  // namespace marketplace::sellerkpi
