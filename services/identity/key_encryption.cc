#include "services/identity/key_encryption.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/ids.h"
#include "common/errors.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {
namespace {

constexpr absl::string_view kVersion = "v1";

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

KeyEncryptor::KeyEncryptor(std::string kek)
    : kek_(std::move(kek)), kek_id_(common::HexEncode(common::Sha256(kek_).substr(0, 8))) {}

absl::StatusOr<KeyEncryptor> KeyEncryptor::FromText(absl::string_view text) {
  static_assert(crypto_secretbox_KEYBYTES == 32);
  if (text.size() == crypto_secretbox_KEYBYTES) return KeyEncryptor(std::string(text));
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  std::string decoded;
  if (trimmed.size() == 64 && IsHex(trimmed)) {
    decoded = absl::HexStringToBytes(trimmed);
  } else if (!absl::Base64Unescape(trimmed, &decoded) &&
             !absl::WebSafeBase64Unescape(trimmed, &decoded)) {
    decoded.clear();
  }
  if (decoded.size() != crypto_secretbox_KEYBYTES) {
    return common::InvalidField(
        "signing_key_encryption_key",
        "must be 32 bytes: raw, 64 hex digits, or base64 (e.g. `head -c32 /dev/urandom | "
        "base64`)");
  }
  return KeyEncryptor(std::move(decoded));
}

std::string KeyEncryptor::DeriveKey(absl::string_view purpose) const {
  static_assert(crypto_auth_hmacsha256_KEYBYTES == crypto_secretbox_KEYBYTES);
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(out.data()),
                         reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(),
                         reinterpret_cast<const unsigned char*>(kek_.data()));
  return out;
}

KeyEncryptor KeyEncryptor::Random() { return KeyEncryptor(common::RandomBytes(crypto_secretbox_KEYBYTES)); }

std::string KeyEncryptor::Seal(absl::string_view plaintext) const {
  const std::string nonce = common::RandomBytes(crypto_secretbox_NONCEBYTES);
  std::string out(kVersion);
  out += nonce;
  std::string cipher(plaintext.size() + crypto_secretbox_MACBYTES, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(cipher.data()),
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        plaintext.size(), reinterpret_cast<const unsigned char*>(nonce.data()),
                        reinterpret_cast<const unsigned char*>(kek_.data()));
  out += cipher;
  return out;
}

absl::StatusOr<std::string> KeyEncryptor::Open(absl::string_view sealed) const {
  const size_t header = kVersion.size() + crypto_secretbox_NONCEBYTES;
  if (sealed.size() < header + crypto_secretbox_MACBYTES ||
      sealed.substr(0, kVersion.size()) != kVersion) {
    return common::FailedPrecondition("SEALED_KEY_MALFORMED",
                                      "sealed signing key has an unknown format");
  }
  const absl::string_view nonce = sealed.substr(kVersion.size(), crypto_secretbox_NONCEBYTES);
  const absl::string_view cipher = sealed.substr(header);
  std::string plain(cipher.size() - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 reinterpret_cast<const unsigned char*>(cipher.data()),
                                 cipher.size(),
                                 reinterpret_cast<const unsigned char*>(nonce.data()),
                                 reinterpret_cast<const unsigned char*>(kek_.data())) != 0) {
    sodium_memzero(plain.data(), plain.size());
    return common::FailedPrecondition(
        "WRONG_KEY_ENCRYPTION_KEY",
        "signing key cannot be decrypted: wrong key-encryption key or altered data");
  }
  return plain;
}

}  // namespace marketplace::identity
