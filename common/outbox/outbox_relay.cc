#include "common/outbox/outbox_relay.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace marketplace::common::outbox {
namespace {

using marketplace::events::v1::Event;

// Events handed to the subscribers' queues per fan-out transaction.
constexpr int64_t kFanOutBatch = 500;

// Fan-out takes the oldest events not fanned out yet. FOR UPDATE without SKIP LOCKED: a second
// relay waits for the first one's short transaction, and an event a service is still writing
// (not committed) is waited for, instead of fanning out later events of a key before earlier
// ones.
// The wait is bounded to 1 s (not the session's lock wait timeout) and the fan-out is not run
// again in the round: a transaction that stays open (a frozen replica's) delays each round by a
// second, not by the retries of a whole lock wait timeout, and the deliveries already fanned
// out go on.
constexpr char kFanOutSql[] =
    "SET STATEMENT innodb_lock_wait_timeout = 1 FOR "
    "SELECT id, topic, event_key FROM outbox_events WHERE fanned_out_at IS NULL "
    "ORDER BY id LIMIT ? FOR UPDATE";

// A subscriber's due deliveries that are first of their key among its pending ones, and not
// leased by a live relay. The NOT EXISTS subquery is a plain consistent read, so an earlier
// delivery another relay holds still counts, and the later ones of its key wait for it. SKIP
// LOCKED passes over rows another relay is claiming at this moment.
// The indexes are forced, so that the plan does not depend on statistics taken while the table
// was small: the primary key (subscriber, event_row) yields the rows in ORDER BY's order, so
// the scan stops at the LIMIT; the "first of its key" test is one probe of
// outbox_deliveries_by_key (subscriber, event_key, event_row). Left to the optimizer, claims
// took tens to hundreds of milliseconds with 40,000 deliveries queued, in some runs only.
constexpr char kClaimSql[] =
    "SELECT d.event_row, d.attempts, d.refusals FROM outbox_deliveries d FORCE INDEX (PRIMARY) "
    "WHERE d.subscriber = ? AND d.next_attempt_at <= ? "
    "AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?) "
    "AND NOT EXISTS (SELECT 1 FROM outbox_deliveries p FORCE INDEX (outbox_deliveries_by_key) "
    "WHERE p.subscriber = d.subscriber "
    "AND p.event_key = d.event_key AND p.event_row < d.event_row) "
    "ORDER BY d.event_row LIMIT ? FOR UPDATE SKIP LOCKED";

constexpr size_t kMaxErrorLength = 1000;
constexpr absl::Duration kPurgeEvery = absl::Minutes(1);
// While full batches are delivered, the gauges are refreshed at most this often (real time).
constexpr absl::Duration kGaugeRefreshEvery = absl::Seconds(1);
constexpr int64_t kPurgeBatch = 1000;

struct Claimed {
  int64_t row = 0;
  int64_t attempts = 0;
  int64_t refusals = 0;
  Event event;
};

absl::Status ReadEvent(const db::Row& row, Event& event) {
  ASSIGN_OR_RETURN(*event.mutable_event_id(), row.GetString("event_id"));
  ASSIGN_OR_RETURN(*event.mutable_topic(), row.GetString("topic"));
  ASSIGN_OR_RETURN(*event.mutable_source(), row.GetString("source"));
  ASSIGN_OR_RETURN(*event.mutable_key(), row.GetString("event_key"));
  ASSIGN_OR_RETURN(*event.mutable_payload()->mutable_type_url(), row.GetString("payload_type_url"));
  ASSIGN_OR_RETURN(*event.mutable_payload()->mutable_value(), row.GetString("payload"));
  ASSIGN_OR_RETURN(absl::Time occurred_at, row.GetTime("occurred_at"));
  *event.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(occurred_at));
  return absl::OkStatus();
}

// For last_error: printable ASCII only (the column is text in strict mode), bounded.
std::string DescribeError(const absl::Status& status) {
  std::string text = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  if (text.size() > kMaxErrorLength) text.resize(kMaxErrorLength);
  for (char& c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = '?';
  }
  return text;
}

