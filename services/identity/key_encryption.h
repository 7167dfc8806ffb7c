#ifndef MARKETPLACE_SERVICES_IDENTITY_KEY_ENCRYPTION_H_
#define MARKETPLACE_SERVICES_IDENTITY_KEY_ENCRYPTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketplace::identity {

// Encrypts signing private keys before they reach the database, with a key-encryption key
// (KEK) that lives only in the process (read from a secret file or the environment). A copy
// of the database alone therefore cannot sign tokens.
//
// Format of a sealed key: "v1" || 24-byte nonce || XSalsa20-Poly1305 ciphertext
// (crypto_secretbox_easy). The KEK's id (the first 8 bytes of its SHA-256, hex) is stored next
// to each sealed key, so that a wrong KEK is reported as such rather than as a corrupt key.
class KeyEncryptor {
 public:
  // `kek` is the KEK in any of these forms: 32 raw bytes, 64 hex digits, or standard or
  // URL-safe base64 of 32 bytes (surrounding white space ignored). INVALID_ARGUMENT otherwise.
  [[nodiscard]] static absl::StatusOr<KeyEncryptor> FromText(absl::string_view kek);
  // A random KEK, for tests.
  static KeyEncryptor Random();

  [[nodiscard]] std::string Seal(absl::string_view plaintext) const;
  // FAILED_PRECONDITION when `sealed` was not made with this KEK or was altered.
  [[nodiscard]] absl::StatusOr<std::string> Open(absl::string_view sealed) const;

  const std::string& kek_id() const { return kek_id_; }

  // A 32-byte key for `purpose`, derived from the KEK (HMAC-SHA256(KEK, purpose)): for keyed
  // digests that a copy of the database alone cannot recompute (request fingerprints).
  [[nodiscard]] std::string DeriveKey(absl::string_view purpose) const;

 private:
  explicit KeyEncryptor(std::string kek);

  std::string kek_;
  std::string kek_id_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_KEY_ENCRYPTION_H_
