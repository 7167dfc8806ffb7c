#include "services/identity/email.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "services/identity/utf8.h"

namespace marketplace::identity {
namespace {

bool IsDomainLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) continue;  // internationalised domain, validated as UTF-8 by the caller
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<NormalizedEmail> NormalizeEmail(absl::string_view raw, absl::string_view field) {
  const absl::string_view email = absl::StripAsciiWhitespace(raw);
  if (email.empty()) return common::InvalidField(field, "is required");
  if (email.size() > kMaxEmailBytes) {
    return common::InvalidField(field, "must be at most 254 bytes");
  }
  if (!IsPrintableUtf8(email)) {
    return common::InvalidField(field, "must be UTF-8 without control characters");
  }
  for (char c : email) {
    if (absl::ascii_isspace(c)) return common::InvalidField(field, "must not contain spaces");
  }
  const size_t at = email.rfind('@');
  if (at == absl::string_view::npos || email.find('@') != at) {
    return common::InvalidField(field, "must contain exactly one '@'");
  }
  const absl::string_view local = email.substr(0, at);
  const absl::string_view domain = email.substr(at + 1);
  if (local.empty() || local.size() > kMaxEmailLocalPartBytes) {
    return common::InvalidField(field, "the part before '@' must be 1 to 64 bytes");
  }
  const std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) {
    return common::InvalidField(field, "the domain must contain a dot, e.g. example.com");
  }
  for (absl::string_view label : labels) {
    if (!IsDomainLabel(label)) {
      return common::InvalidField(
          field, "the domain must be dot-separated labels of letters, digits and '-'");
    }
  }
  NormalizedEmail out;
  out.address = std::string(local) + "@" + absl::AsciiStrToLower(domain);
  out.key = absl::AsciiStrToLower(out.address);
  return out;
}

}  // namespace marketplace::identity
