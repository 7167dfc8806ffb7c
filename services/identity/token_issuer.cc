#include "services/identity/token_issuer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/field_rules.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {

absl::Status ValidateTokenOptions(const TokenOptions& options) {
  if (options.issuer.empty()) return common::InvalidField("token_issuer", "must not be empty");
  if (options.audiences.empty() ||
      std::find(options.audiences.begin(), options.audiences.end(), "identity") ==
          options.audiences.end()) {
    return common::InvalidField("token_audiences", "must include \"identity\"");
  }
  for (const std::string& aud : options.audiences) {
    if (aud.empty() || aud.find_first_of(" ,") != std::string::npos) {
      return common::InvalidField("token_audiences", "must be non-empty names without spaces");
    }
  }
  if (options.access_token_ttl < absl::Minutes(1) || options.access_token_ttl > absl::Hours(1)) {
    return common::InvalidField("access_token_ttl", "must be between 1m and 1h");
  }
  if (options.service_token_ttl < absl::Minutes(1) || options.service_token_ttl > absl::Hours(1)) {
    return common::InvalidField("service_token_ttl", "must be between 1m and 1h");
  }
  if (options.refresh_token_ttl < options.access_token_ttl ||
      options.refresh_token_ttl > absl::Hours(24 * 365)) {
    return common::InvalidField("refresh_token_ttl",
                                "must be at least access_token_ttl and at most 365 days");
  }
  return absl::OkStatus();
}

AccessTokenIssuer::AccessTokenIssuer(KeyRing* keys, TokenOptions options,
                                     const common::Clock* clock)
    : keys_(keys), options_(std::move(options)), clock_(clock) {}

absl::StatusOr<IssuedAccessToken> AccessTokenIssuer::Sign(const Account& account,
                                                          std::string token_id,
                                                          absl::Time issued_at,
                                                          absl::Time expires_at,
                                                          const std::vector<std::string>& scopes) {
  ASSIGN_OR_RETURN(KeyRing::SigningKey key, keys_->Active());
  // JWT times are whole seconds; what the response says must match what the token says.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(issued_at));
  expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(expires_at));
  common::auth::JwtHeader header;
  header.kid = key.kid;
  common::auth::JwtClaims claims;
  claims.issuer = options_.issuer;
  claims.subject = account.id;
  claims.audiences = options_.audiences;
  claims.issued_at = now;
  claims.expires_at = expires_at;
  claims.token_id = token_id;
  claims.roles = {std::string(RoleName(account.role))};
  claims.scopes = scopes;
  ASSIGN_OR_RETURN(std::string token, common::auth::SignJwt(header, claims, key.private_key));
  return IssuedAccessToken{std::move(token), std::move(token_id), now, expires_at};
}

absl::StatusOr<IssuedAccessToken> AccessTokenIssuer::IssueForSession(const Account& account,
                                                                     absl::string_view session_id,
                                                                     absl::Time not_after,
                                                                     absl::Time issued_at) {
  const absl::Time expires = std::min(issued_at + options_.access_token_ttl, not_after);
  return Sign(account, absl::StrCat(session_id, ".", NewOpaqueId().substr(0, 16)), issued_at,
              expires, {});
}

absl::StatusOr<IssuedAccessToken> AccessTokenIssuer::IssueForService(
    const Account& account, const std::vector<std::string>& scopes,
    std::optional<absl::Time> issued_at) {
  const absl::Time at = issued_at.value_or(clock_->Now());
  return Sign(account, NewOpaqueId(), at, at + options_.service_token_ttl, scopes);
}

std::string SessionIdOfTokenId(absl::string_view token_id) {
  const size_t dot = token_id.find('.');
  if (dot == absl::string_view::npos) return "";
  return std::string(token_id.substr(0, dot));
}

}  // namespace marketplace::identity