// The subscriber will never accept the event as it is.
bool IsRefusal(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

// The subscriber is unreachable or too slow: the rest of the round would fail the same way.
bool IsDown(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

bool Matches(const OutboxRelay::Subscriber& subscriber, absl::string_view topic) {
  for (const std::string& prefix : subscriber.topic_prefixes) {
    if (prefix == "*" || absl::StartsWith(topic, prefix)) return true;
  }
  return false;
}

db::TransactionOptions ReadCommitted() {
  db::TransactionOptions options;
  options.isolation = db::IsolationLevel::kReadCommitted;
  return options;
}

}  // namespace

struct OutboxRelay::SubscriberState {
  Subscriber subscriber;
  absl::Mutex round_mu;  // one round at a time per subscriber and relay
  absl::Time gauges_recorded_at ABSL_GUARDED_BY(round_mu) = absl::InfinitePast();
  std::unique_ptr<PeriodicThread> thread;
};

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(
    db::ConnectionPool& pool, std::vector<Subscriber> subscribers, OutboxRelayOptions options) {
  if (options.batch_size < 1) return absl::InvalidArgumentError("outbox batch_size: >= 1");
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("outbox poll_interval: must be positive");
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "outbox backoff: initial_backoff > 0 and max_backoff >= initial_backoff");
  }
  if (options.lease_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("outbox lease_duration: must be positive");
  }
  if (options.max_refusals < 1) return absl::InvalidArgumentError("outbox max_refusals: >= 1");
  if (options.delivered_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("outbox delivered_retention: must be >= 0");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("outbox clock: required");
  if (subscribers.empty()) return absl::InvalidArgumentError("outbox subscribers: at least one");
  std::set<std::string> names;
  for (const Subscriber& subscriber : subscribers) {
    SubscriberSpec spec{subscriber.name, "relay:0", subscriber.topic_prefixes};
    std::string text = absl::StrCat(spec.name, "=", spec.target, ":");
    for (size_t i = 0; i < spec.topic_prefixes.size(); ++i) {
      absl::StrAppend(&text, i == 0 ? "" : "|", spec.topic_prefixes[i]);
    }
    if (absl::Status valid = ParseSubscriberSpecs(text).status(); !valid.ok()) return valid;
    if (!names.insert(subscriber.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbox subscriber '", subscriber.name, "': named twice"));
    }
    if (subscriber.publisher == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbox subscriber '", subscriber.name, "': no publisher"));
    }
  }
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(pool, std::move(subscribers), options));
}

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(db::ConnectionPool& pool,
                                                                 Publisher& publisher,
                                                                 OutboxRelayOptions options) {
  return Create(pool, {Subscriber{"default", {"*"}, &publisher}}, options);
}

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(
    db::ConnectionPool& pool, const std::vector<SubscriberSpec>& specs,
    const PublisherFactory& factory, OutboxRelayOptions options) {
  std::vector<std::unique_ptr<Publisher>> publishers;
  std::vector<Subscriber> subscribers;
  for (const SubscriberSpec& spec : specs) {
    publishers.push_back(factory(spec));
    subscribers.push_back({spec.name, spec.topic_prefixes, publishers.back().get()});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<OutboxRelay> relay,
                   Create(pool, std::move(subscribers), options));
  relay->owned_publishers_ = std::move(publishers);
  return relay;
}

