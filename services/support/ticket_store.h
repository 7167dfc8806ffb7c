#ifndef MARKETPLACE_SERVICES_SUPPORT_TICKET_STORE_H_
#define MARKETPLACE_SERVICES_SUPPORT_TICKET_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/idempotency/idempotency.h"
#include "common/idempotency/request_id.h"
#include "google/protobuf/message.h"
#include "protos/marketplace/support/v1/sla.pb.h"
#include "services/support/sla/clock.h"
#include "services/support/ticket_records.h"

namespace marketplace::support {

// The unit of work of one mutating call: every read takes the row's lock, every write and
// every event commits together with the call's idempotency key, or nothing does.
class TicketTransaction {
 public:
  virtual ~TicketTransaction() = default;

  // The ticket, locked for the rest of the transaction (nullopt: no such ticket).
  [[nodiscard]] virtual absl::StatusOr<std::optional<TicketRecord>> LockTicket(
      absl::string_view ticket_id) = 0;
  // The buyer's newest ticket about the order, locked (nullopt: none). No lock is taken
  // where there is no ticket: two concurrent CreateTicket calls for one order are kept to one
  // ticket by InsertTicket.
  [[nodiscard]] virtual absl::StatusOr<std::optional<TicketRecord>> LockLatestForOrder(
      absl::string_view buyer_id, absl::string_view order_id) = 0;
  // A ticket about an order that has another with the same follow_up_of (the order's first,
  // or a second follow-up of one ticket: a concurrent call opened it first) is an ABORTED
  // RetryableConflict: the transaction runs again and finds that ticket.
  [[nodiscard]] virtual absl::Status InsertTicket(const TicketRecord& ticket) = 0;
  // Writes every mutable field of `ticket` (found by ticket_id).
  [[nodiscard]] virtual absl::Status SaveTicket(const TicketRecord& ticket) = 0;
  [[nodiscard]] virtual absl::Status InsertMessage(const MessageRecord& message) = 0;
  // Line `seq` (1, 2, ...) of the ticket's history.
  [[nodiscard]] virtual absl::Status AppendHistory(absl::string_view ticket_id, int seq,
                                                   const ChangeRecord& change) = 0;
  // Every message of the ticket, internal ones included, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<MessageRecord>> Messages(
      absl::string_view ticket_id) = 0;
  [[nodiscard]] virtual absl::Status InsertRefundCommand(const RefundCommand& command) = 0;
  // Records the answer to a payments call made under a claim of ClaimDueRefunds: sets the
  // command's state (PENDING_REFUND again with a later next attempt, or its final REFUNDED /
  // REFUND_REFUSED) and counts the attempt, only while the command is still as `claimed` was
  // claimed: PENDING_REFUND, leased until `claimed_until` (the claim's now + lease), its
  // attempts unchanged. Returns whether it was written; false (nothing written) once another
  // pass has claimed or recorded the command after the lease ended.
  [[nodiscard]] virtual absl::StatusOr<bool> UpdateRefundCommand(const RefundCommand& claimed,
                                                                 absl::Time claimed_until,
                                                                 pb::RefundState state,
                                                                 absl::Time next_attempt_at) = 0;
  // The SLA policy version in force (the highest), locked so that two concurrent updates
  // serialize; nullopt before the seed.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::SlaPolicy>> LockCurrentSlaPolicy() = 0;
  // Stores `policy` as its version (ALREADY_EXISTS-free: the caller locked the current one).
  [[nodiscard]] virtual absl::Status InsertSlaPolicy(const v1::SlaPolicy& policy) = 0;
  // The number of the SLA policy version in force (the highest stored), read in this
  // transaction without a lock; nullopt before the seed.
  [[nodiscard]] virtual absl::StatusOr<std::optional<int64_t>> CurrentSlaPolicyVersion() = 0;
  // One stored version of the SLA policy, read in this transaction; nullopt when missing.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::SlaPolicy>> ReadSlaPolicyVersion(
      int64_t version) = 0;
  // SLA clock rows (one per ticket, metric and level), all in one statement; `at` is the
  // rows' updated_at. Nothing is written for an empty list.
  [[nodiscard]] virtual absl::Status InsertClocks(absl::string_view ticket_id,
                                                  absl::Span<const sla::ClockState> clocks,
                                                  absl::Time at) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<sla::ClockState>> LockClock(
      absl::string_view ticket_id, v1::SlaMetric metric, v1::TicketLevel level) = 0;
  [[nodiscard]] virtual absl::Status SaveClock(absl::string_view ticket_id,
                                               const sla::ClockState& clock, absl::Time at) = 0;
  // Adds an event to the outbox (topic "support.<fact>", key the ticket id).
  [[nodiscard]] virtual absl::Status Emit(absl::string_view topic, absl::string_view key,
                                          const google::protobuf::Message& payload) = 0;
  // The buyer's paid orders held since `since`, their rows locked for the rest of the
  // transaction (so two claims of one buyer decide their instant refunds one after the other).
  [[nodiscard]] virtual absl::StatusOr<int64_t> LockPaidOrderCount(absl::string_view buyer_id,
                                                                   absl::Time since) = 0;
  // The buyer's claim tickets (is_claim) created since `since`, merged ones not counted; a
  // locking read, so it counts tickets committed after the transaction's snapshot.
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountClaims(absl::string_view buyer_id,
                                                            absl::Time since) = 0;
  // Minor units of the refunds support recorded for `payment_id` on any ticket of the buyer's
  // order (follow-ups too), those payments refused left out: what REFUND_FULL does not ask
  // for again. A plain read: payments is the last guard of what remains.
  [[nodiscard]] virtual absl::StatusOr<int64_t> RefundedOfPayment(absl::string_view buyer_id,
                                                                  absl::string_view order_id,
                                                                  absl::string_view payment_id) = 0;
  // The ErrorInfo reason of payments' refusal of a refund command (e.g.
  // REFUND_EXCEEDS_SELLER_BALANCE), kept on the command.
  [[nodiscard]] virtual absl::Status SetRefundResultReason(absl::string_view request_id,
                                                           absl::string_view reason) = 0;
  // Payments' refund id of the refund a command made (kept for ChargeSellerForRefund).
  [[nodiscard]] virtual absl::Status SetPaymentsRefundId(absl::string_view request_id,
                                                         absl::string_view refund_id) = 0;
  // The seller was found at fault: the ticket's GUARANTEE_FUND refund commands not charged
  // yet (and not refused) are marked to be charged to the seller; returns how many.
  [[nodiscard]] virtual absl::StatusOr<int> MarkGuaranteeRefundsForCharge(
      absl::string_view ticket_id, absl::string_view decided_by, absl::Time now) = 0;
  // A charge's final result (kCharged or kNotCharged with payments' reason), written only
  // while the charge is still as `claimed` was claimed by ClaimDueCharges: to charge, leased
  // until `claimed_until` (the claim's now + lease), its attempt and calls unchanged. Returns
  // whether it was written.
  [[nodiscard]] virtual absl::StatusOr<bool> FinishCharge(const ChargeCommand& claimed,
                                                          absl::Time claimed_until,
                                                          SellerChargeState state,
                                                          const SellerCharge& charge,
                                                          absl::string_view reason) = 0;
  // Tries the charge again at `next_at`: with a new request id when `next_request_id` (payments
  // recorded nothing: INSUFFICIENT_AVAILABLE_BALANCE), else with the same one (no answer).
  // Under the same condition as FinishCharge; returns whether it was written.
  [[nodiscard]] virtual absl::StatusOr<bool> RetryCharge(const ChargeCommand& claimed,
                                                         absl::Time claimed_until,
                                                         absl::Time next_at,
                                                         bool next_request_id) = 0;

  // --- background workers (sla_scanner.*, ticket_closer.*) ---

  // The ticket, locked like LockTicket, unless another transaction holds its lock (SKIP
  // LOCKED): then `skipped` is set and nothing is returned. Replicas scanning the same rows
  // share them this way, and a request holding the ticket is not waited for.
  [[nodiscard]] virtual absl::StatusOr<std::optional<TicketRecord>> TryLockTicket(
      absl::string_view ticket_id, bool* skipped) = 0;
  // Records that the ticket's satisfaction request was written at `at`; false (nothing
  // changed) when one was recorded before. Call with the ticket locked.
  [[nodiscard]] virtual absl::StatusOr<bool> MarkCsatRequested(absl::string_view ticket_id,
                                                               absl::Time at) = 0;
};

