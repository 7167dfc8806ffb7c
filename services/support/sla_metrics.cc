#include "services/support/sla_metrics.h"

#include <string>

namespace marketplace::support {

SlaMetrics::SlaMetrics(prometheus::Registry& registry)
    : clocks_(prometheus::BuildCounter()
                  .Name("support_sla_clocks_total")
                  .Help("SLA clocks that reached MET or BREACHED, by metric, level, party and "
                        "result.")
                  .Register(registry)),
      warnings_(prometheus::BuildCounter()
                    .Name("support_sla_warnings_total")
                    .Help("SLA pre-breach warnings written (support.sla_warning).")
                    .Register(registry)),
      escalations_(prometheus::BuildCounter()
                       .Name("support_sla_escalations_total")
                       .Help("Tickets escalated to level 2 because a level-1 clock was breached.")
                       .Register(registry)
                       .Add({})),
      first_reply_(prometheus::BuildHistogram()
                       .Name("support_first_reply_seconds")
                       .Help("Seconds from creation (level 1) or escalation (level 2) to the "
                             "responsible party's first public reply.")
                       .Register(registry)) {}

void SlaMetrics::ClockStopped(const sla::ClockState& c) {
  if (c.state != sla::ClockRunState::kMet && c.state != sla::ClockRunState::kBreached) return;
  clocks_
      .Add({{"metric", v1::SlaMetric_Name(c.metric)},
            {"level", v1::TicketLevel_Name(c.level)},
            {"attributed_to", v1::SlaParty_Name(c.party)},
            {"result", std::string(sla::ClockRunStateName(c.state))}})
      .Increment();
}

void SlaMetrics::Warning(const sla::ClockState& c) {
  warnings_
      .Add({{"metric", v1::SlaMetric_Name(c.metric)},
            {"level", v1::TicketLevel_Name(c.level)},
            {"party", v1::SlaParty_Name(c.party)}})
      .Increment();
}

void SlaMetrics::Escalation() { escalations_.Increment(); }

void SlaMetrics::FirstReply(v1::Channel channel, v1::TicketLevel level, absl::Duration elapsed) {
  // 1 minute to 7 days.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 6 * 3600, 12 * 3600, 24 * 3600,
      48 * 3600, 72 * 3600, 7 * 24 * 3600};
  first_reply_
      .Add({{"channel", v1::Channel_Name(channel)}, {"level", v1::TicketLevel_Name(level)}},
           kBuckets)
      .Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace marketplace::support
