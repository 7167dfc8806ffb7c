// payments_server: escrow, refunds, disputes, seller balances, payouts, double-entry ledger.
// Flags are listed by --help and documented in services/payments/README.md.
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/events/event_consumer.h"
#include "common/events/event_intake.h"
#include "common/events/revocation_migrations.h"
#include "common/events/revocations.h"
#include "common/idempotency/idempotency_migrations.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/event_relay.h"
#include "common/outbox/outbox_migrations.h"
#include "common/outbox/outbox_relay.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/payments/config.h"
#include "services/payments/metrics.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_domain.h"
#include "services/payments/payments_migrations.h"
#include "services/payments/payments_service.h"
#include "services/payments/ledger_verifier.h"
#include "services/payments/release_worker.h"
#include "services/payments/sandbox_processor.h"

namespace common = marketplace::common;
namespace payments = marketplace::payments;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  common::ServiceConfig config;
  payments::PaymentsConfig pc;
  common::Flags flags("payments_server",
                      "Payments: escrow, refunds, disputes, seller balances, payouts, ledger.");
  common::AddServiceFlags(flags, "payments", &config);
  payments::AddFlags(flags, &pc);
  flags.ParseOrExit(argc, argv);
  if (absl::Status valid = pc.Validate(); !valid.ok()) {
    common::ExitWithError("invalid configuration", valid, 2);
  }

  auto runtime = common::ServiceRuntime::CreateOrExit("payments", config, flags);
  runtime->ApplyMigrationsOrExit("payments", payments::PaymentsMigrations());
  runtime->ApplyMigrationsOrExit("outbox", common::outbox::OutboxMigrations());
  runtime->ApplyMigrationsOrExit("idempotency", common::idempotency::IdempotencyMigrations());
  runtime->ApplyMigrationsOrExit("revocations", common::events::RevocationMigrations());

  const common::Clock* clock = common::SystemClock::Get();
  common::identity_client::IdentityConnection identity(pc.identity, "payments", clock);
  payments::SandboxProcessor processor;
  payments::PaymentsMetrics metrics(*runtime->registry());
  payments::PaymentsOptions options = pc.DomainOptions();
  options.observer = &metrics;
  payments::MySqlPaymentStore store(&runtime->pool(), clock);
  payments::PaymentsDomain domain(&store, &processor, &identity.sellers(), clock, options);

  std::unique_ptr<payments::ReleaseWorker> release;
  std::unique_ptr<payments::CompletionWorker> completion;
  std::unique_ptr<payments::LedgerVerifier> verifier;
  std::unique_ptr<common::outbox::OutboxRelay> relay;
  if (!config.migrate_only) {
    release = std::make_unique<payments::ReleaseWorker>(&domain, *runtime->registry(),
                                                        pc.ReleaseOptions());
    completion = std::make_unique<payments::CompletionWorker>(&domain, *runtime->registry(),
                                                              pc.CompletionOptions());
    verifier = std::make_unique<payments::LedgerVerifier>(&store, &domain.audit(), &metrics, clock,
                                                          pc.VerifierOptions());
    // Events: one EventSink publisher per --event_subscribers entry, each Deliver with
    // payments' own token.
    auto started = common::outbox::StartEventRelay(
        runtime->pool(), pc.events,
        {.token = [&identity] { return identity.tokens().Token(); },
         .token_refused = [&identity] { identity.tokens().Invalidate(); }},
        clock, runtime->registry().get());
    if (!started.ok()) common::ExitWithError("outbox relay", started.status(), 2);
    relay = *std::move(started);
    release->Start();
    completion->Start();
    verifier->Start();
    if (!identity.has_credentials()) {
      common::LogError("no --service_client_secret: seller checks with identity will fail");
    }
  }

  // Tokens withdrawn by identity (suspension, LogoutAll, password change): its events come
  // through EventSink into token_revocations; every replica re-reads the table twice a second.
  common::events::EventIntake intake(&runtime->pool());
  if (!config.migrate_only) intake.Start();

  common::auth::Authenticator authenticator(&identity.verifier(), {}, intake.revocation_check());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  payments::PaymentsApi api(&domain);
  payments::PaymentsService service(&runner, &api);
  common::events::EventSinkService sink(&runner, &intake.consumer());
  const int code =
      runtime->Serve({{marketplace::payments::v1::Payments::service_full_name(), &service},
                      {common::events::EventSinkService::FullServiceName(), &sink}});
  intake.Stop();
  if (relay) relay->Stop();
  if (release) release->Stop();
  if (completion) completion->Stop();
  if (verifier) verifier->Stop();
  return code;
}
