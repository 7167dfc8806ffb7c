#include "services/identity/secrets.h"

#include <sodium.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"

namespace marketplace::identity {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no usable random source: nothing here may continue
}

}  // namespace

std::string RandomBytes(size_t n) {
  EnsureSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string NewOpaqueId() { return HexEncode(RandomBytes(16)); }

std::string NewRefreshToken() {
  return absl::StrCat(kRefreshTokenPrefix, common::auth::Base64UrlEncode(RandomBytes(32)));
}

std::string NewClientSecret() {
  return absl::StrCat(kClientSecretPrefix, common::auth::Base64UrlEncode(RandomBytes(32)));
}

std::string Sha256(absl::string_view data) {
  EnsureSodium();
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace marketplace::identity
