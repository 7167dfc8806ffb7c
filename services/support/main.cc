// support_server: tickets, escalation, resolutions with refunds, ratings (services/support/README.md).
#include <memory>

#include "common/auth/grpc_auth.h"
#include "common/change_poll_cache_metrics.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/events/event_consumer.h"
#include "common/events/event_intake.h"
#include "common/events/revocation_migrations.h"
#include "common/idempotency/idempotency_migrations.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/event_relay.h"
#include "common/outbox/outbox_migrations.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/support/backlog_metrics.h"
#include "services/support/config.h"
#include "services/support/grpc_order_directory.h"
#include "services/support/grpc_refund_sender.h"
#include "services/support/mysql_ticket_store.h"
#include "services/support/paid_order_events.h"
#include "services/support/refund_worker.h"
#include "services/support/sla_metrics.h"
#include "services/support/sla_scanner.h"
#include "services/support/support_migrations.h"
#include "services/support/support_service.h"
#include "services/support/ticket_closer.h"
#include "services/support/tickets.h"

namespace common = marketplace::common;
namespace support = marketplace::support;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  common::ServiceConfig config;
  support::SupportConfig sc;
  common::Flags flags("support_server",
                      "Support: tickets, escalation to the operator, resolutions, ratings.");
  common::AddServiceFlags(flags, "support", &config);
  support::AddFlags(flags, &sc);
  flags.ParseOrExit(argc, argv);
  if (absl::Status valid = sc.Validate(); !valid.ok()) {
    common::ExitWithError("invalid configuration", valid, 2);
  }
  auto runtime = common::ServiceRuntime::CreateOrExit("support", config, flags);
  runtime->ApplyMigrationsOrExit("support", support::SupportMigrations());
  runtime->ApplyMigrationsOrExit("outbox", common::outbox::OutboxMigrations());
  runtime->ApplyMigrationsOrExit("idempotency", common::idempotency::IdempotencyMigrations());
  runtime->ApplyMigrationsOrExit("revocations", common::events::RevocationMigrations());
  const common::Clock* clock = common::SystemClock::Get();
  common::identity_client::IdentityConnection identity(sc.identity, "support", clock);
  // ListPayments and RefundPayment (its request_id makes a retry safe) retried on UNAVAILABLE.
  auto payments_channel = common::MakeChannel(
      {.target = sc.payments_address,
       .idempotent_methods = {"marketplace.payments.v1.Payments/ListPayments",
                              "marketplace.payments.v1.Payments/RefundPayment"}});
  // CreateTicket's order lookup within --payments_timeout (the caller's deadline when earlier),
  // support's token fetched within it: a hung identity fails the lookup UNAVAILABLE by then.
  support::GrpcOrderDirectory orders(
      payments_channel, {.token = [&identity] { return identity.tokens().Token(); },
                         .cached_token = [&identity] { return identity.tokens().CachedToken(); },
                         .token_refused = [&identity] { identity.tokens().Invalidate(); },
                         .timeout = sc.payments_timeout});
  common::PrometheusChangePollCacheObserver ticket_cache_metrics(
      *runtime->registry(), "support_ticket_cache", "ticket rows");
  support::MySqlTicketStore store(&runtime->pool(), clock, /*read_threads=*/2, sc.TicketCache(),
                                  &ticket_cache_metrics);
  // Version 1 of the SLA policy on a new database (a stored policy is kept).
  if (absl::Status seeded = store.SeedSlaPolicy(*sc.SeedSlaPolicy()).status(); !seeded.ok()) {
    common::ExitWithError("SLA policy seed", seeded, 1);
  }
  support::Tickets tickets(clock, sc.TicketRules());
  support::SlaMetrics sla_metrics(*runtime->registry());
  tickets.set_metrics(&sla_metrics);
  support::SlaScanner sla_scanner(&store, &tickets, clock, &sla_metrics, sc.ScannerOptions());
  support::TicketCloser closer(&store, &tickets, clock, sc.CloserOptions());
  // Each call within --payments_timeout, which the worker's lease is derived from
  // (SupportConfig::RefundOptions).
  support::GrpcRefundSender refunds(
      payments_channel, {.token = [&identity] { return identity.tokens().Token(); },
                         .cached_token = [&identity] { return identity.tokens().CachedToken(); },
                         .token_refused = [&identity] { identity.tokens().Invalidate(); },
                         .timeout = sc.payments_timeout});
  support::RefundWorker refund_worker(&store, &refunds, clock, sc.RefundOptions(),
                                     runtime->registry().get());
  support::BacklogMetrics backlog(&store, *runtime->registry());
  std::unique_ptr<common::outbox::OutboxRelay> relay;  // support.* events
  if (!config.migrate_only) {
    auto started = common::outbox::StartEventRelay(
        runtime->pool(), sc.events,
        {.token = [&identity] { return identity.tokens().Token(); },
         .token_refused = [&identity] { identity.tokens().Invalidate(); }},
        clock, runtime->registry().get());
    if (!started.ok()) common::ExitWithError("outbox relay", started.status(), 2);
    relay = *std::move(started);
    refund_worker.Start();
    backlog.Start();
    sla_scanner.Start();
    closer.Start();
    if (!identity.has_credentials()) {
      common::LogError("no --service_client_secret: payments cannot be called");
    }
  }
  // Identity's revocations and payments' paid orders arrive through EventSink.
  common::events::EventIntake intake(&runtime->pool());
  support::AddPaidOrderConsumer(intake.consumer());
  if (!config.migrate_only) intake.Start();
  common::auth::Authenticator authenticator(&identity.verifier(), {}, intake.revocation_check());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  support::SupportApi api(&store, &orders, &tickets);
  support::SupportService service(&runner, &api);
  common::events::EventSinkService sink(&runner, &intake.consumer());
  const int code = runtime->Serve(
      {{marketplace::support::v1::SupportService::service_full_name(), &service},
       {common::events::EventSinkService::FullServiceName(), &sink}});
  intake.Stop();
  refund_worker.Stop();
  backlog.Stop();
  sla_scanner.Stop();
  closer.Stop();
  if (relay) relay->Stop();
  return code;
}
