#include "tests/support/recording_sink.h"

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/auth/jwt.h"
#include "common/db/transaction.h"
#include "common/outbox/outbox.h"
#include "google/protobuf/wrappers.pb.h"

namespace marketplace::testing {

namespace auth = common::auth;

grpc::Status RecordingSink::Deliver(grpc::ServerContext* context,
                                    const events::v1::DeliverRequest* request,
                                    events::v1::DeliverResponse*) {
  const events::v1::Event& event = request->event();
  // The relay's token, as every consumer checks it.
  std::string token;
  auto header = context->client_metadata().find("authorization");
  if (header != context->client_metadata().end()) {
    absl::string_view value(header->second.data(), header->second.size());
    if (absl::ConsumePrefix(&value, "Bearer ")) token = std::string(value);
  }
  bool known = false;
  {
    absl::MutexLock lock(&mu_);
    auto found = verified_tokens_.find(token);
    known = found != verified_tokens_.end() && found->second == event.source();
  }
  if (!known) {
    absl::StatusOr<auth::ParsedJwt> jwt = auth::ParseJwt(token);
    if (token.empty() || !jwt.ok() || !auth::VerifyJwtSignature(*jwt, public_key_) ||
        jwt->claims.expires_at < absl::Now()) {
      absl::MutexLock lock(&mu_);
      ++refused_;
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no valid token");
    }
    const auto& roles = jwt->claims.roles;
    const auto& scopes = jwt->claims.scopes;
    if (std::find(roles.begin(), roles.end(), "SERVICE") == roles.end() ||
        std::find(scopes.begin(), scopes.end(), absl::StrCat(event.source(), ".events.publish")) ==
            scopes.end()) {
      absl::MutexLock lock(&mu_);
      ++refused_;
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "scope missing");
    }
    absl::MutexLock lock(&mu_);
    verified_tokens_[token] = event.source();
  }
  if (event.event_id().empty() || event.event_id().size() > 64) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_id: must be 1-64 characters");
  }
  Delivery d;
  d.event_id = event.event_id();
  d.topic = event.topic();
  d.source = event.source();
  d.key = event.key();
  d.received_at = absl::Now();
  if (annotate_) annotate_(event, d);
  absl::MutexLock lock(&mu_);
  ++seen_[d.event_id];
  deliveries_.push_back(std::move(d));
  return grpc::Status::OK;
}

std::vector<Delivery> RecordingSink::deliveries() const {
  absl::MutexLock lock(&mu_);
  return deliveries_;
}

int64_t RecordingSink::delivered() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(deliveries_.size());
}

int64_t RecordingSink::distinct() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(seen_.size());
}

int64_t RecordingSink::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

void RecordingSink::Clear() {
  absl::MutexLock lock(&mu_);
  deliveries_.clear();
  seen_.clear();
  refused_ = 0;
}

absl::StatusOr<std::vector<std::string>> EnqueueProbeEvents(
    common::db::ConnectionPool& pool, const std::string& source, const std::string& topic,
    int count, int keys, const std::string& tag, int per_transaction, absl::Duration pause) {
  common::outbox::Outbox outbox(source);
  std::vector<std::string> ids;
  for (int start = 0; start < count; start += per_transaction) {
    std::vector<common::outbox::Outbox::Event> events;
    for (int i = start; i < std::min(count, start + per_transaction); ++i) {
      google::protobuf::Int64Value sequence;
      sequence.set_value(i / keys);  // the i-th event of key i % keys, in enqueue order
      absl::StatusOr<google::protobuf::Any> payload = common::outbox::Outbox::Pack(sequence);
      if (!payload.ok()) return payload.status();
      events.push_back({topic, absl::StrCat(tag, "-key-", i % keys), *std::move(payload)});
    }
    absl::StatusOr<std::vector<std::string>> written = common::db::RunInTransaction(
        pool, [&](common::db::Transaction& tx) { return outbox.EnqueueAll(tx, events); });
    if (!written.ok()) return written.status();
    ids.insert(ids.end(), written->begin(), written->end());
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
  }
  return ids;
}

}  // namespace marketplace::testing