OutboxRelay::OutboxRelay(db::ConnectionPool& pool, std::vector<Subscriber> subscribers,
                         OutboxRelayOptions options)
    : pool_(pool), options_(options), lease_owner_(NewId("relay_")) {
  for (Subscriber& subscriber : subscribers) {
    auto state = std::make_unique<SubscriberState>();
    state->subscriber = std::move(subscriber);
    SubscriberState* s = state.get();
    state->thread = std::make_unique<PeriodicThread>(options_.poll_interval, [this, s] {
      absl::StatusOr<RelayRound> round = Round(*s);
      if (!round.ok()) {
        LogWarn("outbox relay round failed", {{"subscriber", s->subscriber.name},
                                              {"error", round.status().ToString()}});
      }
      PurgeDelivered();
      // Delivering an event may make the next one of its key due at once.
      return round.ok() && (round->delivered > 0 || round->dead_lettered > 0);
    });
    subscribers_.push_back(std::move(state));
  }
  if (options_.registry == nullptr) return;
  pending_ = &prometheus::BuildGauge()
                  .Name("outbox_pending")
                  .Help("Outbox deliveries not done yet, due or waiting for a retry, by "
                        "subscriber.")
                  .Register(*options_.registry);
  dead_letters_ = &prometheus::BuildGauge()
                       .Name("outbox_dead_letters")
                       .Help("Outbox events a subscriber refused max_refusals times, waiting "
                             "in outbox_dead_letters, by subscriber.")
                       .Register(*options_.registry);
  delivered_ = &prometheus::BuildCounter()
                    .Name("outbox_delivered_total")
                    .Help("Outbox events delivered, by subscriber and topic.")
                    .Register(*options_.registry);
  failures_ = &prometheus::BuildCounter()
                   .Name("outbox_delivery_failures_total")
                   .Help("Failed attempts to deliver an outbox event, by subscriber and topic.")
                   .Register(*options_.registry);
  dead_lettered_ = &prometheus::BuildCounter()
                        .Name("outbox_dead_lettered_total")
                        .Help("Outbox events moved to outbox_dead_letters, by subscriber and "
                              "topic.")
                        .Register(*options_.registry);
  for (const auto& s : subscribers_) {
    pending_->Add({{"subscriber", s->subscriber.name}});
    dead_letters_->Add({{"subscriber", s->subscriber.name}});
  }
}

OutboxRelay::~OutboxRelay() { Stop(); }

absl::Duration OutboxRelay::Backoff(int64_t attempts) const {
  absl::Duration delay = options_.initial_backoff;
  for (int64_t i = 1; i < attempts && delay < options_.max_backoff; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff);
}

absl::Status OutboxRelay::FanOut() {
  // One fan-out at a time in a process; a subscriber's round that finds one running goes on to
  // its claim (the running one fans out for every subscriber) instead of queueing behind it.
  if (!fan_out_mu_.TryLock()) return absl::OkStatus();
  absl::Cleanup unlock = [this] { fan_out_mu_.Unlock(); };
  db::TransactionOptions options = ReadCommitted();
  options.max_attempts = 2;  // a deadlock between relays is retried once; the next round again
  return db::RunInTransaction(
      pool_,
      [&](db::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<db::Row> rows, tx.Query(kFanOutSql, {kFanOutBatch}));
        if (rows.empty()) return absl::OkStatus();
        const absl::Time now = options_.clock->Now();
        std::vector<db::SqlValue> deliveries, ids;
        size_t delivery_count = 0;
        for (const db::Row& row : rows) {
          ASSIGN_OR_RETURN(int64_t id, row.GetInt64("id"));
          ASSIGN_OR_RETURN(std::string topic, row.GetString("topic"));
          ASSIGN_OR_RETURN(std::string key, row.GetString("event_key"));
          ids.push_back(id);
          for (const auto& s : subscribers_) {
            if (!Matches(s->subscriber, topic)) continue;
            deliveries.insert(deliveries.end(), {s->subscriber.name, id, key, now});
            ++delivery_count;
          }
        }
        if (delivery_count > 0) {
          RETURN_IF_ERROR(tx.Execute(absl::StrCat("INSERT IGNORE INTO outbox_deliveries "
                                                  "(subscriber, event_row, event_key, "
                                                  "next_attempt_at) VALUES ",
                                                  db::PlaceholderRows(delivery_count, 4)),
                                     deliveries)
                              .status());
        }
        std::vector<db::SqlValue> params = {now};
        params.insert(params.end(), ids.begin(), ids.end());
        return tx
            .Execute(absl::StrCat("UPDATE outbox_events SET fanned_out_at = ? WHERE id IN (",
                                  db::PlaceholderList(ids.size()), ")"),
                     params)
            .status();
      },
      options);
}

