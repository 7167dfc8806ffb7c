#ifndef MARKETPLACE_SERVICES_SUPPORT_SLA_SCANNER_H_
#define MARKETPLACE_SERVICES_SUPPORT_SLA_SCANNER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "services/support/sla_metrics.h"
#include "services/support/ticket_store.h"
#include "services/support/tickets.h"

namespace marketplace::support {

struct SlaScannerOptions {
  absl::Duration interval = absl::Seconds(15);
  // Clocks claimed per batch; a full batch starts the next one at once.
  int batch_size = 200;
  // A claimed clock is left to this pass for this long (its transactions take milliseconds;
  // the lease matters only when a pass dies: its clocks wait this long for another).
  absl::Duration lease = absl::Minutes(1);
};

// What one pass did (this process only).
struct SlaScanResult {
  int warnings = 0;
  int breaches = 0;
  int escalations = 0;
  int cancelled = 0;  // clocks of tickets that left the clock's level, were merged or solved
  int skipped = 0;    // tickets another transaction held: taken by a later pass or replica
  bool more = false;  // the batch was full
};

// The SLA scanner: every `interval`, claims the RUNNING clocks whose warning or due time has
// passed (earliest due first, at most batch_size; TicketStore::ClaimDueClocks, so replicas take
// disjoint batches), and for each, in ONE transaction: locks the
// ticket (SKIP LOCKED: a ticket a request or another replica holds is left to a later pass),
// then the clock (the request path's lock order), evaluates the clock again at the current
// time (sla::Evaluate) and writes
//   - a warning: `warned`, support.sla_warning to the clock's party, history line SLA_WARNING;
//   - a breach: state BREACHED, support.sla_breached (metric, level, attributed_to = the clock's
//     party), history line SLA_BREACHED; for a level-1 FIRST_REPLY or NEXT_REPLY clock also the
//     escalation to level 2 with reason SLA_BREACH (Tickets::EscalateLocked, EscalateTicket's
//     own path: level-1 clocks cancelled, the OPERATOR's level-2 clocks started,
//     support.ticket_escalated).
// A clock whose ticket is no longer OPEN or AWAITING_BUYER at the clock's level (escalated,
// merged, solved, closed) is CANCELLED and fires nothing. A clock whose ticket was held is
// released for the next pass. Because the state is checked again under the ticket's lock, a
// clock met by two passes (its claim ended while the first still ran) still fires once.
class SlaScanner {
 public:
  // All must outlive the scanner; `metrics` may be null.
  SlaScanner(TicketStore* store, Tickets* tickets, const common::Clock* clock,
             SlaMetrics* metrics, SlaScannerOptions options);
  ~SlaScanner() { Stop(); }

  // One batch on the calling thread.
  absl::StatusOr<SlaScanResult> RunOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  enum class Outcome { kNothing, kWarning, kBreach, kEscalation, kCancelled, kSkipped };
  absl::StatusOr<Outcome> ScanClock(const DueClock& due, sla::ClockState* fired);

  TicketStore* store_;
  Tickets* tickets_;
  const common::Clock* clock_;
  SlaMetrics* metrics_;
  SlaScannerOptions options_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_SLA_SCANNER_H_
