#include "services/sellerkpi/sellerkpi_api.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/idempotency/request_id.h"
#include "common/ids.h"
#include "common/page_token.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/sellerkpi/counters.h"
#include "services/sellerkpi/enforcement_policy.h"
#include "services/sellerkpi/evaluation_replay.h"
#include "services/sellerkpi/kpi_math.h"

namespace marketplace::sellerkpi {
namespace {

constexpr int kEvidencePageDefault = 20;
constexpr int kEvidencePageMax = 100;
constexpr size_t kMaxAppealStatement = 5000;
constexpr size_t kMaxDecisionNote = 2000;

constexpr int kActionsPageDefault = 20;
constexpr int kActionsPageMax = 100;
constexpr int kHealthPageDefault = 50;
constexpr int kHealthPageMax = 200;
constexpr int kHistoryDaysDefault = 90;
constexpr int kHistoryDaysMax = 365;
constexpr int kMaxEvaluateSellers = 1000;

absl::Status CheckSellerId(absl::string_view field, absl::string_view id) {
  if (!common::IsAccountId(id)) {
    return common::InvalidField(field, "must be an account id: 32 lowercase hex digits");
  }
  return absl::OkStatus();
}

// An optional request_id: its form only (README "Idempotency" of sellerkpi).
void CheckRequestId(const std::string& request_id, common::Violations& v) {
  if (!request_id.empty()) v.Check(common::idempotency::ValidateRequestId("request_id", request_id));
}

absl::CivilDay Today(const common::Clock* clock) {
  return absl::ToCivilDay(clock->Now(), absl::UTCTimeZone());
}

const KpiSpec* CheckKpi(pb::Kpi kpi, common::Violations& v) {
  const KpiSpec* spec = SpecOf(kpi);
  if (spec == nullptr) v.Add("kpi", "must be a Kpi other than KPI_UNSPECIFIED");
  return spec;
}

}  // namespace

absl::Status SellerKpiApi::CheckSellerAccess(const MaybeCaller& caller,
                                             const std::string& seller_id) {
  RETURN_IF_ERROR(CheckSellerId("seller_id", seller_id));
  const bool may_see =
      caller.has_value() && (SeesEverySeller(*caller) ||
                             (caller->HasRole("SELLER") && caller->subject == seller_id));
  if (!may_see) return common::NotFound("seller", seller_id);
  ASSIGN_OR_RETURN(bool known, store_->SellerKnown(seller_id));
  if (!known) return common::NotFound("seller", seller_id);
  return absl::OkStatus();
}

absl::StatusOr<pb::RecordSellerEventsResponse> SellerKpiApi::RecordSellerEvents(
    const MaybeCaller&, const pb::RecordSellerEventsRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  if (request.events_size() < 1 || request.events_size() > kMaxBatch) {
    v.Add("events", absl::StrCat("must hold 1-", kMaxBatch, " events"));
  }
  RETURN_IF_ERROR(v.Status());
  std::vector<pb::SellerEvent> events(request.events().begin(), request.events().end());
  ASSIGN_OR_RETURN(RecordCounts counts, ingestion_->Record(events, "api", /*from_api=*/true));
  pb::RecordSellerEventsResponse response;
  response.set_recorded(counts.recorded);
  response.set_duplicates(counts.duplicates);
  return response;
}

absl::StatusOr<pb::SellerScorecard> SellerKpiApi::GetSellerScorecard(
    const MaybeCaller& caller, const pb::GetSellerScorecardRequest& request) {
  RETURN_IF_ERROR(CheckSellerAccess(caller, request.seller_id()));
  ASSIGN_OR_RETURN(std::optional<pb::SellerScorecard> card,
                   store_->LatestScorecard(request.seller_id()));
  pb::SellerScorecard out;
  if (card.has_value()) {
    out = *std::move(card);
  } else {
    ASSIGN_OR_RETURN(out, evaluation_->Preview(request.seller_id(), clock_->Now()));
  }
  // The seller's actions in force or in progress, newest first, and the latest other one.
  ASSIGN_OR_RETURN(std::vector<pb::EnforcementAction> actions,
                   enforcement_->CurrentActions(request.seller_id()));
  out.clear_actions();
  for (pb::EnforcementAction& a : actions) *out.add_actions() = std::move(a);
  return out;
}

absl::StatusOr<pb::ListKpiEvidenceResponse> SellerKpiApi::ListKpiEvidence(
    const MaybeCaller& caller, const pb::ListKpiEvidenceRequest& request) {
  common::Violations v;
  v.Check(CheckSellerId("seller_id", request.seller_id()));
  const KpiSpec* spec = CheckKpi(request.kpi(), v);
  absl::StatusOr<int> page_size =
      common::PageSize(request.page_size(), kEvidencePageDefault, kEvidencePageMax);
  v.Check(page_size.status());
  RETURN_IF_ERROR(v.Status());
  const std::string filters = absl::StrCat("seller_id=", request.seller_id(),
                                           ";kpi=", static_cast<int>(request.kpi()));
  std::optional<std::pair<absl::Time, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(request.page_token(), filters, "seller_id, kpi"));
    ASSIGN_OR_RETURN(common::TimeIdCursor c, common::DecodeTimeIdCursor(cursor));
    after = std::make_pair(c.time, c.id);
  }
  RETURN_IF_ERROR(CheckSellerAccess(caller, request.seller_id()));
  const absl::CivilDay last = Today(clock_);
  ASSIGN_OR_RETURN(std::vector<pb::SellerEvent> events,
                   store_->ListEvidence(request.seller_id(), request.kpi(),
                                        WindowStart(last, spec->window_days), last, after,
                                        *page_size + 1));
  pb::ListKpiEvidenceResponse response;
  for (size_t i = 0; i < events.size() && i < static_cast<size_t>(*page_size); ++i) {
    *response.add_events() = events[i];
  }
  if (events.size() > static_cast<size_t>(*page_size)) {
    const pb::SellerEvent& last_event = events[*page_size - 1];
    ASSIGN_OR_RETURN(absl::Time t, common::FromTimestamp(last_event.occurred_at(), "occurred_at"));
    response.set_next_page_token(common::EncodePageToken(
        common::EncodeTimeIdCursor({t, last_event.event_id()}), filters));
  }
  return response;
}

