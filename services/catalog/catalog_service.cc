#include "services/catalog/catalog_service.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace marketplace::catalog {

std::set<std::string> CatalogPublicMethods() {
  std::set<std::string> out;
  for (size_t i = 0; i < kMethodCount; ++i) {
    const Method method = static_cast<Method>(i);
    if (RuleFor(method).is_public) {
      out.insert(absl::StrCat("/", v1::CatalogService::service_full_name(), "/", MethodNames()[i]));
    }
  }
  return out;
}

CatalogService::CatalogService(common::UnaryRunner* runner, CatalogApi* api,
                               common::BoundedExecutor* executor)
    : api_(api),
      executor_(executor),
      handler_(runner, v1::CatalogService::service_full_name(), MethodNames(),
               [](Method method, const common::CallContext& call) {
                 return Authorize(method, call.caller);
               }) {}

// Each handler: the permission table (the guard), then the API call.
grpc::ServerUnaryReactor* CatalogService::CreateListing(grpc::CallbackServerContext* context,
                                                        const v1::CreateListingRequest* request,
                                                        v1::Listing* response) {
  return handler_.Unary(context, Method::kCreateListing, response,
               [this, request](const common::CallContext& call) {
                 return api_->CreateListing(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::UpdateListing(grpc::CallbackServerContext* context,
                                                        const v1::UpdateListingRequest* request,
                                                        v1::Listing* response) {
  return handler_.Unary(context, Method::kUpdateListing, response,
               [this, request](const common::CallContext& call) {
                 return api_->UpdateListing(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::SubmitListing(grpc::CallbackServerContext* context,
                                                        const v1::SubmitListingRequest* request,
                                                        v1::Listing* response) {
  return handler_.Unary(context, Method::kSubmitListing, response,
               [this, request](const common::CallContext& call) {
                 return api_->SubmitListing(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::ListListings(grpc::CallbackServerContext* context,
                                                       const v1::ListListingsRequest* request,
                                                       v1::ListListingsResponse* response) {
  // A public first page in memory is answered on the calling thread (gRPC's own for an
  // anonymous call), already serialized; one caller of a page past half its time asks the
  // executor to re-read it meanwhile. Anything else reads the database on the executor.
  return handler_.UnaryAsync(
      context, Method::kListListings, response,
      [this, request](const common::CallContext& call,
                      std::function<void(absl::StatusOr<v1::ListListingsResponse>)> done) {
        if (std::optional<CatalogApi::CachedFirstPage> cached =
                api_->CachedPage(call.caller, *request)) {
          if (cached->refresh) {
            auto refresh = [this, caller = call.caller, copy = *request] {
              api_->RefreshPage(caller, copy);
            };
            // Not queued (executor full): the page expires and its next caller reads it.
            if (executor_ == nullptr) {
              refresh();
            } else {
              (void)executor_->TrySubmit(std::move(refresh));
            }
          }
          done(std::move(cached->response));
          return;
        }
        auto read = [this, request, caller = call.caller, done]() {
          done(api_->ListListings(caller, *request));
        };
        // Already on the executor (a token that had to be verified), or on gRPC's thread.
        if (!call.on_grpc_thread || executor_ == nullptr) {
          read();
        } else if (!executor_->TrySubmit(read)) {
          done(absl::ResourceExhaustedError("server busy: too many calls queued"));
        }
      });
}

grpc::ServerUnaryReactor* CatalogService::WithdrawListing(grpc::CallbackServerContext* context,
                                                          const v1::WithdrawListingRequest* request,
                                                          v1::Listing* response) {
  return handler_.Unary(context, Method::kWithdrawListing, response,
               [this, request](const common::CallContext& call) {
                 return api_->WithdrawListing(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::ReportListing(grpc::CallbackServerContext* context,
                                                        const v1::ReportListingRequest* request,
                                                        v1::ReportListingResponse* response) {
  return handler_.Unary(context, Method::kReportListing, response,
               [this, request](const common::CallContext& call) {
                 return api_->ReportListing(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::ListReviewQueue(grpc::CallbackServerContext* context,
                                                          const v1::ListReviewQueueRequest* request,
                                                          v1::ListReviewQueueResponse* response) {
  return handler_.Unary(context, Method::kListReviewQueue, response,
               [this, request](const common::CallContext& call) {
                 return api_->ListReviewQueue(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::ClaimReview(grpc::CallbackServerContext* context,
                                                      const v1::ClaimReviewRequest* request,
                                                      v1::Review* response) {
  return handler_.Unary(context, Method::kClaimReview, response,
               [this, request](const common::CallContext& call) {
                 return api_->ClaimReview(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::DecideReview(grpc::CallbackServerContext* context,
                                                       const v1::DecideReviewRequest* request,
                                                       v1::Listing* response) {
  return handler_.Unary(context, Method::kDecideReview, response,
               [this, request](const common::CallContext& call) {
                 return api_->DecideReview(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::AppealDecision(grpc::CallbackServerContext* context,
                                                         const v1::AppealDecisionRequest* request,
                                                         v1::Listing* response) {
  return handler_.Unary(context, Method::kAppealDecision, response,
               [this, request](const common::CallContext& call) {
                 return api_->AppealDecision(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::GetModerationHistory(
    grpc::CallbackServerContext* context, const v1::GetModerationHistoryRequest* request,
    v1::GetModerationHistoryResponse* response) {
  return handler_.Unary(context, Method::kGetModerationHistory, response,
               [this, request](const common::CallContext& call) {
                 return api_->GetModerationHistory(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::SetSellerModerationLevel(
    grpc::CallbackServerContext* context, const v1::SetSellerModerationLevelRequest* request,
    v1::SellerModeration* response) {
  return handler_.Unary(context, Method::kSetSellerModerationLevel, response,
               [this, request](const common::CallContext& call) {
                 return api_->SetSellerModerationLevel(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::GetSellerModerationLevel(
    grpc::CallbackServerContext* context, const v1::GetSellerModerationLevelRequest* request,
    v1::SellerModeration* response) {
  return handler_.Unary(context, Method::kGetSellerModerationLevel, response,
               [this, request](const common::CallContext& call) {
                 return api_->GetSellerModerationLevel(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::SuspendSellerListings(
    grpc::CallbackServerContext* context, const v1::SuspendSellerListingsRequest* request,
    v1::SuspendSellerListingsResponse* response) {
  return handler_.Unary(context, Method::kSuspendSellerListings, response,
               [this, request](const common::CallContext& call) {
                 return api_->SuspendSellerListings(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::RestoreSellerListings(
    grpc::CallbackServerContext* context, const v1::RestoreSellerListingsRequest* request,
    v1::RestoreSellerListingsResponse* response) {
  return handler_.Unary(context, Method::kRestoreSellerListings, response,
               [this, request](const common::CallContext& call) {
                 return api_->RestoreSellerListings(call.caller, *request);
               });
}

grpc::ServerUnaryReactor* CatalogService::ListCategories(grpc::CallbackServerContext* context,
                                                         const v1::ListCategoriesRequest*,
                                                         v1::ListCategoriesResponse* response) {
  return handler_.Unary(context, Method::kListCategories, response,
               [this](const common::CallContext&) { return api_->ListCategories(); });
}

// Without a thread per call: the read waits in the store's batched reader (GetListing is
// public: the guard admits every caller, and runs all the same).
grpc::ServerUnaryReactor* CatalogService::GetListing(grpc::CallbackServerContext* context,
                                                     const v1::GetListingRequest* request,
                                                     v1::Listing* response) {
  return handler_.UnaryAsync(
      context, Method::kGetListing, response,
      [this, request](const common::CallContext& call,
                      std::function<void(absl::StatusOr<v1::Listing>)> done) {
        api_->GetListingAsync(call.caller, *request, std::move(done));
      });
}

}  // namespace marketplace::catalog