// A clock the scanner should look at (its warning or due time has passed when it was read).
struct DueClock {
  std::string ticket_id;
  v1::SlaMetric metric = v1::SLA_METRIC_UNSPECIFIED;
  v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
};

// ListTickets' filters, after the caller's narrowing.
struct TicketFilter {
  std::string buyer_id;   // non-empty: only this buyer's
  std::string seller_id;  // non-empty: only this seller's
  v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
  // SOLVED and CLOSED as of `now`: a SOLVED ticket past its closes_at is CLOSED (as a read
  // shows it) before the background pass records it.
  pb::TicketStatus status = pb::TICKET_STATUS_UNSPECIFIED;
  absl::Time now = absl::InfinitePast();
  std::string assignee_id;
  pb::Category category = pb::CATEGORY_UNSPECIFIED;
};

// Keyset position in ListTickets' order (sort_at, ticket_id).
struct TicketCursor {
  absl::Time sort_at;
  std::string ticket_id;
};

// The counts behind GetComplaintReport, over tickets created in [start, end).
struct ComplaintCounts {
  struct Row {
    pb::Category category = pb::CATEGORY_UNSPECIFIED;
    std::string reason_code;
    v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
    pb::Outcome outcome = pb::OUTCOME_UNSPECIFIED;
    int64_t tickets = 0;
  };
  struct Breaches {
    v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
    v1::SlaParty party = v1::SLA_PARTY_UNSPECIFIED;
    int64_t breaches = 0;
  };
  std::vector<Row> rows;
  // Seconds from creation to the seller's first public message, ascending, one per ticket
  // that has one.
  std::vector<int64_t> first_reply_seconds;
  std::vector<Breaches> breaches;
  int64_t ratings = 0;
  int64_t good_ratings = 0;  // 4 or 5
};

