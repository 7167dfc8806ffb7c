#ifndef MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_SERVICE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_SERVICE_H_

#include "common/server/method_handler.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"
#include "services/sellerkpi/permissions.h"
#include "services/sellerkpi/sellerkpi_api.h"

namespace marketplace::sellerkpi {

// The gRPC API (CallbackService): each call goes through common::MethodHandler, whose guard is
// the permission table (permissions.h), then SellerKpiApi.
class SellerKpiService final : public v1::SellerKpiService::CallbackService {
 public:
  // Both must outlive the service.
  SellerKpiService(common::UnaryRunner* runner, SellerKpiApi* api);
  grpc::ServerUnaryReactor* RecordSellerEvents(grpc::CallbackServerContext* context,
                                               const v1::RecordSellerEventsRequest* request,
                                               v1::RecordSellerEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetSellerScorecard(grpc::CallbackServerContext* context,
                                               const v1::GetSellerScorecardRequest* request,
                                               v1::SellerScorecard* response) override;
  grpc::ServerUnaryReactor* ListKpiEvidence(grpc::CallbackServerContext* context,
                                            const v1::ListKpiEvidenceRequest* request,
                                            v1::ListKpiEvidenceResponse* response) override;
  grpc::ServerUnaryReactor* GetKpiHistory(grpc::CallbackServerContext* context,
                                          const v1::GetKpiHistoryRequest* request,
                                          v1::GetKpiHistoryResponse* response) override;
  grpc::ServerUnaryReactor* ListEnforcementActions(
      grpc::CallbackServerContext* context, const v1::ListEnforcementActionsRequest* request,
      v1::ListEnforcementActionsResponse* response) override;
  grpc::ServerUnaryReactor* GetPublicSellerRating(grpc::CallbackServerContext* context,
                                                  const v1::GetPublicSellerRatingRequest* request,
                                                  v1::PublicSellerRating* response) override;
  grpc::ServerUnaryReactor* AppealEnforcement(grpc::CallbackServerContext* context,
                                              const v1::AppealEnforcementRequest* request,
                                              v1::EnforcementAction* response) override;
  grpc::ServerUnaryReactor* ExcludeSellerEvent(grpc::CallbackServerContext* context,
                                               const v1::ExcludeSellerEventRequest* request,
                                               v1::ExcludeSellerEventResponse* response) override;
  grpc::ServerUnaryReactor* ListSellersByHealth(grpc::CallbackServerContext* context,
                                                const v1::ListSellersByHealthRequest* request,
                                                v1::ListSellersByHealthResponse* response) override;
  grpc::ServerUnaryReactor* EvaluateSellers(grpc::CallbackServerContext* context,
                                            const v1::EvaluateSellersRequest* request,
                                            v1::EvaluateSellersResponse* response) override;
  grpc::ServerUnaryReactor* GetThresholds(grpc::CallbackServerContext* context,
                                          const v1::GetThresholdsRequest* request,
                                          v1::Thresholds* response) override;
  grpc::ServerUnaryReactor* UpdateThresholds(grpc::CallbackServerContext* context,
                                             const v1::UpdateThresholdsRequest* request,
                                             v1::Thresholds* response) override;
  grpc::ServerUnaryReactor* DecideAppeal(grpc::CallbackServerContext* context,
                                         const v1::DecideAppealRequest* request,
                                         v1::EnforcementAction* response) override;
  grpc::ServerUnaryReactor* ReplaySellerKpis(grpc::CallbackServerContext* context,
                                             const v1::ReplaySellerKpisRequest* request,
                                             v1::ReplaySellerKpisResponse* response) override;

 private:
  SellerKpiApi* api_;
  common::MethodHandler<Method, kMethodCount> handler_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_SELLERKPI_SERVICE_H_
