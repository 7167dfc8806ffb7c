#include "common/auth/token_verifier.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/jwt.h"
#include "common/clock.h"
#include "absl/synchronization/notification.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace marketplace::common::auth {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIssuer[] = "https://identity.marketplace.test";
constexpr char kAudience[] = "payments";
constexpr char kKid[] = "key-1";

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifierTest()
      : key_(*GenerateEd25519KeyPair()),
        fetcher_({PublicKey{kKid, "EdDSA", key_.public_key}}),
        verifier_(&fetcher_, Options(), &clock_) {}

  static VerifierOptions Options() {
    VerifierOptions options;
    options.issuer = kIssuer;
    options.audience = kAudience;
    return options;
  }

  JwtClaims Claims(absl::string_view jti = "tok-1") const {
    JwtClaims claims;
    claims.issuer = kIssuer;
    claims.subject = "user-42";
    claims.audiences = {"catalog", kAudience};
    claims.issued_at = clock_.Now();
    claims.expires_at = clock_.Now() + absl::Minutes(15);
    claims.token_id = std::string(jti);
    claims.roles = {"buyer"};
    claims.scopes = {"payments.read", "tickets.write"};
    return claims;
  }

  std::string Sign(const JwtClaims& claims, absl::string_view kid = kKid) const {
    return SignWith(key_.private_key, claims, kid);
  }

  static std::string SignWith(absl::string_view private_key, const JwtClaims& claims,
                              absl::string_view kid) {
    JwtHeader header;
    header.kid = std::string(kid);
    absl::StatusOr<std::string> token = SignJwt(header, claims, private_key);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  // Literal JSON signed with Ed25519 under `private_key`, for tokens SignJwt refuses to make.
  static std::string SignRaw(const json& header, const json& payload,
                             absl::string_view private_key) {
    std::string input =
        absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
    return absl::StrCat(input, ".", Base64UrlEncode(*Ed25519Sign(private_key, input)));
  }

  json GoodHeaderJson() const { return {{"alg", "EdDSA"}, {"typ", "at+jwt"}, {"kid", kKid}}; }
  json GoodPayloadJson() const {
    return {{"iss", kIssuer},
            {"sub", "user-42"},
            {"aud", {kAudience}},
            {"exp", absl::ToUnixSeconds(clock_.Now() + absl::Minutes(15))},
            {"iat", absl::ToUnixSeconds(clock_.Now())},
            {"jti", "tok-raw"}};
  }

  // Rejected as UNAUTHENTICATED, saying `why`, and without quoting the token.
  void ExpectRejected(absl::string_view token, absl::string_view why) {
    absl::StatusOr<Caller> caller = verifier_.Verify(token);
    ASSERT_FALSE(caller.ok()) << "accepted; expected: " << why;
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << caller.status();
    EXPECT_THAT(caller.status().message(), HasSubstr(why));
    EXPECT_EQ(ReasonOf(caller.status()), "UNAUTHENTICATED");
    for (absl::string_view part : absl::StrSplit(token, '.')) {
      if (part.size() >= 6) {
        EXPECT_THAT(caller.status().message(), Not(HasSubstr(part)));
      }
    }
  }

  ManualClock clock_;
  Ed25519KeyPair key_;
  FakeKeyFetcher fetcher_;
  TokenVerifier verifier_;
};

TEST_F(TokenVerifierTest, GoodTokenYieldsCaller) {
  absl::StatusOr<Caller> caller = verifier_.Verify(Sign(Claims()));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "user-42");
  EXPECT_THAT(caller->roles, ElementsAre("buyer"));
  EXPECT_THAT(caller->scopes, ElementsAre("payments.read", "tickets.write"));
  EXPECT_EQ(caller->token_id, "tok-1");
  EXPECT_EQ(caller->expires_at, clock_.Now() + absl::Minutes(15));
  EXPECT_TRUE(caller->HasRole("buyer"));
  EXPECT_FALSE(caller->HasRole("operator"));
  EXPECT_TRUE(caller->HasScope("tickets.write"));
  EXPECT_FALSE(caller->HasScope("tickets"));
}

TEST_F(TokenVerifierTest, KeysAreFetchedLazilyOnce) {
  EXPECT_EQ(fetcher_.fetches(), 0);
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("a"))).ok());
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("b"))).ok());
  EXPECT_EQ(fetcher_.fetches(), 1);
}

