#include "services/catalog/reporter_directory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/proto_time.h"
#include "common/status_mapping.h"

namespace marketplace::catalog {

namespace idv1 = marketplace::identity::v1;

IdentityReporterDirectory::IdentityReporterDirectory(
    std::shared_ptr<grpc::Channel> channel, common::identity_client::ServiceTokenSource* tokens,
    absl::Duration timeout)
    : stub_(idv1::Identity::NewStub(std::move(channel))), tokens_(tokens), timeout_(timeout) {}

absl::StatusOr<ReporterStanding> IdentityReporterDirectory::GetReporter(
    const std::string& account_id) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = created_.find(account_id); it != created_.end()) {
      return ReporterStanding{true, it->second};
    }
  }
  absl::StatusOr<std::string> token = tokens_->Token();
  if (!token.ok()) {
    return absl::UnavailableError(
        absl::StrCat("identity: no service token: ", token.status().message()));
  }
  grpc::ClientContext context;
  common::PrepareClientContext(&context, {.timeout = timeout_, .bearer_token = *token});
  idv1::GetAccountRequest request;
  request.set_name(absl::StrCat("accounts/", account_id));
  idv1::Account account;
  grpc::Status status = stub_->GetAccount(&context, request, &account);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return ReporterStanding{};
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) tokens_->Invalidate();
  if (!status.ok()) {
    absl::Status error = common::FromGrpcStatus(status);
    return absl::UnavailableError(absl::StrCat("identity GetAccount: ", error.message()));
  }
  absl::StatusOr<absl::Time> parsed = common::FromTimestamp(account.create_time(), "create_time");
  if (!parsed.ok()) return absl::UnavailableError("identity GetAccount: bad create_time");
  const absl::Time created = *parsed;
  {
    absl::MutexLock lock(&mu_);
    if (created_.size() >= 100000) created_.clear();
    created_[account_id] = created;
  }
  return ReporterStanding{true, created};
}

}  // namespace marketplace::catalog
