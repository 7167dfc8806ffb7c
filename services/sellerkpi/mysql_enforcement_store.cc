#include "services/sellerkpi/mysql_enforcement_store.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/sellerkpi/enforcement_policy.h"

namespace marketplace::sellerkpi {
namespace {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

constexpr char kDone[] = "DONE_CHECKED";
// A step that will not run: its action was reversed (params: now). claimed_until is kept: a
// worker running it may still land its effect.
constexpr char kCancel[] =
    "state = 'CANCELLED', error = 'cancelled: the action was reversed by an appeal', "
    "updated_at = ?";
constexpr char kUnfinished[] = "state IN ('PENDING', 'RETRYING')";

common::db::TransactionOptions ReadCommitted() {
  common::db::TransactionOptions options;
  // A locking read under READ COMMITTED locks only the rows it returns.
  options.isolation = common::db::IsolationLevel::kReadCommitted;
  return options;
}

SqlValue OptionalTime(bool has, const google::protobuf::Timestamp& ts) {
  if (!has) return nullptr;
  absl::StatusOr<absl::Time> t = common::FromTimestamp(ts, "time");
  if (!t.ok()) return nullptr;
  return *t;
}

absl::StatusOr<pb::EnforcementAction> ActionFromRow(const Row& row) {
  pb::EnforcementAction a;
  ASSIGN_OR_RETURN(std::string id, row.GetString("action_id"));
  a.set_action_id(id);
  ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
  a.set_seller_id(seller);
  ASSIGN_OR_RETURN(std::string type, row.GetString("type"));
  pb::ActionType t = pb::ACTION_TYPE_UNSPECIFIED;
  pb::ActionType_Parse(type, &t);
  a.set_type(t);
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  pb::ActionState s = pb::ACTION_STATE_UNSPECIFIED;
  pb::ActionState_Parse(state, &s);
  a.set_state(s);
  ASSIGN_OR_RETURN(std::string explanation, row.GetString("explanation"));
  a.set_explanation(explanation);
  ASSIGN_OR_RETURN(std::optional<absl::Time> as_of, row.GetOptionalTime("evaluation_as_of"));
  if (as_of.has_value()) common::ToTimestamp(*as_of, a.mutable_evaluation_as_of());
  ASSIGN_OR_RETURN(std::optional<absl::Time> ends, row.GetOptionalTime("improvement_ends_at"));
  if (ends.has_value()) common::ToTimestamp(*ends, a.mutable_improvement_ends_at());
  ASSIGN_OR_RETURN(absl::Time created, row.GetTime("created_at"));
  common::ToTimestamp(created, a.mutable_created_at());
  ASSIGN_OR_RETURN(std::optional<absl::Time> closed, row.GetOptionalTime("closed_at"));
  if (closed.has_value()) common::ToTimestamp(*closed, a.mutable_closed_at());
  ASSIGN_OR_RETURN(std::optional<int64_t> hold, row.GetOptionalInt64("hold_seconds"));
  if (hold.has_value()) a.mutable_hold_period()->set_seconds(*hold);
  ASSIGN_OR_RETURN(std::optional<absl::Time> appealed, row.GetOptionalTime("appealed_at"));
  if (appealed.has_value()) {
    pb::Appeal* appeal = a.mutable_appeal();
    common::ToTimestamp(*appealed, appeal->mutable_appealed_at());
    ASSIGN_OR_RETURN(std::optional<std::string> statement,
                     row.GetOptionalString("appeal_statement"));
    appeal->set_statement(statement.value_or(""));
    ASSIGN_OR_RETURN(std::string filed_by, row.GetString("appeal_filed_by"));
    appeal->set_filed_by(filed_by.empty() ? a.seller_id() : filed_by);
    ASSIGN_OR_RETURN(std::optional<std::string> decision,
                     row.GetOptionalString("appeal_decision"));
    if (decision.has_value()) {
      pb::AppealDecision d = pb::APPEAL_DECISION_UNSPECIFIED;
      pb::AppealDecision_Parse(*decision, &d);
      appeal->set_decision(d);
    }
    ASSIGN_OR_RETURN(std::optional<std::string> note, row.GetOptionalString("decision_note"));
    appeal->set_decision_note(note.value_or(""));
    ASSIGN_OR_RETURN(std::optional<absl::Time> decided, row.GetOptionalTime("decided_at"));
    if (decided.has_value()) common::ToTimestamp(*decided, appeal->mutable_decided_at());
  }
  return a;
}

absl::StatusOr<pb::EnforcementStep> StepFromRow(const Row& row) {
  pb::EnforcementStep s;
  ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
  s.set_name(name);
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  pb::StepState st = pb::STEP_STATE_UNSPECIFIED;
  pb::StepState_Parse(state, &st);
  s.set_state(st);
  ASSIGN_OR_RETURN(std::string request_id, row.GetString("request_id"));
  s.set_request_id(request_id);
  ASSIGN_OR_RETURN(int64_t attempts, row.GetInt64("attempts"));
  s.set_attempts(static_cast<int32_t>(attempts));
  ASSIGN_OR_RETURN(std::string error, row.GetString("error"));
  s.set_error(error);
  ASSIGN_OR_RETURN(std::string result, row.GetString("result"));
  s.set_result(result);
  ASSIGN_OR_RETURN(absl::Time updated, row.GetTime("updated_at"));
  common::ToTimestamp(updated, s.mutable_updated_at());
  return s;
}

constexpr char kActionColumns[] =
    "action_id, seller_id, type, state, explanation, evaluation_as_of, improvement_ends_at, "
    "created_at, appeal_statement, appealed_at, appeal_decision, decision_note, decided_at, "
    "closed_at, appeal_filed_by, hold_seconds";

// Adds each action's steps, in order.
absl::Status AttachSteps(Transaction& tx, std::vector<pb::EnforcementAction>& actions) {
  if (actions.empty()) return absl::OkStatus();
  std::vector<SqlValue> ids;
  std::map<std::string, pb::EnforcementAction*> by_id;
  for (pb::EnforcementAction& a : actions) {
    ids.push_back(a.action_id());
    by_id[a.action_id()] = &a;
  }
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT action_id, step_no, name, request_id, state, "
                                         "attempts, error, result, updated_at FROM enforcement_steps "
                                         "WHERE action_id IN (",
                                         common::db::PlaceholderList(ids.size()),
                                         ") ORDER BY action_id, step_no"),
                            ids));
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(std::string id, row.GetString("action_id"));
    ASSIGN_OR_RETURN(pb::EnforcementStep step, StepFromRow(row));
    *by_id[id]->add_steps() = std::move(step);
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::Status InsertAction(Transaction& tx, const pb::EnforcementAction& a,
                          const std::vector<std::string>& step_names,
                          const std::string& related_action_id, absl::Time now,
                          std::optional<absl::Duration> keep_above = std::nullopt) {
  ASSIGN_OR_RETURN(std::vector<Row> known,
                   tx.Query("SELECT 1 AS one FROM enforcement_actions WHERE action_id = ?",
                            {a.action_id()}));
  if (!known.empty()) {
    return common::WithReason(
        absl::AlreadyExistsError(absl::StrCat("action ", a.action_id(), " exists")),
        "ACTION_EXISTS");
  }
  RETURN_IF_ERROR(tx.Write(
      "INSERT INTO enforcement_actions (action_id, seller_id, type, state, explanation, "
      "evaluation_as_of, improvement_ends_at, created_at, updated_at, related_action_id, "
      "hold_seconds, keep_above_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {a.action_id(), a.seller_id(), pb::ActionType_Name(a.type()),
       std::string(step_names.empty() ? "DONE" : "IN_PROGRESS"), a.explanation(),
       OptionalTime(a.has_evaluation_as_of(), a.evaluation_as_of()),
       OptionalTime(a.has_improvement_ends_at(), a.improvement_ends_at()), now, now,
       related_action_id.empty() ? SqlValue(nullptr) : SqlValue(related_action_id),
       a.has_hold_period() ? SqlValue(static_cast<int64_t>(a.hold_period().seconds()))
                           : SqlValue(nullptr),
       keep_above.has_value() ? SqlValue(absl::ToInt64Seconds(*keep_above))
                              : SqlValue(nullptr)}));
  if (step_names.empty()) return absl::OkStatus();
  // The steps in one statement.
  std::vector<SqlValue> steps;
  for (size_t i = 0; i < step_names.size(); ++i) {
    for (SqlValue v : std::initializer_list<SqlValue>{
             a.action_id(), static_cast<int64_t>(i), step_names[i],
             absl::StrCat(a.action_id(), ".", i), now, now}) {
      steps.push_back(std::move(v));
    }
  }
  return tx.Write(
      absl::StrCat("INSERT INTO enforcement_steps (action_id, step_no, name, request_id, "
                   "next_attempt_at, updated_at, state, attempts, error, result) VALUES ",
                   common::db::PlaceholderRows(step_names.size(), 6, ", 'PENDING', 0, '', ''")),
      steps);
}

