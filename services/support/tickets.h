#ifndef MARKETPLACE_SERVICES_SUPPORT_TICKETS_H_
#define MARKETPLACE_SERVICES_SUPPORT_TICKETS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "services/support/sla/clock.h"
#include "services/support/sla/policy.h"
#include "services/support/actor.h"
#include "services/support/instant_refund.h"
#include "services/support/order_directory.h"
#include "services/support/sla_metrics.h"
#include "services/support/ticket_records.h"
#include "services/support/ticket_store.h"

namespace marketplace::support {

struct TicketOptions {
  // The seller's level-1 window: the buyer may escalate without a seller reply after it.
  absl::Duration l1_window = absl::Hours(48);
  // The buyer may rate this long after SOLVED.
  absl::Duration rating_window = absl::Hours(28 * 24);
  // Level 2: an agent's first public reply within this is `within_sla` in
  // support.first_response (until the SLA engine supplies the policy's targets).
  absl::Duration l2_first_reply_target = absl::Hours(24);
};

// A message to add, checked by the API (body, attachments).
struct NewMessage {
  std::string body;
  pb::MessageVisibility visibility = pb::PUBLIC;
  std::vector<AttachmentRef> attachments;
  bool await_buyer = false;
  bool await_seller = false;  // staff at level 2: starts the seller's SELLER_REPLY clock
};

struct CreateCommand {
  std::string buyer_id;  // resolved by the API (the BUYER itself, or the one named)
  std::string order_id;
  pb::Category category = pb::CATEGORY_UNSPECIFIED;
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
  std::string subject;
  NewMessage message;
};

struct CreateResult {
  TicketRecord ticket;
  bool merged = false;
};

struct ResolveCommand {
  std::string ticket_id;
  pb::Outcome outcome = pb::OUTCOME_UNSPECIFIED;
  std::optional<Amount> refund_amount;  // REFUND_PARTIAL
  std::string reason_code;
  std::string explanation;
  bool seller_at_fault = false;
};

struct UpdateCommand {
  std::string ticket_id;
  std::optional<pb::Category> category;
  std::optional<std::string> reason_code;
  std::optional<std::vector<std::string>> tags;
  bool seller_at_fault = false;  // the path was given (only true is accepted)
};

// The ticket rules (support.proto): who may do what to a ticket in which state, the merge
// rule, escalation, resolution with its refund command, reopening, rating, and the events
// each change emits. Every method runs inside the caller's unit of work; a refusal leaves it
// to roll back, so nothing is written.
class Tickets {
 public:
  // `clock` must outlive the object.
  Tickets(const common::Clock* clock, TicketOptions options) : clock_(clock), options_(options) {}

  const common::Clock* clock() const { return clock_; }

  // `order`: the buyer's payment for the order, looked up before the transaction.
  absl::StatusOr<CreateResult> Create(TicketTransaction& tx, const Actor& actor,
                                      const CreateCommand& command, const OrderPayment& order);
  absl::StatusOr<MessageRecord> AddMessage(TicketTransaction& tx, const Actor& actor,
                                           const std::string& ticket_id,
                                           const NewMessage& message);
  absl::StatusOr<TicketRecord> Escalate(TicketTransaction& tx, const Actor& actor,
                                        const std::string& ticket_id, const std::string& note);
  absl::StatusOr<TicketRecord> Assign(TicketTransaction& tx, const Actor& actor,
                                      const std::string& ticket_id, const std::string& assignee,
                                      bool unassign);
  absl::StatusOr<TicketRecord> Resolve(TicketTransaction& tx, const Actor& actor,
                                       const ResolveCommand& command);
  absl::StatusOr<TicketRecord> Reopen(TicketTransaction& tx, const Actor& actor,
                                      const std::string& ticket_id, const std::string& body);
  absl::StatusOr<TicketRecord> Merge(TicketTransaction& tx, const Actor& actor,
                                     const std::string& target_id, const std::string& source_id);
  absl::StatusOr<TicketRecord> Update(TicketTransaction& tx, const Actor& actor,
                                      const UpdateCommand& command);
  absl::StatusOr<TicketRecord> Rate(TicketTransaction& tx, const Actor& actor,
                                    const std::string& ticket_id, int score,
                                    const std::string& comment);

  // Reads: NOT_FOUND (TICKET_NOT_FOUND) unless the actor may see `ticket`, the one read for
  // `ticket_id`; the same answer, message included, whether it exists or not.
  absl::Status CheckVisible(const Actor& actor, const std::string& ticket_id,
                            const std::optional<TicketRecord>& ticket) const;
  // The ticket as of now: a SOLVED ticket past its close window is CLOSED.
  TicketRecord AsOfNow(TicketRecord ticket) const;

  const TicketOptions& options() const { return options_; }

  // Where SLA clock results and first replies are counted (optional; must outlive the object).
  void set_metrics(SlaMetrics* metrics) { metrics_ = metrics; }

