// identity_server: accounts, login, tokens, roles, seller onboarding, suspension.
// Flags are listed by --help and documented in services/identity/README.md.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/executor.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_migrations.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/login_throttle.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/seller_onboarding.h"
#include "services/identity/server/identity_metrics.h"
#include "services/identity/server/identity_service.h"
#include "services/identity/server/maintenance.h"
#include "services/identity/sessions.h"
#include "services/identity/token_issuer.h"

namespace {

namespace common = marketplace::common;
namespace identity = marketplace::identity;

struct IdentityConfig {
  std::string issuer;
  std::string audiences;
  absl::Duration access_token_ttl;
  absl::Duration refresh_token_ttl;
  absl::Duration service_token_ttl;
  std::string signing_key_encryption_key;
  std::string bootstrap_admin_email;
  std::string bootstrap_admin_password;
  int64_t argon2id_memory_kib = 19456;
  int64_t argon2id_iterations = 2;
  int64_t password_hash_threads = 2;
  int64_t password_hash_queue = 64;
  absl::Duration cleanup_interval;
  absl::Duration caller_check_cache_ttl;
  absl::Duration min_key_rotation_interval;
};

void AddIdentityFlags(common::Flags& flags, IdentityConfig* c) {
  flags.AddString("token_issuer", &c->issuer, "marketplace-identity",
                  "`iss` of every access token; verifiers compare it exactly.");
  flags.AddString("token_audiences", &c->audiences,
                  "identity,catalog,payments,support,sellerkpi,gateway",
                  "Comma-separated `aud` of every access token; must include identity.");
  flags.AddDuration("access_token_ttl", &c->access_token_ttl, absl::Minutes(15),
                    "Lifetime of access tokens issued at login and refresh.");
  flags.AddDuration("refresh_token_ttl", &c->refresh_token_ttl, absl::Hours(24 * 30),
                    "Lifetime of a session (its refresh tokens), counted from the login.");
  flags.AddDuration("service_token_ttl", &c->service_token_ttl, absl::Minutes(15),
                    "Lifetime of SERVICE tokens from IssueServiceToken.");
  flags
      .AddSecret("signing_key_encryption_key", &c->signing_key_encryption_key,
                 "Key that encrypts the token signing keys in the database: 32 bytes as 64 hex "
                 "digits or base64 (usually --signing_key_encryption_key_file).")
      .Required();
  flags.AddString("bootstrap_admin_email", &c->bootstrap_admin_email, "",
                  "When set, an ADMIN with this email is created at start if none exists.");
  flags.AddSecret("bootstrap_admin_password", &c->bootstrap_admin_password,
                  "Initial password of the bootstrap admin (usually "
                  "--bootstrap_admin_password_file); required with --bootstrap_admin_email.");
  flags.AddInt64("argon2id_memory_kib", &c->argon2id_memory_kib, 19456, 19456, 4 * 1024 * 1024,
                 "Argon2id memory per password hash, in KiB (OWASP minimum 19456).");
  flags.AddInt64("argon2id_iterations", &c->argon2id_iterations, 2, 2, 64,
                 "Argon2id iterations per password hash (OWASP minimum 2).");
  flags.AddInt64("password_hash_threads", &c->password_hash_threads, 2, 1, 64,
                 "Threads that hash and verify passwords.");
  flags.AddInt64("password_hash_queue", &c->password_hash_queue, 64, 0, 100000,
                 "Password hashes that may wait for a thread; beyond, RESOURCE_EXHAUSTED.");
  flags.AddDuration("cleanup_interval", &c->cleanup_interval, absl::Minutes(1),
                    "How often expired sessions, idempotency keys and old failed logins are "
                    "deleted and the active-session gauge is refreshed.");
  flags.AddDuration("caller_check_cache_ttl", &c->caller_check_cache_ttl, absl::Seconds(1),
                    "How long a replica reuses a positive check that a caller's session and "
                    "account are still active, and the caller's own account it read with it "
                    "(0 to 10s; 0: every call reads the database). Changes through another "
                    "replica take effect here within this time.");
  flags.AddDuration("min_key_rotation_interval", &c->min_key_rotation_interval, absl::Seconds(60),
                    "Least time between two RotateSigningKey calls (0 to 24h); sooner is refused "
                    "with ROTATION_TOO_SOON. Verifiers refetch keys at most every 30s.");
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(item));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  IdentityConfig identity_config;
  common::Flags flags("identity_server",
                      "Identity: accounts, login, tokens, roles, seller onboarding, suspension.");
  common::AddServiceFlags(flags, "identity", &config);
  AddIdentityFlags(flags, &identity_config);
  flags.ParseOrExit(argc, argv);