// The action's row, locked; NOT_FOUND ACTION_NOT_FOUND when unknown.
absl::StatusOr<pb::EnforcementAction> LockAction(Transaction& tx, const std::string& action_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kActionColumns,
                                         " FROM enforcement_actions WHERE action_id = ? "
                                         "FOR UPDATE"),
                            {action_id}));
  if (rows.empty()) return common::NotFound("action", action_id);
  return ActionFromRow(rows[0]);
}

// The action as stored now, with its steps.
absl::StatusOr<pb::EnforcementAction> ReadAction(Transaction& tx, const std::string& action_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query(absl::StrCat("SELECT ", kActionColumns,
                                         " FROM enforcement_actions WHERE action_id = ?"),
                            {action_id}));
  if (rows.empty()) return common::NotFound("action", action_id);
  std::vector<pb::EnforcementAction> one;
  ASSIGN_OR_RETURN(pb::EnforcementAction a, ActionFromRow(rows[0]));
  one.push_back(std::move(a));
  RETURN_IF_ERROR(AttachSteps(tx, one));
  return std::move(one[0]);
}

// The results of the DONE_CHECKED steps of the action a restoration of `undone` undoes:
// `undone` itself when it is an AT_RISK_MEASURES or TOP_SELLER_TERMS, for a SUSPENSION the
// seller's latest AT_RISK_MEASURES created before it.
absl::StatusOr<std::map<std::string, std::string>> UndoneResults(Transaction& tx,
                                                                 const std::string& undone) {
  std::map<std::string, std::string> out;
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   tx.Query("SELECT m.action_id FROM enforcement_actions u "
                            "JOIN enforcement_actions m ON m.seller_id = u.seller_id "
                            "AND ((m.action_id = u.action_id "
                            "AND u.type IN ('AT_RISK_MEASURES', 'TOP_SELLER_TERMS')) "
                            "OR (u.type <> 'TOP_SELLER_TERMS' AND m.type = 'AT_RISK_MEASURES' "
                            "AND m.created_at <= u.created_at)) "
                            "WHERE u.action_id = ? "
                            "ORDER BY (m.action_id = u.action_id) DESC, m.created_at DESC, "
                            "m.action_id DESC LIMIT 1",
                            {undone}));
  if (rows.empty()) return out;
  ASSIGN_OR_RETURN(std::string measures, rows[0].GetString("action_id"));
  ASSIGN_OR_RETURN(std::vector<Row> steps,
                   tx.Query("SELECT name, result FROM enforcement_steps WHERE action_id = ? "
                            "AND state = 'DONE_CHECKED'",
                            {measures}));
  for (const Row& row : steps) {
    ASSIGN_OR_RETURN(std::string name, row.GetString("name"));
    ASSIGN_OR_RETURN(std::string result, row.GetString("result"));
    out[name] = result;
  }
  return out;
}

}  // namespace