  // For background work (sla_scanner.*, ticket_closer.*), on a ticket the caller has locked in
  // `tx` (ticket row first, then its clocks: the lock order of every request):
  //
  // Escalates `t` (at level 1, not SOLVED or CLOSED) to level 2 exactly as EscalateTicket does:
  // level-1 clocks still RUNNING or PAUSED are CANCELLED, the OPERATOR's level-2 clocks start,
  // an AWAITING_BUYER ticket goes back to OPEN, a history line ESCALATED (`reason`, `note`),
  // and support.ticket_escalated. `t` is saved.
  absl::Status EscalateLocked(TicketTransaction& tx, TicketRecord& t, const Actor& actor,
                              const std::string& reason, const std::string& note);
  // A SOLVED ticket past its close window becomes CLOSED (closed_at = solved_at + the window,
  // history line STATUS "SOLVED -> CLOSED", saved); returns whether it did.
  absl::StatusOr<bool> CloseIfDue(TicketTransaction& tx, TicketRecord& t);

 private:
  // The ticket, locked, as of now (closed when due, the change written); NOT_FOUND when
  // missing or not visible to the actor.
  absl::StatusOr<TicketRecord> LoadForWrite(TicketTransaction& tx, const Actor& actor,
                                            const std::string& ticket_id);
  // Appends a history line and stamps updated_at.
  absl::Status Record(TicketTransaction& tx, TicketRecord& ticket, const Actor& actor,
                      absl::string_view kind, std::string detail);
  // Writes a message of `actor` onto `ticket` (counts kept).
  absl::StatusOr<MessageRecord> WriteMessage(TicketTransaction& tx, TicketRecord& ticket,
                                             const Actor& actor, const NewMessage& message);
  // Staff found the seller at fault on a claim settled in the buyer's favour: it counts
  // against the seller (support.claim_updated) and the ticket's guarantee-funded refunds are
  // recorded to be charged to the seller. The caller saves the ticket.
  absl::Status FindSellerAtFault(TicketTransaction& tx, TicketRecord& t, const Actor& actor,
                                 absl::Time now);
  absl::Status EmitClaimUpdated(TicketTransaction& tx, const TicketRecord& ticket,
                                absl::string_view cause);
  absl::Status EmitEscalated(TicketTransaction& tx, const TicketRecord& ticket);
  // The SLA policy in force, read in `tx` (validated once per version, then cached: versions
  // never change); nullptr before the seed (then no clock runs).
  absl::StatusOr<std::shared_ptr<const sla::Policy>> PolicyIn(TicketTransaction& tx);
  // One stored version, read in `tx` and validated only when not cached yet (versions never
  // change; INTERNAL when it is not stored).
  absl::StatusOr<std::shared_ptr<const sla::Policy>> PolicyVersion(TicketTransaction& tx,
                                                                   int64_t version);
  enum class ClockAction { kMeet, kPause, kResume, kCancel };
  // Applies `action` to the ticket's `metric` clock at its level at `now`, when there is one
  // (pause and resume count with the policy version the clock started under); kCancel stops a
  // RUNNING or PAUSED clock without a result.
  absl::Status DriveClock(TicketTransaction& tx, const TicketRecord& t, v1::SlaMetric metric,
                          ClockAction action, absl::Time now);
  // Starts the ticket's `metric` clock at its level for `party` when the policy has a target,
  // unless one is RUNNING or PAUSED (a finished row is started again).
  absl::Status StartUnlessRunning(TicketTransaction& tx, const TicketRecord& t,
                                  v1::SlaMetric metric, v1::SlaParty party, absl::Time now);
  // A SOLVED ticket opened again (ReopenTicket, the buyer's message, a merged CreateTicket):
  // its level's REQUESTER_WAIT starts again, and the buyer's message waits for the responsible
  // party's reply (NEXT_REPLY, or FIRST_REPLY when it never replied at this level).
  // When a ticket solved at `solved_at` closes: the policy's close_after in force.
  absl::StatusOr<absl::Time> ClosesAt(TicketTransaction& tx, absl::Time solved_at);
  absl::Status RestartOnReopen(TicketTransaction& tx, const TicketRecord& t, absl::Time now);
  // Starts the clocks of `ticket` at `level` for every metric in `metrics` the policy has a
  // target for, at `now`, for `party`; returns the L1_WINDOW clock's due_at when one started.
  absl::StatusOr<std::optional<absl::Time>> StartClocks(
      TicketTransaction& tx, const std::string& ticket_id, v1::Channel channel,
      v1::TicketLevel level, const std::vector<v1::SlaMetric>& metrics, v1::SlaParty party,
      absl::Time now);

  // "Right unless too often" (instant_refund.h), decided inside CreateTicket's transaction
  // for a new ticket: the decision (nullopt when the claim goes the normal way).
  absl::StatusOr<std::optional<InstantRefundDecision>> DecideInstantRefundIn(
      TicketTransaction& tx, const CreateCommand& command, const OrderPayment& order,
      absl::Time now);
  // Resolves the new ticket `t` at once: REFUND_FULL of the payment, funded by the guarantee
  // fund, not counting against the seller; refund command and support.ticket_resolved.
  absl::Status ResolveAtOnce(TicketTransaction& tx, TicketRecord& t,
                             const InstantRefundDecision& decision, absl::Time now);

  const common::Clock* clock_;
  TicketOptions options_;
  SlaMetrics* metrics_ = nullptr;
  absl::Mutex mu_;
  std::map<int64_t, std::shared_ptr<const sla::Policy>> policies_ ABSL_GUARDED_BY(mu_);
};

// The role `actor` writes with on `ticket`.
pb::AuthorRole RoleOn(const Actor& actor, const TicketRecord& ticket);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_TICKETS_H_
