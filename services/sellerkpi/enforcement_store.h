#ifndef MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_STORE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"

namespace marketplace::sellerkpi {

namespace pb = ::marketplace::sellerkpi::v1;

// A step a worker has claimed: what it needs to carry it out.
struct ClaimedStep {
  std::string action_id;
  std::string seller_id;
  pb::ActionType type = pb::ACTION_TYPE_UNSPECIFIED;
  std::string explanation;
  int step_no = 0;
  std::string name;
  std::string request_id;
  // Attempts including this one.
  int attempts = 0;
  // The results of the action's earlier steps, in order (e.g. the setting a step replaced).
  std::vector<std::string> earlier_results;
  // A RESTORATION: the results of the DONE_CHECKED steps of the AT_RISK_MEASURES it undoes
  // (the action appealed, or for a SUSPENSION the seller's latest AT_RISK_MEASURES created
  // before it), by step name; empty when there is none.
  std::map<std::string, std::string> undone_results;
  // The action's hold_period (EnforcementAction.hold_period): the hold its
  // payments.set_hold_policy sets, or for a RESTORATION the least hold
  // payments.restore_hold_policy puts back; nullopt for actions created without one.
  std::optional<absl::Duration> hold;
  // A TOP_SELLER_TERMS: the GOOD hold when it was decided; its payments.set_hold_policy leaves
  // a hold in force longer than this as it is. nullopt: none.
  std::optional<absl::Duration> keep_above;
};

// A page of a seller's actions, newest first.
struct ActionPage {
  std::vector<pb::EnforcementAction> actions;
  // (created_at, action_id) of the last one when more follow.
  std::optional<std::pair<absl::Time, std::string>> next;
};

// The enforcement sagas (migrations/0003_enforcement.sql). Thread-safe; several replicas may
// run workers on one database.
class EnforcementStore {
 public:
  virtual ~EnforcementStore() = default;

  // Stores `action` (its action_id, seller_id, type, explanation, evaluation_as_of,
  // improvement_ends_at) IN_PROGRESS with `step_names` as PENDING steps 0..n-1, each with its
  // own request_id ("<action_id>.<step_no>"), due at `now`. ALREADY_EXISTS for a known id.
  virtual absl::Status CreateAction(const pb::EnforcementAction& action,
                                    const std::vector<std::string>& step_names,
                                    absl::Time now) = 0;

  // Claims up to `limit` due steps (PENDING or RETRYING, next_attempt_at <= now), each the
  // first unfinished step of its action, skipping rows another worker holds (SKIP LOCKED):
  // their attempts go up by one and next_attempt_at to now + `lease`, in one short
  // transaction, so a worker that dies leaves them due again when the lease ends.
  virtual absl::StatusOr<std::vector<ClaimedStep>> ClaimDueSteps(int limit, absl::Time now,
                                                                 absl::Duration lease) = 0;

  // The step is done and its effect checked: DONE_CHECKED with `result`; the action becomes
  // DONE when it was its last unfinished step. A step already done stays as it is (OK).
  virtual absl::Status CompleteStep(const std::string& action_id, int step_no,
                                    const std::string& result, absl::Time now) = 0;
  // The attempt failed: RETRYING with `error`, due again at `retry_at`. A step already done
  // stays done (OK).
  virtual absl::Status FailStep(const std::string& action_id, int step_no,
                                const std::string& error, absl::Time retry_at,
                                absl::Time now) = 0;

  // The appeal of an action, in one transaction that locks the action's row: NOT_FOUND
  // ACTION_NOT_FOUND unless the action exists and, when `seller_id` is set, is that seller's
  // (another seller's answers exactly like an unknown id; empty: staff filing for the
  // action's seller); FAILED_PRECONDITION NOT_APPEALABLE for a RESTORATION or a
  // TOP_SELLER_TERMS; ALREADY_EXISTS
  // APPEAL_EXISTS when it was appealed before. `filed_by`: the caller's account id. The
  // action after.
  virtual absl::StatusOr<pb::EnforcementAction> Appeal(const std::string& action_id,
                                                       const std::string& seller_id,
                                                       const std::string& statement,
                                                       const std::string& filed_by,
                                                       absl::Time now) = 0;

  // A RESTORATION saga to create with a REINSTATE decision.
  struct Restoration {
    pb::EnforcementAction action;
    std::vector<std::string> step_names;
  };
  // The ADMIN's decision, in one transaction that locks the action's row: NOT_FOUND
  // ACTION_NOT_FOUND; FAILED_PRECONDITION NOT_APPEALED without an appeal, APPEAL_ALREADY_DECIDED
  // when decided before. REINSTATE (with `restoration`): the action becomes REVERSED and the
  // restoration saga is created in the same transaction; a SUSPENSION's REINSTATE also closes
  // the seller's open AT_RISK_MEASURES and CRITICAL_WARNING (the restoration undoes the
  // measures). The action after.
  virtual absl::StatusOr<pb::EnforcementAction> DecideAppeal(
      const std::string& action_id, pb::AppealDecision decision, const std::string& note,
      const std::string& decided_by, const std::optional<Restoration>& restoration,
      absl::Time now) = 0;

  // One action with its steps (nullopt: unknown id).
  virtual absl::StatusOr<std::optional<pb::EnforcementAction>> GetAction(
      const std::string& action_id) = 0;
  // The seller's actions that are open (not REVERSED, not closed) or IN_PROGRESS, newest
  // first, with their steps (at most 20).
  virtual absl::StatusOr<std::vector<pb::EnforcementAction>> CurrentActions(
      const std::string& seller_id) = 0;
  // A seller's actions, newest first (created_at, then action_id), after `after`.
  virtual absl::StatusOr<ActionPage> ListActions(
      const std::string& seller_id, std::optional<std::pair<absl::Time, std::string>> after,
      int limit) = 0;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_ENFORCEMENT_STORE_H_
