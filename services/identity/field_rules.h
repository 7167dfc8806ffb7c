#ifndef MARKETPLACE_SERVICES_IDENTITY_FIELD_RULES_H_
#define MARKETPLACE_SERVICES_IDENTITY_FIELD_RULES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/identity/model.h"

// The input rules of the API (each documented on its field in identity.proto). Every check
// returns INVALID_ARGUMENT naming the field and the rule.

namespace marketplace::identity {

inline constexpr int kMaxDisplayNameChars = 100;
inline constexpr int kMaxReasonChars = 2000;
inline constexpr size_t kMaxScopes = 32;

// 1..100 code points, printable UTF-8, not only white space.
[[nodiscard]] absl::Status CheckDisplayName(absl::string_view value, absl::string_view field);

// An account id as identity issues it: 32 lowercase hex digits, exactly
// (common::ValidateAccountId). Upper case, spaces or a prefix are INVALID_ARGUMENT naming `field`:
// ids are compared exactly, so another spelling names nothing.
[[nodiscard]] absl::Status CheckAccountId(absl::string_view value, absl::string_view field);
inline constexpr absl::string_view kAccountIdRule = "must be 32 lowercase hex digits";

// Empty (no idempotency) or 1..64 characters of [A-Za-z0-9_-].
[[nodiscard]] absl::Status CheckRequestId(absl::string_view value, absl::string_view field);

// UPPER_SNAKE_CASE, 2..64 characters: [A-Z][A-Z0-9_]*[A-Z0-9]. Empty only if !required.
[[nodiscard]] absl::Status CheckReasonCode(absl::string_view value, absl::string_view field,
                                           bool required);

// 1..2000 code points of printable UTF-8 (new lines and tabs allowed). Empty only if !required.
[[nodiscard]] absl::Status CheckReasonText(absl::string_view value, absl::string_view field,
                                           bool required);

// 3..64 characters of dot-separated words [a-z][a-z0-9_]*, at least two words.
[[nodiscard]] absl::Status CheckScope(absl::string_view value, absl::string_view field);

// Up to 32 distinct valid scopes; the error names "field[i]".
[[nodiscard]] absl::Status CheckScopes(const std::vector<std::string>& scopes,
                                       absl::string_view field);

// Every field of a seller application, all violations at once (prefix e.g. "application").
[[nodiscard]] absl::Status CheckSellerApplication(const SellerApplication& application,
                                                  absl::string_view prefix);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_FIELD_RULES_H_