absl::StatusOr<RelayRound> OutboxRelay::Round(SubscriberState& s) {
  absl::MutexLock lock(&s.round_mu);
  const Clock& clock = *options_.clock;
  const std::string& name = s.subscriber.name;
  // A fan-out that fails (it waits for the services' transactions that are writing events)
  // does not hold back the deliveries already fanned out.
  if (absl::Status fanned = FanOut(); !fanned.ok()) {
    LogWarn("outbox fan-out failed", {{"subscriber", name}, {"error", fanned.ToString()}});
  }

  // Claim: a short transaction that leases the deliveries and reads their events.
  std::vector<Claimed> claimed;
  RETURN_IF_ERROR(db::RunInTransaction(
      pool_,
      [&](db::Transaction& tx) -> absl::Status {
        claimed.clear();
        const absl::Time now = clock.Now();
        ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                         tx.Query(kClaimSql, {name, now, now, int64_t{options_.batch_size}}));
        if (rows.empty()) return absl::OkStatus();
        std::vector<db::SqlValue> ids;
        for (const db::Row& row : rows) {
          Claimed c;
          ASSIGN_OR_RETURN(c.row, row.GetInt64("event_row"));
          ASSIGN_OR_RETURN(c.attempts, row.GetInt64("attempts"));
          ASSIGN_OR_RETURN(c.refusals, row.GetInt64("refusals"));
          ids.push_back(c.row);
          claimed.push_back(std::move(c));
        }
        std::vector<db::SqlValue> params = {lease_owner_, now + options_.lease_duration, name};
        params.insert(params.end(), ids.begin(), ids.end());
        RETURN_IF_ERROR(tx.Execute(absl::StrCat("UPDATE outbox_deliveries SET lease_owner = ?, "
                                                "lease_expires_at = ? WHERE subscriber = ? AND "
                                                "event_row IN (",
                                                db::PlaceholderList(ids.size()), ")"),
                                   params)
                            .status());
        ASSIGN_OR_RETURN(
            std::vector<db::Row> events,
            tx.Query(absl::StrCat("SELECT id, event_id, topic, source, event_key, "
                                  "payload_type_url, payload, occurred_at FROM outbox_events "
                                  "WHERE id IN (",
                                  db::PlaceholderList(ids.size()), ")"),
                     ids));
        std::map<int64_t, const db::Row*> by_id;
        for (const db::Row& event : events) {
          ASSIGN_OR_RETURN(int64_t id, event.GetInt64("id"));
          by_id[id] = &event;
        }
        for (Claimed& c : claimed) {
          auto found = by_id.find(c.row);
          if (found == by_id.end()) {
            return absl::DataLossError(
                absl::StrCat("outbox delivery ", name, "/", c.row, " has no event"));
          }
          RETURN_IF_ERROR(ReadEvent(*found->second, c.event));
        }
        return absl::OkStatus();
      },
      ReadCommitted()));

  RelayRound round;
  round.claimed = static_cast<int>(claimed.size());
  std::map<std::string, int> delivered_by_topic, published_by_topic, failed_by_topic,
      dead_by_topic;
  std::vector<db::SqlValue> published_rows;
  absl::Status status;
  // Publish outside any transaction. A failed delivery is marked right after; the delivered
  // ones are deleted together once the round's publishing ends (one statement, one commit,
  // however many were delivered). A relay that dies before that leaves them leased: they are
  // delivered again after the lease, which at-least-once delivery allows (consumers
  // deduplicate on event_id). A batch holds at most one delivery per key, so the order per
  // key is unchanged.
  for (size_t i = 0; i < claimed.size() && status.ok(); ++i) {
    const Claimed& c = claimed[i];
    const absl::Status published = s.subscriber.publisher->Publish(c.event);
    if (published.ok()) {
      published_rows.push_back(c.row);
      ++published_by_topic[c.event.topic()];
      continue;
    }
    const int64_t attempts = c.attempts + 1;
    const int64_t refusals = c.refusals + (IsRefusal(published) ? 1 : 0);
    const std::string error = DescribeError(published);
    if (IsRefusal(published) && refusals >= options_.max_refusals) {
      status = db::RunInTransaction(pool_, [&](db::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t removed,
                         tx.Execute("DELETE FROM outbox_deliveries WHERE subscriber = ? AND "
                                    "event_row = ? AND lease_owner = ?",
                                    {name, c.row, lease_owner_}));
        if (removed == 0) return absl::OkStatus();  // lease lost: the new holder decides
        return tx
            .Execute(
                "INSERT INTO outbox_dead_letters (subscriber, event_row, event_id, topic, "
                "event_key, attempts, last_error, dead_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON DUPLICATE KEY UPDATE attempts = VALUES(attempts), "
                "last_error = VALUES(last_error), dead_at = VALUES(dead_at)",
                {name, c.row, c.event.event_id(), c.event.topic(), c.event.key(), attempts, error,
                 clock.Now()})
            .status();
      });
      if (!status.ok()) break;
      ++round.dead_lettered;
      ++dead_by_topic[c.event.topic()];
      LogError("outbox event refused too often; moved to outbox_dead_letters",
               {{"subscriber", name},
                {"event_id", c.event.event_id()},
                {"topic", c.event.topic()},
                {"attempts", attempts},
                {"error", error}});
      continue;
    }
    const absl::Time next = clock.Now() + Backoff(attempts);
    status = pool_
                 .Execute("UPDATE outbox_deliveries SET attempts = ?, refusals = ?, "
                          "next_attempt_at = ?, last_error = ?, lease_owner = NULL, "
                          "lease_expires_at = NULL WHERE subscriber = ? AND event_row = ? AND "
                          "lease_owner = ?",
                          {attempts, refusals, next, error, name, c.row, lease_owner_})
                 .status();
    if (!status.ok()) break;
    ++round.failed;
    ++failed_by_topic[c.event.topic()];
    LogWarn("outbox event not delivered; will retry",
            {{"subscriber", name},
             {"event_id", c.event.event_id()},
             {"topic", c.event.topic()},
             {"attempts", attempts},
             {"retry_in_ms", absl::ToInt64Milliseconds(next - clock.Now())},
             {"error", error}});
    if (IsDown(published) && i + 1 < claimed.size()) {
      // The subscriber is down: the rest waits as long, without an attempt.
      std::vector<db::SqlValue> params = {next, name, lease_owner_};
      for (size_t j = i + 1; j < claimed.size(); ++j) params.push_back(claimed[j].row);
      status = pool_
                   .Execute(absl::StrCat("UPDATE outbox_deliveries SET next_attempt_at = ?, "
                                         "lease_owner = NULL, lease_expires_at = NULL WHERE "
                                         "subscriber = ? AND lease_owner = ? AND event_row IN (",
                                         db::PlaceholderList(claimed.size() - i - 1), ")"),
                            params)
                   .status();
      break;
    }
  }

  if (!published_rows.empty()) {
    std::vector<db::SqlValue> params = {name};
    params.insert(params.end(), published_rows.begin(), published_rows.end());
    absl::Status marked =
        pool_
            .Execute(absl::StrCat("DELETE FROM outbox_deliveries WHERE subscriber = ? AND "
                                  "event_row IN (",
                                  db::PlaceholderList(published_rows.size()), ")"),
                     params)
            .status();
    if (marked.ok()) {
      round.delivered = static_cast<int>(published_rows.size());
      delivered_by_topic = std::move(published_by_topic);
    } else if (status.ok()) {
      status = marked;
    }
  }

  if (delivered_ != nullptr) {
    for (const auto& [topic, n] : delivered_by_topic) {
      delivered_->Add({{"subscriber", name}, {"topic", topic}}).Increment(n);
    }
    for (const auto& [topic, n] : failed_by_topic) {
      failures_->Add({{"subscriber", name}, {"topic", topic}}).Increment(n);
    }
    for (const auto& [topic, n] : dead_by_topic) {
      dead_lettered_->Add({{"subscriber", name}, {"topic", topic}}).Increment(n);
    }
  }
  // The gauges count the subscriber's rows, which costs the database more the longer the
  // queue: while full batches are being delivered they are refreshed once a second at most.
  if (round.claimed < options_.batch_size ||
      absl::Now() - s.gauges_recorded_at >= kGaugeRefreshEvery) {
    RecordGauges(s);
    s.gauges_recorded_at = absl::Now();
  }
  // A failed mark leaves the rest leased: they are claimed again once the lease expires.
  if (!status.ok()) return status;
  return round;
}

