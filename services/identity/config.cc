#include "services/identity/config.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "services/identity/key_encryption.h"

namespace marketplace::identity {

void IdentityConfig::AddFlags(common::Flags& flags) {
  flags.AddString("token_issuer", &issuer, "marketplace-identity",
                  "`iss` of every access token; verifiers compare it exactly.");
  flags.AddString("token_audiences", &audiences,
                  "identity,catalog,payments,support,sellerkpi,gateway",
                  "Comma-separated `aud` of every access token; must include identity.");
  // Consumers of identity's events (identity.account_suspended, identity.sessions_revoked,
  // identity.account_reinstated), e.g. catalog=127.0.0.1:7002:identity.; empty: events wait.
  common::outbox::AddRelayFlags(flags, &events, "");
  flags.AddDuration("access_token_ttl", &access_token_ttl, absl::Minutes(15),
                    "Lifetime of access tokens issued at login and refresh.");
  flags.AddDuration("refresh_token_ttl", &refresh_token_ttl, absl::Hours(24 * 30),
                    "Lifetime of a session (its refresh tokens), counted from the login.");
  flags.AddDuration("service_token_ttl", &service_token_ttl, absl::Minutes(15),
                    "Lifetime of SERVICE tokens from IssueServiceToken.");
  flags
      .AddSecret("signing_key_encryption_key", &signing_key_encryption_key,
                 "Key that encrypts the token signing keys in the database: 32 bytes as 64 hex "
                 "digits or base64 (usually --signing_key_encryption_key_file).")
      .Required();
  flags.AddString("bootstrap_admin_email", &bootstrap_admin_email, "",
                  "When set, an ADMIN with this email is created at start if none exists.");
  flags.AddSecret("bootstrap_admin_password", &bootstrap_admin_password,
                  "Initial password of the bootstrap admin (usually "
                  "--bootstrap_admin_password_file); required with --bootstrap_admin_email.");
  flags.AddInt64("argon2id_memory_kib", &argon2id_memory_kib, 19456, 19456, 4 * 1024 * 1024,
                 "Argon2id memory per password hash, in KiB (OWASP minimum 19456).");
  flags.AddInt64("argon2id_iterations", &argon2id_iterations, 2, 2, 64,
                 "Argon2id iterations per password hash (OWASP minimum 2).");
  flags.AddInt64("password_hash_threads", &password_hash_threads, 2, 1, 64,
                 "Threads that hash and verify passwords.");
  flags.AddInt64("password_hash_queue", &password_hash_queue, 64, 0, 100000,
                 "Password hashes that may wait for a thread; beyond, RESOURCE_EXHAUSTED.");
  flags.AddDuration("cleanup_interval", &cleanup_interval, absl::Minutes(1), absl::Seconds(1),
                    absl::InfiniteDuration(),
                    "How often expired sessions, idempotency keys and old failed logins are "
                    "deleted and the active-session gauge is refreshed (at least 1s).");
  flags.AddDuration("caller_check_cache_ttl", &caller_check_cache_ttl, absl::Seconds(1),
                    absl::ZeroDuration(), absl::Seconds(10),
                    "How long a replica reuses a positive check that a caller's session and "
                    "account are still active, and the caller's own account it read with it "
                    "(0 to 10s; 0: every call reads the database). Changes through another "
                    "replica take effect here within this time.");
  flags.AddDuration("min_key_rotation_interval", &min_key_rotation_interval, absl::Seconds(60),
                    absl::ZeroDuration(), absl::Hours(24),
                    "Least time between two RotateSigningKey calls (0 to 24h); sooner is refused "
                    "with ROTATION_TOO_SOON. Verifiers refetch keys at most every 30s.");
}

TokenOptions IdentityConfig::Tokens() const {
  TokenOptions options;
  options.issuer = issuer;
  options.audiences.clear();  // TokenOptions comes with a default list
  for (absl::string_view item : absl::StrSplit(audiences, ',', absl::SkipWhitespace())) {
    options.audiences.emplace_back(absl::StripAsciiWhitespace(item));
  }
  options.access_token_ttl = access_token_ttl;
  options.refresh_token_ttl = refresh_token_ttl;
  options.service_token_ttl = service_token_ttl;
  return options;
}

Argon2idParams IdentityConfig::Argon2id() const {
  Argon2idParams params;
  params.iterations = static_cast<uint64_t>(argon2id_iterations);
  params.memory_bytes = static_cast<size_t>(argon2id_memory_kib) * 1024;
  return params;
}

absl::Status IdentityConfig::Validate() const {
  if (absl::Status s = common::outbox::ParseSubscriberSpecs(events.subscribers).status();
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateTokenOptions(Tokens()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid token options: ", s.message()));
  }
  if (absl::Status s = KeyEncryptor::FromText(signing_key_encryption_key).status(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid --signing_key_encryption_key: ", s.message()));
  }
  if (absl::Status s = ValidateArgon2idParams(Argon2id()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid Argon2id parameters: ", s.message()));
  }
  if (!bootstrap_admin_email.empty() && bootstrap_admin_password.empty()) {
    return absl::InvalidArgumentError(
        "--bootstrap_admin_email needs --bootstrap_admin_password(_file)");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::identity
