#ifndef MARKETPLACE_SERVICES_SUPPORT_BACKLOG_METRICS_H_
#define MARKETPLACE_SERVICES_SUPPORT_BACKLOG_METRICS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/periodic.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/support/ticket_store.h"

namespace marketplace::support {

// support_backlog{level="L1_SELLER|L2_OPERATOR",status="OPEN|AWAITING_BUYER|SOLVED"}: tickets
// not CLOSED, read from the database every `interval` (so every replica shows the same).
class BacklogMetrics {
 public:
  // `store` and `registry` must outlive the object.
  BacklogMetrics(TicketStore* store, prometheus::Registry& registry,
                 absl::Duration interval = absl::Seconds(15));
  ~BacklogMetrics() { Stop(); }

  // One refresh on the calling thread.
  absl::Status RefreshOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  TicketStore* store_;
  prometheus::Family<prometheus::Gauge>& backlog_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_BACKLOG_METRICS_H_