TEST_F(TokenVerifierTest, FlippedSignatureByteIsRejected) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string signature = *Base64UrlDecode(parts[2]);
  signature[10] ^= 0x01;
  ExpectRejected(absl::StrCat(parts[0], ".", parts[1], ".", Base64UrlEncode(signature)),
                 "invalid token signature");
}

TEST_F(TokenVerifierTest, AlteredClaimsAreRejected) {
  std::vector<std::string> parts = absl::StrSplit(Sign(Claims()), '.');
  JwtClaims operator_claims = Claims();
  operator_claims.roles = {"operator"};
  std::vector<std::string> forged = absl::StrSplit(Sign(operator_claims), '.');
  ExpectRejected(absl::StrCat(parts[0], ".", forged[1], ".", parts[2]), "invalid token signature");
}

TEST_F(TokenVerifierTest, OtherKeyUnderOurKidIsRejected) {
  Ed25519KeyPair attacker = *GenerateEd25519KeyPair();
  ExpectRejected(SignWith(attacker.private_key, Claims(), kKid), "invalid token signature");
}

TEST_F(TokenVerifierTest, ExpiryHonoursSkew) {
  JwtClaims claims = Claims("just-expired");
  claims.expires_at = clock_.Now() - absl::Seconds(61);
  ExpectRejected(Sign(claims), "token expired");
  claims.token_id = "expired-within-skew";
  claims.expires_at = clock_.Now() - absl::Seconds(59);
  EXPECT_TRUE(verifier_.Verify(Sign(claims)).ok());
}

// The time claims are judged only once the signature verified: a token we did not sign is
// refused as such whatever its exp, nbf and iat say, so the refusal tells nothing of them.
TEST_F(TokenVerifierTest, ForgedTokenIsRefusedForItsSignatureNotItsTimeClaims) {
  JwtClaims expired = Claims("expired");
  expired.expires_at = clock_.Now() - absl::Minutes(5);
  const std::string genuine = Sign(expired);
  std::vector<std::string> parts = absl::StrSplit(genuine, '.');
  std::string signature = *Base64UrlDecode(parts[2]);
  signature[10] ^= 0x01;
  const std::string tampered =
      absl::StrCat(parts[0], ".", parts[1], ".", Base64UrlEncode(signature));
  ExpectRejected(tampered, "invalid token signature");
  EXPECT_FALSE(IsTokenExpired(verifier_.Verify(tampered).status()));

  Ed25519KeyPair attacker = *GenerateEd25519KeyPair();
  ExpectRejected(SignWith(attacker.private_key, expired, kKid), "invalid token signature");
  JwtClaims early = Claims("early");
  early.not_before = clock_.Now() + absl::Minutes(5);
  ExpectRejected(SignWith(attacker.private_key, early, kKid), "invalid token signature");
  JwtClaims future = Claims("future");
  future.issued_at = clock_.Now() + absl::Minutes(5);
  ExpectRejected(SignWith(attacker.private_key, future, kKid), "invalid token signature");
  ExpectRejected(SignWith(attacker.private_key, expired, "key-nobody-has"), "unknown signing key");

  // The genuine token is still told expired, and is not cached.
  ExpectRejected(genuine, "token expired");
  EXPECT_TRUE(IsTokenExpired(verifier_.Verify(genuine).status()));
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, NotBeforeHonoursSkew) {
  JwtClaims claims = Claims("early");
  claims.not_before = clock_.Now() + absl::Seconds(61);
  ExpectRejected(Sign(claims), "token not yet valid");
  claims.token_id = "early-within-skew";
  claims.not_before = clock_.Now() + absl::Seconds(59);
  EXPECT_TRUE(verifier_.Verify(Sign(claims)).ok());
}

TEST_F(TokenVerifierTest, IssuedInTheFutureHonoursSkew) {
  JwtClaims claims = Claims("future");
  claims.issued_at = clock_.Now() + absl::Seconds(61);
  ExpectRejected(Sign(claims), "token issued in the future");
  claims.token_id = "future-within-skew";
  claims.issued_at = clock_.Now() + absl::Seconds(59);
  EXPECT_TRUE(verifier_.Verify(Sign(claims)).ok());
}

