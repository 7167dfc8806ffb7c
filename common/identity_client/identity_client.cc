#include "common/identity_client/identity_client.h"

#include <utility>

#include "common/errors.h"
#include "common/status_mapping.h"

namespace marketplace::common::identity_client {
namespace {

namespace v1 = ::marketplace::identity::v1;

void SetTimeout(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

IdentityKeyFetcher::IdentityKeyFetcher(std::shared_ptr<grpc::Channel> channel,
                                       absl::Duration timeout)
    : stub_(v1::Identity::NewStub(std::move(channel))), timeout_(timeout) {}

absl::StatusOr<std::vector<auth::PublicKey>> IdentityKeyFetcher::FetchKeys() {
  grpc::ClientContext context;
  SetTimeout(&context, timeout_);
  v1::GetSigningKeysResponse response;
  grpc::Status status = stub_->GetSigningKeys(&context, v1::GetSigningKeysRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  std::vector<auth::PublicKey> keys;
  for (const v1::SigningKey& key : response.keys()) {
    if (key.kid().empty() || key.alg().empty() || key.public_key().empty()) continue;
    keys.push_back({key.kid(), key.alg(), key.public_key()});
  }
  if (keys.empty()) return absl::InternalError("identity published no usable signing key");
  return keys;
}

ServiceTokenSource::ServiceTokenSource(std::shared_ptr<grpc::Channel> channel,
                                       ServiceTokenOptions options, const Clock* clock)
    : stub_(v1::Identity::NewStub(std::move(channel))),
      options_(std::move(options)),
      clock_(clock != nullptr ? clock : SystemClock::Get()) {}

std::optional<std::string> ServiceTokenSource::Cached() const {
  if (!token_.empty() && clock_->Now() + options_.refresh_before_expiry < expires_at_) {
    return token_;
  }
  return std::nullopt;
}

std::optional<std::string> ServiceTokenSource::CachedToken() const {
  absl::MutexLock lock(&mu_);
  return Cached();
}

absl::StatusOr<std::string> ServiceTokenSource::Token() {
  if (std::optional<std::string> cached = CachedToken()) return *std::move(cached);
  // One renewal at a time; the others wait here and take its token.
  absl::MutexLock fetching(&fetch_mu_);
  int64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<std::string> cached = Cached()) return *std::move(cached);
    token_.clear();
    ++fetches_;
    generation = generation_;
  }
  v1::IssueServiceTokenRequest request;
  request.set_client_id(options_.client_id);
  request.set_client_secret(options_.client_secret);
  for (const std::string& scope : options_.scopes) request.add_scopes(scope);
  grpc::ClientContext context;
  SetTimeout(&context, options_.timeout);
  v1::IssueServiceTokenResponse response;
  grpc::Status status = stub_->IssueServiceToken(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  if (response.access_token().empty()) {
    return absl::InternalError("identity issued an empty service token");
  }
  absl::MutexLock lock(&mu_);
  // Invalidated while identity answered: this caller gets the token, nobody else keeps it.
  if (generation == generation_) {
    token_ = response.access_token();
    expires_at_ = FromTimestamp(response.expire_time());
  }
  return response.access_token();
}

void ServiceTokenSource::Invalidate() {
  absl::MutexLock lock(&mu_);
  token_.clear();
  expires_at_ = absl::InfinitePast();
  ++generation_;
}

int64_t ServiceTokenSource::fetches() const {
  absl::MutexLock lock(&mu_);
  return fetches_;
}

}  // namespace marketplace::common::identity_client