class TicketStore {
 public:
  virtual ~TicketStore() = default;

  // Runs `effect` at most once per key (common/idempotency's rule) in one transaction with
  // the key; returns the first result's bytes.
  [[nodiscard]] virtual absl::StatusOr<std::string> RunIdempotent(
      const common::idempotency::RequestKey& key, absl::string_view request_hash,
      const std::function<absl::StatusOr<std::string>(TicketTransaction&)>& effect) = 0;

  // Outside any transaction: the stored result of a completed request (nullopt when unknown);
  // REQUEST_ID_REUSED when the key holds another request (common/idempotency's Find).
  [[nodiscard]] virtual absl::StatusOr<std::optional<common::idempotency::StoredResult>> FindStored(
      const common::idempotency::RequestKey& key, absl::string_view request_hash) = 0;

  // Runs `effect` in one transaction (background work, no request id).
  [[nodiscard]] virtual absl::Status RunUnit(
      const std::function<absl::Status(TicketTransaction&)>& effect) = 0;
  // Claims up to `limit` refund commands due at `now` (PENDING_REFUND, next attempt <= now) in
  // due order, skipping rows another replica holds (FOR UPDATE SKIP LOCKED), and leases them
  // until `now + lease` (their next attempt): another pass takes them again only after that.
  // That time marks the claim: UpdateRefundCommand writes only under it.
  [[nodiscard]] virtual absl::StatusOr<std::vector<RefundCommand>> ClaimDueRefunds(
      absl::Time now, absl::Duration lease, int limit) = 0;
  // Claims up to `limit` charges due at `now` whose refund payments has made (REFUNDED), like
  // ClaimDueRefunds (SKIP LOCKED, leased until `now + lease`, which FinishCharge and
  // RetryCharge check).
  [[nodiscard]] virtual absl::StatusOr<std::vector<ChargeCommand>> ClaimDueCharges(
      absl::Time now, absl::Duration lease, int limit) = 0;

