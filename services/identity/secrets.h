#ifndef MARKETPLACE_SERVICES_IDENTITY_SECRETS_H_
#define MARKETPLACE_SERVICES_IDENTITY_SECRETS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

// Identity's identifiers and bearer secrets. Random bytes and digests: common/ids.h.

namespace marketplace::identity {

// An opaque, unguessable identifier: 128 random bits as 32 lowercase hex digits. Used for
// accounts, sessions, token ids and signing key ids.
std::string NewOpaqueId();

// Bearer secrets: a recognisable prefix (so secret scanners and people can tell what leaked)
// and 256 random bits in base64url.
inline constexpr absl::string_view kRefreshTokenPrefix = "rt1_";
inline constexpr absl::string_view kClientSecretPrefix = "cs1_";
std::string NewRefreshToken();
std::string NewClientSecret();
// Longest refresh token or client secret we ever issue, with room to spare; longer input is
// refused before any work.
inline constexpr size_t kMaxBearerSecretBytes = 256;

// Bearer secrets are stored as their SHA-256 (common/ids.h): they carry 256 random bits, so a
// fast hash is enough; there is nothing to brute-force (unlike passwords).

// Compares in time independent of where the inputs differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_SECRETS_H_
