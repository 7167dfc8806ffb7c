#include "common/auth/token_verifier.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/errors.h"
#include "common/ids.h"

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
  if (options.max_key_age <= absl::ZeroDuration()) {
    return absl::FailedPreconditionError("token verifier max_key_age must be positive");
  }
  return absl::OkStatus();
}

// Verify's refusal of a genuine token past exp + max_clock_skew (IsTokenExpired).
constexpr absl::string_view kTokenExpired = "token expired";

}  // namespace

bool IsTokenExpired(const absl::Status& status) {
  return absl::IsUnauthenticated(status) && status.message() == kTokenExpired;
}

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

  const std::string digest = common::Sha256(token);
  std::string kid;
  if (std::optional<Caller> cached = FromCache(digest, &kid)) {
    // Its key must still be published: this also renews a key set older than max_key_age, so
    // a withdrawn key's cached tokens are refused as soon as uncached ones are.
    absl::StatusOr<PublicKey> key = KeyFor(kid);
    if (key.ok()) return *std::move(cached);
    if (absl::IsUnauthenticated(key.status())) Forget(digest);
    return key.status();
  }

  absl::StatusOr<Caller> caller = VerifyUncached(token, &kid);
  if (caller.ok()) Remember(digest, *caller, kid);
  return caller;
}

std::optional<Caller> TokenVerifier::CachedCaller(absl::string_view token) {
  if (!options_status_.ok() || token.empty() || token.size() > kMaxJwtBytes) return std::nullopt;
  std::string kid;
  std::optional<Caller> cached = FromCache(common::Sha256(token), &kid);
  if (!cached) return std::nullopt;
  absl::MutexLock lock(&keys_mu_);
  // A set due for renewal is Verify's to renew (KeyFor), and a retired key's tokens its to refuse.
  if (!keys_loaded_ || clock_->Now() - last_success_ >= options_.max_key_age ||
      !keys_.contains(kid)) {
    return std::nullopt;
  }
  return cached;
}

absl::StatusOr<Caller> TokenVerifier::VerifyUncached(absl::string_view token,
                                                     std::string* kid) {
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(token);
  // ParseJwt's messages are written never to quote the token, so they can be passed on.
  if (!parsed.ok()) return Unauthenticated(parsed.status().message());
  const JwtHeader& header = parsed->header;
  const JwtClaims& claims = parsed->claims;

  // Cheap checks first: a token we would refuse anyway never costs a key fetch or a signature
  // check. Nothing here trusts the claims; it only refuses early. The time claims wait for the
  // signature: a token we did not sign is refused as such, never as expired (or early).
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

  absl::StatusOr<PublicKey> key = KeyFor(header.kid);
  if (!key.ok()) return key.status();
  // The key, not the token, decides the algorithm; the header only has to agree with it.
  if (key->alg != header.alg) return Unauthenticated("token algorithm does not match its key");
  if (!AlgorithmAllowed(key->alg)) return Unauthenticated("unsupported key algorithm");
  signature_checks_.fetch_add(1, std::memory_order_relaxed);
  if (!VerifyJwtSignature(*parsed, key->key)) return Unauthenticated("invalid token signature");

  const absl::Time now = clock_->Now();
  if (claims.expires_at + options_.max_clock_skew < now) return Unauthenticated(kTokenExpired);
  if (claims.not_before.has_value() && *claims.not_before - options_.max_clock_skew > now) {
    return Unauthenticated("token not yet valid");
  }
  if (claims.issued_at - options_.max_clock_skew > now) {
    return Unauthenticated("token issued in the future");
  }
  *kid = header.kid;

  Caller caller;
  caller.subject = claims.subject;
  caller.roles = claims.roles;
  caller.scopes = claims.scopes;
  caller.token_id = claims.token_id;
  caller.issued_at = claims.issued_at;
  caller.expires_at = claims.expires_at;
  return caller;
}

