#include "common/auth/token_verifier.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/errors.h"
#include "openssl/evp.h"

namespace marketplace::common::auth {
namespace {

// Algorithms a token may name. Anything else, "none" and every HMAC variant included, is refused
// before a key is even looked up.
bool AlgorithmAllowed(absl::string_view alg) { return alg == kAlgEdDsa; }

bool IsAccessTokenType(absl::string_view typ) {
  return absl::EqualsIgnoreCase(typ, kTypeAccessToken) ||
         absl::EqualsIgnoreCase(typ, absl::StrCat("application/", kTypeAccessToken));
}

// Header parameters that point at a key other than ours.
bool NamesKeySource(absl::string_view param) {
  return param == "jku" || param == "jwk" || param == "x5u" || param == "x5c" || param == "x5t" ||
         param == "x5t#S256";
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

bool Contains(const std::vector<std::string>& values, absl::string_view wanted) {
  return std::find(values.begin(), values.end(), wanted) != values.end();
}

absl::Status ValidateOptions(const KeyFetcher* fetcher, const VerifierOptions& options,
                             const Clock* clock) {
  if (fetcher == nullptr) return absl::FailedPreconditionError("token verifier has no key fetcher");
  if (clock == nullptr) return absl::FailedPreconditionError("token verifier has no clock");
  if (options.issuer.empty()) {
    return absl::FailedPreconditionError("token verifier issuer must not be empty");
  }
  if (options.audience.empty()) {
    return absl::FailedPreconditionError("token verifier audience must not be empty");
  }
  if (options.max_clock_skew < absl::ZeroDuration()) {
    return absl::FailedPreconditionError("token verifier max_clock_skew must not be negative");
  }
  if (options.min_refresh_interval < absl::ZeroDuration()) {
    return absl::FailedPreconditionError(
        "token verifier min_refresh_interval must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

bool Caller::HasRole(absl::string_view role) const { return Contains(roles, role); }

bool Caller::HasScope(absl::string_view scope) const { return Contains(scopes, scope); }

TokenVerifier::TokenVerifier(KeyFetcher* fetcher, VerifierOptions options, const Clock* clock)
    : fetcher_(fetcher),
      options_(std::move(options)),
      clock_(clock),
      options_status_(ValidateOptions(fetcher_, options_, clock_)) {}

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(KeyFetcher* fetcher,
                                                                     VerifierOptions options,
                                                                     const Clock* clock) {
  auto verifier = std::make_unique<TokenVerifier>(fetcher, std::move(options), clock);
  if (!verifier->options_status_.ok()) return verifier->options_status_;
  return verifier;
}

absl::StatusOr<Caller> TokenVerifier::Verify(absl::string_view token) {
  if (!options_status_.ok()) return options_status_;
  if (token.empty()) return Unauthenticated("missing token");
  // Checked before hashing so an oversized token costs nothing.
  if (token.size() > kMaxJwtBytes) return Unauthenticated("token is too long");

  const std::string digest = Sha256(token);
  if (digest.empty()) return absl::InternalError("cannot hash token");
  if (std::optional<Caller> cached = FromCache(digest)) return *std::move(cached);

  absl::StatusOr<Caller> caller = VerifyUncached(token);
  if (caller.ok()) Remember(digest, *caller);
  return caller;
}

absl::StatusOr<Caller> TokenVerifier::VerifyUncached(absl::string_view token) {
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(token);
  // ParseJwt's messages are written never to quote the token, so they can be passed on.
  if (!parsed.ok()) return Unauthenticated(parsed.status().message());
  const JwtHeader& header = parsed->header;
  const JwtClaims& claims = parsed->claims;

  // Cheap checks first: a token we would refuse anyway never costs a key fetch or a signature
  // check. Nothing here trusts the claims; it only refuses early.
  if (!AlgorithmAllowed(header.alg)) return Unauthenticated("unsupported token algorithm");
  if (!IsAccessTokenType(header.typ)) return Unauthenticated("wrong token type");
  for (const std::string& param : header.other_params) {
    if (NamesKeySource(param)) return Unauthenticated("token names an external key source");
    if (param == "crit") return Unauthenticated("token has critical header parameters");
  }
  if (header.kid.empty()) return Unauthenticated("token has no key id");
  if (parsed->signature.empty()) return Unauthenticated("token has no signature");

  if (claims.issuer != options_.issuer) return Unauthenticated("wrong token issuer");
  if (!Contains(claims.audiences, options_.audience)) {
    return Unauthenticated("token is not for this service");
  }
  const absl::Time now = clock_->Now();
  if (claims.expires_at + options_.max_clock_skew < now) return Unauthenticated("token expired");
  if (claims.not_before.has_value() && *claims.not_before - options_.max_clock_skew > now) {
    return Unauthenticated("token not yet valid");
  }
  if (claims.issued_at - options_.max_clock_skew > now) {
    return Unauthenticated("token issued in the future");
  }

  absl::StatusOr<PublicKey> key = KeyFor(header.kid);
  if (!key.ok()) return key.status();
  // The key, not the token, decides the algorithm; the header only has to agree with it.
  if (key->alg != header.alg) return Unauthenticated("token algorithm does not match its key");
  if (!AlgorithmAllowed(key->alg)) return Unauthenticated("unsupported key algorithm");
  signature_checks_.fetch_add(1, std::memory_order_relaxed);
  if (!VerifyJwtSignature(*parsed, key->key)) return Unauthenticated("invalid token signature");

  Caller caller;
  caller.subject = claims.subject;
  caller.roles = claims.roles;
  caller.scopes = claims.scopes;
  caller.token_id = claims.token_id;
  caller.expires_at = claims.expires_at;
  return caller;
}

absl::StatusOr<PublicKey> TokenVerifier::KeyFor(absl::string_view kid) {
  {
    absl::MutexLock lock(&keys_mu_);
    if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
  }

  absl::MutexLock fetch_lock(&fetch_mu_);
  {
    absl::MutexLock lock(&keys_mu_);
    // Another request may have fetched while this one waited for fetch_mu_.
    if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
    const absl::Time now = clock_->Now();
    if (now - last_fetch_ < options_.min_refresh_interval) {
      if (keys_loaded_) return Unauthenticated("unknown signing key");
      return absl::UnavailableError("signing keys unavailable");
    }
    last_fetch_ = now;
  }

  key_fetches_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<std::vector<PublicKey>> fetched = fetcher_->FetchKeys();

  absl::MutexLock lock(&keys_mu_);
  // A failed, empty or ambiguous answer keeps the keys we had: rejecting every token because
  // identity had a bad moment would turn a blip into an outage.
  if (fetched.ok() && !fetched->empty()) {
    absl::flat_hash_map<std::string, PublicKey> fresh;
    bool usable = true;
    for (PublicKey& k : *fetched) {
      if (k.kid.empty()) continue;
      std::string kid_copy = k.kid;
      if (!fresh.emplace(std::move(kid_copy), std::move(k)).second) {
        usable = false;  // two keys under one kid: no way to tell which one is meant
        break;
      }
    }
    if (usable && !fresh.empty()) {
      // Replaced, not merged: a key identity stopped publishing is retired here too.
      keys_ = std::move(fresh);
      keys_loaded_ = true;
    }
  }
  if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
  if (keys_loaded_) return Unauthenticated("unknown signing key");
  return absl::UnavailableError("signing keys unavailable");
}

std::optional<Caller> TokenVerifier::FromCache(const std::string& digest) {
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(digest);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.caller.expires_at + options_.max_clock_skew < clock_->Now()) {
    cache_order_.erase(it->second.age);
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.caller;
}

void TokenVerifier::Remember(const std::string& digest, const Caller& caller) {
  if (options_.cache_capacity == 0) return;
  absl::MutexLock lock(&cache_mu_);
  if (cache_.contains(digest)) return;  // a concurrent Verify of the same token got here first
  while (cache_.size() >= options_.cache_capacity) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  cache_order_.push_back(digest);
  cache_.emplace(digest, CachedToken{caller, std::prev(cache_order_.end())});
}

int64_t TokenVerifier::signature_checks() const {
  return signature_checks_.load(std::memory_order_relaxed);
}

int64_t TokenVerifier::key_fetches() const { return key_fetches_.load(std::memory_order_relaxed); }

size_t TokenVerifier::cached_tokens() const {
  absl::MutexLock lock(&cache_mu_);
  return cache_.size();
}

}  // namespace marketplace::common::auth