absl::StatusOr<RelayRound> OutboxRelay::RunOnce() {
  RelayRound total;
  for (const auto& s : subscribers_) {
    ASSIGN_OR_RETURN(RelayRound round, Round(*s));
    total.claimed += round.claimed;
    total.delivered += round.delivered;
    total.failed += round.failed;
    total.dead_lettered += round.dead_lettered;
  }
  PurgeDelivered();
  return total;
}

absl::StatusOr<RelayRound> OutboxRelay::RunOnce(absl::string_view subscriber) {
  for (const auto& s : subscribers_) {
    if (s->subscriber.name == subscriber) return Round(*s);
  }
  return absl::NotFoundError(absl::StrCat("outbox subscriber '", subscriber, "': not configured"));
}

void OutboxRelay::RecordGauges(SubscriberState& s) {
  if (pending_ == nullptr) return;
  const std::string& name = s.subscriber.name;
  absl::StatusOr<std::vector<db::Row>> rows = pool_.Query(
      "SELECT (SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = ?) AS pending, "
      "(SELECT COUNT(*) FROM outbox_dead_letters WHERE subscriber = ?) AS dead",
      {name, name});
  if (!rows.ok() || rows->empty()) return;
  absl::StatusOr<int64_t> pending = rows->at(0).GetInt64("pending");
  absl::StatusOr<int64_t> dead = rows->at(0).GetInt64("dead");
  if (pending.ok()) pending_->Add({{"subscriber", name}}).Set(static_cast<double>(*pending));
  if (dead.ok()) dead_letters_->Add({{"subscriber", name}}).Set(static_cast<double>(*dead));
}