absl::Status MysqlEnforcementStore::Evaluated(Transaction& tx,
                                              const std::vector<EvaluationResult>& results) {
  if (results.empty()) return absl::OkStatus();
  // The open actions of the evaluated sellers (their seller_health rows are locked by the
  // evaluation: no other evaluation of them runs meanwhile).
  std::vector<SqlValue> ids;
  for (const EvaluationResult& r : results) ids.push_back(r.scorecard.seller_id());
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      tx.Query(absl::StrCat("SELECT action_id, seller_id, type, state, improvement_ends_at "
                            "FROM enforcement_actions WHERE seller_id IN (",
                            common::db::PlaceholderList(ids.size()),
                            ") AND closed_at IS NULL AND state <> 'REVERSED' "
                            "AND type IN ('AT_RISK_MEASURES', 'CRITICAL_WARNING', 'SUSPENSION', "
                            "'TOP_SELLER_TERMS')"),
               ids));
  std::map<std::string, std::vector<OpenAction>> open;
  for (const Row& row : rows) {
    OpenAction a;
    ASSIGN_OR_RETURN(a.action_id, row.GetString("action_id"));
    ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
    ASSIGN_OR_RETURN(std::string type, row.GetString("type"));
    pb::ActionType_Parse(type, &a.type);
    ASSIGN_OR_RETURN(a.improvement_ends_at, row.GetOptionalTime("improvement_ends_at"));
    ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
    a.in_progress = state == "IN_PROGRESS";
    open[seller].push_back(std::move(a));
  }
  const absl::Time now = clock_->Now();
  for (const EvaluationResult& r : results) {
    const std::string& seller = r.scorecard.seller_id();
    const std::vector<OpenAction>& mine = open[seller];
    pb::Thresholds t;
    t.set_improvement_days(r.improvement_days);
    t.set_critical_evaluations_to_suspend(r.critical_evaluations_to_suspend);
    t.set_hold_days_at_risk(r.hold_days_at_risk);
    t.set_hold_days_good(r.hold_days_good);
    t.set_hold_days_top(r.hold_days_top);
    const EnforcementRules rules = RulesOf(t);
    int streak = 0;
    if (NeedsCriticalStreak(r.scorecard, mine)) {
      ASSIGN_OR_RETURN(absl::Time as_of, common::FromTimestamp(r.scorecard.as_of(), "as_of"));
      ASSIGN_OR_RETURN(std::vector<Row> last,
                       tx.Query("SELECT health FROM seller_evaluations WHERE seller_id = ? "
                                "AND as_of <= ? ORDER BY as_of DESC LIMIT ?",
                                {seller, as_of,
                                 static_cast<int64_t>(rules.critical_evaluations_to_suspend)}));
      for (const Row& row : last) {
        ASSIGN_OR_RETURN(int64_t health, row.GetInt64("health"));
        if (health != pb::CRITICAL) break;
        ++streak;
      }
    }
    EnforcementPlan plan =
        PlanEnforcement(r.scorecard, mine, streak, rules, [] { return common::NewId("act_"); });
    for (const std::string& id : plan.close) {
      RETURN_IF_ERROR(tx.Write("UPDATE enforcement_actions SET closed_at = ?, updated_at = ? "
                               "WHERE action_id = ? AND closed_at IS NULL",
                               {now, now, id}));
    }
    for (const EnforcementPlan::NewAction& n : plan.create) {
      RETURN_IF_ERROR(InsertAction(tx, n.action, n.steps, n.related_action_id, now, n.keep_above));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<pb::EnforcementAction>> MysqlEnforcementStore::CurrentActions(
    const std::string& seller_id) {
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<std::vector<pb::EnforcementAction>> {
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query(absl::StrCat("SELECT ", kActionColumns,
                                  " FROM enforcement_actions WHERE seller_id = ? AND "
                                  "(state = 'IN_PROGRESS' OR (closed_at IS NULL AND "
                                  "state <> 'REVERSED' AND type <> 'RESTORATION')) "
                                  "ORDER BY created_at DESC, action_id DESC LIMIT 20"),
                     {seller_id}));
        std::vector<pb::EnforcementAction> out;
        for (const Row& row : rows) {
          ASSIGN_OR_RETURN(pb::EnforcementAction a, ActionFromRow(row));
          out.push_back(std::move(a));
        }
        RETURN_IF_ERROR(AttachSteps(tx, out));
        return out;
      });
}

