#include "common/identity_client/identity_connection.h"

#include <algorithm>

#include "common/client/channel.h"

namespace marketplace::common::identity_client {

void AddIdentityClientFlags(Flags& flags, IdentityClientConfig* config) {
  flags.AddString("identity_address", &config->address, "127.0.0.1:7001",
                  "identity's gRPC address: token signing keys, this service's token, sellers.");
  flags.AddString("token_issuer", &config->token_issuer, "marketplace-identity",
                  "`iss` expected in access tokens (identity's --token_issuer).");
  flags.AddString("service_client_id", &config->client_id, "",
                  "This service's client id at identity (from CreateServiceAccount).");
  flags.AddSecret("service_client_secret", &config->client_secret,
                  "This service's client secret at identity (usually "
                  "--service_client_secret_file); without it, calls that need this service's "
                  "own token (seller checks) answer UNAVAILABLE.");
  flags.AddDuration("signing_keys_max_age", &config->signing_keys_max_age, absl::Minutes(5),
                    absl::Seconds(1), absl::Hours(1),
                    "identity's published signing keys are fetched again once this old: a key "
                    "identity stopped publishing (retired, or withdrawn by an operator) is "
                    "refused at most this long after, with the tokens it signed.");
}

IdentityConnection::IdentityConnection(const IdentityClientConfig& config,
                                       absl::string_view audience, const Clock* clock)
    : channel_(MakeChannel({.target = config.address,
                            .idempotent_methods = {kGetSigningKeysMethod,
                                                   kIssueServiceTokenMethod,
                                                   kGetSellerProfileMethod}})),
      keys_(channel_),
      verifier_(&keys_,
                {.issuer = config.token_issuer,
                 .audience = std::string(audience),
                 // A renewal is never held back longer than the set may age.
                 .min_refresh_interval = std::min(absl::Seconds(30), config.signing_keys_max_age),
                 .max_key_age = config.signing_keys_max_age},
                clock),
      tokens_(channel_, {.client_id = config.client_id, .client_secret = config.client_secret},
              clock),
      sellers_(channel_, &tokens_),
      has_credentials_(!config.client_secret.empty()) {}

}  // namespace marketplace::common::identity_client
