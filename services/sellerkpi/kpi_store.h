#ifndef MARKETPLACE_SERVICES_SELLERKPI_KPI_STORE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_KPI_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/seller_event.h"

namespace marketplace::sellerkpi {

struct RecordCounts {
  int recorded = 0;
  int duplicates = 0;
  // Per event of the call, in its order: recorded (true) or a duplicate (false).
  std::vector<bool> recorded_each;
};

// A support ticket's order (support.ticket_opened), for the ticket's later events.
struct SupportTicket {
  std::string ticket_id;
  std::string seller_id;
  std::string order_id;
};

// One seller x day x counter aggregate.
struct CounterRow {
  absl::CivilDay day;
  std::string counter;
  int64_t n = 0;
};

// The health in force for a seller and its hysteresis streak.
struct HealthState {
  pb::HealthLevel health = pb::NO_LEVEL;
  int recovery_streak = 0;
};

// What an evaluation needs of one seller, read in the transaction that stores its result.
struct SellerSnapshot {
  std::string seller_id;
  std::vector<CounterRow> counters;  // the days asked for
  HealthState previous;
};

// What an evaluation stores.
struct EvaluationResult {
  pb::SellerScorecard scorecard;  // as_of, thresholds_version, figures, health, badge
  HealthState state;
  // Enforcement rules of the thresholds judged against (0: the defaults of
  // enforcement_policy.h): Thresholds.improvement_days, critical_evaluations_to_suspend and
  // the hold days per standing.
  int improvement_days = 0;
  int critical_evaluations_to_suspend = 0;
  int hold_days_at_risk = 0;
  int hold_days_good = 0;
  int hold_days_top = 0;
};

// Judges one seller (pure: no I/O). Runs inside the store's transaction.
using Judge = std::function<absl::StatusOr<EvaluationResult>(const SellerSnapshot&)>;

struct EvaluationCounts {
  int evaluated = 0;
  int changed = 0;  // health differs from the previous one
};

struct StoredThresholds {
  pb::Thresholds thresholds;  // version, updated_at, updated_by filled
};

// One page of sellers by health.
struct HealthPage {
  std::vector<pb::SellerScorecard> sellers;
  std::optional<std::pair<int, std::string>> next;  // (health, seller_id) after the last one
};

// Storage of sellerkpi (README "Storage"). Every method is one transaction unless it says
// otherwise; UNAVAILABLE when the database cannot be reached.
class KpiStore {
 public:
  virtual ~KpiStore() = default;

  // Records `events` in ONE transaction, all or nothing: each new event_id is inserted in the
  // log and, only then, its counters and (seller, order) row change and its seller is marked
  // for evaluation. An event_id already recorded with the same content hash is a duplicate
  // (no effect); with another one, ALREADY_EXISTS EVENT_ID_CONFLICT naming it and nothing of
  // the batch is recorded.
  virtual absl::StatusOr<RecordCounts> RecordEvents(const std::vector<EventRecord>& events) = 0;

  // Takes a recorded event out of every KPI, in one transaction: the event is marked
  // excluded, its counters come off (an order event: its order's row is rebuilt from the
  // order's other events that are not excluded, and the order counters follow), and
  // `exclusion` (an EVENT_EXCLUDED event naming it) is appended to the log; its seller is
  // marked for evaluation. NOT_FOUND EVENT_NOT_FOUND for an unknown id; an event already
  // excluded is answered without effect. Returns the excluded event as now stored.
  virtual absl::StatusOr<pb::SellerEvent> ExcludeEvent(const std::string& event_id,
                                                       const pb::SellerEvent& exclusion) = 0;

  // Rebuilds the counters of `seller_ids` (empty: every seller) from the log in memory (the
  // events not excluded, in arrival order, through the same ApplyEvent) and compares them with
  // the live counters; nothing live changes. Up to `max_examples` differences described as
  // "seller/day/counter: live N, replay M".
  struct ReplayReport {
    int64_t events_replayed = 0;
    int sellers = 0;
    int64_t aggregate_differences = 0;
    std::vector<std::string> examples;
  };
  virtual absl::StatusOr<ReplayReport> ReplayCounters(const std::vector<std::string>& seller_ids,
                                                      int max_examples) = 0;