TEST_F(TokenVerifierTest, WrongAudienceIsRejected) {
  JwtClaims claims = Claims();
  claims.audiences = {"catalog", "payments-admin"};
  ExpectRejected(Sign(claims), "token is not for this service");
}

TEST_F(TokenVerifierTest, SingleStringAudienceIsAccepted) {
  json payload = GoodPayloadJson();
  payload["aud"] = kAudience;
  EXPECT_TRUE(verifier_.Verify(SignRaw(GoodHeaderJson(), payload, key_.private_key)).ok());
}

TEST_F(TokenVerifierTest, WrongIssuerIsRejected) {
  JwtClaims claims = Claims();
  claims.issuer = "https://identity.evil.test";
  ExpectRejected(Sign(claims), "wrong token issuer");
}

TEST_F(TokenVerifierTest, MissingRequiredClaimIsRejected) {
  for (const char* claim : {"iss", "sub", "aud", "exp", "iat", "jti"}) {
    json payload = GoodPayloadJson();
    payload.erase(claim);
    ExpectRejected(SignRaw(GoodHeaderJson(), payload, key_.private_key),
                   absl::StrCat("'", claim, "' is missing"));
  }
}

TEST_F(TokenVerifierTest, AlgNoneWithEmptySignatureIsRejected) {
  json header = GoodHeaderJson();
  header["alg"] = "none";
  std::string token = absl::StrCat(Base64UrlEncode(header.dump()), ".",
                                   Base64UrlEncode(GoodPayloadJson().dump()), ".");
  ExpectRejected(token, "unsupported token algorithm");
  // Refused before any key lookup.
  EXPECT_EQ(fetcher_.fetches(), 0);
}

TEST_F(TokenVerifierTest, EmptySignatureIsRejected) {
  std::string token = Sign(Claims());
  ExpectRejected(token.substr(0, token.rfind('.') + 1), "token has no signature");
}

TEST_F(TokenVerifierTest, Hs256WithPublicKeyAsSecretIsRejected) {
  // The classic confusion: HMAC keyed with the verifier's public key, which anyone can get.
  json header = GoodHeaderJson();
  header["alg"] = "HS256";
  std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(GoodPayloadJson().dump()));
  for (const std::string& secret : {key_.public_key, Base64UrlEncode(key_.public_key),
                                    *Ed25519PublicKeyToPem(key_.public_key)}) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    ASSERT_NE(
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len),
        nullptr);
    std::string token = absl::StrCat(
        input, ".", Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), mac_len)));
    ExpectRejected(token, "unsupported token algorithm");
  }
}

TEST_F(TokenVerifierTest, KeyIsBoundToItsAlgorithm) {
  // A key published for another algorithm is not usable for EdDSA, even with a good signature.
  Ed25519KeyPair other = *GenerateEd25519KeyPair();
  fetcher_.AddKey(PublicKey{"key-es", "ES256", other.public_key});
  ExpectRejected(SignWith(other.private_key, Claims(), "key-es"),
                 "token algorithm does not match its key");
}

TEST_F(TokenVerifierTest, TokenTypeMustBeAccessToken) {
  for (const char* typ : {"JWT", "at+jwt2", "application/jwt", ""}) {
    json header = GoodHeaderJson();
    header["typ"] = typ;
    ExpectRejected(SignRaw(header, GoodPayloadJson(), key_.private_key), "wrong token type");
  }
  json no_typ = GoodHeaderJson();
  no_typ.erase("typ");
  ExpectRejected(SignRaw(no_typ, GoodPayloadJson(), key_.private_key), "wrong token type");
  // The same media type, spelled the other ways RFC 7515 allows.
  for (const char* typ : {"AT+JWT", "application/at+jwt"}) {
    json header = GoodHeaderJson();
    header["typ"] = typ;
    EXPECT_TRUE(verifier_.Verify(SignRaw(header, GoodPayloadJson(), key_.private_key)).ok()) << typ;
  }
}

TEST_F(TokenVerifierTest, MissingKidIsRejected) {
  json header = GoodHeaderJson();
  header.erase("kid");
  ExpectRejected(SignRaw(header, GoodPayloadJson(), key_.private_key), "token has no key id");
}

