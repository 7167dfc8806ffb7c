#ifndef MARKETPLACE_SERVICES_IDENTITY_TOKEN_ISSUER_H_
#define MARKETPLACE_SERVICES_IDENTITY_TOKEN_ISSUER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/identity/key_ring.h"
#include "services/identity/model.h"

namespace marketplace::identity {

struct TokenOptions {
  // `iss` of every token; verifiers compare it exactly.
  std::string issuer = "marketplace-identity";
  // `aud` of every token: the services that accept it. Must include "identity".
  std::vector<std::string> audiences = {"identity", "catalog", "payments", "support",
                                        "sellerkpi", "gateway"};
  absl::Duration access_token_ttl = absl::Minutes(15);
  // Counted from the login; refreshing does not extend it.
  absl::Duration refresh_token_ttl = absl::Hours(24 * 30);
  absl::Duration service_token_ttl = absl::Minutes(15);
};

// INVALID_ARGUMENT naming the option that cannot work.
[[nodiscard]] absl::Status ValidateTokenOptions(const TokenOptions& options);

struct IssuedAccessToken {
  std::string token;
  std::string token_id;  // jti
  absl::Time issued_at;
  absl::Time expires_at;
};

// Signs access tokens (RFC 9068 profile: typ at+jwt, EdDSA, kid) with the active key.
class AccessTokenIssuer {
 public:
  // `keys` and `clock` must outlive the issuer.
  AccessTokenIssuer(KeyRing* keys, TokenOptions options, const common::Clock* clock);

  // A token for a human account in `session_id`, expiring after access_token_ttl but never
  // after `not_after` (the session's end). `issued_at` is the token's iat: the time read in the
  // transaction that decided to issue it, under the account's row lock, so that a revocation
  // committed after that transaction (whose not-before is read under the same lock) is later
  // than the token whatever the delay before signing.
  [[nodiscard]] absl::StatusOr<IssuedAccessToken> IssueForSession(const Account& account,
                                                                  absl::string_view session_id,
                                                                  absl::Time not_after,
                                                                  absl::Time issued_at);

  // A token for a SERVICE account with `scopes`; `issued_at` as above (nullopt: now, for a
  // token identity signs for itself).
  [[nodiscard]] absl::StatusOr<IssuedAccessToken> IssueForService(
      const Account& account, const std::vector<std::string>& scopes,
      std::optional<absl::Time> issued_at = std::nullopt);

  const TokenOptions& options() const { return options_; }

 private:
  absl::StatusOr<IssuedAccessToken> Sign(const Account& account, std::string token_id,
                                         absl::Time issued_at, absl::Time expires_at,
                                         const std::vector<std::string>& scopes);

  KeyRing* const keys_;
  const TokenOptions options_;
  const common::Clock* const clock_;
};

// The session a token id belongs to ("" for service tokens). Session tokens' ids are
// "<session id>.<nonce>", so a revocation-aware check needs no table of issued tokens.
std::string SessionIdOfTokenId(absl::string_view token_id);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_TOKEN_ISSUER_H_
