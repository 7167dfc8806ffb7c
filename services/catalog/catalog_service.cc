#include "services/catalog/catalog_service.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace marketplace::catalog {
namespace {

constexpr char kPrefix[] = "/marketplace.catalog.v1.CatalogService/";

// Stores a domain result in the response, or returns its error.
template <typename T>
absl::Status Deliver(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

}  // namespace

std::set<std::string> CatalogPublicMethods() {
  return {absl::StrCat(kPrefix, "GetListing"), absl::StrCat(kPrefix, "ListListings"),
          absl::StrCat(kPrefix, "ListCategories")};
}

#define MP_CATALOG_HANDLER(Method, Request, Response)                                             \
  grpc::ServerUnaryReactor* CatalogService::Method(                                               \
      grpc::CallbackServerContext* context, const v1::Request* request, v1::Response* response) { \
    return runner_->Run(context, absl::StrCat(kPrefix, #Method),                                  \
                        [this, request, response](const common::CallContext& call) {              \
                          return Deliver(listings_->Method(call.caller, *request), response);     \
                        });                                                                       \
  }

MP_CATALOG_HANDLER(CreateListing, CreateListingRequest, Listing)
MP_CATALOG_HANDLER(UpdateListing, UpdateListingRequest, Listing)
MP_CATALOG_HANDLER(SubmitListing, SubmitListingRequest, Listing)
MP_CATALOG_HANDLER(ListListings, ListListingsRequest, ListListingsResponse)
MP_CATALOG_HANDLER(WithdrawListing, WithdrawListingRequest, Listing)
MP_CATALOG_HANDLER(ReportListing, ReportListingRequest, ReportListingResponse)
MP_CATALOG_HANDLER(ListReviewQueue, ListReviewQueueRequest, ListReviewQueueResponse)
MP_CATALOG_HANDLER(ClaimReview, ClaimReviewRequest, Review)
MP_CATALOG_HANDLER(DecideReview, DecideReviewRequest, Listing)
MP_CATALOG_HANDLER(AppealDecision, AppealDecisionRequest, Listing)
MP_CATALOG_HANDLER(GetModerationHistory, GetModerationHistoryRequest, GetModerationHistoryResponse)
MP_CATALOG_HANDLER(SetSellerModerationLevel, SetSellerModerationLevelRequest, SellerModeration)
MP_CATALOG_HANDLER(SuspendSellerListings, SuspendSellerListingsRequest,
                   SuspendSellerListingsResponse)
MP_CATALOG_HANDLER(RestoreSellerListings, RestoreSellerListingsRequest,
                   RestoreSellerListingsResponse)
#undef MP_CATALOG_HANDLER

// Without a thread per call: the read waits in the listings' batched reader.
grpc::ServerUnaryReactor* CatalogService::GetListing(grpc::CallbackServerContext* context,
                                                     const v1::GetListingRequest* request,
                                                     v1::Listing* response) {
  return runner_->RunAsync(
      context, absl::StrCat(kPrefix, "GetListing"),
      [this, request, response](const common::CallContext& call, common::UnaryRunner::Done done) {
        listings_->GetListingAsync(
            call.caller, *request,
            [response, done = std::move(done)](absl::StatusOr<v1::Listing> listing) {
              done(Deliver(std::move(listing), response));
            });
      });
}

grpc::ServerUnaryReactor* CatalogService::ListCategories(grpc::CallbackServerContext* context,
                                                         const v1::ListCategoriesRequest*,
                                                         v1::ListCategoriesResponse* response) {
  return runner_->Run(context, absl::StrCat(kPrefix, "ListCategories"),
                      [this, response](const common::CallContext&) {
                        return Deliver(listings_->ListCategories(), response);
                      });
}

}  // namespace marketplace::catalog
