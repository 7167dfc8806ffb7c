#ifndef MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_API_H_
#define MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_API_H_

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/enforcement_store.h"
#include "services/sellerkpi/evaluation.h"
#include "services/sellerkpi/ingestion.h"
#include "services/sellerkpi/kpi_store.h"
#include "services/sellerkpi/permissions.h"

namespace marketplace::sellerkpi {

// The API's methods for a caller the permission table let through: each request's fields
// checked (violations name the fields), which seller the caller may see (a seller its own
// only: another's answers NOT_FOUND SELLER_NOT_FOUND like an unknown one), then the domain.
// No gRPC.
class SellerKpiApi {
 public:
  // All must outlive the API.
  SellerKpiApi(KpiStore* store, EnforcementStore* enforcement, Ingestion* ingestion,
               Evaluation* evaluation, const common::Clock* clock)
      : store_(store),
        enforcement_(enforcement),
        ingestion_(ingestion),
        evaluation_(evaluation),
        clock_(clock) {}

  absl::StatusOr<pb::RecordSellerEventsResponse> RecordSellerEvents(
      const MaybeCaller& caller, const pb::RecordSellerEventsRequest& request);
  absl::StatusOr<pb::SellerScorecard> GetSellerScorecard(
      const MaybeCaller& caller, const pb::GetSellerScorecardRequest& request);
  absl::StatusOr<pb::ListKpiEvidenceResponse> ListKpiEvidence(
      const MaybeCaller& caller, const pb::ListKpiEvidenceRequest& request);
  absl::StatusOr<pb::GetKpiHistoryResponse> GetKpiHistory(
      const MaybeCaller& caller, const pb::GetKpiHistoryRequest& request);
  absl::StatusOr<pb::ListEnforcementActionsResponse> ListEnforcementActions(
      const MaybeCaller& caller, const pb::ListEnforcementActionsRequest& request);
  absl::StatusOr<pb::EnforcementAction> AppealEnforcement(
      const MaybeCaller& caller, const pb::AppealEnforcementRequest& request);
  absl::StatusOr<pb::EnforcementAction> DecideAppeal(const MaybeCaller& caller,
                                                     const pb::DecideAppealRequest& request);
  absl::StatusOr<pb::PublicSellerRating> GetPublicSellerRating(
      const pb::GetPublicSellerRatingRequest& request);
  absl::StatusOr<pb::ListSellersByHealthResponse> ListSellersByHealth(
      const pb::ListSellersByHealthRequest& request);
  absl::StatusOr<pb::EvaluateSellersResponse> EvaluateSellers(
      const pb::EvaluateSellersRequest& request);
  absl::StatusOr<pb::ExcludeSellerEventResponse> ExcludeSellerEvent(
      const MaybeCaller& caller, const pb::ExcludeSellerEventRequest& request);
  absl::StatusOr<pb::ReplaySellerKpisResponse> ReplaySellerKpis(
      const pb::ReplaySellerKpisRequest& request);
  absl::StatusOr<pb::Thresholds> GetThresholds();
  absl::StatusOr<pb::Thresholds> UpdateThresholds(const MaybeCaller& caller,
                                                  const pb::UpdateThresholdsRequest& request);

 private:
  // INVALID_ARGUMENT for a malformed seller_id; NOT_FOUND SELLER_NOT_FOUND when the caller may
  // not see the seller or the seller has no event.
  absl::Status CheckSellerAccess(const MaybeCaller& caller, const std::string& seller_id);

  KpiStore* const store_;
  EnforcementStore* const enforcement_;
  Ingestion* const ingestion_;
  Evaluation* const evaluation_;
  const common::Clock* const clock_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_API_H_