absl::StatusOr<pb::GetKpiHistoryResponse> SellerKpiApi::GetKpiHistory(
    const MaybeCaller& caller, const pb::GetKpiHistoryRequest& request) {
  common::Violations v;
  v.Check(CheckSellerId("seller_id", request.seller_id()));
  const KpiSpec* spec = CheckKpi(request.kpi(), v);
  if (request.days() < 0 || request.days() > kHistoryDaysMax) {
    v.Add("days", absl::StrCat("must be 1-", kHistoryDaysMax, " (0 means ",
                               kHistoryDaysDefault, ")"));
  }
  RETURN_IF_ERROR(v.Status());
  RETURN_IF_ERROR(CheckSellerAccess(caller, request.seller_id()));
  const int days = request.days() == 0 ? kHistoryDaysDefault : request.days();
  const absl::CivilDay last = Today(clock_);
  const absl::CivilDay first = WindowStart(WindowStart(last, days), spec->window_days);
  ASSIGN_OR_RETURN(std::vector<CounterRow> rows,
                   store_->ReadCounters(request.seller_id(), first, last));
  ASSIGN_OR_RETURN(double prior, evaluation_->PriorMean(last));
  pb::GetKpiHistoryResponse response;
  for (pb::KpiPoint& p : History(*spec, DayCounters(rows), last, days, prior)) {
    *response.add_points() = std::move(p);
  }
  return response;
}

absl::StatusOr<pb::ListEnforcementActionsResponse> SellerKpiApi::ListEnforcementActions(
    const MaybeCaller& caller, const pb::ListEnforcementActionsRequest& request) {
  common::Violations v;
  v.Check(CheckSellerId("seller_id", request.seller_id()));
  absl::StatusOr<int> page_size =
      common::PageSize(request.page_size(), kActionsPageDefault, kActionsPageMax);
  v.Check(page_size.status());
  RETURN_IF_ERROR(v.Status());
  const std::string filters = absl::StrCat("seller_id=", request.seller_id(), ";actions");
  std::optional<std::pair<absl::Time, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(request.page_token(), filters, "seller_id"));
    ASSIGN_OR_RETURN(common::TimeIdCursor c, common::DecodeTimeIdCursor(cursor));
    after = std::make_pair(c.time, c.id);
  }
  RETURN_IF_ERROR(CheckSellerAccess(caller, request.seller_id()));
  ASSIGN_OR_RETURN(ActionPage page,
                   enforcement_->ListActions(request.seller_id(), after, *page_size));
  pb::ListEnforcementActionsResponse response;
  for (pb::EnforcementAction& a : page.actions) *response.add_actions() = std::move(a);
  if (page.next.has_value()) {
    response.set_next_page_token(common::EncodePageToken(
        common::EncodeTimeIdCursor({page.next->first, page.next->second}), filters));
  }
  return response;
}

