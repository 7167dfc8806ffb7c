#include "common/events/revocations.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/sql_value.h"
#include "common/events/revocation_migrations.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace marketplace::common::events {
namespace {

using ::marketplace::events::v1::AccountSuspended;
using ::marketplace::events::v1::Event;
using ::marketplace::events::v1::SessionsRevoked;

bool IsAccountId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

struct Revocation {
  std::string account_id;
  absl::Time not_before;
};

// The account and not-before time of a suspension or a sessions revocation.
absl::StatusOr<Revocation> RevocationOf(const Event& event) {
  Revocation r;
  google::protobuf::Timestamp not_before;
  if (event.topic() == kAccountSuspendedTopic) {
    AccountSuspended payload;
    if (!event.payload().UnpackTo(&payload)) {
      return absl::InvalidArgumentError(
          "event.payload: must be a marketplace.events.v1.AccountSuspended");
    }
    r.account_id = payload.account_id();
    not_before = payload.not_before();
  } else {
    SessionsRevoked payload;
    if (!event.payload().UnpackTo(&payload)) {
      return absl::InvalidArgumentError(
          "event.payload: must be a marketplace.events.v1.SessionsRevoked");
    }
    r.account_id = payload.account_id();
    not_before = payload.not_before();
  }
  if (!IsAccountId(r.account_id)) {
    return absl::InvalidArgumentError("event.payload.account_id: must be 1-64 ASCII characters");
  }
  absl::StatusOr<absl::Time> t = FromTimestamp(not_before, "event.payload.not_before");
  if (!t.ok() || not_before.seconds() <= 0) {
    return absl::InvalidArgumentError("event.payload.not_before: must be a valid time");
  }
  r.not_before = *t;
  return r;
}

}  // namespace

absl::Status ApplyRevocationMigrations(db::ConnectionPool& pool) {
  return db::ApplyMigrations(pool, "revocations", RevocationMigrations());
}

absl::Status RecordRevocation(db::Transaction& tx, absl::string_view account_id,
                              absl::Time not_before) {
  if (!IsAccountId(account_id)) {
    return absl::InvalidArgumentError("account_id: must be 1-64 ASCII characters");
  }
  return tx.Write(
      "INSERT INTO token_revocations (account_id, not_before, updated_at) "
      "VALUES (?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE "
      "not_before = GREATEST(not_before, VALUES(not_before)), updated_at = UTC_TIMESTAMP(6)",
      {std::string(account_id), not_before});
}

RevocationView::RevocationView(db::ConnectionPool* pool, RevocationViewOptions options)
    : pool_(pool), options_(std::move(options)), thread_(options_.refresh_interval, [this] {
        if (absl::Status s = Refresh(); !s.ok()) {
          LogWarn("revocation table refresh failed", {{"error", std::string(s.message())}});
        }
        return false;
      }) {}

absl::Status RevocationView::Refresh() {
  const absl::Time now = options_.clock->Now();
  const absl::Time cutoff = now - options_.horizon;
  bool purge = false;
  {
    absl::MutexLock lock(&mu_);
    if (now - last_purge_ >= absl::Hours(1)) {
      purge = true;
      last_purge_ = now;
    }
  }
  ASSIGN_OR_RETURN(std::vector<db::Row> rows,
                   db::RunInTransaction(
                       *pool_, [&](db::Transaction& tx) -> absl::StatusOr<std::vector<db::Row>> {
                         if (purge) {
                           RETURN_IF_ERROR(tx.Write(
                               "DELETE FROM token_revocations WHERE not_before < ? LIMIT 10000",
                               {cutoff}));
                         }
                         return tx.Query(
                             "SELECT account_id, not_before FROM token_revocations "
                             "WHERE not_before >= ?",
                             {cutoff});
                       }));
  for (const db::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string account_id, row.GetString("account_id"));
    ASSIGN_OR_RETURN(absl::Time not_before, row.GetTime("not_before"));
    list_.Revoke(account_id, not_before);
  }
  list_.ForgetBefore(cutoff);
  return absl::OkStatus();
}

void RevocationView::Start() { thread_.Start(); }

void AddRevocationConsumer(EventConsumer& consumer, RevocationView& view) {
  for (absl::string_view topic : {kAccountSuspendedTopic, kSessionsRevokedTopic}) {
    consumer.On(topic, TopicHandler{
                           .apply = [](db::Transaction& tx, const Event& event) -> absl::Status {
                             ASSIGN_OR_RETURN(Revocation r, RevocationOf(event));
                             return RecordRevocation(tx, r.account_id, r.not_before);
                           },
                           .committed =
                               [&view](const Event& event) {
                                 absl::StatusOr<Revocation> r = RevocationOf(event);
                                 if (r.ok()) view.list().Revoke(r->account_id, r->not_before);
                               },
                       });
  }
}

}  // namespace marketplace::common::events
