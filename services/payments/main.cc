// payments_server: escrow, refunds, disputes, seller balances, payouts, double-entry ledger.
// Flags are listed by --help and documented in services/payments/README.md.
#include <memory>

#include "common/auth/grpc_auth.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/idempotency/idempotency_migrations.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/grpc_event_sink_publisher.h"
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
#include "services/payments/release_worker.h"
#include "services/payments/sandbox_processor.h"

namespace common = marketplace::common;
namespace payments = marketplace::payments;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
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
  std::unique_ptr<common::outbox::OutboxRelay> relay;
  if (!config.migrate_only) {
    release = std::make_unique<payments::ReleaseWorker>(&domain, *runtime->registry(),
                                                        pc.ReleaseOptions());
    completion = std::make_unique<payments::CompletionWorker>(&domain, *runtime->registry(),
                                                              pc.CompletionOptions());
    // Events: one EventSink publisher per --event_subscribers entry.
    auto subscribers = common::outbox::ParseSubscriberSpecs(pc.events.subscribers);
    if (!subscribers.ok()) common::ExitWithError("flags", subscribers.status(), 2);
    if (!subscribers->empty()) {
      common::outbox::OutboxRelayOptions relay_options;
      relay_options.clock = clock;
      relay_options.registry = runtime->registry().get();
      relay_options.max_refusals = static_cast<int>(pc.events.max_refusals);
      auto created = common::outbox::OutboxRelay::Create(
          runtime->pool(), *subscribers,
          [](const common::outbox::SubscriberSpec& spec)
              -> std::unique_ptr<common::outbox::Publisher> {
            return std::make_unique<common::outbox::GrpcEventSinkPublisher>(
                common::MakeChannel({.target = spec.target}));
          },
          relay_options);
      if (!created.ok()) common::ExitWithError("outbox relay", created.status(), 2);
      relay = *std::move(created);
    }
    release->Start();
    completion->Start();
    if (relay) relay->Start();
    if (!identity.has_credentials()) {
      common::LogError("no --service_client_secret: seller checks with identity will fail");
    }
  }

  common::auth::Authenticator authenticator(&identity.verifier(), {});
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  payments::PaymentsApi api(&domain);
  payments::PaymentsService service(&runner, &api);
  const int code =
      runtime->Serve({{marketplace::payments::v1::Payments::service_full_name(), &service}});
  if (relay) relay->Stop();
  if (release) release->Stop();
  if (completion) completion->Stop();
  return code;
}
