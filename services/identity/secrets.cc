#include "services/identity/secrets.h"

#include <sodium.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/auth/jwt.h"
#include "common/ids.h"

namespace marketplace::identity {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no usable random source: nothing here may continue
}

}  // namespace

std::string NewOpaqueId() { return common::HexEncode(common::RandomBytes(16)); }

std::string NewRefreshToken() {
  return absl::StrCat(kRefreshTokenPrefix, common::auth::Base64UrlEncode(common::RandomBytes(32)));
}

std::string NewClientSecret() {
  return absl::StrCat(kClientSecretPrefix, common::auth::Base64UrlEncode(common::RandomBytes(32)));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace marketplace::identity
