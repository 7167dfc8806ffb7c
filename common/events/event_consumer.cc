#include "common/events/event_consumer.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/outbox/outbox.h"
#include "common/status_macros.h"

namespace marketplace::common::events {
namespace {

using ::marketplace::events::v1::Event;

constexpr absl::string_view kServiceRole = "SERVICE";

bool IsSourceName(absl::string_view source) {
  if (source.empty() || source.size() > 64) return false;
  for (char c : source) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

bool IsAsciiId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

absl::Status ValidateEvent(const Event& event) {
  Violations violations;
  if (!IsAsciiId(event.event_id())) {
    violations.Add("event.event_id", "must be 1-64 printable ASCII characters");
  }
  if (!outbox::IsValidTopic(event.topic())) {
    violations.Add("event.topic", "must be 1-255 characters of [a-z0-9._]");
  }
  if (!IsSourceName(event.source())) {
    violations.Add("event.source", "must be 1-64 characters of [a-z0-9_]");
  }
  return violations.Status();
}

}  // namespace

std::string PublishScope(absl::string_view source) { return absl::StrCat(source, ".events.publish"); }

void EventConsumer::On(absl::string_view topic, TopicHandler handler) {
  handlers_[std::string(topic)].push_back(std::move(handler));
}

absl::Status EventConsumer::Deliver(const std::optional<auth::Caller>& caller,
                                    const Event& event) {
  if (!caller.has_value()) return Unauthenticated("missing bearer token");
  if (!caller->HasRole(kServiceRole)) {
    return PermissionDenied("only a service's event relay may deliver events");
  }
  RETURN_IF_ERROR(ValidateEvent(event));
  if (!caller->HasScope(PublishScope(event.source()))) {
    return PermissionDenied(
        absl::StrCat("the token lacks the scope ", PublishScope(event.source())));
  }
  auto found = handlers_.find(event.topic());
  if (found == handlers_.end()) return absl::OkStatus();  // not a topic this service uses
  const std::vector<TopicHandler>& handlers = found->second;

  // A repeated event skips prepare too (its effects are done).
  absl::StatusOr<bool> seen = db::RunInTransaction(
      *pool_, [&](db::Transaction& tx) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                         tx.Query("SELECT 1 FROM processed_events WHERE event_id = ?",
                                  {event.event_id()}));
        return !rows.empty();
      });
  if (!seen.ok()) return seen.status();
  if (*seen) return absl::OkStatus();

  for (const TopicHandler& handler : handlers) {
    if (handler.prepare) RETURN_IF_ERROR(handler.prepare(event));
  }
  absl::StatusOr<bool> applied = db::RunInTransaction(
      *pool_, [&](db::Transaction& tx) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(bool first, outbox::MarkEventProcessed(tx, event.event_id()));
        if (!first) return false;
        for (const TopicHandler& handler : handlers) {
          if (handler.apply) RETURN_IF_ERROR(handler.apply(tx, event));
        }
        return true;
      });
  if (!applied.ok()) return applied.status();
  if (*applied) {
    for (const TopicHandler& handler : handlers) {
      if (handler.committed) handler.committed(event);
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* EventSinkService::Deliver(
    grpc::CallbackServerContext* context, const marketplace::events::v1::DeliverRequest* request,
    marketplace::events::v1::DeliverResponse*) {
  static const std::string kMethod = absl::StrCat("/", FullServiceName(), "/Deliver");
  return runner_->Run(context, kMethod, [this, request](const CallContext& call) {
    return consumer_->Deliver(call.caller, request->event());
  });
}

}  // namespace marketplace::common::events
