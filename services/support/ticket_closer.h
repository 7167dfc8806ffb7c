#ifndef MARKETPLACE_SERVICES_SUPPORT_TICKET_CLOSER_H_
#define MARKETPLACE_SERVICES_SUPPORT_TICKET_CLOSER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "services/support/ticket_store.h"
#include "services/support/tickets.h"

namespace marketplace::support {

struct TicketCloserOptions {
  absl::Duration interval = absl::Seconds(15);
  int batch_size = 200;
};

// What one pass did (this process only).
struct TicketCloseResult {
  int closed = 0;
  int csat_requests = 0;
  bool more = false;  // the batch was full
};

// The background pass over solved tickets, every `interval`:
//   - a SOLVED ticket becomes CLOSED at its closes_at (solved_at + the SLA policy's
//     close_after in force at SOLVED, default 4 days)
//     (Tickets::CloseIfDue, the rule every request applies when it meets such a ticket: history
//     line STATUS "SOLVED -> CLOSED"); the buyer's ReopenTicket then answers
//     REOPEN_WINDOW_PASSED;
//   - a SOLVED or CLOSED ticket (not merged) the SLA policy's `csat_delay` (default 24 hours)
//     after solved_at gets support.csat_requested, once per ticket (tickets.csat_requested_at).
// Each ticket in one transaction, its row locked with SKIP LOCKED (replicas share the work).
class TicketCloser {
 public:
  // All must outlive the object.
  TicketCloser(TicketStore* store, Tickets* tickets, const common::Clock* clock,
               TicketCloserOptions options);
  ~TicketCloser() { Stop(); }

  absl::StatusOr<TicketCloseResult> RunOnce();
  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  TicketStore* store_;
  Tickets* tickets_;
  const common::Clock* clock_;
  TicketCloserOptions options_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_TICKET_CLOSER_H_