TEST_F(TokenVerifierTest, UnknownKidTriggersOneRefreshThatCanFindIt) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  ASSERT_EQ(fetcher_.fetches(), 1);

  // identity rotates: a new key appears after the verifier's last fetch.
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.AddKey(PublicKey{"key-2", "EdDSA", rotated.public_key});
  clock_.Advance(absl::Minutes(5));
  absl::StatusOr<Caller> caller =
      verifier_.Verify(SignWith(rotated.private_key, Claims(), "key-2"));
  EXPECT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(fetcher_.fetches(), 2);
}

TEST_F(TokenVerifierTest, UnknownKidStillUnknownAfterRefreshIsRejected) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  clock_.Advance(absl::Minutes(5));
  ExpectRejected(Sign(Claims(), "key-nobody-has"), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 2);  // exactly one refresh
}

TEST_F(TokenVerifierTest, RefreshesAreRateLimited) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  clock_.Advance(absl::Minutes(5));
  // A flood of made-up kids costs one fetch per interval.
  for (int i = 0; i < 100; ++i) {
    ExpectRejected(Sign(Claims(), absl::StrCat("bogus-", i)), "unknown signing key");
  }
  EXPECT_EQ(fetcher_.fetches(), 2);
  clock_.Advance(absl::Seconds(29));
  ExpectRejected(Sign(Claims(), "bogus-late"), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 2);
  clock_.Advance(absl::Seconds(1));
  ExpectRejected(Sign(Claims(), "bogus-next-interval"), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 3);

  // A real new kid that arrives inside the interval waits for the next one.
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.AddKey(PublicKey{"key-2", "EdDSA", rotated.public_key});
  std::string rotated_token = SignWith(rotated.private_key, Claims(), "key-2");
  ExpectRejected(rotated_token, "unknown signing key");
  clock_.Advance(absl::Seconds(30));
  EXPECT_TRUE(verifier_.Verify(rotated_token).ok());
  EXPECT_EQ(fetcher_.fetches(), 4);
}

TEST_F(TokenVerifierTest, FailedRefreshKeepsOldKeys) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  fetcher_.SetError(absl::UnavailableError("identity down"));
  clock_.Advance(absl::Minutes(5));
  ExpectRejected(Sign(Claims(), "key-2"), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 2);
  EXPECT_TRUE(verifier_.Verify(Sign(Claims("second"))).ok());

  // An empty key set is treated the same way: it would otherwise lock everyone out.
  fetcher_.SetError(absl::OkStatus());
  fetcher_.SetKeys({});
  clock_.Advance(absl::Minutes(5));
  ExpectRejected(Sign(Claims(), "key-3"), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 3);
  EXPECT_TRUE(verifier_.Verify(Sign(Claims("third"))).ok());
}

TEST_F(TokenVerifierTest, RefreshRetiresKeysIdentityDropped) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.SetKeys({PublicKey{"key-2", "EdDSA", rotated.public_key}});
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(verifier_.Verify(SignWith(rotated.private_key, Claims(), "key-2")).ok());
  ExpectRejected(Sign(Claims("after-rotation")), "unknown signing key");
}

TEST_F(TokenVerifierTest, NoKeysEverIsUnavailableNotUnauthenticated) {
  fetcher_.SetError(absl::UnavailableError("identity down"));
  absl::StatusOr<Caller> caller = verifier_.Verify(Sign(Claims()));
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnavailable);
  // Still rate limited while identity is down.
  EXPECT_EQ(verifier_.Verify(Sign(Claims("again"))).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(fetcher_.fetches(), 1);
  fetcher_.SetError(absl::OkStatus());
  clock_.Advance(absl::Seconds(30));
  EXPECT_TRUE(verifier_.Verify(Sign(Claims())).ok());
}

