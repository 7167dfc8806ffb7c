#ifndef MARKETPLACE_SERVICES_IDENTITY_PASSWORD_POLICY_H_
#define MARKETPLACE_SERVICES_IDENTITY_PASSWORD_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketplace::identity {

// Passwords that attackers try first. Entries are compared ignoring ASCII case.
class CommonPasswordList {
 public:
  explicit CommonPasswordList(const std::vector<std::string>& entries);

  // The list shipped with the binary (services/identity/data/common_passwords.txt).
  static const CommonPasswordList& BuiltIn();

  bool Contains(absl::string_view password) const;
  size_t size() const { return entries_.size(); }

 private:
  absl::flat_hash_set<std::string> entries_;
};

struct PasswordPolicyOptions {
  // Counted in Unicode code points, not bytes: "12 characters" must mean the same to a user
  // typing Cyrillic as to one typing ASCII. NIST SP 800-63B asks for at least 8; we ask 12.
  int min_code_points = 12;
  // Long enough for any passphrase, short enough that hashing cost stays bounded.
  int max_code_points = 128;
};

// The rules every new password must meet (SignUp, CreateStaffAccount, ChangePassword). There
// are deliberately no composition rules ("one digit, one symbol"): length and a deny-list of
// known passwords resist guessing better and people do not work around them.
class PasswordPolicy {
 public:
  explicit PasswordPolicy(const CommonPasswordList* common_passwords,
                          PasswordPolicyOptions options = {});

  // INVALID_ARGUMENT naming `field` and the broken rule. `email_key` is the account's
  // lower-cased email (may be empty for accounts without one). The password is never
  // trimmed, normalised or truncated: what is checked is what gets hashed.
  [[nodiscard]] absl::Status Check(absl::string_view password, absl::string_view email_key,
                                   absl::string_view field) const;

  const PasswordPolicyOptions& options() const { return options_; }

 private:
  const CommonPasswordList* common_passwords_;
  PasswordPolicyOptions options_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_PASSWORD_POLICY_H_