absl::Status MysqlEnforcementStore::CreateAction(const pb::EnforcementAction& a,
                                                 const std::vector<std::string>& step_names,
                                                 absl::Time now) {
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::Status {
    return InsertAction(tx, a, step_names, "", now);
  });
}

absl::StatusOr<pb::EnforcementAction> MysqlEnforcementStore::Appeal(const std::string& action_id,
                                                                    const std::string& seller_id,
                                                                    const std::string& statement,
                                                                    const std::string& filed_by,
                                                                    absl::Time now) {
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<pb::EnforcementAction> {
        absl::StatusOr<pb::EnforcementAction> a = LockAction(tx, action_id);
        if (!a.ok()) return a.status();
        // Another seller's action answers like an unknown id (README's not-found rule).
        if (!seller_id.empty() && a->seller_id() != seller_id) {
          return common::NotFound("action", action_id);
        }
        if (a->type() == pb::RESTORATION || a->type() == pb::TOP_SELLER_TERMS) {
          return common::FailedPrecondition(
              "NOT_APPEALABLE", absl::StrCat("a ", pb::ActionType_Name(a->type()),
                                             " cannot be appealed (it lifts measures)"));
        }
        if (a->has_appeal()) {
          return common::WithReason(
              absl::AlreadyExistsError(
                  absl::StrCat("action ", action_id, " was appealed already (once per action)")),
              "APPEAL_EXISTS");
        }
        RETURN_IF_ERROR(tx.Write("UPDATE enforcement_actions SET appeal_statement = ?, "
                                 "appealed_at = ?, updated_at = ?, appeal_filed_by = ? "
                                 "WHERE action_id = ?",
                                 {statement, now, now, filed_by, action_id}, 1));
        return ReadAction(tx, action_id);
      });
}

