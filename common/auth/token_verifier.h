#ifndef MARKETPLACE_COMMON_AUTH_TOKEN_VERIFIER_H_
#define MARKETPLACE_COMMON_AUTH_TOKEN_VERIFIER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace marketplace::common::auth {

// One of identity's token signing keys.
struct PublicKey {
  std::string kid;
  std::string alg;  // the one algorithm this key may be used with, e.g. "EdDSA"
  std::string key;  // raw key bytes: 32 bytes for Ed25519
};

// Where verifiers get identity's current public keys (identity's GetSigningKeys in production).
class KeyFetcher {
 public:
  virtual ~KeyFetcher() = default;
  virtual absl::StatusOr<std::vector<PublicKey>> FetchKeys() = 0;
};

// The authenticated principal of a call, as stated by a verified access token.
struct Caller {
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::string token_id;
  absl::Time issued_at;  // the token's iat (whole seconds)
  absl::Time expires_at;

  bool HasRole(absl::string_view role) const;
  bool HasScope(absl::string_view scope) const;
};

struct VerifierOptions {
  std::string issuer;    // the exact `iss` identity puts in its tokens
  std::string audience;  // this service's name; a token's `aud` must contain it
  absl::Duration max_clock_skew = absl::Seconds(60);
  // Refreshes of the key set for an unknown kid happen at most this often, so a flood of
  // tokens naming made-up kids costs identity one call per interval at most.
  absl::Duration min_refresh_interval = absl::Seconds(30);
  // The key set is fetched again once it is this old (by the first call that finds it so;
  // the others go on with the current set meanwhile), so a key identity stopped publishing is
  // refused at most this long after, and so are the cached tokens it signed.
  absl::Duration max_key_age = absl::Minutes(5);
  // Verified tokens remembered; 0 turns the cache off.
  size_t cache_capacity = 10000;
};

// True when `status` is TokenVerifier::Verify refusing a token for its expiry: a token whose
// signature verified under one of identity's keys, past exp + max_clock_skew.
bool IsTokenExpired(const absl::Status& status);

// Checks access tokens locally against identity's public keys. Thread-safe.
//
// A token is accepted only if all of these hold:
// - it parses strictly (see ParseJwt);
// - `alg` is on the allow-list (EdDSA only) and equals the alg its key is bound to;
// - `typ` is "at+jwt" ("application/at+jwt" is the same media type, RFC 7515 section 4.1.9);
// - the header carries no `jku`, `jwk`, `x5u`, `x5c`, `x5t`, `x5t#S256` or `crit`. Tokens naming
//   a key source are rejected, not merely ignored: our issuer never emits them, so one that does
//   was not made by it, and refusing it outright means no code path can be tempted to follow them;
// - `kid` names one of identity's keys (one refresh is tried for an unknown kid, at most every
//   min_refresh_interval; while a fetch runs, other unknown kids are refused at once) and the
//   signature verifies under it;
// - `iss` equals options.issuer and `aud` contains options.audience;
// - exp + skew >= now, and nbf - skew <= now, iat - skew <= now. These are judged only once the
//   signature verified: a token we did not sign is refused as such ("invalid token signature",
//   "unknown signing key"), never as expired or early, so its refusal tells nothing of its claims.
// Verified tokens are cached by SHA-256 until they expire or their key leaves the published set
// (seen at the next fetch: the set is renewed every max_key_age).
// Every rejection is UNAUTHENTICATED with a short reason that never quotes the token. The one
// exception is when no key set could ever be loaded: that is identity being unreachable, not a
// bad token, so it is UNAVAILABLE and the client may retry.
class TokenVerifier {
 public:
  // `fetcher` and `clock` must outlive the verifier. Invalid options (empty issuer or audience,
  // negative durations) make every Verify fail with FAILED_PRECONDITION; Create reports them
  // up front.
  TokenVerifier(KeyFetcher* fetcher, VerifierOptions options, const Clock* clock);
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(KeyFetcher* fetcher,
                                                               VerifierOptions options,
                                                               const Clock* clock);

  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  absl::StatusOr<Caller> Verify(absl::string_view token);

  // The caller of `token` when it can be told without waiting: the token is among the verified
  // ones, unexpired, and its key is in a key set younger than max_key_age (what Verify would
  // answer from its cache without a fetch). nullopt is never a refusal: it means only that
  // Verify must decide (it may fetch keys, so it may block).
  std::optional<Caller> CachedCaller(absl::string_view token);

  // Counters for tests and metrics.
  int64_t signature_checks() const;  // signatures actually verified (cache misses that got far)
  int64_t key_fetches() const;       // calls made to the KeyFetcher, successful or not
  size_t cached_tokens() const;

 private:
  struct CachedToken {
    Caller caller;
    std::string kid;                       // the key that signed it
    std::list<std::string>::iterator age;  // position in cache_order_
  };

  absl::StatusOr<PublicKey> KeyFor(absl::string_view kid);
  // Sets `kid` to the key that signed an accepted token.
  absl::StatusOr<Caller> VerifyUncached(absl::string_view token, std::string* kid);
  // Drops cached tokens whose key is not in `published`.
  void ForgetTokensOfRetiredKeys(const absl::flat_hash_map<std::string, PublicKey>& published);
  // The cached caller for this token digest if it is there and unexpired; drops it once expired,
  // so the full path reports the expiry.
  // The cached caller of `digest` and the kid of the key that signed it.
  std::optional<Caller> FromCache(const std::string& digest, std::string* kid);
  void Forget(const std::string& digest);
  void Remember(const std::string& digest, const Caller& caller, const std::string& kid);

  KeyFetcher* const fetcher_;
  const VerifierOptions options_;
  const Clock* const clock_;
  const absl::Status options_status_;

  // Never held during a fetch itself; fetch_in_flight_ keeps fetches to one at a time.
  absl::Mutex keys_mu_ ABSL_ACQUIRED_BEFORE(cache_mu_);
  absl::flat_hash_map<std::string, PublicKey> keys_ ABSL_GUARDED_BY(keys_mu_);
  bool keys_loaded_ ABSL_GUARDED_BY(keys_mu_) = false;
  absl::Time last_fetch_ ABSL_GUARDED_BY(keys_mu_) = absl::InfinitePast();
  absl::Time last_success_ ABSL_GUARDED_BY(keys_mu_) = absl::InfinitePast();
  bool fetch_in_flight_ ABSL_GUARDED_BY(keys_mu_) = false;
  std::atomic<int64_t> key_fetches_{0};

  // Verified tokens by SHA-256 of the token, evicted oldest-first beyond capacity. Only tokens
  // that passed every check get in, so junk cannot push good entries out faster than real
  // traffic would.
  mutable absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, CachedToken> cache_ ABSL_GUARDED_BY(cache_mu_);
  std::list<std::string> cache_order_ ABSL_GUARDED_BY(cache_mu_);  // oldest first
  std::atomic<int64_t> signature_checks_{0};
};

}  // namespace marketplace::common::auth

#endif  // MARKETPLACE_COMMON_AUTH_TOKEN_VERIFIER_H_