  [[nodiscard]] virtual absl::StatusOr<std::optional<TicketRecord>> GetTicket(
      absl::string_view ticket_id) = 0;
  // GetTicket without holding the calling thread: the reads asked for meanwhile go to the
  // database together. `done` runs exactly once, on a reader thread (or before returning when
  // too many reads wait: RESOURCE_EXHAUSTED), and must not block.
  using ReadDone = std::function<void(absl::StatusOr<std::optional<TicketRecord>>)>;
  virtual void ReadTicket(absl::string_view ticket_id, ReadDone done) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<ChangeRecord>> History(
      absl::string_view ticket_id) = 0;
  // Messages with seq > after_seq, oldest first, at most `limit`; PUBLIC only unless
  // `include_internal`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<MessageRecord>> ListMessages(
      absl::string_view ticket_id, bool include_internal, int after_seq, int limit) = 0;
  // Tickets after `after` in (sort_at, ticket_id) order, at most `limit`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<TicketRecord>> ListTickets(
      const TicketFilter& filter, const std::optional<TicketCursor>& after, int limit) = 0;
  // `seller_id` empty: every seller.
  [[nodiscard]] virtual absl::StatusOr<ComplaintCounts> CountComplaints(
      absl::string_view seller_id, absl::Time start, absl::Time end) = 0;
  // Tickets not CLOSED by level and status (as stored: a SOLVED ticket past its close window
  // counts as SOLVED until its next write).
  struct BacklogCount {
    v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
    pb::TicketStatus status = pb::TICKET_STATUS_UNSPECIFIED;
    int64_t tickets = 0;
  };
  [[nodiscard]] virtual absl::StatusOr<std::vector<BacklogCount>> CountBacklog() = 0;
  // The SLA policy version in force (the highest stored), read now; nullopt before the seed.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::SlaPolicy>> CurrentSlaPolicy() = 0;
  // One stored version (versions are never changed or removed); nullopt when there is none.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::SlaPolicy>> SlaPolicyVersion(
      int64_t version) = 0;
  // Stores `seed` as version 1 unless a version 1 exists (the first start of a database; a
  // later start, or a concurrent replica, leaves the stored policy as it is). Returns whether
  // it was written.
  [[nodiscard]] virtual absl::StatusOr<bool> SeedSlaPolicy(const v1::SlaPolicy& seed) = 0;
  // Paid orders of the buyer held since `since` (payments.payment_held).
  [[nodiscard]] virtual absl::StatusOr<int64_t> CountPaidOrders(absl::string_view buyer_id,
                                                                absl::Time since) = 0;

  // --- background workers (sla_scanner.*, ticket_closer.*) ---

  // Claims up to `limit` RUNNING clocks whose due_at, or (not yet warned) warn_at, is <= `now`,
  // the earliest due first, that no other pass holds (FOR UPDATE SKIP LOCKED) or has claimed
  // (scan_lease_until after `now`): each is kept out of other claims until `now + lease`, or
  // until the clock is saved (SaveClock clears the claim) or released. Replicas so take
  // disjoint batches. The scanner then locks the ticket, then the clock, and checks again.
  [[nodiscard]] virtual absl::StatusOr<std::vector<DueClock>> ClaimDueClocks(
      absl::Time now, absl::Duration lease, int limit) = 0;
  // Ends the claim on `clock` at once (a pass that could not act on it: its ticket was held).
  [[nodiscard]] virtual absl::Status ReleaseClockClaim(const DueClock& clock) = 0;
  // Up to `limit` tickets, not merged, SOLVED with closes_at at or before `closes_before` (due
  // to close), or
  // SOLVED or CLOSED at or before `csat_before` without a satisfaction request yet; oldest
  // solved first. Read without locks.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> SolvedTicketsDue(
      absl::Time closes_before, absl::Time csat_before, int limit) = 0;
  // The refusal reason recorded on a refund command (empty when none or no such command).
  [[nodiscard]] virtual absl::StatusOr<std::string> RefundResultReason(
      absl::string_view request_id) = 0;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_TICKET_STORE_H_