absl::StatusOr<pb::EnforcementAction> SellerKpiApi::AppealEnforcement(
    const MaybeCaller& caller, const pb::AppealEnforcementRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  v.Check(common::ValidateIdOfKind("action_id", request.action_id(), "act_", "action"));
  const size_t length = common::CodePoints(request.statement());
  if (length < 1 || length > kMaxAppealStatement) {
    v.Add("statement", absl::StrCat("must be 1-", kMaxAppealStatement, " characters"));
  }
  RETURN_IF_ERROR(v.Status());
  // The permission table lets sellers and SUPPORT_AGENT through: a seller's appeal must be of
  // its own action; an agent files it for the action's seller (a suspended seller cannot sign
  // in to do it), and the appeal says who filed it.
  const bool for_the_seller = caller->HasRole("SUPPORT_AGENT") && !caller->HasRole("SELLER");
  return enforcement_->Appeal(request.action_id(), for_the_seller ? "" : caller->subject,
                              request.statement(), caller->subject, clock_->Now());
}

absl::StatusOr<pb::EnforcementAction> SellerKpiApi::DecideAppeal(
    const MaybeCaller& caller, const pb::DecideAppealRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  v.Check(common::ValidateIdOfKind("action_id", request.action_id(), "act_", "action"));
  if (request.decision() != pb::UPHOLD && request.decision() != pb::REINSTATE) {
    v.Add("decision", "must be UPHOLD or REINSTATE");
  }
  if (common::CodePoints(request.note()) > kMaxDecisionNote) {
    v.Add("note", absl::StrCat("must be at most ", kMaxDecisionNote, " characters"));
  }
  RETURN_IF_ERROR(v.Status());
  std::optional<EnforcementStore::Restoration> restoration;
  if (request.decision() == pb::REINSTATE) {
    // What to undo depends on the action; the store checks the appeal again under the
    // action's lock before it creates the restoration.
    ASSIGN_OR_RETURN(std::optional<pb::EnforcementAction> action,
                     enforcement_->GetAction(request.action_id()));
    if (!action.has_value()) return common::NotFound("action", request.action_id());
    EnforcementStore::Restoration r;
    r.action.set_action_id(common::NewId("act_"));
    r.action.set_seller_id(action->seller_id());
    r.action.set_type(pb::RESTORATION);
    r.action.set_explanation(absl::StrCat(kAppealRestorationPrefix, action->action_id(),
                                          " decided REINSTATE", request.note().empty() ? "" : ": ",
                                          request.note()));
    r.step_names = RestorationSteps(action->type());
    if (action->type() == pb::AT_RISK_MEASURES || action->type() == pb::SUSPENSION) {
      // The hold comes back at least at the GOOD days in force now.
      ASSIGN_OR_RETURN(pb::Thresholds thresholds, store_->CurrentThresholds());
      r.action.mutable_hold_period()->set_seconds(
          absl::ToInt64Seconds(RulesOf(thresholds).hold_good));
    }
    restoration = std::move(r);
  }
  return enforcement_->DecideAppeal(request.action_id(), request.decision(), request.note(),
                                    caller->subject, restoration, clock_->Now());
}

absl::StatusOr<pb::PublicSellerRating> SellerKpiApi::GetPublicSellerRating(
    const pb::GetPublicSellerRatingRequest& request) {
  RETURN_IF_ERROR(CheckSellerId("seller_id", request.seller_id()));
  ASSIGN_OR_RETURN(bool known, store_->SellerKnown(request.seller_id()));
  if (!known) return common::NotFound("seller", request.seller_id());
  const absl::CivilDay last = Today(clock_);
  ASSIGN_OR_RETURN(std::vector<CounterRow> rows,
                   store_->ReadCounters(request.seller_id(),
                                        WindowStart(last, kLongestWindowDays), last));
  ASSIGN_OR_RETURN(double prior, evaluation_->PriorMean(last));
  const DayCounters counters(rows);
  pb::PublicSellerRating out;
  out.set_seller_id(request.seller_id());
  const pb::KpiFigure rating = Figure(*SpecOf(pb::RATING_AVERAGE), counters, last, nullptr, prior);
  out.set_rating_count(rating.denominator());
  out.set_rating(rating.denominator() >= kDefaultMinRatings ? rating.value() : 0);
  const pb::KpiFigure sla = Figure(*SpecOf(pb::WITHIN_SLA_RATE), counters, last, nullptr, prior);
  out.set_average_response_seconds(sla.average_seconds());
  ASSIGN_OR_RETURN(std::optional<pb::SellerScorecard> card,
                   store_->LatestScorecard(request.seller_id()));
  out.set_top_badge(card.has_value() && card->top_badge());
  return out;
}

