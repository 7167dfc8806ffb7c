#include "common/auth/jwt.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace marketplace::common::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

JwtClaims SampleClaims() {
  JwtClaims claims;
  claims.issuer = "https://identity.marketplace.test";
  claims.subject = "user-42";
  claims.audiences = {"payments"};
  claims.issued_at = kNow;
  claims.expires_at = kNow + absl::Minutes(15);
  claims.token_id = "tok-1";
  claims.roles = {"buyer", "seller"};
  claims.scopes = {"payments.read", "tickets.write"};
  return claims;
}

JwtHeader SampleHeader() {
  JwtHeader header;
  header.kid = "key-1";
  return header;
}

// A compact token from literal JSON, for inputs SignJwt would never produce.
std::string RawToken(absl::string_view header_json, absl::string_view payload_json,
                     absl::string_view signature = "sig") {
  return absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json), ".",
                      Base64UrlEncode(signature));
}

constexpr absl::string_view kGoodHeader = R"({"alg":"EdDSA","typ":"at+jwt","kid":"key-1"})";
constexpr absl::string_view kGoodPayload =
    R"({"iss":"i","sub":"s","aud":["a"],"exp":1800000900,"iat":1800000000,"jti":"j"})";

void ExpectMalformed(absl::string_view token, absl::string_view why) {
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(token);
  ASSERT_FALSE(parsed.ok()) << why;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << why;
  // Nothing of the token may come back in the message.
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() >= 6) {
      EXPECT_THAT(parsed.status().message(), Not(HasSubstr(part))) << why;
    }
  }
}

TEST(Base64UrlTest, MatchesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  // The two characters that differ from standard base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RoundTripsEveryByteAtEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37));
    absl::StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(back.ok()) << i;
    ASSERT_EQ(*back, data) << i;
  }
}

TEST(Base64UrlTest, DecodeIsStrict) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());   // padding
  EXPECT_FALSE(Base64UrlDecode("Zm9v+").ok());  // standard-alphabet character
  EXPECT_FALSE(Base64UrlDecode("Zm9/").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm 9v").ok());  // whitespace
  EXPECT_FALSE(Base64UrlDecode("Z").ok());      // no byte has one character
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());  // "f" with a stray trailing bit
  EXPECT_FALSE(Base64UrlDecode(absl::string_view("Zg\0", 3)).ok());
  EXPECT_EQ(*Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Ed25519Test, MatchesRfc8032TestVector1) {
  std::string private_key =
      absl::HexStringToBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  std::string public_key =
      absl::HexStringToBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  std::string signature = absl::HexStringToBytes(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
      "b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_EQ(*Ed25519PublicKeyFromPrivate(private_key), public_key);
  EXPECT_EQ(*Ed25519Sign(private_key, ""), signature);
  EXPECT_TRUE(Ed25519Verify(public_key, "", signature));
  EXPECT_FALSE(Ed25519Verify(public_key, "x", signature));
}

TEST(Ed25519Test, GeneratedPairsSignAndVerify) {
  absl::StatusOr<Ed25519KeyPair> a = GenerateEd25519KeyPair();
  absl::StatusOr<Ed25519KeyPair> b = GenerateEd25519KeyPair();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->private_key.size(), kEd25519PrivateKeyBytes);
  EXPECT_EQ(a->public_key.size(), kEd25519PublicKeyBytes);
  EXPECT_NE(a->private_key, b->private_key);
  EXPECT_EQ(*Ed25519PublicKeyFromPrivate(a->private_key), a->public_key);

  std::string signature = *Ed25519Sign(a->private_key, "message");
  EXPECT_TRUE(Ed25519Verify(a->public_key, "message", signature));
  EXPECT_FALSE(Ed25519Verify(b->public_key, "message", signature));
  EXPECT_FALSE(Ed25519Verify(a->public_key, "message", signature.substr(1)));
  EXPECT_FALSE(Ed25519Verify(a->public_key.substr(1), "message", signature));
  EXPECT_FALSE(Ed25519Sign("short", "message").ok());
}