// A local listener standing in for an attacker's key server.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd_); }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_, "/keys"); }
  bool WasContacted() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, /*timeout_ms=*/200) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(TokenVerifierTest, KeySourceHeadersAreNeverFollowed) {
  Listener attacker_server;
  Ed25519KeyPair attacker = *GenerateEd25519KeyPair();
  json attacker_jwk = {
      {"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(attacker.public_key)}};
  const std::vector<std::pair<std::string, json>> sources = {
      {"jku", attacker_server.Url()},
      {"x5u", attacker_server.Url()},
      {"jwk", attacker_jwk},
      {"x5c", json::array({Base64UrlEncode("not a certificate")})},
  };
  for (const auto& [param, value] : sources) {
    json header = GoodHeaderJson();
    header[param] = value;
    header["kid"] = "attacker-key";
    ExpectRejected(SignRaw(header, GoodPayloadJson(), attacker.private_key),
                   "token names an external key source");
    // Rejected even when signed by our own key: our issuer never emits these.
    header["kid"] = kKid;
    ExpectRejected(SignRaw(header, GoodPayloadJson(), key_.private_key),
                   "token names an external key source");
  }
  EXPECT_FALSE(attacker_server.WasContacted());
  EXPECT_EQ(fetcher_.fetches(), 0);
}

TEST_F(TokenVerifierTest, CriticalHeaderIsRejected) {
  json header = GoodHeaderJson();
  header["crit"] = json::array({"exp"});
  ExpectRejected(SignRaw(header, GoodPayloadJson(), key_.private_key),
                 "token has critical header parameters");
}

TEST_F(TokenVerifierTest, CacheHitSkipsSignatureCheck) {
  std::string token = Sign(Claims());
  ASSERT_TRUE(verifier_.Verify(token).ok());
  EXPECT_EQ(verifier_.signature_checks(), 1);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Caller> caller = verifier_.Verify(token);
    ASSERT_TRUE(caller.ok());
    EXPECT_EQ(caller->subject, "user-42");
    EXPECT_EQ(caller->token_id, "tok-1");
  }
  EXPECT_EQ(verifier_.signature_checks(), 1);
  EXPECT_EQ(verifier_.cached_tokens(), 1u);
}

// CachedCaller answers without waiting only what Verify would answer from its cache without a
// fetch: never a token it has not verified, never after the expiry or once the key set is due
// for renewal (Verify then renews it and decides).
TEST_F(TokenVerifierTest, CachedCallerAnswersOnlyVerifiedTokensUnderAFreshKeySet) {
  const std::string token = Sign(Claims("cached"));
  EXPECT_FALSE(verifier_.CachedCaller(token).has_value());  // not verified yet
  EXPECT_EQ(fetcher_.fetches(), 0);                         // and nothing fetched to find out
  ASSERT_TRUE(verifier_.Verify(token).ok());
  std::optional<Caller> caller = verifier_.CachedCaller(token);
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->subject, "user-42");
  EXPECT_EQ(caller->token_id, "cached");
  EXPECT_EQ(verifier_.signature_checks(), 1);

  // A token differing in one signature byte is another token: not answered.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier_.CachedCaller(flipped).has_value());
  EXPECT_FALSE(verifier_.CachedCaller("").has_value());
  EXPECT_FALSE(verifier_.CachedCaller(std::string(20000, 'a')).has_value());

  // The key set is due for renewal: only Verify may answer (it fetches, and here refuses).
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.SetKeys({PublicKey{"key-2", "EdDSA", rotated.public_key}});
  clock_.Advance(absl::Minutes(4));
  EXPECT_TRUE(verifier_.CachedCaller(token).has_value());
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(verifier_.CachedCaller(token).has_value());
  EXPECT_EQ(fetcher_.fetches(), 1);  // CachedCaller never fetches
  ExpectRejected(token, "unknown signing key");
  EXPECT_FALSE(verifier_.CachedCaller(token).has_value());
}

