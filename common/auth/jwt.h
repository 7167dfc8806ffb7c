#ifndef MARKETPLACE_COMMON_AUTH_JWT_H_
#define MARKETPLACE_COMMON_AUTH_JWT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// Access tokens are compact JWS (RFC 7515) with an Ed25519 signature (RFC 8037) in the profile of
// RFC 9068. identity signs them and every service verifies them with the same code, so both
// directions live here. This file knows the token format and the crypto; what makes a token
// acceptable to a service (issuer, audience, time, key lookup) is TokenVerifier's business.

namespace marketplace::common::auth {

// The only signature algorithm we produce or accept (JOSE name for Ed25519).
inline constexpr absl::string_view kAlgEdDsa = "EdDSA";
// The token type of an access token (RFC 9068 section 2.1).
inline constexpr absl::string_view kTypeAccessToken = "at+jwt";

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519PrivateKeyBytes = 32;  // the RFC 8032 seed
inline constexpr size_t kEd25519SignatureBytes = 64;

// Longer tokens are refused before any decoding, so parsing cost has a ceiling. Ours are well
// under 1 KiB; gRPC's default metadata limit is 8 KiB anyway.
inline constexpr size_t kMaxJwtBytes = 8 * 1024;

// RFC 4648 section 5 alphabet, without padding.
std::string Base64UrlEncode(absl::string_view data);
// Strict inverse of Base64UrlEncode: rejects padding, whitespace, characters outside the
// alphabet, impossible lengths and non-zero trailing bits, so every input has one decoding.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded);

// Raw Ed25519 keys: a 32-byte private seed and its 32-byte public key.
struct Ed25519KeyPair {
  std::string private_key;
  std::string public_key;
};

absl::StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair();
absl::StatusOr<std::string> Ed25519PublicKeyFromPrivate(absl::string_view private_key);

// PEM conversions, for keys kept in files (PKCS#8 "PRIVATE KEY", SubjectPublicKeyInfo
// "PUBLIC KEY"). Reading fails on anything that is not an unencrypted Ed25519 key.
absl::StatusOr<std::string> Ed25519PrivateKeyToPem(absl::string_view private_key);
absl::StatusOr<std::string> Ed25519PrivateKeyFromPem(absl::string_view pem);
absl::StatusOr<std::string> Ed25519PublicKeyToPem(absl::string_view public_key);
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem);

// Plain Ed25519 over `message`. Ed25519Verify is false for a wrong-sized key or signature.
absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message);
bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

struct JwtHeader {
  std::string alg = std::string(kAlgEdDsa);
  std::string typ = std::string(kTypeAccessToken);
  std::string kid;
  // Names of any other header parameters a parsed token carried (e.g. "jku", "crit"). Their
  // values are dropped on purpose: nothing here may act on them. SignJwt never emits them.
  std::vector<std::string> other_params;
};

struct JwtClaims {
  std::string issuer;   // iss
  std::string subject;  // sub
  // aud: accepted as a string or an array; always emitted as an array.
  std::vector<std::string> audiences;
  absl::Time expires_at;                 // exp
  absl::Time issued_at;                  // iat
  std::optional<absl::Time> not_before;  // nbf
  std::string token_id;                  // jti
  std::vector<std::string> roles;        // roles: absent means none
  // scope: one space-separated string on the wire (RFC 8693 section 4.2).
  std::vector<std::string> scopes;
};

// Serializes and signs a token. Times are written as whole seconds since the epoch (rounded
// down). Fails with INVALID_ARGUMENT if `header.alg` is not EdDSA, the kid or a required claim
// (iss, sub, aud, jti) is empty, a scope contains a space, or a string is not UTF-8.
absl::StatusOr<std::string> SignJwt(const JwtHeader& header, const JwtClaims& claims,
                                    absl::string_view ed25519_private_key);

struct ParsedJwt {
  JwtHeader header;
  JwtClaims claims;
  std::string signing_input;  // "<header>.<payload>" exactly as received: what the signature covers
  std::string signature;      // decoded signature bytes (possibly empty)
};

// Splits and decodes a compact token without checking its signature. Strict: exactly three
// parts, each valid unpadded base64url; header and payload are JSON objects with no duplicate
// member names; alg, typ and kid are strings when present; iss, sub, aud, exp, iat and jti are
// present, non-empty and well-typed; exp/iat/nbf are integer seconds. Errors are
// INVALID_ARGUMENT with a short message that never quotes the token.
absl::StatusOr<ParsedJwt> ParseJwt(absl::string_view token);

// Checks the Ed25519 signature of `jwt` under `ed25519_public_key`. Does not look at
// `jwt.header.alg`: the caller decides which algorithm a key is for.
bool VerifyJwtSignature(const ParsedJwt& jwt, absl::string_view ed25519_public_key);

}  // namespace marketplace::common::auth

#endif  // MARKETPLACE_COMMON_AUTH_JWT_H_