absl::StatusOr<pb::EnforcementAction> MysqlEnforcementStore::DecideAppeal(
    const std::string& action_id, pb::AppealDecision decision, const std::string& note,
    const std::string& decided_by, const std::optional<Restoration>& restoration,
    absl::Time now) {
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<pb::EnforcementAction> {
        absl::StatusOr<pb::EnforcementAction> a = LockAction(tx, action_id);
        if (!a.ok()) return a.status();
        if (!a->has_appeal()) {
          return common::FailedPrecondition("NOT_APPEALED",
                                            "the action has no appeal to decide");
        }
        if (a->appeal().decision() != pb::APPEAL_DECISION_UNSPECIFIED) {
          return common::FailedPrecondition(
              "APPEAL_ALREADY_DECIDED",
              absl::StrCat("the appeal was decided already: ",
                           pb::AppealDecision_Name(a->appeal().decision())));
        }
        const bool reinstate = decision == pb::REINSTATE && restoration.has_value();
        RETURN_IF_ERROR(tx.Write(
            "UPDATE enforcement_actions SET appeal_decision = ?, decision_note = ?, "
            "decided_by = ?, decided_at = ?, updated_at = ?, state = ?, related_action_id = ? "
            "WHERE action_id = ?",
            {pb::AppealDecision_Name(decision), note, decided_by, now, now,
             reinstate ? std::string("REVERSED") : pb::ActionState_Name(a->state()),
             reinstate ? SqlValue(restoration->action.action_id()) : SqlValue(nullptr),
             action_id},
            1));
        if (reinstate) {
          RETURN_IF_ERROR(
              InsertAction(tx, restoration->action, restoration->step_names, action_id, now));
          // What the reversed action has not done yet it never does: its unfinished steps
          // are cancelled (a step a worker is running may still land; the restoration waits
          // for it, ClaimDueSteps).
          RETURN_IF_ERROR(tx.Write(absl::StrCat("UPDATE enforcement_steps SET ", kCancel,
                                                " WHERE action_id = ? AND ", kUnfinished),
                                   {now, action_id}));
          if (a->type() == pb::SUSPENSION) {
            // The restoration undoes the measures; a later CRITICAL evaluation starts again
            // (new measures reading the restored settings, a new warning and period). The
            // closed actions' unfinished steps are cancelled with them.
            RETURN_IF_ERROR(tx.Write(
                absl::StrCat(
                    "UPDATE enforcement_steps SET ", kCancel,
                    " WHERE action_id IN (SELECT action_id FROM enforcement_actions "
                    "WHERE seller_id = ? AND type IN ('AT_RISK_MEASURES', 'CRITICAL_WARNING') "
                    "AND closed_at IS NULL AND state <> 'REVERSED') AND ",
                    kUnfinished),
                {now, a->seller_id()}));
            RETURN_IF_ERROR(
                tx.Write("UPDATE enforcement_actions SET closed_at = ?, updated_at = ?, "
                         "state = IF(state = 'IN_PROGRESS', 'DONE', state) "
                         "WHERE seller_id = ? AND type IN ('AT_RISK_MEASURES', 'CRITICAL_WARNING') "
                         "AND closed_at IS NULL AND state <> 'REVERSED'",
                         {now, now, a->seller_id()}));
          }
        }
        return ReadAction(tx, action_id);
      });
}

