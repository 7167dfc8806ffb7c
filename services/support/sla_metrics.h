#ifndef MARKETPLACE_SERVICES_SUPPORT_SLA_METRICS_H_
#define MARKETPLACE_SERVICES_SUPPORT_SLA_METRICS_H_

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "protos/marketplace/support/v1/sla.pb.h"
#include "services/support/sla/clock.h"

namespace marketplace::support {

// The SLA metrics of one support process (each replica counts what it did):
//   support_sla_clocks_total{metric,level,attributed_to,result}  clocks that reached MET or
//       BREACHED, by a reply or solution (the request path) or by the SLA scanner
//   support_sla_warnings_total{metric,level,party}  warnings the scanner wrote
//   support_sla_escalations_total  SLA_BREACH escalations the scanner made
//   support_first_reply_seconds{channel,level}  creation (level 1) or escalation (level 2) to
//       the responsible party's first public reply
// The scanner counts after its transaction committed. The request path counts when the change
// is made, inside its transaction: a call that then fails (rare: a deadlock retried, a lost
// connection) can count a clock once too often; an idempotent replay counts nothing.
class SlaMetrics {
 public:
  explicit SlaMetrics(prometheus::Registry& registry);

  // `clock` reached MET or BREACHED (other states are not counted).
  void ClockStopped(const sla::ClockState& clock);
  void Warning(const sla::ClockState& clock);
  void Escalation();
  void FirstReply(v1::Channel channel, v1::TicketLevel level, absl::Duration elapsed);

 private:
  prometheus::Family<prometheus::Counter>& clocks_;
  prometheus::Family<prometheus::Counter>& warnings_;
  prometheus::Counter& escalations_;
  prometheus::Family<prometheus::Histogram>& first_reply_;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_SLA_METRICS_H_