TEST_F(TokenVerifierTest, CachedCallerEndsAtTheTokensExpiry) {
  const std::string token = Sign(Claims());
  ASSERT_TRUE(verifier_.Verify(token).ok());
  clock_.Advance(absl::Minutes(4));
  ASSERT_TRUE(verifier_.Verify(token).ok());  // key set still fresh
  clock_.Set(clock_.Now() + absl::Minutes(11) + absl::Seconds(61));
  EXPECT_FALSE(verifier_.CachedCaller(token).has_value());
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, CachedTokenStillExpires) {
  std::string token = Sign(Claims());
  ASSERT_TRUE(verifier_.Verify(token).ok());
  clock_.Advance(absl::Minutes(15) + absl::Seconds(61));
  ExpectRejected(token, "token expired");
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, RejectedTokensAreNotCached) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string signature = *Base64UrlDecode(parts[2]);
  signature[0] ^= 0x80;
  std::string bad = absl::StrCat(parts[0], ".", parts[1], ".", Base64UrlEncode(signature));
  ExpectRejected(bad, "invalid token signature");
  ExpectRejected(bad, "invalid token signature");
  EXPECT_EQ(verifier_.signature_checks(), 2);
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, CacheIsBoundedAndEvictsOldest) {
  VerifierOptions options = Options();
  options.cache_capacity = 3;
  TokenVerifier small(&fetcher_, options, &clock_);
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(Sign(Claims(absl::StrCat("tok-", i))));
    ASSERT_TRUE(small.Verify(tokens.back()).ok());
  }
  EXPECT_EQ(small.cached_tokens(), 3u);
  EXPECT_EQ(small.signature_checks(), 5);
  ASSERT_TRUE(small.Verify(tokens[4]).ok());  // newest: still cached
  EXPECT_EQ(small.signature_checks(), 5);
  ASSERT_TRUE(small.Verify(tokens[0]).ok());  // oldest: evicted, verified again
  EXPECT_EQ(small.signature_checks(), 6);
  EXPECT_EQ(small.cached_tokens(), 3u);
}

TEST_F(TokenVerifierTest, ZeroCapacityDisablesCache) {
  VerifierOptions options = Options();
  options.cache_capacity = 0;
  TokenVerifier uncached(&fetcher_, options, &clock_);
  std::string token = Sign(Claims());
  ASSERT_TRUE(uncached.Verify(token).ok());
  ASSERT_TRUE(uncached.Verify(token).ok());
  EXPECT_EQ(uncached.signature_checks(), 2);
  EXPECT_EQ(uncached.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, MalformedTokensAreRejectedCleanly) {
  std::string good = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ExpectRejected("", "missing token");
  ExpectRejected(absl::StrCat(parts[0], ".", parts[1]), "three parts");
  ExpectRejected(absl::StrCat(good, ".", parts[2]), "three parts");
  ExpectRejected("....", "three parts");
  ExpectRejected(absl::StrCat("%%%%.", parts[1], ".", parts[2]), "not base64url");
  ExpectRejected(absl::StrCat(parts[0], ".", parts[1], "=.", parts[2]), "not base64url");
  ExpectRejected(absl::StrCat(Base64UrlEncode("{not json"), ".", parts[1], ".", parts[2]),
                 "not JSON");
  ExpectRejected(absl::StrCat(parts[0], ".", Base64UrlEncode("[\"array\"]"), ".", parts[2]),
                 "not a JSON object");
  ExpectRejected(std::string(kMaxJwtBytes + 1, 'a'), "too long");
  ExpectRejected(std::string("\0\xff\x01.\x80.\n", 8), "not base64url");
  EXPECT_EQ(fetcher_.fetches(), 0);
}

TEST_F(TokenVerifierTest, ConcurrentCallersShareOneFetch) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(Sign(Claims(absl::StrCat("t-", i))));
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        if (verifier_.Verify(tokens[(t + round) % tokens.size()]).ok()) ++accepted;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 8 * 50);
  EXPECT_EQ(fetcher_.fetches(), 1);
  EXPECT_LE(verifier_.signature_checks(), 8 * 8);  // each token at most once per racing thread
}

