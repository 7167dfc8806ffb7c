#ifndef MARKETPLACE_COMMON_IDS_H_
#define MARKETPLACE_COMMON_IDS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketplace::common {

// Ids the platform issues, random digests and bytes: one place for every service.

// `n` bytes from the operating system's CSPRNG. Aborts when none is available: ids and
// secrets must never repeat or be guessable.
std::string RandomBytes(size_t n);

// A new id: `prefix` then 24 lowercase hex digits (96 random bits), e.g. "pay_3f9c...".
std::string NewId(absl::string_view prefix);

// The one rule for ids the platform issues (accounts, payments, payouts, listings, tickets...):
// the form their issuer makes and nothing else, so that an id has one spelling and is compared
// exactly (the columns that hold them use a binary collation). The form: an optional prefix of
// 1-8 lowercase letters ending in '_' ("pay_", "lst_"), then 24-32 lowercase hex digits
// (NewId makes 24, identity's account ids are 32). Anything else, upper case or surrounding
// spaces included, is INVALID_ARGUMENT naming `field`: such an id can never name anything.
absl::Status ValidateIssuedId(absl::string_view field, absl::string_view id);
bool IsIssuedId(absl::string_view id);

// An account id as identity issues it (buyers, sellers, staff, services): exactly 32 lowercase
// hex digits, no prefix. Anything else is INVALID_ARGUMENT naming `field` ("is required" when
// empty).
absl::Status ValidateAccountId(absl::string_view field, absl::string_view id);
bool IsAccountId(absl::string_view id);

// An id of one kind as NewId(prefix) makes it: `prefix` ("tkt_") then 24 lowercase hex digits.
// Anything else is INVALID_ARGUMENT naming `field`, the rule naming the kind ("must be a
// ticket id: ...", with `kind` "ticket"); "is required" when empty.
absl::Status ValidateIdOfKind(absl::string_view field, absl::string_view id,
                              absl::string_view prefix, absl::string_view kind);

// SHA-256 of `data`: the raw 32 bytes, or 64 lowercase hex digits.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

// Lowercase hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_IDS_H_