  identity::TokenOptions token_options;
  token_options.issuer = identity_config.issuer;
  token_options.audiences = SplitList(identity_config.audiences);
  token_options.access_token_ttl = identity_config.access_token_ttl;
  token_options.refresh_token_ttl = identity_config.refresh_token_ttl;
  token_options.service_token_ttl = identity_config.service_token_ttl;
  if (absl::Status s = identity::ValidateTokenOptions(token_options); !s.ok()) {
    common::ExitWithError("invalid token options", s, 2);
  }
  auto encryptor = identity::KeyEncryptor::FromText(identity_config.signing_key_encryption_key);
  if (!encryptor.ok()) {
    common::ExitWithError("invalid --signing_key_encryption_key", encryptor.status(), 2);
  }
  identity::Argon2idParams argon2;
  argon2.iterations = static_cast<uint64_t>(identity_config.argon2id_iterations);
  argon2.memory_bytes = static_cast<size_t>(identity_config.argon2id_memory_kib) * 1024;
  if (absl::Status s = identity::ValidateArgon2idParams(argon2); !s.ok()) {
    common::ExitWithError("invalid Argon2id parameters", s, 2);
  }
  if (!identity_config.bootstrap_admin_email.empty() &&
      identity_config.bootstrap_admin_password.empty()) {
    common::ExitWithError(
        "--bootstrap_admin_email needs --bootstrap_admin_password(_file)",
        absl::InvalidArgumentError("bootstrap_admin_password: required with an email"), 2);
  }

  if (identity_config.cleanup_interval < absl::Seconds(1)) {
    common::ExitWithError("invalid --cleanup_interval",
                          absl::InvalidArgumentError("cleanup_interval: must be at least 1s"), 2);
  }

  if (identity_config.caller_check_cache_ttl < absl::ZeroDuration() ||
      identity_config.caller_check_cache_ttl > absl::Seconds(10)) {
    common::ExitWithError(
        "invalid --caller_check_cache_ttl",
        absl::InvalidArgumentError("caller_check_cache_ttl: must be between 0 and 10s"), 2);
  }

  if (identity_config.min_key_rotation_interval < absl::ZeroDuration() ||
      identity_config.min_key_rotation_interval > absl::Hours(24)) {
    common::ExitWithError(
        "invalid --min_key_rotation_interval",
        absl::InvalidArgumentError("min_key_rotation_interval: must be between 0 and 24h"), 2);
  }

  auto runtime = common::ServiceRuntime::CreateOrExit("identity", config, flags);
  runtime->ApplyMigrationsOrExit("identity", identity::IdentityMigrations());

  const common::Clock* clock = common::SystemClock::Get();
  identity::MySqlIdentityStore store(&runtime->pool());
  identity::PrometheusIdentityEvents events(*runtime->registry());

  identity::KeyRingOptions key_options;
  key_options.max_token_lifetime =
      std::max(token_options.access_token_ttl, token_options.service_token_ttl);
  key_options.min_rotation_interval = identity_config.min_key_rotation_interval;
  identity::KeyRing keys(&store, &*encryptor, clock, key_options);

  common::BoundedExecutor hash_pool(static_cast<int>(identity_config.password_hash_threads),
                                    static_cast<int>(identity_config.password_hash_queue));
  identity::PasswordHasher hasher(argon2, &hash_pool);
  identity::PasswordPolicy policy(&identity::CommonPasswordList::BuiltIn());
  identity::PasswordCheck passwords(
      &store, &hasher, identity::LoginThrottle(identity::ThrottlePolicy{}), clock, &events);
  identity::AccessTokenIssuer issuer(&keys, token_options, clock);
  // Identity's own verifier reads the key ring from its database, so it looks up an unknown
  // kid at once: a token of a key activated by a rotation (on any replica, even two rotations
  // in a row) verifies immediately. A made-up kid costs one read, as any authenticated call.
  common::auth::TokenVerifier verifier(&keys,
                                       {.issuer = token_options.issuer,
                                        .audience = "identity",
                                        .min_refresh_interval = absl::ZeroDuration()},
                                       clock);
  identity::Accounts accounts(&store, &policy, &hasher, &passwords, clock);
  identity::Sessions sessions(&store, &passwords, &issuer, &verifier, clock, &events,
                              {.caller_check_ttl = identity_config.caller_check_cache_ttl});
  identity::SellerOnboarding sellers(&store, clock);

  std::unique_ptr<identity::Maintenance> maintenance;
  if (!config.migrate_only) {
    if (absl::Status s = keys.EnsureKeys(); !s.ok()) {
      common::ExitWithError("signing keys unavailable", s, 1);
    }
    if (!identity_config.bootstrap_admin_email.empty()) {
      absl::Status s = accounts.EnsureBootstrapAdmin(identity_config.bootstrap_admin_email,
                                                     identity_config.bootstrap_admin_password);
      if (!s.ok()) common::ExitWithError("bootstrap admin", s, 1);
      common::LogInfo("bootstrap admin present",
                      {{"email", identity_config.bootstrap_admin_email}});
    }
    identity::MaintenanceOptions maintenance_options;
    maintenance_options.interval = identity_config.cleanup_interval;
    maintenance =
        std::make_unique<identity::Maintenance>(&store, clock, &events, maintenance_options);
    maintenance->Start();
  }

  common::auth::Authenticator authenticator(&verifier, identity::IdentityPublicMethods());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  identity::IdentityService service({.runner = &runner,
                                     .accounts = &accounts,
                                     .sessions = &sessions,
                                     .sellers = &sellers,
                                     .keys = &keys});
  const int code =
      runtime->Serve({{marketplace::identity::v1::Identity::service_full_name(), &service}});
  if (maintenance) maintenance->Stop();
  return code;
}