absl::StatusOr<std::vector<ClaimedStep>> MysqlEnforcementStore::ClaimDueSteps(
    int limit, absl::Time now, absl::Duration lease) {
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<std::vector<ClaimedStep>> {
        // The first unfinished step of each action only: steps run in order. A payments.*
        // step also waits while an older action of the same seller (by seq) has a payments.*
        // step unfinished (a CANCELLED one never runs: it does not hold anything up): a
        // seller's holds are set in the order they were decided. The
        // subqueries take no lock; rows another worker holds are skipped, not waited for.
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query("SELECT s.action_id, s.step_no, s.name, s.request_id, s.attempts "
                     "FROM enforcement_steps s FORCE INDEX (enforcement_steps_due) "
                     "WHERE s.state IN ('PENDING', 'RETRYING') AND s.next_attempt_at <= ? "
                     "AND NOT EXISTS (SELECT 1 FROM enforcement_steps e "
                     "WHERE e.action_id = s.action_id AND e.step_no < s.step_no "
                     "AND e.state <> 'DONE_CHECKED') "
                     "AND (s.name NOT LIKE 'payments.%' OR NOT EXISTS ("
                     "SELECT 1 FROM enforcement_actions me "
                     "JOIN enforcement_actions o ON o.seller_id = me.seller_id AND o.seq < me.seq "
                     "JOIN enforcement_steps p ON p.action_id = o.action_id "
                     "WHERE me.action_id = s.action_id AND p.name LIKE 'payments.%' "
                     "AND p.state NOT IN ('DONE_CHECKED', 'CANCELLED'))) "
                     // A restoration waits while a cancelled step of the seller is still
                     // being run by a worker: its effect may land, and must land before.
                     "AND NOT EXISTS (SELECT 1 FROM enforcement_actions me "
                     "JOIN enforcement_actions o ON o.seller_id = me.seller_id "
                     "JOIN enforcement_steps c ON c.action_id = o.action_id "
                     "WHERE me.action_id = s.action_id AND me.type = 'RESTORATION' "
                     "AND c.state = 'CANCELLED' AND c.claimed_until > ?) "
                     "ORDER BY s.next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED",
                     {now, now, static_cast<int64_t>(limit)}));
        std::vector<ClaimedStep> out;
        if (rows.empty()) return out;
        std::vector<SqlValue> ids;
        for (const Row& row : rows) {
          ClaimedStep c;
          ASSIGN_OR_RETURN(c.action_id, row.GetString("action_id"));
          ASSIGN_OR_RETURN(int64_t step_no, row.GetInt64("step_no"));
          c.step_no = static_cast<int>(step_no);
          ASSIGN_OR_RETURN(c.name, row.GetString("name"));
          ASSIGN_OR_RETURN(c.request_id, row.GetString("request_id"));
          ASSIGN_OR_RETURN(int64_t attempts, row.GetInt64("attempts"));
          c.attempts = static_cast<int>(attempts) + 1;
          RETURN_IF_ERROR(
              tx.Write("UPDATE enforcement_steps SET attempts = attempts + 1, next_attempt_at = ?, "
                       "claimed_until = ?, updated_at = ? WHERE action_id = ? AND step_no = ?",
                       {now + lease, now + lease, now, c.action_id, step_no}, 1));
          ids.push_back(c.action_id);
          out.push_back(std::move(c));
        }
        ASSIGN_OR_RETURN(std::vector<Row> actions,
                         tx.Query(absl::StrCat("SELECT action_id, seller_id, type, explanation, "
                                               "related_action_id, hold_seconds, "
                                               "keep_above_seconds "
                                               "FROM enforcement_actions WHERE action_id IN (",
                                               common::db::PlaceholderList(ids.size()), ")"),
                                  ids));
        std::map<std::string, const Row*> by_id;
        for (const Row& row : actions) {
          ASSIGN_OR_RETURN(std::string id, row.GetString("action_id"));
          by_id[id] = &row;
        }
        ASSIGN_OR_RETURN(std::vector<Row> done,
                         tx.Query(absl::StrCat("SELECT action_id, result FROM enforcement_steps "
                                               "WHERE state = 'DONE_CHECKED' AND action_id IN (",
                                               common::db::PlaceholderList(ids.size()),
                                               ") ORDER BY action_id, step_no"),
                                  ids));
        std::map<std::string, std::vector<std::string>> results;
        for (const Row& row : done) {
          ASSIGN_OR_RETURN(std::string id, row.GetString("action_id"));
          ASSIGN_OR_RETURN(std::string result, row.GetString("result"));
          results[id].push_back(std::move(result));
        }
        for (ClaimedStep& c : out) {
          auto it = by_id.find(c.action_id);
          if (it == by_id.end()) return absl::InternalError("a step without its action");
          ASSIGN_OR_RETURN(c.seller_id, it->second->GetString("seller_id"));
          ASSIGN_OR_RETURN(std::string type, it->second->GetString("type"));
          pb::ActionType_Parse(type, &c.type);
          ASSIGN_OR_RETURN(c.explanation, it->second->GetString("explanation"));
          c.earlier_results = results[c.action_id];
          ASSIGN_OR_RETURN(std::optional<int64_t> hold,
                           it->second->GetOptionalInt64("hold_seconds"));
          if (hold.has_value()) c.hold = absl::Seconds(*hold);
          ASSIGN_OR_RETURN(std::optional<int64_t> keep_above,
                           it->second->GetOptionalInt64("keep_above_seconds"));
          if (keep_above.has_value()) c.keep_above = absl::Seconds(*keep_above);
          if (c.type == pb::RESTORATION) {
            ASSIGN_OR_RETURN(std::optional<std::string> related,
                             it->second->GetOptionalString("related_action_id"));
            if (related.has_value()) {
              ASSIGN_OR_RETURN(c.undone_results, UndoneResults(tx, *related));
            }
          }
        }
        return out;
      },
      ReadCommitted());
}

