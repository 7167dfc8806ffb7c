#include "common/identity_client/identity_seller_directory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/errors.h"
#include "common/status_mapping.h"

namespace marketplace::common::identity_client {

namespace idv1 = marketplace::identity::v1;

IdentitySellerDirectory::IdentitySellerDirectory(std::shared_ptr<grpc::Channel> channel,
                                                 ServiceTokenSource* tokens,
                                                 absl::Duration timeout)
    : stub_(idv1::Identity::NewStub(std::move(channel))), tokens_(tokens), timeout_(timeout) {}

absl::StatusOr<SellerStatus> IdentitySellerDirectory::GetSeller(const std::string& seller_id) {
  return GetSellerFor(seller_id, CallOrigin{});
}

absl::StatusOr<SellerStatus> IdentitySellerDirectory::GetSellerFor(const std::string& seller_id,
                                                                   const CallOrigin& origin) {
  absl::StatusOr<std::string> token = tokens_->Token();
  if (!token.ok()) {
    return absl::UnavailableError(
        absl::StrCat("identity: no service token: ", token.status().message()));
  }
  grpc::ClientContext context;
  PrepareClientContext(&context, {.timeout = timeout_,
                                  .incoming_deadline = origin.deadline,
                                  .request_id = origin.request_id,
                                  .bearer_token = *token});
  idv1::GetSellerProfileRequest request;
  request.set_name(absl::StrCat("accounts/", seller_id, "/sellerProfile"));
  idv1::SellerProfile profile;
  grpc::Status status = stub_->GetSellerProfile(&context, request, &profile);
  SellerStatus out;
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return out;
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) tokens_->Invalidate();
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    // Identity refuses the id itself: no retry can succeed, so it is not UNAVAILABLE.
    return absl::InvalidArgumentError(
        absl::StrCat("identity refuses the seller id: ", status.error_message()));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && origin.deadline &&
      absl::Now() >= *origin.deadline) {
    return absl::DeadlineExceededError("the caller's deadline passed during the seller lookup");
  }
  if (!status.ok()) {
    absl::Status error = FromGrpcStatus(status);
    return absl::UnavailableError(absl::StrCat("identity GetSellerProfile: ", error.message()));
  }
  out.found = true;
  out.approved_active = profile.status() == idv1::APPROVED;
  out.payout_account = profile.application().payout_account_ref();
  return out;
}

}  // namespace marketplace::common::identity_client
