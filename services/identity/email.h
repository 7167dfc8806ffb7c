#ifndef MARKETPLACE_SERVICES_IDENTITY_EMAIL_H_
#define MARKETPLACE_SERVICES_IDENTITY_EMAIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketplace::identity {

inline constexpr size_t kMaxEmailBytes = 254;  // RFC 5321 path limit minus the brackets
inline constexpr size_t kMaxEmailLocalPartBytes = 64;

struct NormalizedEmail {
  // What the account shows: trimmed, domain lower-cased, local part as typed. Some mail
  // servers treat the local part case-sensitively, so mail goes to it exactly as given.
  std::string address;
  // The uniqueness and lookup key: the whole address lower-cased (ASCII). Nobody expects
  // "Ann@x.org" and "ann@x.org" to be two accounts, whatever RFC 5321 allows.
  std::string key;
};

// Trims surrounding white space and checks the shape of an address: one "@", a local part of
// 1..64 bytes and a domain of at least two dot-separated labels ([A-Za-z0-9-] or non-ASCII
// UTF-8, no leading or trailing "-"), at most 254 bytes, valid UTF-8, no white space or control
// characters. Deliverability is not checked. INVALID_ARGUMENT names `field`.
[[nodiscard]] absl::StatusOr<NormalizedEmail> NormalizeEmail(absl::string_view raw,
                                                             absl::string_view field);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_EMAIL_H_
