#include "services/identity/password_policy.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "services/identity/utf8.h"

namespace marketplace::identity {

// Generated from data/common_passwords.txt by //services/identity:common_passwords_data.
const std::vector<std::pair<std::string, std::string>>& EmbeddedCommonPasswords();

CommonPasswordList::CommonPasswordList(const std::vector<std::string>& entries) {
  entries_.reserve(entries.size());
  for (const auto& entry : entries) {
    absl::string_view e = absl::StripTrailingAsciiWhitespace(entry);
    if (!e.empty()) entries_.insert(absl::AsciiStrToLower(e));
  }
}

const CommonPasswordList& CommonPasswordList::BuiltIn() {
  static const auto* list = [] {
    std::vector<std::string> entries;
    for (const auto& [name, content] : EmbeddedCommonPasswords()) {
      for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipEmpty())) {
        entries.emplace_back(line);
      }
    }
    return new CommonPasswordList(entries);
  }();
  return *list;
}

bool CommonPasswordList::Contains(absl::string_view password) const {
  return entries_.contains(absl::AsciiStrToLower(password));
}

PasswordPolicy::PasswordPolicy(const CommonPasswordList* common_passwords,
                               PasswordPolicyOptions options)
    : common_passwords_(common_passwords), options_(options) {}

absl::Status PasswordPolicy::Check(absl::string_view password, absl::string_view email_key,
                                   absl::string_view field) const {
  const std::optional<int> length = CountCodePoints(password);
  if (!length) return common::InvalidField(field, "must be valid UTF-8");
  if (*length < options_.min_code_points || *length > options_.max_code_points) {
    return common::InvalidField(field, absl::StrCat("must be ", options_.min_code_points, " to ",
                                                    options_.max_code_points,
                                                    " characters (Unicode code points)"));
  }
  const std::string lowered = absl::AsciiStrToLower(password);
  if (!email_key.empty()) {
    const absl::string_view local = email_key.substr(0, email_key.find('@'));
    if (lowered == email_key || lowered == local) {
      return common::InvalidField(field, "must not be the email address or its local part");
    }
  }
  if (common_passwords_ != nullptr && common_passwords_->Contains(lowered)) {
    return common::InvalidField(field, "is too common: it is on a list of known passwords");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::identity
