#include "common/ids.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::common {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no entropy source: ids must stay unique and unguessable
  }
  return out;
}

std::string NewId(absl::string_view prefix) { return absl::StrCat(prefix, HexEncode(RandomBytes(12))); }

bool IsIssuedId(absl::string_view id) {
  absl::string_view body = id;
  if (size_t underscore = id.find('_'); underscore != absl::string_view::npos) {
    absl::string_view prefix = id.substr(0, underscore);
    if (prefix.empty() || prefix.size() > 8) return false;
    for (char c : prefix) {
      if (!absl::ascii_islower(c)) return false;
    }
    body = id.substr(underscore + 1);
  }
  if (body.size() < 24 || body.size() > 32) return false;
  for (char c : body) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

absl::Status ValidateIssuedId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "is required");
  if (IsIssuedId(id)) return absl::OkStatus();
  return InvalidField(field,
                      "must be an id the platform issued: an optional lowercase prefix ending in "
                      "'_' then 24-32 lowercase hex digits, as given (ids are compared exactly)");
}

bool IsAccountId(absl::string_view id) {
  return id.size() == 32 && id.find('_') == absl::string_view::npos && IsIssuedId(id);
}

absl::Status ValidateAccountId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "is required");
  if (IsAccountId(id)) return absl::OkStatus();
  return InvalidField(field,
                      "must be an account id: 32 lowercase hex digits, as given (ids are compared "
                      "exactly)");
}

absl::Status ValidateIdOfKind(absl::string_view field, absl::string_view id,
                              absl::string_view prefix, absl::string_view kind) {
  if (id.empty()) return InvalidField(field, "is required");
  if (IsIssuedId(id) && absl::StartsWith(id, prefix) && id.size() == prefix.size() + 24) {
    return absl::OkStatus();
  }
  return InvalidField(
      field, absl::StrCat("must be a ", kind, " id: \"", prefix, "\" and 24 lowercase hex digits"));
}

std::string Sha256(absl::string_view data) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

std::string Sha256Hex(absl::string_view data) { return HexEncode(Sha256(data)); }

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace marketplace::common