absl::Status MysqlEnforcementStore::CompleteStep(const std::string& action_id, int step_no,
                                                 const std::string& result, absl::Time now) {
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t changed,
                         tx.Execute("UPDATE enforcement_steps SET state = 'DONE_CHECKED', "
                                    "result = ?, error = '', claimed_until = NULL, "
                                    "updated_at = ? "
                                    "WHERE action_id = ? AND step_no = ? AND state <> ?",
                                    {result, now, action_id, static_cast<int64_t>(step_no),
                                     std::string(kDone)}));
        if (changed == 0) return absl::OkStatus();
        ASSIGN_OR_RETURN(std::vector<Row> left,
                         tx.Query("SELECT COUNT(*) AS n FROM enforcement_steps "
                                  "WHERE action_id = ? "
                                  "AND state NOT IN ('DONE_CHECKED', 'CANCELLED')",
                                  {action_id}));
        ASSIGN_OR_RETURN(int64_t n, left[0].GetInt64("n"));
        if (n == 0) {
          RETURN_IF_ERROR(tx.Write("UPDATE enforcement_actions SET state = 'DONE', "
                                   "updated_at = ? WHERE action_id = ? AND state = 'IN_PROGRESS'",
                                   {now, action_id}));
        }
        return absl::OkStatus();
      },
      ReadCommitted());
}