absl::StatusOr<PublicKey> TokenVerifier::KeyFor(absl::string_view kid) {
  {
    absl::MutexLock lock(&keys_mu_);
    if (!keys_loaded_ && fetch_in_flight_) {
      // The first load: callers wait for it (a cold start, not a forged kid) and then look.
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(keys_mu_) { return !fetch_in_flight_; };
      keys_mu_.Await(absl::Condition(&done));
    }
    const absl::Time now = clock_->Now();
    auto it = keys_.find(kid);
    const bool stale = keys_loaded_ && now - last_success_ >= options_.max_key_age;
    // One fetch at a time, and at most one per min_refresh_interval whatever its outcome.
    const bool may_fetch = !fetch_in_flight_ && now - last_fetch_ >= options_.min_refresh_interval;
    if (it != keys_.end()) {
      // A known key serves while the set is fresh, and also while a renewal runs or waits:
      // an old set beats refusing every caller.
      if (!stale || !may_fetch) return it->second;
    } else if (!may_fetch) {
      // An unknown kid while a fetch runs (or just ran) is answered at once instead of holding
      // a thread per forged token.
      if (keys_loaded_) return Unauthenticated("unknown signing key");
      return absl::UnavailableError("signing keys unavailable");
    }
    fetch_in_flight_ = true;
    last_fetch_ = now;
  }

  key_fetches_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<std::vector<PublicKey>> fetched = fetcher_->FetchKeys();

  absl::flat_hash_map<std::string, PublicKey> fresh;
  bool usable = fetched.ok() && !fetched->empty();
  if (usable) {
    for (PublicKey& k : *fetched) {
      if (k.kid.empty()) continue;
      std::string kid_copy = k.kid;
      if (!fresh.emplace(std::move(kid_copy), std::move(k)).second) {
        usable = false;  // two keys under one kid: no way to tell which one is meant
        break;
      }
    }
    usable = usable && !fresh.empty();
  }
  absl::StatusOr<PublicKey> result = absl::UnavailableError("signing keys unavailable");
  {
    absl::MutexLock lock(&keys_mu_);
    fetch_in_flight_ = false;
    // A failed, empty or ambiguous answer keeps the keys we had: rejecting every token because
    // identity had a bad moment would turn a blip into an outage. The set is tried again after
    // min_refresh_interval.
    if (usable) {
      // Replaced, not merged: a key identity stopped publishing is retired here too.
      keys_ = fresh;
      keys_loaded_ = true;
      last_success_ = clock_->Now();
    }
    if (auto it = keys_.find(kid); it != keys_.end()) {
      result = it->second;
    } else if (keys_loaded_) {
      result = Unauthenticated("unknown signing key");
    }
  }
  if (usable) ForgetTokensOfRetiredKeys(fresh);
  return result;
}

void TokenVerifier::ForgetTokensOfRetiredKeys(
    const absl::flat_hash_map<std::string, PublicKey>& published) {
  absl::MutexLock lock(&cache_mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (published.contains(it->second.kid)) {
      ++it;
      continue;
    }
    cache_order_.erase(it->second.age);
    cache_.erase(it++);
  }
}

std::optional<Caller> TokenVerifier::FromCache(const std::string& digest, std::string* kid) {
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(digest);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.caller.expires_at + options_.max_clock_skew < clock_->Now()) {
    cache_order_.erase(it->second.age);
    cache_.erase(it);
    return std::nullopt;
  }
  *kid = it->second.kid;
  return it->second.caller;
}

void TokenVerifier::Forget(const std::string& digest) {
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(digest);
  if (it == cache_.end()) return;
  cache_order_.erase(it->second.age);
  cache_.erase(it);
}

void TokenVerifier::Remember(const std::string& digest, const Caller& caller,
                             const std::string& kid) {
  if (options_.cache_capacity == 0) return;
  absl::MutexLock lock(&cache_mu_);
  if (cache_.contains(digest)) return;  // a concurrent Verify of the same token got here first
  while (cache_.size() >= options_.cache_capacity) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  cache_order_.push_back(digest);
  cache_.emplace(digest, CachedToken{caller, kid, std::prev(cache_order_.end())});
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
