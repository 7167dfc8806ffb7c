#include "common/outbox/outbox.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/db/migrations.h"
#include "common/outbox/outbox_migrations.h"
#include "common/status_macros.h"

namespace marketplace::common::outbox {
namespace {

// A random (version 4) UUID: unique without coordination between replicas.
std::string NewEventId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* const gen = new absl::BitGen();
  uint64_t high, low;
  {
    absl::MutexLock lock(&mu);
    high = absl::Uniform<uint64_t>(*gen);
    low = absl::Uniform<uint64_t>(*gen);
  }
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
                         high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

bool IsAscii(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) > 0x7f || absl::ascii_iscntrl(c)) return false;
  }
  return true;
}

}  // namespace

absl::Status ApplyOutboxMigrations(db::ConnectionPool& pool) {
  return db::ApplyMigrations(pool, "outbox", OutboxMigrations());
}

bool IsValidTopic(absl::string_view topic) {
  if (topic.empty() || topic.size() > 255) return false;
  for (char c : topic) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '.' && c != '_') return false;
  }
  return true;
}

Outbox::Outbox(std::string source, const Clock* clock)
    : source_(std::move(source)), clock_(clock) {}

absl::StatusOr<google::protobuf::Any> Outbox::Pack(const google::protobuf::Message& payload) {
  google::protobuf::Any any;
  if (payload.GetDescriptor() == google::protobuf::Any::descriptor()) {
    any.CopyFrom(payload);
  } else if (!any.PackFrom(payload)) {
    return absl::InvalidArgumentError("event payload: cannot be serialized");
  }
  return any;
}

absl::StatusOr<std::string> Outbox::Enqueue(db::Transaction& tx, absl::string_view topic,
                                            absl::string_view key,
                                            const google::protobuf::Message& payload) const {
  ASSIGN_OR_RETURN(google::protobuf::Any any, Pack(payload));
  return Enqueue(tx, topic, key, any);
}

absl::StatusOr<std::string> Outbox::Enqueue(db::Transaction& tx, absl::string_view topic,
                                            absl::string_view key,
                                            const google::protobuf::Any& payload) const {
  const Event event{std::string(topic), std::string(key), payload};
  ASSIGN_OR_RETURN(std::vector<std::string> ids, EnqueueAll(tx, absl::MakeConstSpan(&event, 1)));
  return ids.at(0);
}

absl::StatusOr<std::vector<std::string>> Outbox::EnqueueAll(
    db::Transaction& tx, absl::Span<const Event> events) const {
  if (source_.empty() || source_.size() > 128) {
    return absl::InvalidArgumentError("event source: 1-128 characters");
  }
  std::vector<std::string> ids;
  if (events.empty()) return ids;
  const absl::Time now = clock_->Now();
  std::vector<db::SqlValue> params;
  params.reserve(events.size() * 8);
  for (const Event& e : events) {
    if (!IsValidTopic(e.topic)) {
      return absl::InvalidArgumentError("event topic: 1-255 characters of [a-z0-9._]");
    }
    if (e.key.empty() || e.key.size() > 255) {
      return absl::InvalidArgumentError("event key: 1-255 bytes");
    }
    if (e.payload.type_url().size() > 512) {
      return absl::InvalidArgumentError("event payload type URL: at most 512 characters");
    }
    ids.push_back(NewEventId());
    for (db::SqlValue v : std::initializer_list<db::SqlValue>{
             ids.back(), e.topic, source_, e.key, e.payload.type_url(), e.payload.value(), now,
             now}) {
      params.push_back(std::move(v));
    }
  }
  RETURN_IF_ERROR(tx.Write(absl::StrCat("INSERT INTO outbox_events (event_id, topic, source, "
                                        "event_key, payload_type_url, payload, occurred_at, "
                                        "next_attempt_at) VALUES ",
                                        db::PlaceholderRows(events.size(), 8)),
                           params));
  return ids;
}

absl::StatusOr<bool> MarkEventProcessed(db::Transaction& tx, absl::string_view event_id) {
  if (event_id.empty() || event_id.size() > 64 || !IsAscii(event_id)) {
    return absl::InvalidArgumentError("event_id: 1-64 ASCII characters");
  }
  absl::StatusOr<int64_t> inserted = tx.Execute(
      "INSERT INTO processed_events (event_id, processed_at) VALUES (?, UTC_TIMESTAMP(6))",
      {std::string(event_id)});
  if (inserted.ok()) return true;
  if (inserted.status().code() == absl::StatusCode::kAlreadyExists) return false;
  return inserted.status();
}

}  // namespace marketplace::common::outbox