absl::StatusOr<pb::ListSellersByHealthResponse> SellerKpiApi::ListSellersByHealth(
    const pb::ListSellersByHealthRequest& request) {
  common::Violations v;
  if (!pb::HealthLevel_IsValid(request.health())) {
    v.Add("health", "must be a HealthLevel");
  }
  absl::StatusOr<int> page_size =
      common::PageSize(request.page_size(), kHealthPageDefault, kHealthPageMax);
  v.Check(page_size.status());
  RETURN_IF_ERROR(v.Status());
  std::vector<pb::HealthLevel> levels;
  if (request.health() == pb::HEALTH_LEVEL_UNSPECIFIED) {
    levels = {pb::CRITICAL, pb::AT_RISK};
  } else {
    levels = {request.health()};
  }
  const std::string filters = absl::StrCat("health=", static_cast<int>(request.health()));
  std::optional<std::pair<int, std::string>> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor,
                     common::DecodePageToken(request.page_token(), filters, "health"));
    std::vector<std::string> parts = absl::StrSplit(cursor, absl::MaxSplits(':', 1));
    int health = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &health) ||
        !common::IsAccountId(parts[1])) {
      return common::InvalidField("page_token", "is not a token this method issued");
    }
    after = std::make_pair(health, parts[1]);
  }
  ASSIGN_OR_RETURN(HealthPage page, store_->ListByHealth(levels, after, *page_size));
  pb::ListSellersByHealthResponse response;
  for (pb::SellerScorecard& card : page.sellers) *response.add_sellers() = std::move(card);
  if (page.next.has_value()) {
    response.set_next_page_token(common::EncodePageToken(
        absl::StrCat(page.next->first, ":", page.next->second), filters));
  }
  return response;
}

