#ifndef MARKETPLACE_COMMON_IDS_H_
#define MARKETPLACE_COMMON_IDS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace marketplace::common {

// Ids the platform issues, random digests and bytes: one place for every service.

// `n` bytes from the operating system's CSPRNG. Aborts when none is available: ids and
// secrets must never repeat or be guessable.
std::string RandomBytes(size_t n);

// A new id: `prefix` then 24 lowercase hex digits (96 random bits), e.g. "pay_3f9c...".
std::string NewId(absl::string_view prefix);

// SHA-256 of `data`: the raw 32 bytes, or 64 lowercase hex digits.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

// Lowercase hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_IDS_H_
