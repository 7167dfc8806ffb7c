#include "services/sellerkpi/sellerkpi_service.h"

#include "absl/strings/str_cat.h"

namespace marketplace::sellerkpi {

SellerKpiService::SellerKpiService(common::UnaryRunner* runner, SellerKpiApi* api)
    : api_(api),
      handler_(runner, v1::SellerKpiService::service_full_name(), MethodNames(),
               [](Method method, const common::CallContext& call) {
                 return Authorize(method, call.caller);
               }) {}

grpc::ServerUnaryReactor* SellerKpiService::RecordSellerEvents(
    grpc::CallbackServerContext* context, const v1::RecordSellerEventsRequest* request,
    v1::RecordSellerEventsResponse* response) {
  return handler_.Unary(context, Method::kRecordSellerEvents, response,
                        [this, request](const common::CallContext& call) {
                          return api_->RecordSellerEvents(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::GetSellerScorecard(
    grpc::CallbackServerContext* context, const v1::GetSellerScorecardRequest* request,
    v1::SellerScorecard* response) {
  return handler_.Unary(context, Method::kGetSellerScorecard, response,
                        [this, request](const common::CallContext& call) {
                          return api_->GetSellerScorecard(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::ListKpiEvidence(
    grpc::CallbackServerContext* context, const v1::ListKpiEvidenceRequest* request,
    v1::ListKpiEvidenceResponse* response) {
  return handler_.Unary(context, Method::kListKpiEvidence, response,
                        [this, request](const common::CallContext& call) {
                          return api_->ListKpiEvidence(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::GetKpiHistory(grpc::CallbackServerContext* context,
                                                          const v1::GetKpiHistoryRequest* request,
                                                          v1::GetKpiHistoryResponse* response) {
  return handler_.Unary(context, Method::kGetKpiHistory, response,
                        [this, request](const common::CallContext& call) {
                          return api_->GetKpiHistory(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::ListEnforcementActions(
    grpc::CallbackServerContext* context, const v1::ListEnforcementActionsRequest* request,
    v1::ListEnforcementActionsResponse* response) {
  return handler_.Unary(context, Method::kListEnforcementActions, response,
                        [this, request](const common::CallContext& call) {
                          return api_->ListEnforcementActions(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::GetPublicSellerRating(
    grpc::CallbackServerContext* context, const v1::GetPublicSellerRatingRequest* request,
    v1::PublicSellerRating* response) {
  return handler_.Unary(context, Method::kGetPublicSellerRating, response,
                        [this, request](const common::CallContext&) {
                          return api_->GetPublicSellerRating(*request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::AppealEnforcement(
    grpc::CallbackServerContext* context, const v1::AppealEnforcementRequest* request,
    v1::EnforcementAction* response) {
  return handler_.Unary(context, Method::kAppealEnforcement, response,
                        [this, request](const common::CallContext& call) {
                          return api_->AppealEnforcement(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::ExcludeSellerEvent(
    grpc::CallbackServerContext* context, const v1::ExcludeSellerEventRequest* request,
    v1::ExcludeSellerEventResponse* response) {
  return handler_.Unary(context, Method::kExcludeSellerEvent, response,
                        [this, request](const common::CallContext& call) {
                          return api_->ExcludeSellerEvent(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::ListSellersByHealth(
    grpc::CallbackServerContext* context, const v1::ListSellersByHealthRequest* request,
    v1::ListSellersByHealthResponse* response) {
  return handler_.Unary(
      context, Method::kListSellersByHealth, response,
      [this, request](const common::CallContext&) { return api_->ListSellersByHealth(*request); });
}

grpc::ServerUnaryReactor* SellerKpiService::EvaluateSellers(
    grpc::CallbackServerContext* context, const v1::EvaluateSellersRequest* request,
    v1::EvaluateSellersResponse* response) {
  return handler_.Unary(
      context, Method::kEvaluateSellers, response,
      [this, request](const common::CallContext&) { return api_->EvaluateSellers(*request); });
}

grpc::ServerUnaryReactor* SellerKpiService::GetThresholds(grpc::CallbackServerContext* context,
                                                          const v1::GetThresholdsRequest* request,
                                                          v1::Thresholds* response) {
  return handler_.Unary(
      context, Method::kGetThresholds, response,
      [this, request](const common::CallContext&) { return api_->GetThresholds(); });
}

grpc::ServerUnaryReactor* SellerKpiService::UpdateThresholds(
    grpc::CallbackServerContext* context, const v1::UpdateThresholdsRequest* request,
    v1::Thresholds* response) {
  return handler_.Unary(context, Method::kUpdateThresholds, response,
                        [this, request](const common::CallContext& call) {
                          return api_->UpdateThresholds(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::DecideAppeal(grpc::CallbackServerContext* context,
                                                         const v1::DecideAppealRequest* request,
                                                         v1::EnforcementAction* response) {
  return handler_.Unary(context, Method::kDecideAppeal, response,
                        [this, request](const common::CallContext& call) {
                          return api_->DecideAppeal(call.caller, *request);
                        });
}

grpc::ServerUnaryReactor* SellerKpiService::ReplaySellerKpis(
    grpc::CallbackServerContext* context, const v1::ReplaySellerKpisRequest* request,
    v1::ReplaySellerKpisResponse* response) {
  return handler_.Unary(context, Method::kReplaySellerKpis, response,
                        [this, request](const common::CallContext&) {
                          return api_->ReplaySellerKpis(*request);
                        });
}

}  // namespace marketplace::sellerkpi
