#include "common/auth/jwt.h"

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "openssl/crypto.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"

namespace marketplace::common::auth {
namespace {

using nlohmann::json;

// --- OpenSSL plumbing ---------------------------------------------------------------------

using ::marketplace::common::BioPtr;
using ::marketplace::common::MdCtxPtr;
using ::marketplace::common::PkeyCtxPtr;
using ::marketplace::common::PkeyPtr;

// OpenSSL reports failures on a thread-local error queue. gRPC's TLS code reads that same queue,
// so anything a failed call here leaves behind could be misread by an unrelated handshake.
class ClearOpenSslErrorsOnExit {
 public:
  ClearOpenSslErrorsOnExit() = default;
  ClearOpenSslErrorsOnExit(const ClearOpenSslErrorsOnExit&) = delete;
  ClearOpenSslErrorsOnExit& operator=(const ClearOpenSslErrorsOnExit&) = delete;
  ~ClearOpenSslErrorsOnExit() { ERR_clear_error(); }
};

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::StatusOr<PkeyPtr> PrivateKeyFromRaw(absl::string_view private_key) {
  if (private_key.size() != kEd25519PrivateKeyBytes) {
    return absl::InvalidArgumentError("Ed25519 private key must be 32 bytes");
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(private_key),
                                            private_key.size()));
  if (pkey == nullptr) return absl::InvalidArgumentError("invalid Ed25519 private key");
  return pkey;
}

absl::StatusOr<PkeyPtr> PublicKeyFromRaw(absl::string_view public_key) {
  if (public_key.size() != kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key), public_key.size()));
  if (pkey == nullptr) return absl::InvalidArgumentError("invalid Ed25519 public key");
  return pkey;
}

absl::StatusOr<std::string> RawPrivateKey(EVP_PKEY* pkey) {
  std::array<unsigned char, kEd25519PrivateKeyBytes> buf;
  size_t len = buf.size();
  if (EVP_PKEY_get_raw_private_key(pkey, buf.data(), &len) != 1 || len != buf.size()) {
    OPENSSL_cleanse(buf.data(), buf.size());
    return absl::InternalError("cannot read Ed25519 private key");
  }
  std::string out(reinterpret_cast<const char*>(buf.data()), len);
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::array<unsigned char, kEd25519PublicKeyBytes> buf;
  size_t len = buf.size();
  if (EVP_PKEY_get_raw_public_key(pkey, buf.data(), &len) != 1 || len != buf.size()) {
    return absl::InternalError("cannot read Ed25519 public key");
  }
  return std::string(reinterpret_cast<const char*>(buf.data()), len);
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
}

// Refuses encrypted PEM instead of letting OpenSSL prompt for a passphrase on the terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

// --- base64url ----------------------------------------------------------------------------

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeBase64UrlDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kBase64UrlDecodeTable = MakeBase64UrlDecodeTable();

// --- JSON ---------------------------------------------------------------------------------

// Parses a JSON object, refusing duplicate member names at any depth: two parsers that pick
// different duplicates would see different claims in the same signed bytes.
absl::StatusOr<json> ParseJsonObject(absl::string_view text, absl::string_view what) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  json::parser_callback_t track_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), track_keys, /*allow_exceptions=*/false);
  if (value.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(what, " is not JSON"));
  if (duplicate) {
    return absl::InvalidArgumentError(absl::StrCat(what, " repeats a member name"));
  }
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a JSON object"));
  }
  return value;
}

absl::Status MalformedClaim(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("token claim '", name, "' ", problem));
}

// A required, non-empty string member.
absl::StatusOr<std::string> RequiredString(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return MalformedClaim(name, "is missing");
  if (!it->is_string()) return MalformedClaim(name, "is not a string");
  std::string value = it->get<std::string>();
  if (value.empty()) return MalformedClaim(name, "is empty");
  return value;
}

absl::StatusOr<absl::Time> NumericDate(const json& value, const char* name) {
  // Fractional seconds are legal in RFC 7519 but never produced by our issuer; refusing them
  // keeps one representation per instant.
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return MalformedClaim(name, "is out of range");
    }
    return absl::FromUnixSeconds(static_cast<int64_t>(value.get<uint64_t>()));
  }
  if (value.is_number_integer()) return absl::FromUnixSeconds(value.get<int64_t>());
  return MalformedClaim(name, "is not an integer number of seconds");
}

absl::StatusOr<absl::Time> RequiredNumericDate(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return MalformedClaim(name, "is missing");
  return NumericDate(*it, name);
}

absl::StatusOr<std::vector<std::string>> StringArray(const json& value, const char* name) {
  if (!value.is_array()) return MalformedClaim(name, "is not an array");
  std::vector<std::string> out;
  out.reserve(value.size());
  for (const json& element : value) {
    if (!element.is_string()) return MalformedClaim(name, "has a non-string element");
    out.push_back(element.get<std::string>());
  }
  return out;
}

