// identity_server: accounts, login, tokens, roles, seller onboarding, suspension.
// Flags are listed by --help and documented in services/identity/README.md.
#include <algorithm>
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/outbox/event_relay.h"
#include "common/outbox/outbox_migrations.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/identity/accounts.h"
#include "services/identity/config.h"
#include "services/identity/identity_metrics.h"
#include "services/identity/identity_events.h"
#include "services/identity/identity_migrations.h"
#include "services/identity/identity_service.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/maintenance.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_policy.h"
#include "services/identity/seller_onboarding.h"
#include "services/identity/sessions.h"

namespace common = marketplace::common;
namespace identity = marketplace::identity;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  common::ServiceConfig config;
  identity::IdentityConfig ic;
  common::Flags flags("identity_server",
                      "Identity: accounts, login, tokens, roles, seller onboarding, suspension.");
  common::AddServiceFlags(flags, "identity", &config);
  ic.AddFlags(flags);
  flags.ParseOrExit(argc, argv);
  if (absl::Status s = ic.Validate(); !s.ok()) common::ExitWithError("invalid flags", s, 2);
  const identity::TokenOptions tokens = ic.Tokens();
  const identity::KeyEncryptor encryptor =
      *identity::KeyEncryptor::FromText(ic.signing_key_encryption_key);

  auto runtime = common::ServiceRuntime::CreateOrExit("identity", config, flags);
  runtime->ApplyMigrationsOrExit("identity", identity::IdentityMigrations());
  runtime->ApplyMigrationsOrExit("outbox", common::outbox::OutboxMigrations());
  if (config.migrate_only) return runtime->Serve({});

  const common::Clock* clock = common::SystemClock::Get();
  identity::MySqlIdentityStore store(&runtime->pool(), clock);
  identity::PrometheusIdentityObserver observer(*runtime->registry());
  identity::KeyRing keys(&store, &encryptor, clock,
                         {.max_token_lifetime =
                              std::max(tokens.access_token_ttl, tokens.service_token_ttl),
                          .min_rotation_interval = ic.min_key_rotation_interval});
  common::BoundedExecutor hash_pool(static_cast<int>(ic.password_hash_threads),
                                    static_cast<int>(ic.password_hash_queue));
  identity::PasswordHasher hasher(ic.Argon2id(), &hash_pool);
  identity::PasswordPolicy policy(&identity::CommonPasswordList::BuiltIn());
  identity::PasswordCheck passwords(
      &store, &hasher, identity::LoginThrottle(identity::ThrottlePolicy{}), clock, &observer);
  identity::AccessTokenIssuer issuer(&keys, tokens, clock);
  // Identity's own verifier reads the key ring from its database: a token of a key activated
  // by a rotation on any replica verifies after one read, and made-up kids cost at most one
  // read a second.
  common::auth::TokenVerifier verifier(
      &keys, {.issuer = tokens.issuer, .audience = "identity", .min_refresh_interval = absl::Seconds(1)},
      clock);
  identity::Accounts accounts(&store, &policy, &hasher, &passwords, clock,
                              encryptor.DeriveKey("identity request fingerprints v1"));
  identity::Sessions sessions(&store, &passwords, &issuer, &verifier, clock, &observer,
                              {.caller_check_ttl = ic.caller_check_cache_ttl});
  identity::SellerOnboarding sellers(&store, clock);

  if (absl::Status s = keys.EnsureKeys(); !s.ok()) {
    common::ExitWithError("signing keys unavailable", s, 1);
  }
  if (!ic.bootstrap_admin_email.empty()) {
    absl::Status s =
        accounts.EnsureBootstrapAdmin(ic.bootstrap_admin_email, ic.bootstrap_admin_password);
    if (!s.ok()) common::ExitWithError("bootstrap admin", s, 1);
    common::LogInfo("bootstrap admin present", {{"email", ic.bootstrap_admin_email}});
  }
  identity::Maintenance maintenance(&store, clock, &observer, {.interval = ic.cleanup_interval});
  maintenance.Start();

  // Identity's events (suspension, sessions ended, reinstatement) to every subscriber whose
  // prefix matches, each Deliver with identity's own token (scope identity.events.publish).
  identity::RelayTokenSource relay_token(&issuer, clock);
  auto relay = common::outbox::StartEventRelay(
      runtime->pool(), ic.events,
      {.token = [&relay_token] { return relay_token.Token(); },
       .token_refused = [&relay_token] { relay_token.Invalidate(); }},
      clock, runtime->registry().get());
  if (!relay.ok()) common::ExitWithError("outbox relay", relay.status(), 2);

  common::auth::Authenticator authenticator(&verifier, identity::IdentityPublicMethods());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  identity::IdentityService service({.runner = &runner,
                                     .accounts = &accounts,
                                     .sessions = &sessions,
                                     .sellers = &sellers,
                                     .keys = &keys});
  const int code = runtime->Serve({{std::string(identity::IdentityService::FullServiceName()), &service}});
  if (*relay) (*relay)->Stop();
  maintenance.Stop();
  return code;
}
