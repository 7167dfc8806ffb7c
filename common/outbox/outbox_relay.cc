#include "common/outbox/outbox_relay.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace marketplace::common::outbox {
namespace {

using marketplace::events::v1::Event;

// The due events of this round: pending, due, and first of their key among pending events.
// The NOT EXISTS subquery is a plain consistent read (a locking clause does not reach into
// subqueries), so an earlier event another relay has claimed still counts as pending here,
// and the later ones of its key wait for it. SKIP LOCKED passes over events other relays hold.
constexpr char kClaimSql[] =
    "SELECT e.id, e.event_id, e.topic, e.source, e.event_key, e.payload_type_url, e.payload, "
    "e.occurred_at, e.attempts "
    "FROM outbox_events e "
    "WHERE e.delivered_at IS NULL AND e.next_attempt_at <= ? "
    "AND NOT EXISTS (SELECT 1 FROM outbox_events p WHERE p.event_key = e.event_key "
    "AND p.delivered_at IS NULL AND p.id < e.id) "
    "ORDER BY e.id LIMIT ? FOR UPDATE SKIP LOCKED";

constexpr size_t kMaxErrorLength = 1000;
constexpr absl::Duration kPurgeEvery = absl::Minutes(1);
constexpr int64_t kPurgeBatch = 1000;

struct Claimed {
  int64_t id = 0;
  int64_t attempts = 0;
  Event event;
};

absl::StatusOr<Claimed> ToClaimed(const db::Row& row) {
  Claimed claimed;
  ASSIGN_OR_RETURN(claimed.id, row.GetInt64("id"));
  ASSIGN_OR_RETURN(claimed.attempts, row.GetInt64("attempts"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_event_id(), row.GetString("event_id"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_topic(), row.GetString("topic"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_source(), row.GetString("source"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_key(), row.GetString("event_key"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_payload()->mutable_type_url(),
                   row.GetString("payload_type_url"));
  ASSIGN_OR_RETURN(*claimed.event.mutable_payload()->mutable_value(), row.GetString("payload"));
  ASSIGN_OR_RETURN(absl::Time occurred_at, row.GetTime("occurred_at"));
  *claimed.event.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(occurred_at));
  return claimed;
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

}  // namespace

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(db::ConnectionPool& pool,
                                                                 Publisher& publisher,
                                                                 OutboxRelayOptions options) {
  if (options.batch_size < 1) return absl::InvalidArgumentError("outbox batch_size: >= 1");
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("outbox poll_interval: must be positive");
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "outbox backoff: initial_backoff > 0 and max_backoff >= initial_backoff");
  }
  if (options.delivered_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("outbox delivered_retention: must be >= 0");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("outbox clock: required");
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(pool, publisher, options));
}

OutboxRelay::OutboxRelay(db::ConnectionPool& pool, Publisher& publisher, OutboxRelayOptions options)
    : pool_(pool),
      publisher_(publisher),
      options_(options),
      thread_(options.poll_interval, [this] {
        absl::StatusOr<RelayRound> round = RunOnce();
        if (!round.ok()) {
          LogWarn("outbox relay round failed", {{"error", round.status().ToString()}});
        }
        // Delivering an event may make the next one of its key due at once.
        return round.ok() && round->delivered > 0;
      }) {
  if (options_.registry == nullptr) return;
  pending_ = &prometheus::BuildGauge()
                  .Name("outbox_pending")
                  .Help("Outbox events not delivered yet, due or waiting for a retry.")
                  .Register(*options_.registry)
                  .Add({});
  delivered_ = &prometheus::BuildCounter()
                    .Name("outbox_delivered_total")
                    .Help("Outbox events delivered to their consumers, by topic.")
                    .Register(*options_.registry);
  failures_ = &prometheus::BuildCounter()
                   .Name("outbox_delivery_failures_total")
                   .Help("Failed attempts to deliver an outbox event, by topic.")
                   .Register(*options_.registry);
}

OutboxRelay::~OutboxRelay() { Stop(); }

absl::Duration OutboxRelay::Backoff(int64_t attempts) const {
  absl::Duration delay = options_.initial_backoff;
  for (int64_t i = 1; i < attempts && delay < options_.max_backoff; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff);
}

absl::StatusOr<RelayRound> OutboxRelay::RunOnce() {
  absl::MutexLock lock(&round_mu_);
  const Clock& clock = *options_.clock;
  RelayRound round;
  std::map<std::string, int> delivered_by_topic, failed_by_topic;

  db::TransactionOptions tx_options;
  tx_options.isolation = db::IsolationLevel::kReadCommitted;
  // Running the round again would publish its events twice; the next round retries instead.
  tx_options.max_attempts = 1;
  absl::Status status = db::RunInTransaction(
      pool_,
      [&](db::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                         tx.Query(kClaimSql, {clock.Now(), int64_t{options_.batch_size}}));
        round.claimed = static_cast<int>(rows.size());
        for (const db::Row& row : rows) {
          ASSIGN_OR_RETURN(Claimed claimed, ToClaimed(row));
          const absl::Status published = publisher_.Publish(claimed.event);
          if (published.ok()) {
            RETURN_IF_ERROR(tx.Execute("UPDATE outbox_events SET delivered_at = ?, "
                                       "attempts = attempts + 1, last_error = NULL WHERE id = ?",
                                       {clock.Now(), claimed.id})
                                .status());
            ++round.delivered;
            ++delivered_by_topic[claimed.event.topic()];
            continue;
          }
          const int64_t attempts = claimed.attempts + 1;
          const absl::Time next = clock.Now() + Backoff(attempts);
          RETURN_IF_ERROR(tx.Execute("UPDATE outbox_events SET attempts = ?, "
                                     "next_attempt_at = ?, last_error = ? WHERE id = ?",
                                     {attempts, next, DescribeError(published), claimed.id})
                              .status());
          ++round.failed;
          ++failed_by_topic[claimed.event.topic()];
          LogWarn("outbox event not delivered; will retry",
                  {{"event_id", claimed.event.event_id()},
                   {"topic", claimed.event.topic()},
                   {"attempts", attempts},
                   {"retry_in_ms", absl::ToInt64Milliseconds(next - clock.Now())},
                   {"error", DescribeError(published)}});
        }
        return absl::OkStatus();
      },
      tx_options);
  if (!status.ok()) return status;

  if (delivered_ != nullptr) {
    for (const auto& [topic, n] : delivered_by_topic)
      delivered_->Add({{"topic", topic}}).Increment(n);
    for (const auto& [topic, n] : failed_by_topic) failures_->Add({{"topic", topic}}).Increment(n);
  }
  RecordPending();
  PurgeDelivered();
  return round;
}

void OutboxRelay::RecordPending() {
  if (pending_ == nullptr) return;
  absl::StatusOr<int64_t> pending = PendingCount();
  if (pending.ok()) pending_->Set(static_cast<double>(*pending));
}

void OutboxRelay::PurgeDelivered() {
  if (options_.delivered_retention == absl::ZeroDuration()) return;
  const absl::Time now = options_.clock->Now();
  if (now - last_purge_ < kPurgeEvery) return;
  last_purge_ = now;
  absl::Status purged =
      pool_
          .Execute(
              "DELETE FROM outbox_events WHERE delivered_at IS NOT NULL AND delivered_at < ? "
              "ORDER BY delivered_at LIMIT ?",
              {now - options_.delivered_retention, kPurgeBatch})
          .status();
  if (!purged.ok()) {
    LogWarn("outbox purge of delivered events failed", {{"error", purged.ToString()}});
  }
}

absl::StatusOr<int64_t> OutboxRelay::PendingCount() {
  ASSIGN_OR_RETURN(
      std::vector<db::Row> rows,
      pool_.Query("SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL"));
  return rows.at(0).GetInt64("n");
}

void OutboxRelay::Start() { thread_.Start(); }

void OutboxRelay::Stop() { thread_.Stop(); }

}  // namespace marketplace::common::outbox
