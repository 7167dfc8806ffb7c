#include "services/support/sla/clock.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::support::sla {
namespace {

// The time left (in the clock's mode) at which the warning is due.
absl::Duration WarningLead(const ClockState& clock) {
  return clock.target - clock.target * clock.warn_percent / 100;
}

bool Stopped(const ClockState& clock) {
  return clock.state == ClockRunState::kMet || clock.state == ClockRunState::kBreached ||
         clock.state == ClockRunState::kCancelled;
}

absl::Status CheckCanChange(const ClockState& clock, const Policy& policy) {
  if (Stopped(clock)) {
    return common::FailedPrecondition(
        "SLA_CLOCK_STOPPED",
        absl::StrCat("the ", v1::SlaMetric_Name(clock.metric), " clock is ",
                     ClockRunStateName(clock.state), " and cannot change any more"));
  }
  if (clock.mode == v1::BUSINESS && policy.version() != clock.policy_version) {
    return common::FailedPrecondition(
        "SLA_POLICY_VERSION_MISMATCH",
        absl::StrCat("the clock counts business time of SLA policy version ", clock.policy_version,
                     ", not ", policy.version()));
  }
  return absl::OkStatus();
}

ClockState Breached(ClockState clock) {
  clock.state = ClockRunState::kBreached;
  clock.stopped_at = clock.due_at;
  clock.remaining = absl::ZeroDuration();
  return clock;
}

}  // namespace

absl::string_view ClockRunStateName(ClockRunState state) {
  switch (state) {
    case ClockRunState::kRunning:
      return "RUNNING";
    case ClockRunState::kPaused:
      return "PAUSED";
    case ClockRunState::kMet:
      return "MET";
    case ClockRunState::kBreached:
      return "BREACHED";
    case ClockRunState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

std::optional<ClockRunState> ParseClockRunState(absl::string_view name) {
  for (ClockRunState state : {ClockRunState::kRunning, ClockRunState::kPaused, ClockRunState::kMet,
                              ClockRunState::kBreached, ClockRunState::kCancelled}) {
    if (ClockRunStateName(state) == name) return state;
  }
  return std::nullopt;
}

v1::SlaParty ResponsibleParty(v1::TicketLevel level, v1::SlaParty await_party) {
  switch (level) {
    case v1::L1_SELLER:
      return v1::SELLER;
    case v1::L2_OPERATOR:
      return await_party == v1::SELLER ? v1::SELLER : v1::OPERATOR;
    default:
      return v1::SLA_PARTY_UNSPECIFIED;
  }
}

bool EscalatesOnBreach(const ClockState& clock) {
  return clock.level == v1::L1_SELLER &&
         (clock.metric == v1::FIRST_REPLY || clock.metric == v1::NEXT_REPLY);
}

absl::StatusOr<ClockState> StartClock(const Policy& policy, v1::TicketLevel level,
                                      v1::Channel channel, v1::SlaMetric metric, v1::SlaParty party,
                                      absl::Time now) {
  common::Violations violations;
  if (level != v1::L1_SELLER && level != v1::L2_OPERATOR) {
    violations.Add("level", "must be L1_SELLER or L2_OPERATOR");
  }
  if (metric == v1::SLA_METRIC_UNSPECIFIED || !v1::SlaMetric_IsValid(metric)) {
    violations.Add("metric",
                   "must be FIRST_REPLY, NEXT_REPLY, REQUESTER_WAIT, L1_WINDOW or SELLER_REPLY");
  }
  if (party != v1::SELLER && party != v1::OPERATOR) {
    violations.Add("party", "must be SELLER or OPERATOR");
  }
  if (!violations.empty()) return violations.Status();
  const std::optional<Target> target = policy.TargetFor(level, channel, metric);
  if (!target) {
    return common::FailedPrecondition(
        "NO_SLA_TARGET",
        absl::StrCat("SLA policy version ", policy.version(), " has no ",
                     v1::SlaMetric_Name(metric), " target for ", v1::TicketLevel_Name(level),
                     " on ", v1::Channel_Name(channel)));
  }
  ClockState clock;
  clock.metric = metric;
  clock.level = level;
  clock.party = party;
  clock.state = ClockRunState::kRunning;
  clock.mode = target->mode;
  clock.policy_version = policy.version();
  clock.target = target->duration;
  clock.warn_percent = policy.warn_percent();
  clock.started_at = now;
  clock.due_at = policy.Add(clock.mode, now, clock.target);
  clock.warn_at = policy.Add(clock.mode, now, clock.target - WarningLead(clock));
  return clock;
}

absl::StatusOr<ClockState> PauseClock(const ClockState& clock, absl::Time now,
                                      const Policy& policy) {
  if (clock.state == ClockRunState::kPaused) return clock;
  if (absl::Status status = CheckCanChange(clock, policy); !status.ok()) return status;
  if (now >= clock.due_at) return Breached(clock);
  ClockState paused = clock;
  paused.state = ClockRunState::kPaused;
  paused.remaining =
      std::clamp(policy.Between(clock.mode, now, clock.due_at), absl::ZeroDuration(), clock.target);
  paused.due_at = absl::InfiniteFuture();
  paused.warn_at = absl::InfiniteFuture();
  return paused;
}

absl::StatusOr<ClockState> ResumeClock(const ClockState& clock, absl::Time now,
                                       const Policy& policy) {
  if (clock.state == ClockRunState::kRunning) return clock;
  if (absl::Status status = CheckCanChange(clock, policy); !status.ok()) return status;
  ClockState running = clock;
  running.state = ClockRunState::kRunning;
  running.due_at = policy.Add(clock.mode, now, clock.remaining);
  const absl::Duration lead = WarningLead(clock);
  running.warn_at =
      clock.remaining > lead ? policy.Add(clock.mode, now, clock.remaining - lead) : now;
  running.remaining = absl::ZeroDuration();
  return running;
}

ClockState MeetClock(const ClockState& clock, absl::Time now) {
  if (Stopped(clock)) return clock;
  if (clock.state == ClockRunState::kRunning && now >= clock.due_at) return Breached(clock);
  ClockState met = clock;
  met.state = ClockRunState::kMet;
  met.stopped_at = now;
  met.remaining = absl::ZeroDuration();
  return met;
}

ClockEvent Evaluate(const ClockState& clock, absl::Time now) {
  if (clock.state != ClockRunState::kRunning) return ClockEvent::kNone;
  if (now >= clock.due_at) return ClockEvent::kBreach;
  if (!clock.warned && now >= clock.warn_at) return ClockEvent::kWarning;
  return ClockEvent::kNone;
}

ClockState ApplyEvent(const ClockState& clock, ClockEvent event) {
  switch (event) {
    case ClockEvent::kNone:
      return clock;
    case ClockEvent::kWarning: {
      ClockState warned = clock;
      warned.warned = true;
      return warned;
    }
    case ClockEvent::kBreach:
      return clock.state == ClockRunState::kRunning ? Breached(clock) : clock;
  }
  return clock;
}

ClockState CancelClock(const ClockState& clock, absl::Time now) {
  if (Stopped(clock)) return clock;
  ClockState cancelled = clock;
  cancelled.state = ClockRunState::kCancelled;
  cancelled.stopped_at = now;
  cancelled.remaining = absl::ZeroDuration();
  return cancelled;
}

absl::Time NextScanAt(const ClockState& clock) {
  if (clock.state != ClockRunState::kRunning) return absl::InfiniteFuture();
  return clock.warned ? clock.due_at : std::min(clock.warn_at, clock.due_at);
}

}  // namespace marketplace::support::sla
