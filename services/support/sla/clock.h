#ifndef MARKETPLACE_SERVICES_SUPPORT_SLA_CLOCK_H_
#define MARKETPLACE_SERVICES_SUPPORT_SLA_CLOCK_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protos/marketplace/support/v1/sla.pb.h"
#include "services/support/sla/policy.h"

namespace marketplace::support::sla {

// The SLA clock of one ticket, metric and level, as plain values: the functions below take a
// ClockState and the current time (from a common::Clock) and return the next ClockState; they
// never read a clock, a database or a global. The store keeps one row per ClockState.
//
//   StartClock ──> RUNNING ──PauseClock──> PAUSED ──ResumeClock──> RUNNING
//                     │  └──MeetClock / due passed──> MET or BREACHED (final)
//                     └──CancelClock (RUNNING or PAUSED)──> CANCELLED (final)
//
// Time is counted in the target's mode: wall time (CALENDAR) or the policy's business time
// (BUSINESS). Paused time never counts.

enum class ClockRunState {
  kRunning,
  kPaused,
  kMet,       // final: the party acted before due_at
  kBreached,  // final: due_at passed first
  // final: stopped without a result, because the ticket left the clock's level (escalation),
  // was merged into another, or was solved or closed before the clock fired. Neither MET nor
  // BREACHED: it counts for no party.
  kCancelled,
};

// "RUNNING", "PAUSED", "MET", "BREACHED", "CANCELLED": the spelling stored and shown.
absl::string_view ClockRunStateName(ClockRunState state);
std::optional<ClockRunState> ParseClockRunState(absl::string_view name);

struct ClockState {
  v1::SlaMetric metric = v1::SLA_METRIC_UNSPECIFIED;
  v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
  // Whose clock it is; a breach is attributed to this party (see ResponsibleParty).
  v1::SlaParty party = v1::SLA_PARTY_UNSPECIFIED;
  ClockRunState state = ClockRunState::kRunning;
  // Of the target the clock started under; clocks keep them when the policy changes.
  v1::SlaMode mode = v1::SLA_MODE_UNSPECIFIED;
  int64_t policy_version = 0;
  absl::Duration target;  // the full target, counted in `mode`
  int warn_percent = 0;   // of the policy version, 1-99
  absl::Time started_at;
  // While RUNNING: when the target is missed (the first instant the clock is BREACHED) and
  // when the warning is due. InfiniteFuture() while PAUSED (the store keeps NULL); kept as they
  // were once MET or BREACHED.
  absl::Time due_at = absl::InfiniteFuture();
  absl::Time warn_at = absl::InfiniteFuture();
  // While PAUSED: the time left, counted in `mode` (business time for BUSINESS), > 0. Zero in
  // every other state.
  absl::Duration remaining;
  // Whether the pre-breach warning was recorded (it is sent at most once per clock).
  bool warned = false;
  // MET: when it was met. BREACHED: due_at, the moment the target was missed. Else
  // InfiniteFuture().
  absl::Time stopped_at = absl::InfiniteFuture();
};

// What a scan of a clock finds due now.
enum class ClockEvent {
  kNone,
  kWarning,  // warn_percent of the target has elapsed: warn the party (once)
  kBreach,   // the target has elapsed: the party missed it
};

// Who answers for a clock. L1_SELLER: the SELLER. L2_OPERATOR: the OPERATOR, except a clock
// started by an agent's request to the seller (await_party = SELLER), which is the SELLER's.
// SLA_PARTY_UNSPECIFIED for an unknown level.
v1::SlaParty ResponsibleParty(v1::TicketLevel level, v1::SlaParty await_party);

// Whether a breach of `clock` escalates the ticket to L2_OPERATOR (reason SLA_BREACH): a
// level-1 FIRST_REPLY or NEXT_REPLY clock. A passed L1_WINDOW only allows the buyer to escalate;
// level-2 breaches have nowhere further to go.
bool EscalatesOnBreach(const ClockState& clock);

// A new RUNNING clock for `metric` at `level` on a ticket from `channel`, started at `now`
// under `policy` (its version, warn_percent and the target Policy::TargetFor finds):
// due_at = now + target and warn_at = now + warn_percent % of the target, both counted in the
// target's mode (a 6 h BUSINESS target warns after 4.5 h of business time).
// INVALID_ARGUMENT naming `level`, `metric` or `party` when one is unspecified or unknown
// (party must be SELLER or OPERATOR); FAILED_PRECONDITION reason NO_SLA_TARGET when the policy
// has no target for it (then no clock runs for that metric: check TargetFor first).
absl::StatusOr<ClockState> StartClock(const Policy& policy, v1::TicketLevel level,
                                      v1::Channel channel, v1::SlaMetric metric, v1::SlaParty party,
                                      absl::Time now);

// RUNNING -> PAUSED at `now`, keeping the time left (counted in the clock's mode) in
// `remaining`. A clock already past due_at is not paused but BREACHED (stopped_at = due_at):
// handle it like a breach the scanner found. PAUSED: returned unchanged. MET, BREACHED or
// CANCELLED:
// FAILED_PRECONDITION reason SLA_CLOCK_STOPPED. For a BUSINESS clock `policy` must be the
// version the clock started under (its schedule counts), else FAILED_PRECONDITION reason
// SLA_POLICY_VERSION_MISMATCH; a CALENDAR clock does not look at it.
absl::StatusOr<ClockState> PauseClock(const ClockState& clock, absl::Time now,
                                      const Policy& policy);

// PAUSED -> RUNNING at `now`: due_at = now + remaining; warn_at = the instant at which the
// time left falls to (100 - warn_percent) % of the target, or `now` if it already has (a
// warning not yet recorded is then due at once). RUNNING: returned unchanged. MET or
// BREACHED, and the policy rule: as PauseClock.
absl::StatusOr<ClockState> ResumeClock(const ClockState& clock, absl::Time now,
                                       const Policy& policy);

// The party acted at `now` (first reply, next reply, solved...). RUNNING: MET when
// now < due_at, else BREACHED (stopped_at = due_at). PAUSED: MET (paused time never counts,
// and a paused clock has time left). MET or BREACHED: returned unchanged (a stopped clock
// stays stopped).
ClockState MeetClock(const ClockState& clock, absl::Time now);

// What is due for `clock` at `now`: kBreach when it is RUNNING and now >= due_at; else
// kWarning when it is RUNNING, not warned and now >= warn_at; else kNone. When both passed
// (a late scan) only kBreach is reported: a warning after the breach helps nobody.
ClockEvent Evaluate(const ClockState& clock, absl::Time now);

// Records what Evaluate found: kWarning sets `warned`; kBreach makes a RUNNING clock BREACHED
// (stopped_at = due_at); kNone changes nothing.
ClockState ApplyEvent(const ClockState& clock, ClockEvent event);

// RUNNING or PAUSED -> CANCELLED at `now` (stopped_at = now, nothing left): the ticket left the
// clock's level or can no longer be answered there. MET, BREACHED or CANCELLED: unchanged.
ClockState CancelClock(const ClockState& clock, absl::Time now);

// When the clock next needs a scan: warn_at (not yet warned) or due_at while RUNNING;
// InfiniteFuture() otherwise. The scanner's "due" column.
absl::Time NextScanAt(const ClockState& clock);

}  // namespace marketplace::support::sla

#endif  // MARKETPLACE_SERVICES_SUPPORT_SLA_CLOCK_H_