absl::Status MysqlEnforcementStore::FailStep(const std::string& action_id, int step_no,
                                             const std::string& error, absl::Time retry_at,
                                             absl::Time now) {
  return pool_
      ->Execute(
          "UPDATE enforcement_steps SET state = IF(state = 'CANCELLED', state, "
          "'RETRYING'), error = IF(state = 'CANCELLED', error, ?), "
          "next_attempt_at = ?, claimed_until = NULL, updated_at = ? "
          "WHERE action_id = ? AND step_no = ? AND state <> 'DONE_CHECKED'",
          {std::string(common::PrefixCodePoints(error, 2000)), retry_at, now, action_id,
           static_cast<int64_t>(step_no)})
      .status();
}

absl::StatusOr<std::optional<pb::EnforcementAction>> MysqlEnforcementStore::GetAction(
    const std::string& action_id) {
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<std::optional<pb::EnforcementAction>> {
        absl::StatusOr<pb::EnforcementAction> a = ReadAction(tx, action_id);
        if (absl::IsNotFound(a.status())) return std::optional<pb::EnforcementAction>();
        if (!a.ok()) return a.status();
        return std::optional<pb::EnforcementAction>(*std::move(a));
      });
}

absl::StatusOr<ActionPage> MysqlEnforcementStore::ListActions(
    const std::string& seller_id, std::optional<std::pair<absl::Time, std::string>> after,
    int limit) {
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<ActionPage> {
        std::vector<SqlValue> params = {seller_id};
        std::string where = "seller_id = ?";
        if (after.has_value()) {
          where += " AND (created_at < ? OR (created_at = ? AND action_id < ?))";
          params.push_back(after->first);
          params.push_back(after->first);
          params.push_back(after->second);
        }
        params.push_back(static_cast<int64_t>(limit) + 1);
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query(absl::StrCat("SELECT ", kActionColumns, " FROM enforcement_actions WHERE ",
                                  where, " ORDER BY created_at DESC, action_id DESC LIMIT ?"),
                     params));
        ActionPage page;
        for (size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
          ASSIGN_OR_RETURN(pb::EnforcementAction a, ActionFromRow(rows[i]));
          page.actions.push_back(std::move(a));
        }
        if (static_cast<int>(rows.size()) > limit && !page.actions.empty()) {
          const pb::EnforcementAction& last = page.actions.back();
          ASSIGN_OR_RETURN(absl::Time t, common::FromTimestamp(last.created_at(), "created_at"));
          page.next = std::make_pair(t, last.action_id());
        }
        RETURN_IF_ERROR(AttachSteps(tx, page.actions));
        return page;
      });
}

}  // namespace marketplace::sellerkpi