absl::StatusOr<JwtHeader> HeaderFromJson(const json& object) {
  JwtHeader header;
  // The defaults describe what a signer emits; a parsed header reports only what was there.
  header.alg.clear();
  header.typ.clear();
  for (const auto& [name, value] : object.items()) {
    std::string* field = nullptr;
    if (name == "alg") {
      field = &header.alg;
    } else if (name == "typ") {
      field = &header.typ;
    } else if (name == "kid") {
      field = &header.kid;
    } else {
      header.other_params.push_back(name);
      continue;
    }
    if (!value.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("token header '", name, "' is not a string"));
    }
    *field = value.get<std::string>();
  }
  if (header.alg.empty()) return absl::InvalidArgumentError("token header has no 'alg'");
  return header;
}

absl::StatusOr<JwtClaims> ClaimsFromJson(const json& object) {
  JwtClaims claims;
  ASSIGN_OR_RETURN(claims.issuer, RequiredString(object, "iss"));
  ASSIGN_OR_RETURN(claims.subject, RequiredString(object, "sub"));
  ASSIGN_OR_RETURN(claims.token_id, RequiredString(object, "jti"));

  auto aud = object.find("aud");
  if (aud == object.end()) return MalformedClaim("aud", "is missing");
  if (aud->is_string()) {
    claims.audiences.push_back(aud->get<std::string>());
  } else {
    ASSIGN_OR_RETURN(claims.audiences, StringArray(*aud, "aud"));
  }
  if (claims.audiences.empty()) return MalformedClaim("aud", "is empty");
  for (const std::string& audience : claims.audiences) {
    if (audience.empty()) return MalformedClaim("aud", "has an empty element");
  }

  ASSIGN_OR_RETURN(claims.expires_at, RequiredNumericDate(object, "exp"));
  ASSIGN_OR_RETURN(claims.issued_at, RequiredNumericDate(object, "iat"));
  if (auto nbf = object.find("nbf"); nbf != object.end()) {
    ASSIGN_OR_RETURN(claims.not_before, NumericDate(*nbf, "nbf"));
  }
  if (auto roles = object.find("roles"); roles != object.end()) {
    ASSIGN_OR_RETURN(claims.roles, StringArray(*roles, "roles"));
  }
  if (auto scope = object.find("scope"); scope != object.end()) {
    if (!scope->is_string()) return MalformedClaim("scope", "is not a string");
    claims.scopes = absl::StrSplit(scope->get<std::string>(), ' ', absl::SkipEmpty());
  }
  return claims;
}

absl::Status CheckNonEmpty(absl::string_view value, absl::string_view name) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " must not be empty"));
  return absl::OkStatus();
}

// dump() throws on invalid UTF-8; a signer gets that back as a status.
absl::StatusOr<std::string> DumpJson(const json& value, absl::string_view what) {
  try {
    return value.dump();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat(what, " contains a string that is not UTF-8"));
  }
}

}  // namespace

std::string Base64UrlEncode(absl::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
    out.push_back(kBase64UrlAlphabet[(n >> 6) & 63]);
    out.push_back(kBase64UrlAlphabet[n & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
    out.push_back(kBase64UrlAlphabet[(n >> 6) & 63]);
  }
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded) {
  if (encoded.size() % 4 == 1) return absl::InvalidArgumentError("invalid base64url length");
  std::string out;
  out.reserve(encoded.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : encoded) {
    int8_t v = kBase64UrlDecodeTable[static_cast<unsigned char>(c)];
    if (v < 0) return absl::InvalidArgumentError("invalid base64url character");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  // Leftover bits must be zero, or two different strings would decode to the same bytes.
  if ((bits & ((1u << bit_count) - 1)) != 0) {
    return absl::InvalidArgumentError("non-canonical base64url");
  }
  return out;
}

absl::StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair() {
  ClearOpenSslErrorsOnExit clear_errors;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return absl::InternalError("cannot start Ed25519 key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("Ed25519 key generation failed");
  }
  PkeyPtr pkey(raw);
  Ed25519KeyPair pair;
  ASSIGN_OR_RETURN(pair.private_key, RawPrivateKey(pkey.get()));
  ASSIGN_OR_RETURN(pair.public_key, RawPublicKey(pkey.get()));
  return pair;
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPrivate(absl::string_view private_key) {
  ClearOpenSslErrorsOnExit clear_errors;
  ASSIGN_OR_RETURN(PkeyPtr pkey, PrivateKeyFromRaw(private_key));
  return RawPublicKey(pkey.get());
}

absl::StatusOr<std::string> Ed25519PrivateKeyToPem(absl::string_view private_key) {
  ClearOpenSslErrorsOnExit clear_errors;
  ASSIGN_OR_RETURN(PkeyPtr pkey, PrivateKeyFromRaw(private_key));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError("cannot write Ed25519 private key as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519PrivateKeyFromPem(absl::string_view pem) {
  ClearOpenSslErrorsOnExit clear_errors;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("cannot read PEM");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) return absl::InvalidArgumentError("not an unencrypted PEM private key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("PEM private key is not Ed25519");
  }
  return RawPrivateKey(pkey.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyToPem(absl::string_view public_key) {
  ClearOpenSslErrorsOnExit clear_errors;
  ASSIGN_OR_RETURN(PkeyPtr pkey, PublicKeyFromRaw(public_key));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return absl::InternalError("cannot write Ed25519 public key as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  ClearOpenSslErrorsOnExit clear_errors;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("cannot read PEM");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) return absl::InvalidArgumentError("not a PEM public key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("PEM public key is not Ed25519");
  }
  return RawPublicKey(pkey.get());
}

absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message) {
  ClearOpenSslErrorsOnExit clear_errors;
  ASSIGN_OR_RETURN(PkeyPtr pkey, PrivateKeyFromRaw(private_key));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally: the digest argument must be NULL.
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return absl::InternalError("cannot start Ed25519 signing");
  }
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(message), message.size()) != 1 ||
      len != kEd25519SignatureBytes) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return signature;
}

bool Ed25519Verify(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  ClearOpenSslErrorsOnExit clear_errors;
  if (signature.size() != kEd25519SignatureBytes) return false;
  absl::StatusOr<PkeyPtr> pkey = PublicKeyFromRaw(public_key);
  if (!pkey.ok()) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey->get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                          message.size()) == 1;
}

