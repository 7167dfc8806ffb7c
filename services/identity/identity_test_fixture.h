#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_TEST_FIXTURE_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_TEST_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/testing/database_test_base.h"
#include "services/identity/accounts.h"
#include "services/identity/audit.h"
#include "services/identity/identity_observer.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/model.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/permissions.h"
#include "services/identity/seller_onboarding.h"
#include "services/identity/sessions.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {

// Argon2id at libsodium's lowest cost, given explicitly to the hasher: tests hash hundreds of
// passwords. Production parameters go through ValidateArgon2idParams (tested in accounts_test).
inline constexpr Argon2idParams kTestHashParams{1, 64 * 1024};

// A password that meets the policy; also the bootstrap admin's.
inline constexpr char kGoodPassword[] = "violet-harbour-engine-42";

// The identity domain on a fresh MariaDB database with its migrations applied: store, hasher,
// policy, password check, accounts, key ring (keys created), token issuer and verifier,
// sessions (exact caller checks) and seller onboarding, on a manual clock, with a bootstrap
// ADMIN `admin_` (root@example.com).
class IdentityDomainTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override;

  std::optional<Account> FindByEmail(const std::string& email_key);
  std::vector<AuditEvent> Audit(const std::string& account_id);
  CallerState StateOf(const std::string& account_id, const std::string& session_id);

  // A context whose caller is `account` (with `session_id`), or the account of `login`.
  static RequestContext As(const Account& account, std::string session_id = "");
  static RequestContext As(const LoginResult& login);
  static RequestContext Anonymous() { return RequestContext{}; }

  // Signs up a BUYER or SELLER named "Someone".
  absl::StatusOr<Account> SignUp(const std::string& email, Role role,
                                 const std::string& password = kGoodPassword);

  common::ManualClock clock_;
  NoIdentityObserver observer_;
  KeyEncryptor kek_ = KeyEncryptor::Random();
  std::unique_ptr<MySqlIdentityStore> store_;
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<PasswordPolicy> policy_;
  std::unique_ptr<PasswordCheck> passwords_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<AccessTokenIssuer> issuer_;
  std::unique_ptr<common::auth::TokenVerifier> verifier_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<SellerOnboarding> onboarding_;
  Account admin_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_TEST_FIXTURE_H_
