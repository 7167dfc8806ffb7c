#include "services/identity/field_rules.h"

#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "services/identity/email.h"
#include "services/identity/utf8.h"

namespace marketplace::identity {
namespace {

// Printable UTF-8 except that '\n' and '\t' are allowed (multi-line explanations).
bool IsText(absl::string_view value) {
  std::string copy(value);
  for (char& c : copy) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return IsPrintableUtf8(copy);
}

bool AllOf(absl::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

std::optional<std::string> LengthRule(absl::string_view value, int min_chars, int max_chars) {
  const std::optional<int> n = CountCodePoints(value);
  if (!n || !IsPrintableUtf8(value)) return "must be UTF-8 without control characters";
  if (*n < min_chars || *n > max_chars) {
    return absl::StrCat("must be ", min_chars, " to ", max_chars, " characters");
  }
  return std::nullopt;
}

}  // namespace

absl::Status CheckDisplayName(absl::string_view value, absl::string_view field) {
  if (auto rule = LengthRule(value, 1, kMaxDisplayNameChars)) {
    return common::InvalidField(field, *rule);
  }
  if (absl::StripAsciiWhitespace(value).empty()) {
    return common::InvalidField(field, "must not be only white space");
  }
  return absl::OkStatus();
}

absl::Status CheckAccountId(absl::string_view value, absl::string_view field) {
  return common::ValidateAccountId(field, value);
}

absl::Status CheckRequestId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return absl::OkStatus();
  const bool ok = value.size() <= 64 && AllOf(value, [](char c) {
                    return absl::ascii_isalnum(c) || c == '_' || c == '-';
                  });
  if (!ok) return common::InvalidField(field, "must be 1 to 64 characters of [A-Za-z0-9_-]");
  return absl::OkStatus();
}

absl::Status CheckReasonCode(absl::string_view value, absl::string_view field, bool required) {
  if (value.empty()) {
    return required ? common::InvalidField(field, "is required") : absl::OkStatus();
  }
  const bool ok = value.size() >= 2 && value.size() <= 64 && absl::ascii_isupper(value.front()) &&
                  value.back() != '_' && AllOf(value, [](char c) {
                    return absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_';
                  });
  if (!ok) {
    return common::InvalidField(field,
                                "must be UPPER_SNAKE_CASE, 2 to 64 characters, e.g. KPI_CRITICAL");
  }
  return absl::OkStatus();
}

absl::Status CheckReasonText(absl::string_view value, absl::string_view field, bool required) {
  if (value.empty()) {
    return required ? common::InvalidField(field, "is required") : absl::OkStatus();
  }
  const std::optional<int> n = CountCodePoints(value);
  if (!n || !IsText(value)) {
    return common::InvalidField(field, "must be UTF-8 without control characters");
  }
  if (*n > kMaxReasonChars) return common::InvalidField(field, "must be at most 2000 characters");
  if (absl::StripAsciiWhitespace(value).empty()) {
    return common::InvalidField(field, "must not be only white space");
  }
  return absl::OkStatus();
}

absl::Status CheckScope(absl::string_view value, absl::string_view field) {
  const auto rule = [&] {
    return common::InvalidField(
        field, "must be 3 to 64 characters of dot-separated lower-case words, e.g. "
               "identity.enforcement");
  };
  if (value.size() < 3 || value.size() > 64) return rule();
  const std::vector<absl::string_view> words = absl::StrSplit(value, '.');
  if (words.size() < 2) return rule();
  for (absl::string_view word : words) {
    if (word.empty() || !absl::ascii_islower(word.front())) return rule();
    if (!AllOf(word, [](char c) {
          return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
        })) {
      return rule();
    }
  }
  return absl::OkStatus();
}

absl::Status CheckScopes(const std::vector<std::string>& scopes, absl::string_view field) {
  if (scopes.size() > kMaxScopes) return common::InvalidField(field, "at most 32 scopes");
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string name = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(CheckScope(scopes[i], name));
    if (!seen.insert(scopes[i]).second) return common::InvalidField(name, "is a duplicate");
  }
  return absl::OkStatus();
}

absl::Status CheckSellerApplication(const SellerApplication& a, absl::string_view prefix) {
  std::vector<common::FieldViolation> violations;
  const auto field = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  const auto add = [&](absl::string_view name, std::string rule) {
    violations.push_back({field(name), std::move(rule)});
  };
  if (auto rule = LengthRule(a.legal_name, 2, 200)) add("legal_name", *rule);
  if (a.registration_number.size() < 2 || a.registration_number.size() > 64 ||
      !AllOf(a.registration_number, [](char c) {
        return absl::ascii_isalnum(c) || c == ' ' || c == '-' || c == '.' || c == '/';
      })) {
    add("registration_number", "must be 2 to 64 characters of letters, digits, space and -./");
  }
  if (a.country_code.size() != 2 || !AllOf(a.country_code, [](char c) {
        return absl::ascii_isupper(c) != 0;
      })) {
    add("country_code", "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE");
  }
  if (a.payout_account_ref.size() < 4 || a.payout_account_ref.size() > 128 ||
      !AllOf(a.payout_account_ref, [](char c) {
        return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
      })) {
    add("payout_account_ref", "must be 4 to 128 characters of [A-Za-z0-9_.:-]");
  }
  if (auto email = NormalizeEmail(a.contact_email, field("contact_email")); !email.ok()) {
    for (auto& v : common::FieldViolationsOf(email.status())) violations.push_back(v);
  }
  if (!a.contact_phone.empty()) {
    const absl::string_view digits = absl::string_view(a.contact_phone).substr(1);
    if (a.contact_phone.front() != '+' || digits.size() < 8 || digits.size() > 15 ||
        digits.front() == '0' || !AllOf(digits, [](char c) { return absl::ascii_isdigit(c) != 0; })) {
      add("contact_phone", "must be E.164: '+' and 8 to 15 digits, e.g. +4915112345678");
    }
  }
  if (violations.empty()) return absl::OkStatus();
  return common::InvalidFields(std::move(violations));
}

}  // namespace marketplace::identity