absl::StatusOr<pb::EvaluateSellersResponse> SellerKpiApi::EvaluateSellers(
    const pb::EvaluateSellersRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  if (request.seller_ids_size() > kMaxEvaluateSellers) {
    v.Add("seller_ids", absl::StrCat("must hold at most ", kMaxEvaluateSellers, " ids"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < request.seller_ids_size() && i < kMaxEvaluateSellers; ++i) {
    v.Check(CheckSellerId(absl::StrCat("seller_ids[", i, "]"), request.seller_ids(i)));
    ids.insert(request.seller_ids(i));
  }
  absl::Time as_of = clock_->Now();
  if (request.has_as_of()) {
    absl::StatusOr<absl::Time> t = common::FromTimestamp(request.as_of(), "as_of");
    if (!t.ok()) {
      v.Check(t.status());
    } else if (*t > clock_->Now() + kMaxFuture) {
      v.Add("as_of", "must be at most 5 minutes in the future");
    } else {
      as_of = *t;
    }
  }
  RETURN_IF_ERROR(v.Status());
  ASSIGN_OR_RETURN(EvaluationCounts counts,
                   evaluation_->EvaluateSellers({ids.begin(), ids.end()}, as_of));
  pb::EvaluateSellersResponse response;
  response.set_evaluated(counts.evaluated);
  response.set_changed(counts.changed);
  return response;
}

absl::StatusOr<pb::ExcludeSellerEventResponse> SellerKpiApi::ExcludeSellerEvent(
    const MaybeCaller& caller, const pb::ExcludeSellerEventRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  if (!common::idempotency::IsValidRequestId(request.event_id())) {
    v.Add("event_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  }
  const size_t reason_length = common::CodePoints(request.reason());
  if (reason_length < 1 || reason_length > 1000) v.Add("reason", "must be 1-1000 characters");
  RETURN_IF_ERROR(v.Status());
  // The exclusion is an event of the log; its id follows from the excluded event's.
  pb::SellerEvent exclusion;
  exclusion.set_event_id(
      absl::StrCat(kExclusionIdPrefix, common::Sha256Hex(request.event_id()).substr(0, 40)));
  common::ToTimestamp(clock_->Now(), exclusion.mutable_occurred_at());
  exclusion.set_source("sellerkpi");
  pb::EventExcluded* excluded = exclusion.mutable_event_excluded();
  excluded->set_excluded_event_id(request.event_id());
  excluded->set_reason(request.reason());
  excluded->set_excluded_by(caller.has_value() ? caller->subject : "");
  ASSIGN_OR_RETURN(pb::SellerEvent event, store_->ExcludeEvent(request.event_id(), exclusion));
  pb::ExcludeSellerEventResponse response;
  *response.mutable_event() = std::move(event);
  return response;
}

absl::StatusOr<pb::ReplaySellerKpisResponse> SellerKpiApi::ReplaySellerKpis(
    const pb::ReplaySellerKpisRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  if (request.seller_ids_size() > kMaxEvaluateSellers) {
    v.Add("seller_ids", absl::StrCat("must hold at most ", kMaxEvaluateSellers, " ids"));
  }
  for (int i = 0; i < request.seller_ids_size() && i < kMaxEvaluateSellers; ++i) {
    v.Check(CheckSellerId(absl::StrCat("seller_ids[", i, "]"), request.seller_ids(i)));
  }
  RETURN_IF_ERROR(v.Status());
  const std::vector<std::string> ids(request.seller_ids().begin(), request.seller_ids().end());
  constexpr int kMaxExamples = 100;
  ASSIGN_OR_RETURN(KpiStore::ReplayReport report, store_->ReplayCounters(ids, kMaxExamples));
  ASSIGN_OR_RETURN(EvaluationReplayReport evaluations,
                   ReplayEvaluations(*store_, ids, kMaxExamples));
  pb::ReplaySellerKpisResponse response;
  response.set_events_replayed(report.events_replayed);
  response.set_sellers(report.sellers);
  response.set_aggregate_differences(report.aggregate_differences);
  response.set_health_differences(evaluations.health_differences);
  response.set_evaluations_replayed(evaluations.evaluations);
  // The aggregates' examples first, at most half of them when evaluations differ too.
  const size_t aggregate_examples =
      std::min(report.examples.size(),
               evaluations.examples.empty()
                   ? size_t{kMaxExamples}
                   : std::max(size_t{kMaxExamples / 2},
                              size_t{kMaxExamples} -
                                  std::min(evaluations.examples.size(), size_t{kMaxExamples})));
  for (size_t i = 0; i < aggregate_examples; ++i) {
    response.add_examples(std::move(report.examples[i]));
  }
  for (std::string& e : evaluations.examples) {
    if (response.examples_size() >= kMaxExamples) break;
    response.add_examples(std::move(e));
  }
  return response;
}

absl::StatusOr<pb::Thresholds> SellerKpiApi::GetThresholds() {
  return store_->CurrentThresholds();
}

absl::StatusOr<pb::Thresholds> SellerKpiApi::UpdateThresholds(
    const MaybeCaller& caller, const pb::UpdateThresholdsRequest& request) {
  common::Violations v;
  CheckRequestId(request.request_id(), v);
  if (!request.has_thresholds()) v.Add("thresholds", "is required");
  if (request.expected_version() < 1) {
    v.Add("expected_version", "must be the version being replaced (>= 1)");
  }
  static const std::set<std::string> kPaths = {"lines", "recovery_share", "recovery_evaluations",
                                               "improvement_days",
                                               "critical_evaluations_to_suspend", "hold_days"};
  for (int i = 0; i < request.update_mask().paths_size(); ++i) {
    if (kPaths.count(request.update_mask().paths(i)) == 0) {
      v.Add(absl::StrCat("update_mask.paths[", i, "]"),
            "must be lines, recovery_share, recovery_evaluations, improvement_days, "
            "critical_evaluations_to_suspend or hold_days");
    }
  }
  RETURN_IF_ERROR(v.Status());
  pb::Thresholds next = request.thresholds();
  if (request.update_mask().paths_size() > 0) {
    ASSIGN_OR_RETURN(pb::Thresholds current, store_->CurrentThresholds());
    std::set<std::string> paths(request.update_mask().paths().begin(),
                                request.update_mask().paths().end());
    const pb::Thresholds& in = request.thresholds();
    next = current;
    if (paths.count("lines")) *next.mutable_lines() = in.lines();
    if (paths.count("recovery_share")) next.set_recovery_share(in.recovery_share());
    if (paths.count("recovery_evaluations")) {
      next.set_recovery_evaluations(in.recovery_evaluations());
    }
    if (paths.count("improvement_days")) next.set_improvement_days(in.improvement_days());
    if (paths.count("critical_evaluations_to_suspend")) {
      next.set_critical_evaluations_to_suspend(in.critical_evaluations_to_suspend());
    }
    if (paths.count("hold_days")) {
      next.set_hold_days_at_risk(in.hold_days_at_risk());
      next.set_hold_days_good(in.hold_days_good());
      next.set_hold_days_top(in.hold_days_top());
    }
  }
  RETURN_IF_ERROR(ValidateThresholds(next));
  return store_->UpdateThresholds(request.expected_version(), next,
                                  caller.has_value() ? caller->subject : "", clock_->Now());
}

}  // namespace marketplace::sellerkpi