absl::StatusOr<std::string> SignJwt(const JwtHeader& header, const JwtClaims& claims,
                                    absl::string_view ed25519_private_key) {
  if (header.alg != kAlgEdDsa) {
    return absl::InvalidArgumentError("only EdDSA tokens can be signed");
  }
  RETURN_IF_ERROR(CheckNonEmpty(header.typ, "typ"));
  RETURN_IF_ERROR(CheckNonEmpty(header.kid, "kid"));
  RETURN_IF_ERROR(CheckNonEmpty(claims.issuer, "iss"));
  RETURN_IF_ERROR(CheckNonEmpty(claims.subject, "sub"));
  RETURN_IF_ERROR(CheckNonEmpty(claims.token_id, "jti"));
  if (claims.audiences.empty()) return absl::InvalidArgumentError("aud must not be empty");
  for (const std::string& audience : claims.audiences) {
    RETURN_IF_ERROR(CheckNonEmpty(audience, "aud element"));
  }
  for (const std::string& scope : claims.scopes) {
    RETURN_IF_ERROR(CheckNonEmpty(scope, "scope"));
    if (scope.find(' ') != std::string::npos) {
      return absl::InvalidArgumentError("a scope must not contain a space");
    }
  }

  json header_json = {{"alg", header.alg}, {"typ", header.typ}, {"kid", header.kid}};
  json claims_json = {
      {"iss", claims.issuer},
      {"sub", claims.subject},
      {"aud", claims.audiences},
      {"exp", absl::ToUnixSeconds(claims.expires_at)},
      {"iat", absl::ToUnixSeconds(claims.issued_at)},
      {"jti", claims.token_id},
      {"roles", claims.roles},
  };
  if (claims.not_before.has_value()) claims_json["nbf"] = absl::ToUnixSeconds(*claims.not_before);
  if (!claims.scopes.empty()) claims_json["scope"] = absl::StrJoin(claims.scopes, " ");

  ASSIGN_OR_RETURN(std::string header_text, DumpJson(header_json, "token header"));
  ASSIGN_OR_RETURN(std::string claims_text, DumpJson(claims_json, "token claims"));
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header_text), ".", Base64UrlEncode(claims_text));
  ASSIGN_OR_RETURN(std::string signature, Ed25519Sign(ed25519_private_key, signing_input));
  return absl::StrCat(signing_input, ".", Base64UrlEncode(signature));
}

absl::StatusOr<ParsedJwt> ParseJwt(absl::string_view token) {
  if (token.size() > kMaxJwtBytes) return absl::InvalidArgumentError("token is too long");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError("token does not have three parts");
  }
  absl::StatusOr<std::string> header_text = Base64UrlDecode(parts[0]);
  if (!header_text.ok()) return absl::InvalidArgumentError("token header is not base64url");
  absl::StatusOr<std::string> claims_text = Base64UrlDecode(parts[1]);
  if (!claims_text.ok()) return absl::InvalidArgumentError("token payload is not base64url");
  absl::StatusOr<std::string> signature = Base64UrlDecode(parts[2]);
  if (!signature.ok()) return absl::InvalidArgumentError("token signature is not base64url");

  ASSIGN_OR_RETURN(json header_json, ParseJsonObject(*header_text, "token header"));
  ASSIGN_OR_RETURN(json claims_json, ParseJsonObject(*claims_text, "token payload"));

  ParsedJwt out;
  ASSIGN_OR_RETURN(out.header, HeaderFromJson(header_json));
  ASSIGN_OR_RETURN(out.claims, ClaimsFromJson(claims_json));
  out.signing_input = std::string(token.substr(0, parts[0].size() + 1 + parts[1].size()));
  out.signature = *std::move(signature);
  return out;
}

bool VerifyJwtSignature(const ParsedJwt& jwt, absl::string_view ed25519_public_key) {
  return Ed25519Verify(ed25519_public_key, jwt.signing_input, jwt.signature);
}

}  // namespace marketplace::common::auth
