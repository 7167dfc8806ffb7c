#ifndef MARKETPLACE_SERVICES_CATALOG_CATALOG_SERVICE_H_
#define MARKETPLACE_SERVICES_CATALOG_CATALOG_SERVICE_H_

#include <array>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/executor.h"
#include "common/server/method_handler.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "services/catalog/catalog_api.h"
#include "services/catalog/permissions.h"

namespace marketplace::catalog {

// Full gRPC names of the methods that may be called without a token (LIVE content only).
std::set<std::string> CatalogPublicMethods();

// The CatalogService gRPC API over CatalogApi. Every handler goes through the UnaryRunner
// (request id, authentication deny-by-default, bounded executor, status mapping) and the
// permission table (Authorize) before the API call.
class CatalogService final : public v1::CatalogService::CallbackService {
 public:
  // Everything must outlive the service. `executor`: where ListListings reads the database
  // for an anonymous call (which starts on gRPC's thread, see CachedPage); null: on the
  // calling thread (tests).
  CatalogService(common::UnaryRunner* runner, CatalogApi* api,
                 common::BoundedExecutor* executor = nullptr);

#define MP_CATALOG_METHOD(Method, Request, Response)                     \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const v1::Request* request, v1::Response* response) override;
  MP_CATALOG_METHOD(CreateListing, CreateListingRequest, Listing)
  MP_CATALOG_METHOD(UpdateListing, UpdateListingRequest, Listing)
  MP_CATALOG_METHOD(SubmitListing, SubmitListingRequest, Listing)
  MP_CATALOG_METHOD(GetListing, GetListingRequest, Listing)
  MP_CATALOG_METHOD(ListListings, ListListingsRequest, ListListingsResponse)
  MP_CATALOG_METHOD(WithdrawListing, WithdrawListingRequest, Listing)
  MP_CATALOG_METHOD(ListCategories, ListCategoriesRequest, ListCategoriesResponse)
  MP_CATALOG_METHOD(ReportListing, ReportListingRequest, ReportListingResponse)
  MP_CATALOG_METHOD(ListReviewQueue, ListReviewQueueRequest, ListReviewQueueResponse)
  MP_CATALOG_METHOD(ClaimReview, ClaimReviewRequest, Review)
  MP_CATALOG_METHOD(DecideReview, DecideReviewRequest, Listing)
  MP_CATALOG_METHOD(AppealDecision, AppealDecisionRequest, Listing)
  MP_CATALOG_METHOD(GetModerationHistory, GetModerationHistoryRequest, GetModerationHistoryResponse)
  MP_CATALOG_METHOD(SetSellerModerationLevel, SetSellerModerationLevelRequest, SellerModeration)
  MP_CATALOG_METHOD(GetSellerModerationLevel, GetSellerModerationLevelRequest, SellerModeration)
  MP_CATALOG_METHOD(SuspendSellerListings, SuspendSellerListingsRequest,
                    SuspendSellerListingsResponse)
  MP_CATALOG_METHOD(RestoreSellerListings, RestoreSellerListingsRequest,
                    RestoreSellerListingsResponse)
#undef MP_CATALOG_METHOD

 private:
  CatalogApi* api_;
  common::BoundedExecutor* executor_;
  common::MethodHandler<Method, kMethodCount> handler_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CATALOG_SERVICE_H_
