#include "services/identity/maintenance.h"

#include <string>

#include "common/logging.h"

namespace marketplace::identity {

Maintenance::Maintenance(IdentityStore* store, const common::Clock* clock, IdentityObserver* observer,
                         MaintenanceOptions options)
    : store_(store),
      clock_(clock),
      observer_(observer),
      options_(options),
      thread_(options.interval, [this] {
        if (absl::Status status = RunOnce(); !status.ok()) {
          common::LogWarn("identity maintenance pass failed",
                          {{"error", std::string(status.message())}});
        }
        return false;
      }) {}

Maintenance::~Maintenance() { Stop(); }

absl::Status Maintenance::RunOnce() {
  const absl::Time now = clock_->Now();
  absl::Status first;
  auto keep = [&first](const absl::Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };
  keep(store_->Transact([&](IdentityTransaction& tx) {
    return tx.DeleteSessionsExpiredBefore(now - options_.expired_session_retention, options_.batch)
        .status();
  }));
  keep(store_->Transact([&](IdentityTransaction& tx) {
    return tx.DeleteIdempotencyRecordsBefore(now - options_.idempotency_retention, options_.batch)
        .status();
  }));
  keep(store_->Transact([&](IdentityTransaction& tx) {
    return tx.DeleteFailedAttemptsBefore(now - options_.failed_attempt_retention, options_.batch)
        .status();
  }));
  int64_t active = -1;
  keep(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    auto count = tx.CountActiveSessions(now);
    if (!count.ok()) return count.status();
    active = *count;
    return absl::OkStatus();
  }));
  if (active >= 0) observer_->OnActiveSessions(active);
  return first;
}

void Maintenance::Start() { thread_.Start(); }

void Maintenance::Stop() { thread_.Stop(); }

}  // namespace marketplace::identity