void OutboxRelay::PurgeDelivered() {
  if (options_.delivered_retention == absl::ZeroDuration()) return;
  const absl::Time now = options_.clock->Now();
  {
    absl::MutexLock lock(&purge_mu_);
    if (now - last_purge_ < kPurgeEvery) return;
    last_purge_ = now;
  }
  absl::Status purged =
      pool_
          .Execute(
              "DELETE FROM outbox_events WHERE fanned_out_at IS NOT NULL AND fanned_out_at < ? "
              "AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_row = "
              "outbox_events.id) AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters x WHERE "
              "x.event_row = outbox_events.id) ORDER BY fanned_out_at LIMIT ?",
              {now - options_.delivered_retention, kPurgeBatch})
          .status();
  if (!purged.ok()) {
    LogWarn("outbox purge of delivered events failed", {{"error", purged.ToString()}});
  }
}

absl::StatusOr<int64_t> OutboxRelay::PendingCount() {
  ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                   pool_.Query("SELECT (SELECT COUNT(*) FROM outbox_deliveries) + "
                               "(SELECT COUNT(*) FROM outbox_events WHERE fanned_out_at IS NULL) "
                               "AS n"));
  return rows.at(0).GetInt64("n");
}

absl::StatusOr<int64_t> OutboxRelay::DeadLetterCount() {
  ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                   pool_.Query("SELECT COUNT(*) AS n FROM outbox_dead_letters"));
  return rows.at(0).GetInt64("n");
}

absl::Status OutboxRelay::ReplayDeadLetter(absl::string_view subscriber,
                                           absl::string_view event_id) {
  return db::RunInTransaction(pool_, [&](db::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        int64_t moved,
        tx.Execute("INSERT INTO outbox_deliveries (subscriber, event_row, event_key, "
                   "next_attempt_at) SELECT subscriber, event_row, event_key, ? FROM "
                   "outbox_dead_letters WHERE subscriber = ? AND event_id = ?",
                   {options_.clock->Now(), std::string(subscriber), std::string(event_id)}));
    if (moved == 0) {
      return absl::NotFoundError(absl::StrCat("no dead letter of ", event_id, " for ", subscriber));
    }
    return tx
        .Execute("DELETE FROM outbox_dead_letters WHERE subscriber = ? AND event_id = ?",
                 {std::string(subscriber), std::string(event_id)})
        .status();
  });
}

void OutboxRelay::Start() {
  for (const auto& s : subscribers_) s->thread->Start();
}

void OutboxRelay::Stop() {
  for (const auto& s : subscribers_) s->thread->Stop();
}

}  // namespace marketplace::common::outbox
