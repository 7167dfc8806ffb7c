// sellerkpi_server: seller KPIs over rolling windows and smoothed health (README.md).
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/events/event_consumer.h"
#include "common/events/event_intake.h"
#include "common/events/revocation_migrations.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/outbox_migrations.h"
#include "common/periodic.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/sellerkpi/config.h"
#include "services/sellerkpi/enforcement_worker.h"
#include "services/sellerkpi/evaluation.h"
#include "services/sellerkpi/grpc_step_executor.h"
#include "services/sellerkpi/ingestion.h"
#include "services/sellerkpi/mysql_enforcement_store.h"
#include "services/sellerkpi/mysql_kpi_store.h"
#include "services/sellerkpi/payments_events.h"
#include "services/sellerkpi/permissions.h"
#include "services/sellerkpi/platform_events.h"
#include "services/sellerkpi/prometheus_observer.h"
#include "services/sellerkpi/sellerkpi_api.h"
#include "services/sellerkpi/sellerkpi_migrations.h"
#include "services/sellerkpi/sellerkpi_service.h"
#include "services/sellerkpi/thresholds_file.h"

namespace common = marketplace::common;
namespace sellerkpi = marketplace::sellerkpi;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  common::ServiceConfig config;
  sellerkpi::SellerKpiConfig kc;
  common::Flags flags("sellerkpi_server", "Seller KPIs: rolling windows, health, evidence.");
  common::AddServiceFlags(flags, "sellerkpi", &config);
  sellerkpi::AddFlags(flags, &kc);
  flags.ParseOrExit(argc, argv);
  if (absl::Status s = kc.Validate(); !s.ok()) common::ExitWithError("flags", s, 2);
  auto seed = sellerkpi::LoadThresholdsFile(kc.thresholds_file);
  if (!seed.ok()) common::ExitWithError("thresholds file", seed.status(), 2);

  auto runtime = common::ServiceRuntime::CreateOrExit("sellerkpi", config, flags);
  runtime->ApplyMigrationsOrExit("sellerkpi", sellerkpi::SellerKpiMigrations());
  runtime->ApplyMigrationsOrExit("outbox", common::outbox::OutboxMigrations());
  runtime->ApplyMigrationsOrExit("revocations", common::events::RevocationMigrations());

  const common::Clock* clock = common::SystemClock::Get();
  // Evaluations create enforcement actions in their own transaction (the store's hook).
  sellerkpi::MysqlEnforcementStore enforcement(&runtime->pool(), clock);
  sellerkpi::MysqlKpiStore store(&runtime->pool(), &enforcement);
  if (absl::Status s = store.SeedThresholds(*seed, clock->Now()); !s.ok()) {
    common::ExitWithError("thresholds seed", s, 1);
  }
  common::identity_client::IdentityConnection identity(kc.identity, "sellerkpi", clock);
  sellerkpi::PrometheusKpiObserver observer(*runtime->registry());
  sellerkpi::Ingestion ingestion(&store, clock, &observer);
  sellerkpi::Evaluation evaluation(&store, clock, &observer);
  sellerkpi::SellerKpiApi api(&store, &enforcement, &ingestion, &evaluation, clock);

  // The enforcement worker: due steps every --enforcement_interval, claimed with SKIP LOCKED
  // (replicas share them), carried out at identity, catalog and payments with sellerkpi's own
  // SERVICE token; every step's call is idempotent, so UNAVAILABLE is retried by the channel.
  auto catalog_channel = common::MakeChannel(
      {.target = kc.catalog_address,
       .idempotent_methods = {"marketplace.catalog.v1.CatalogService/GetSellerModerationLevel",
                              "marketplace.catalog.v1.CatalogService/SetSellerModerationLevel"}});
  auto payments_channel = common::MakeChannel(
      {.target = kc.payments_address,
       .idempotent_methods = {"marketplace.payments.v1.Payments/GetSellerHoldPolicy",
                              "marketplace.payments.v1.Payments/SetSellerHoldPolicy"}});
  sellerkpi::GrpcStepExecutor executor(
      identity.channel(), catalog_channel, payments_channel,
      {.token = [&identity] { return identity.tokens().Token(); },
       .token_refused = [&identity] { identity.tokens().Invalidate(); },
       .timeout = kc.call_timeout});
  sellerkpi::EnforcementWorkerOptions worker_options;
  worker_options.batch = static_cast<int>(kc.enforcement_batch);
  sellerkpi::EnforcementWorker worker(&enforcement, &executor, clock, &observer, worker_options);
  const int enforcement_batch = worker_options.batch;
  common::PeriodicThread enforcer(kc.enforcement_interval, [&worker, enforcement_batch] {
    auto counts = worker.RunPass();
    if (!counts.ok()) {
      common::LogWarn("enforcement pass failed",
                      {{"error", std::string(counts.status().message())}});
      return false;
    }
    return counts->done + counts->failed >= enforcement_batch;
  });

  // The evaluator: sellers with new events every --evaluation_interval, every seller once a
  // UTC day; rows claimed with SKIP LOCKED, so replicas share the work.
  const int batch = static_cast<int>(kc.evaluation_batch);
  common::PeriodicThread evaluator(kc.evaluation_interval, [&evaluation, batch] {
    auto counts = evaluation.RunPass(batch);
    if (!counts.ok()) {
      common::LogWarn("evaluation pass failed", {{"error", std::string(counts.status().message())}});
      return false;
    }
    return counts->evaluated >= batch;
  });

  // Events: identity's (token revocations), payments' (orders, disputes, refunds), support's
  // (tickets, claims, SLA) and catalog's (listing reviews) through EventSink.
  common::events::EventIntake intake(&runtime->pool());
  sellerkpi::AddPaymentsConsumer(intake.consumer(), &ingestion);
  sellerkpi::AddPlatformConsumers(intake.consumer(), &store, &ingestion);
  if (!config.migrate_only) {
    intake.Start();
    evaluator.Start();
    enforcer.Start();
    if (!identity.has_credentials()) {
      common::LogError("no --service_client_secret: enforcement steps cannot call identity, "
                       "catalog or payments (they stay due and are retried)");
    }
  }

  common::auth::Authenticator authenticator(&identity.verifier(), sellerkpi::PublicMethods(),
                                            intake.revocation_check());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  sellerkpi::SellerKpiService service(&runner, &api);
  common::events::EventSinkService sink(&runner, &intake.consumer());
  const int code = runtime->Serve(
      {{marketplace::sellerkpi::v1::SellerKpiService::service_full_name(), &service},
       {common::events::EventSinkService::FullServiceName(), &sink}});
  enforcer.Stop();
  evaluator.Stop();
  intake.Stop();
  return code;
}