  // One stored evaluation (a seller_evaluations row) with the seller's counters as the log
  // gives them at the moment it was made: the events recorded (recorded_at) no later than its
  // evaluated_at, less those whose exclusion (EVENT_EXCLUDED) was recorded by then, through the
  // same ApplyEvent as ingestion (README "Replay").
  struct StoredEvaluation {
    std::string seller_id;
    absl::Time as_of;
    absl::Time evaluated_at;
    int64_t thresholds_version = 0;
    pb::HealthLevel health = pb::HEALTH_LEVEL_UNSPECIFIED;  // the column
    bool top_badge = false;                                 // the column
    pb::SellerScorecard scorecard;                          // the stored bytes
    std::vector<CounterRow> counters;                       // every day, replayed
    // On the seller's last evaluation only: its seller_health row (the health in force and
    // the recovery streak, which that evaluation wrote).
    std::optional<HealthState> in_force;
  };
  // Calls `visit` for every stored evaluation of `seller_ids` (empty: every seller with one),
  // seller after seller (by seller id), each seller's in the order they were made
  // (evaluated_at, then as_of). Nothing is written. Memory: the events and evaluations of 100
  // sellers at a time. Returns the number of log events read. An error of `visit` stops it.
  using EvaluationVisitor = std::function<absl::Status(const StoredEvaluation&)>;
  virtual absl::StatusOr<int64_t> ReplayStoredEvaluations(
      const std::vector<std::string>& seller_ids, const EvaluationVisitor& visit) = 0;
  // Every thresholds version ever stored, by version.
  virtual absl::StatusOr<std::map<int64_t, pb::Thresholds>> AllThresholds() = 0;

  // A seller's counters over [first, last] (UTC days), in no particular order.
  virtual absl::StatusOr<std::vector<CounterRow>> ReadCounters(const std::string& seller_id,
                                                               absl::CivilDay first,
                                                               absl::CivilDay last) = 0;
  // (ratings, stars) of every seller over [first, last]: the platform's mean rating.
  virtual absl::StatusOr<std::pair<int64_t, int64_t>> PlatformRatings(absl::CivilDay first,
                                                                      absl::CivilDay last) = 0;
  // support_tickets: RememberTicket keeps the first row of a ticket id (a redelivery or a
  // later opening of the same id changes nothing); FindTicket reads it (nullopt: unknown).
  virtual absl::Status RememberTicket(const SupportTicket& ticket) = 0;
  virtual absl::StatusOr<std::optional<SupportTicket>> FindTicket(
      const std::string& ticket_id) = 0;

  // Whether any event of the seller was recorded.
  virtual absl::StatusOr<bool> SellerKnown(const std::string& seller_id) = 0;

  // The events of a seller that are evidence of `kpi` (kpi_mask) in [first, last], newest
  // first, after (occurred_at, event_id) `after` when given: for the order KPIs only events of
  // orders of those days that currently count; excluded events never.
  virtual absl::StatusOr<std::vector<pb::SellerEvent>> ListEvidence(
      const std::string& seller_id, pb::Kpi kpi, absl::CivilDay first, absl::CivilDay last,
      std::optional<std::pair<absl::Time, std::string>> after, int limit) = 0;

  // Thresholds. SeedThresholds stores `seed` as version 1 when there is none (safe when
  // several replicas start at once); Current reads the highest version; Update stores
  // version expected + 1, FAILED_PRECONDITION THRESHOLDS_VERSION_MISMATCH when `expected` is
  // not the version in force.
  virtual absl::Status SeedThresholds(const pb::Thresholds& seed, absl::Time now) = 0;
  virtual absl::StatusOr<pb::Thresholds> CurrentThresholds() = 0;
  virtual absl::StatusOr<pb::Thresholds> UpdateThresholds(int64_t expected_version,
                                                          const pb::Thresholds& next,
                                                          const std::string& updated_by,
                                                          absl::Time now) = 0;

  // Evaluates sellers one transaction each: their row in seller_health locked (SKIP LOCKED
  // for the queue, so replicas share it), counters of [first, last] read, `judge` run, the
  // evaluation stored and the row updated. EvaluateQueued takes up to `limit` sellers marked
  // since their last evaluation or last evaluated before `stale_before` (the judge's as_of
  // must not be before it, or a seller would come back in the same pass); EvaluateSellers the
  // given ones (a seller without events is skipped).
  virtual absl::StatusOr<EvaluationCounts> EvaluateQueued(int limit, absl::Time stale_before,
                                                          absl::CivilDay first,
                                                          absl::CivilDay last,
                                                          const Judge& judge) = 0;
  virtual absl::StatusOr<EvaluationCounts> EvaluateSellers(const std::vector<std::string>& ids,
                                                           absl::CivilDay first,
                                                           absl::CivilDay last,
                                                           const Judge& judge) = 0;
  // Sellers by health level (sellers never evaluated count as NO_LEVEL).
  virtual absl::StatusOr<std::map<pb::HealthLevel, int64_t>> CountByHealth() = 0;
  // The sellers of every seller_health row (EvaluateSellers with no ids).
  virtual absl::StatusOr<std::vector<std::string>> AllSellers() = 0;

  // The last stored evaluation of a seller (nullopt when never evaluated).
  virtual absl::StatusOr<std::optional<pb::SellerScorecard>> LatestScorecard(
      const std::string& seller_id) = 0;
  // Sellers whose health is one of `levels`, worst first then by seller id, after `after`.
  virtual absl::StatusOr<HealthPage> ListByHealth(
      const std::vector<pb::HealthLevel>& levels,
      std::optional<std::pair<int, std::string>> after, int limit) = 0;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_KPI_STORE_H_
