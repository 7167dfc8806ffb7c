#include "services/support/backlog_metrics.h"

#include <map>
#include <string>
#include <utility>

#include "common/logging.h"
#include "prometheus/gauge.h"

namespace marketplace::support {

BacklogMetrics::BacklogMetrics(TicketStore* store, prometheus::Registry& registry,
                               absl::Duration interval)
    : store_(store),
      backlog_(prometheus::BuildGauge()
                   .Name("support_backlog")
                   .Help("Tickets not CLOSED, by level and status.")
                   .Register(registry)),
      thread_(interval, [this] {
        if (absl::Status s = RefreshOnce(); !s.ok()) {
          common::LogWarn("support_backlog refresh failed", {{"error", s.ToString()}});
        }
        return false;
      }) {}

absl::Status BacklogMetrics::RefreshOnce() {
  absl::StatusOr<std::vector<TicketStore::BacklogCount>> counts = store_->CountBacklog();
  if (!counts.ok()) return counts.status();
  std::map<std::pair<int, int>, int64_t> by_key;
  for (const auto& c : *counts) by_key[{c.level, c.status}] = c.tickets;
  // Every combination is written, so a queue that emptied shows 0.
  for (v1::TicketLevel level : {v1::L1_SELLER, v1::L2_OPERATOR}) {
    for (pb::TicketStatus status : {pb::OPEN, pb::AWAITING_BUYER, pb::SOLVED}) {
      auto it = by_key.find({level, status});
      backlog_
          .Add({{"level", v1::TicketLevel_Name(level)}, {"status", pb::TicketStatus_Name(status)}})
          .Set(it == by_key.end() ? 0.0 : static_cast<double>(it->second));
    }
  }
  return absl::OkStatus();
}

}  // namespace marketplace::support
