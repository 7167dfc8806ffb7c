#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CONNECTION_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/identity_client/identity_client.h"
#include "common/identity_client/identity_seller_directory.h"
#include "grpcpp/channel.h"

namespace marketplace::common::identity_client {

// How a service reaches identity.
struct IdentityClientConfig {
  std::string address;       // host:port of identity's gRPC server
  std::string token_issuer;  // `iss` of identity's access tokens
  std::string client_id;     // this service's SERVICE account (CreateServiceAccount)
  std::string client_secret;
  // The published key set is fetched again once it is this old, so a key identity withdrew is
  // refused at most this long after (--signing_keys_max_age).
  absl::Duration signing_keys_max_age = absl::Minutes(5);
};

// The same flags in every service:
//   --identity_address (default 127.0.0.1:7001), --token_issuer (marketplace-identity),
//   --service_client_id, --service_client_secret / --service_client_secret_file,
//   --signing_keys_max_age (default 5m, 1s-1h).
void AddIdentityClientFlags(Flags& flags, IdentityClientConfig* config);

// Everything a service needs from identity, wired once: one channel (GetSigningKeys,
// IssueServiceToken and GetSellerProfile retried on UNAVAILABLE), the verifier of incoming
// access tokens for `audience`, this service's own token, and seller lookups.
class IdentityConnection {
 public:
  // `clock` must outlive the connection.
  IdentityConnection(const IdentityClientConfig& config, absl::string_view audience,
                     const Clock* clock);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  auth::TokenVerifier& verifier() { return verifier_; }
  ServiceTokenSource& tokens() { return tokens_; }
  SellerDirectory& sellers() { return sellers_; }
  // Whether a client secret was given (without one, calls needing this service's token fail).
  bool has_credentials() const { return has_credentials_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  IdentityKeyFetcher keys_;
  auth::TokenVerifier verifier_;
  ServiceTokenSource tokens_;
  IdentitySellerDirectory sellers_;
  bool has_credentials_;
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_IDENTITY_CONNECTION_H_
