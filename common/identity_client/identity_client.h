#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CLIENT_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CLIENT_H_

// What every service needs from identity:
// - IdentityKeyFetcher: identity's public signing keys (GetSigningKeys), as the KeyFetcher of
//   common/auth's TokenVerifier, so that access tokens are verified locally;
// - ServiceTokenSource: this service's own access token (IssueServiceToken with its client id
//   and secret), cached until shortly before it expires, for calls to other services.
//
//   auto channel = common::MakeChannel({.target = "identity:7001",
//                                       .idempotent_methods = {kIdentityIdempotentMethods}});
//   identity_client::IdentityKeyFetcher keys(channel);
//   common::auth::TokenVerifier verifier(&keys, {.issuer = ..., .audience = "catalog"}, clock);
//   identity_client::ServiceTokenSource tokens(channel, {.client_id = ..., .client_secret = ...});
//   ASSIGN_OR_RETURN(std::string token, tokens.Token());

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace marketplace::common::identity_client {

// Identity methods that are safe to retry on UNAVAILABLE (ChannelOptions::idempotent_methods).
inline constexpr char kGetSigningKeysMethod[] = "marketplace.identity.v1.Identity/GetSigningKeys";
inline constexpr char kIssueServiceTokenMethod[] =
    "marketplace.identity.v1.Identity/IssueServiceToken";
inline constexpr char kGetSellerProfileMethod[] =
    "marketplace.identity.v1.Identity/GetSellerProfile";

// KeyFetcher over identity's GetSigningKeys. Returns every published key (active, next and
// retired), so tokens signed right after a rotation verify without a new fetch. Thread-safe;
// the TokenVerifier decides how often it is called.
class IdentityKeyFetcher final : public auth::KeyFetcher {
 public:
  explicit IdentityKeyFetcher(std::shared_ptr<grpc::Channel> channel,
                              absl::Duration timeout = absl::Seconds(5));

  // UNAVAILABLE (or the call's error) when identity cannot be reached; INTERNAL when it
  // answers with no usable key.
  absl::StatusOr<std::vector<auth::PublicKey>> FetchKeys() override;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  const absl::Duration timeout_;
};

struct ServiceTokenOptions {
  // From CreateServiceAccount.
  std::string client_id;
  std::string client_secret;
  // Scopes to ask for; empty for all of the account's.
  std::vector<std::string> scopes;
  // A cached token is replaced this long before it expires, so a token handed out is still
  // valid for at least this long (clock skew, the call it is used for, retries).
  absl::Duration refresh_before_expiry = absl::Seconds(60);
  // Timeout of one IssueServiceToken call.
  absl::Duration timeout = absl::Seconds(5);
};

// This service's access token, from identity's client-credentials grant. Thread-safe: callers
// share one cached token, and when it must be renewed exactly one of them asks identity while
// the others wait for its answer.
class ServiceTokenSource {
 public:
  // `clock` must outlive the source (nullptr: the system clock).
  ServiceTokenSource(std::shared_ptr<grpc::Channel> channel, ServiceTokenOptions options,
                     const Clock* clock = nullptr);

  // A token valid for at least refresh_before_expiry. Errors are identity's (e.g.
  // UNAUTHENTICATED for a wrong secret, UNAVAILABLE when it is unreachable); they are not
  // cached, the next call asks again.
  absl::StatusOr<std::string> Token();

  // The cached token when it is still good for refresh_before_expiry, else nothing; never
  // waits for identity (a caller with a deadline of its own tries this first).
  std::optional<std::string> CachedToken() const;

  // Forgets the cached token (e.g. after a call was refused with UNAUTHENTICATED); a renewal
  // in flight is not kept either. Never waits for identity.
  void Invalidate();

  // IssueServiceToken calls made, successful or not (tests, metrics).
  int64_t fetches() const;

 private:
  std::unique_ptr<marketplace::identity::v1::Identity::Stub> stub_;
  const ServiceTokenOptions options_;
  const Clock* const clock_;

  // The cached token, when still good for refresh_before_expiry.
  std::optional<std::string> Cached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Held across the call to identity: concurrent callers wait for one renewal (and then take
  // its token), while Invalidate and a caller with a good cached token never wait for it.
  absl::Mutex fetch_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Held briefly, never across a call.
  mutable absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t fetches_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // Invalidate calls
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CLIENT_H_