TEST(Ed25519Test, PemRoundTrips) {
  Ed25519KeyPair pair = *GenerateEd25519KeyPair();
  std::string private_pem = *Ed25519PrivateKeyToPem(pair.private_key);
  std::string public_pem = *Ed25519PublicKeyToPem(pair.public_key);
  EXPECT_THAT(private_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(public_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  EXPECT_EQ(*Ed25519PrivateKeyFromPem(private_pem), pair.private_key);
  EXPECT_EQ(*Ed25519PublicKeyFromPem(public_pem), pair.public_key);

  // The wrong kind of PEM, or none at all, is an error rather than a wrong key.
  EXPECT_FALSE(Ed25519PrivateKeyFromPem(public_pem).ok());
  EXPECT_FALSE(Ed25519PublicKeyFromPem("not a pem").ok());
  EXPECT_FALSE(Ed25519PrivateKeyFromPem("").ok());
}

TEST(SignJwtTest, RoundTripsThroughParse) {
  Ed25519KeyPair pair = *GenerateEd25519KeyPair();
  JwtClaims claims = SampleClaims();
  claims.not_before = kNow - absl::Seconds(5);
  absl::StatusOr<std::string> token = SignJwt(SampleHeader(), claims, pair.private_key);
  ASSERT_TRUE(token.ok()) << token.status();

  absl::StatusOr<ParsedJwt> parsed = ParseJwt(*token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header.alg, "EdDSA");
  EXPECT_EQ(parsed->header.typ, "at+jwt");
  EXPECT_EQ(parsed->header.kid, "key-1");
  EXPECT_THAT(parsed->header.other_params, IsEmpty());
  EXPECT_EQ(parsed->claims.issuer, claims.issuer);
  EXPECT_EQ(parsed->claims.subject, "user-42");
  EXPECT_THAT(parsed->claims.audiences, ElementsAre("payments"));
  EXPECT_EQ(parsed->claims.expires_at, claims.expires_at);
  EXPECT_EQ(parsed->claims.issued_at, kNow);
  EXPECT_EQ(parsed->claims.not_before, kNow - absl::Seconds(5));
  EXPECT_EQ(parsed->claims.token_id, "tok-1");
  EXPECT_THAT(parsed->claims.roles, ElementsAre("buyer", "seller"));
  EXPECT_THAT(parsed->claims.scopes, ElementsAre("payments.read", "tickets.write"));
  EXPECT_EQ(parsed->signature.size(), kEd25519SignatureBytes);
  EXPECT_TRUE(VerifyJwtSignature(*parsed, pair.public_key));
  EXPECT_FALSE(VerifyJwtSignature(*parsed, GenerateEd25519KeyPair()->public_key));
}

TEST(SignJwtTest, WireFormatFollowsTheProfile) {
  Ed25519KeyPair pair = *GenerateEd25519KeyPair();
  std::string token = *SignJwt(SampleHeader(), SampleClaims(), pair.private_key);
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  auto payload = nlohmann::json::parse(*Base64UrlDecode(parts[1]));
  // A single audience is still an array, scope one space-separated string, times integers.
  EXPECT_TRUE(payload["aud"].is_array());
  EXPECT_EQ(payload["scope"], "payments.read tickets.write");
  EXPECT_TRUE(payload["exp"].is_number_integer());
  EXPECT_EQ(payload["exp"], 1'800'000'900);
  EXPECT_FALSE(payload.contains("nbf"));
  auto header = nlohmann::json::parse(*Base64UrlDecode(parts[0]));
  EXPECT_EQ(header, nlohmann::json::parse(R"({"alg":"EdDSA","typ":"at+jwt","kid":"key-1"})"));
}

TEST(SignJwtTest, TamperedPayloadFailsVerification) {
  Ed25519KeyPair pair = *GenerateEd25519KeyPair();
  std::string token = *SignJwt(SampleHeader(), SampleClaims(), pair.private_key);
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  JwtClaims elevated = SampleClaims();
  elevated.roles.push_back("operator");
  std::vector<std::string> other =
      absl::StrSplit(*SignJwt(SampleHeader(), elevated, pair.private_key), '.');
  // The elevated payload under the original signature.
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(absl::StrCat(parts[0], ".", other[1], ".", parts[2]));
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(VerifyJwtSignature(*parsed, pair.public_key));
}

TEST(SignJwtTest, RefusesWhatItCannotSignCorrectly) {
  std::string key = GenerateEd25519KeyPair()->private_key;
  JwtHeader hs256 = SampleHeader();
  hs256.alg = "HS256";
  EXPECT_FALSE(SignJwt(hs256, SampleClaims(), key).ok());
  JwtHeader no_kid = SampleHeader();
  no_kid.kid = "";
  EXPECT_FALSE(SignJwt(no_kid, SampleClaims(), key).ok());
  JwtClaims no_aud = SampleClaims();
  no_aud.audiences.clear();
  EXPECT_FALSE(SignJwt(SampleHeader(), no_aud, key).ok());
  JwtClaims spaced_scope = SampleClaims();
  spaced_scope.scopes = {"a b"};
  EXPECT_FALSE(SignJwt(SampleHeader(), spaced_scope, key).ok());
  JwtClaims bad_utf8 = SampleClaims();
  bad_utf8.subject = "\xff\xfe";
  EXPECT_EQ(SignJwt(SampleHeader(), bad_utf8, key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SignJwt(SampleHeader(), SampleClaims(), "short").ok());
}

TEST(ParseJwtTest, AcceptsSingleStringAudienceAndOptionalClaims) {
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(RawToken(
      kGoodHeader, R"({"iss":"i","sub":"s","aud":"a","exp":5,"iat":1,"jti":"j","other":{}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->claims.audiences, ElementsAre("a"));
  EXPECT_THAT(parsed->claims.roles, IsEmpty());
  EXPECT_THAT(parsed->claims.scopes, IsEmpty());
  EXPECT_FALSE(parsed->claims.not_before.has_value());
  EXPECT_EQ(parsed->signature, "sig");
}

TEST(ParseJwtTest, ReportsHeaderAsReceived) {
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(
      RawToken(R"({"alg":"EdDSA","jku":"https://x.test/k","crit":["exp"]})", kGoodPayload));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  // No typ in the token must not read as the signer's default typ.
  EXPECT_EQ(parsed->header.typ, "");
  EXPECT_EQ(parsed->header.kid, "");
  EXPECT_THAT(parsed->header.other_params, ElementsAre("crit", "jku"));
}

TEST(ParseJwtTest, SigningInputIsTheBytesReceived) {
  std::string token = RawToken(kGoodHeader, kGoodPayload);
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->signing_input, token.substr(0, token.rfind('.')));
}

TEST(ParseJwtTest, RejectsWrongShape) {
  std::string good = RawToken(kGoodHeader, kGoodPayload);
  ExpectMalformed("", "empty");
  ExpectMalformed(good.substr(0, good.rfind('.')), "two parts");
  ExpectMalformed(absl::StrCat(good, ".AAAA"), "four parts");
  ExpectMalformed(std::string(kMaxJwtBytes + 1, 'A'), "too long");
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ExpectMalformed(absl::StrCat(parts[0], "=.", parts[1], ".", parts[2]), "padded header");
  ExpectMalformed(absl::StrCat(parts[0], ".", parts[1], "!.", parts[2]), "bad payload base64");
  ExpectMalformed(absl::StrCat(parts[0], ".", parts[1], ".", parts[2], "+"), "bad sig base64");
}

TEST(ParseJwtTest, RejectsNonObjectJson) {
  ExpectMalformed(RawToken("not json at all", kGoodPayload), "header not JSON");
  ExpectMalformed(RawToken(kGoodHeader, "{\"iss\":"), "truncated payload");
  ExpectMalformed(RawToken(kGoodHeader, "[1,2,3]"), "payload array");
  ExpectMalformed(RawToken("\"EdDSA\"", kGoodPayload), "header string");
  ExpectMalformed(RawToken(kGoodHeader, absl::StrCat(kGoodPayload, " {}")), "trailing data");
}

TEST(ParseJwtTest, RejectsDuplicateMemberNames) {
  ExpectMalformed(RawToken(R"({"alg":"EdDSA","alg":"none","kid":"k"})", kGoodPayload),
                  "duplicate alg");
  ExpectMalformed(
      RawToken(kGoodHeader,
               R"({"iss":"i","sub":"s","sub":"admin","aud":["a"],"exp":9,"iat":1,"jti":"j"})"),
      "duplicate sub");
  ExpectMalformed(
      RawToken(kGoodHeader,
               R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j","x":{"a":1,"a":2}})"),
      "nested duplicate");
}

TEST(ParseJwtTest, RejectsMissingOrMistypedClaims) {
  ExpectMalformed(RawToken(R"({"typ":"at+jwt","kid":"k"})", kGoodPayload), "no alg");
  ExpectMalformed(RawToken(R"({"alg":"EdDSA","kid":7})", kGoodPayload), "numeric kid");
  const char* bad_payloads[] = {
      R"({"sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j"})",                // no iss
      R"({"iss":"i","aud":["a"],"exp":9,"iat":1,"jti":"j"})",                // no sub
      R"({"iss":"i","sub":"s","exp":9,"iat":1,"jti":"j"})",                  // no aud
      R"({"iss":"i","sub":"s","aud":["a"],"iat":1,"jti":"j"})",              // no exp
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"jti":"j"})",              // no iat
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1})",                // no jti
      R"({"iss":"","sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j"})",       // empty iss
      R"({"iss":"i","sub":"s","aud":[],"exp":9,"iat":1,"jti":"j"})",         // empty aud
      R"({"iss":"i","sub":"s","aud":[7],"exp":9,"iat":1,"jti":"j"})",        // numeric aud
      R"({"iss":"i","sub":"s","aud":["a"],"exp":"9","iat":1,"jti":"j"})",    // string exp
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9.5,"iat":1,"jti":"j"})",    // float exp
      R"({"iss":"i","sub":"s","aud":["a"],"exp":1e400,"iat":1,"jti":"j"})",  // huge exp
      R"({"iss":"i","sub":"s","aud":["a"],"exp":18446744073709551615,"iat":1,"jti":"j"})",
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1,"nbf":null,"jti":"j"})",  // null nbf
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j","roles":"admin"})",
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j","roles":[1]})",
      R"({"iss":"i","sub":"s","aud":["a"],"exp":9,"iat":1,"jti":"j","scope":["a"]})",
  };
  for (const char* payload : bad_payloads) ExpectMalformed(RawToken(kGoodHeader, payload), payload);
}

}  // namespace
}  // namespace marketplace::common::auth