TEST_F(TokenVerifierTest, TheKeySetIsRenewedWhenOldAndADroppedKeyIsRefusedEvenForCachedTokens) {
  const std::string token = Sign(Claims("cached"));
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_EQ(fetcher_.fetches(), 1);
  // identity stops publishing key-1 (say it leaked); within max_key_age nothing is asked...
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.SetKeys({PublicKey{"key-2", "EdDSA", rotated.public_key}});
  clock_.Advance(absl::Minutes(4));
  EXPECT_TRUE(verifier_.Verify(token).ok());
  EXPECT_EQ(fetcher_.fetches(), 1);
  // ...then the set is renewed by the next call, and key-1's tokens, cached or not, are refused.
  clock_.Advance(absl::Minutes(1));
  ExpectRejected(Sign(Claims("fresh-under-old-key")), "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 2);
  ExpectRejected(token, "unknown signing key");
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

// A quiet service that only sees tokens it has cached renews the key set too: the cached
// token itself is refused once its key is no longer published.
TEST_F(TokenVerifierTest, ACachedTokenAloneRenewsAnOldKeySetAndIsRefusedWhenItsKeyIsGone) {
  const std::string token = Sign(Claims("cached"));
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_EQ(fetcher_.fetches(), 1);
  Ed25519KeyPair rotated = *GenerateEd25519KeyPair();
  fetcher_.SetKeys({PublicKey{"key-2", "EdDSA", rotated.public_key}});
  clock_.Advance(absl::Minutes(5));
  ExpectRejected(token, "unknown signing key");
  EXPECT_EQ(fetcher_.fetches(), 2);
  EXPECT_EQ(verifier_.cached_tokens(), 0u);
}

TEST_F(TokenVerifierTest, AFailedRenewalKeepsServingTheKnownKeysAndIsRetriedLater) {
  ASSERT_TRUE(verifier_.Verify(Sign(Claims("first"))).ok());
  fetcher_.SetError(absl::UnavailableError("identity down"));
  clock_.Advance(absl::Minutes(6));
  EXPECT_TRUE(verifier_.Verify(Sign(Claims("second"))).ok());
  EXPECT_EQ(fetcher_.fetches(), 2);
  EXPECT_TRUE(verifier_.Verify(Sign(Claims("third"))).ok());
  EXPECT_EQ(fetcher_.fetches(), 2);  // not again within min_refresh_interval
  fetcher_.SetError(absl::OkStatus());
  clock_.Advance(absl::Seconds(30));
  EXPECT_TRUE(verifier_.Verify(Sign(Claims("fourth"))).ok());
  EXPECT_EQ(fetcher_.fetches(), 3);
}

// A fetcher whose FetchKeys blocks until released, to hold a fetch in flight.
class BlockingKeyFetcher final : public KeyFetcher {
 public:
  explicit BlockingKeyFetcher(std::vector<PublicKey> keys) : keys_(std::move(keys)) {}
  absl::StatusOr<std::vector<PublicKey>> FetchKeys() override {
    ++fetches;
    if (fetches.load() > 1) {
      entered.Notify();
      release.WaitForNotification();
    }
    return keys_;
  }
  std::atomic<int> fetches{0};
  absl::Notification entered;
  absl::Notification release;

 private:
  std::vector<PublicKey> keys_;
};

TEST_F(TokenVerifierTest, ForgedKidsDoNotWaitForTheFetchInFlight) {
  BlockingKeyFetcher fetcher({PublicKey{kKid, "EdDSA", key_.public_key}});
  VerifierOptions options = Options();
  options.min_refresh_interval = absl::ZeroDuration();
  TokenVerifier verifier(&fetcher, options, &clock_);
  ASSERT_TRUE(verifier.Verify(Sign(Claims("load"))).ok());  // first fetch, not blocked

  std::thread slow([&] { (void)verifier.Verify(Sign(Claims(), "forged-0")); });
  fetcher.entered.WaitForNotification();  // the second fetch is in flight now
  const absl::Time start = absl::Now();
  for (int i = 1; i <= 50; ++i) {
    absl::StatusOr<Caller> caller = verifier.Verify(Sign(Claims(), absl::StrCat("forged-", i)));
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(verifier.Verify(Sign(Claims("known"))).ok());  // known keys still serve
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(fetcher.fetches.load(), 2);
  fetcher.release.Notify();
  slow.join();
}

TEST(TokenVerifierOptionsTest, InvalidOptionsFailClosed) {
  FakeKeyFetcher fetcher;
  ManualClock clock;
  VerifierOptions no_audience;
  no_audience.issuer = kIssuer;
  EXPECT_EQ(TokenVerifier::Create(&fetcher, no_audience, &clock).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TokenVerifier verifier(&fetcher, no_audience, &clock);
  EXPECT_EQ(verifier.Verify("a.b.c").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fetcher.fetches(), 0);

  VerifierOptions good;
  good.issuer = kIssuer;
  good.audience = kAudience;
  EXPECT_TRUE(TokenVerifier::Create(&fetcher, good, &clock).ok());
  EXPECT_FALSE(TokenVerifier::Create(nullptr, good, &clock).ok());
}

}  // namespace
}  // namespace marketplace::common::auth
