// payments_server: escrow, refunds, disputes, seller balances, payouts, double-entry ledger.
// Flags are listed by --help and documented in services/payments/README.md.
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
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
#include "services/payments/escrow_service.h"
#include "services/payments/metrics.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_migrations.h"
#include "services/payments/payments_service.h"
#include "services/payments/release_worker.h"
#include "services/payments/sandbox_processor.h"

namespace {

namespace common = marketplace::common;
namespace payments = marketplace::payments;

struct PaymentsConfig {
  int64_t default_commission_bps = 1000;
  absl::Duration default_hold_period;
  std::string processor;
  common::identity_client::IdentityClientConfig identity;
  std::string event_sink_target;
  absl::Duration release_interval;
  int64_t release_batch = 20;
  absl::Duration completion_interval;
  absl::Duration retry_initial_backoff;
  absl::Duration retry_max_backoff;
  int64_t write_batch_max = 16;
  int64_t write_batches_in_flight = 2;
  int64_t write_batch_overlap_min = 8;
};

void AddPaymentsFlags(common::Flags& flags, PaymentsConfig* c) {
  flags.AddInt64("default_commission_bps", &c->default_commission_bps, 1000, 0, 10000,
                 "Platform commission of payments that name none, in basis points.");
  flags.AddDuration("default_hold_period", &c->default_hold_period, absl::Hours(14 * 24),
                    "Escrow hold before automatic release, for sellers without a policy.");
  flags.AddEnum("processor", &c->processor, "sandbox", {"sandbox"},
                "Payment processor; only the SANDBOX processor (no real money) exists.");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
  flags.AddString("event_sink_target", &c->event_sink_target, "127.0.0.1:7005",
                  "gRPC target of the EventSink that receives payments events (sellerkpi).");
  flags.AddDuration("release_interval", &c->release_interval, absl::Seconds(30),
                    "How often due payments are released automatically.");
  flags.AddInt64("release_batch", &c->release_batch, 20, 1, 1000,
                 "Payments claimed per automatic-release round.");
  flags.AddDuration("completion_interval", &c->completion_interval, absl::Seconds(5),
                    "How often refunds and payouts the processor has not confirmed are retried.");
  flags.AddDuration("processor_retry_initial_backoff", &c->retry_initial_backoff, absl::Seconds(10),
                    "Delay before retrying a refund or payout the processor did not confirm; "
                    "doubled after each failure.");
  flags.AddDuration("processor_retry_max_backoff", &c->retry_max_backoff, absl::Hours(1),
                    "Longest delay between retries of a refund or payout.");
  flags.AddInt64("write_batch_max", &c->write_batch_max, 16, 1, 256,
                 "Group commit: most CreatePayment (or ConfirmDelivery) calls written in one "
                 "database transaction (batches take 1, 2, 3, 4, 6, 8, 12, 16, 24, ... calls); 1 "
                 "writes each call in its own transaction.");
  flags.AddInt64("write_batches_in_flight", &c->write_batches_in_flight, 2, 1, 64,
                 "Group commit: such transactions at the database at once, per method.");
  flags.AddInt64("write_batch_overlap_min", &c->write_batch_overlap_min, 8, 1, 256,
                 "Group commit: calls that must be waiting before a transaction starts beside "
                 "one already at the database (fewer wait for it and go in a larger batch).");
}

}  // namespace

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  PaymentsConfig pc;
  common::Flags flags("payments_server",
                      "Payments: escrow, refunds, disputes, seller balances, payouts, ledger.");
  common::AddServiceFlags(flags, "payments", &config);
  AddPaymentsFlags(flags, &pc);
  flags.ParseOrExit(argc, argv);
  if (pc.completion_interval < absl::Seconds(1) || pc.retry_initial_backoff < absl::Seconds(1) ||
      pc.retry_max_backoff < pc.retry_initial_backoff) {
    common::ExitWithError(
        "invalid processor retry flags",
        absl::InvalidArgumentError("completion_interval and processor_retry_initial_backoff: "
                                   "at least 1s; processor_retry_max_backoff: at least the "
                                   "initial backoff"),
        2);
  }
  if (pc.release_interval < absl::Seconds(1)) {
    common::ExitWithError("invalid --release_interval",
                          absl::InvalidArgumentError("release_interval: must be at least 1s"), 2);
  }

  auto runtime = common::ServiceRuntime::CreateOrExit("payments", config, flags);
  runtime->ApplyMigrationsOrExit("payments", payments::PaymentsMigrations());
  runtime->ApplyMigrationsOrExit("outbox", marketplace::common::outbox::OutboxMigrations());
  runtime->ApplyMigrationsOrExit("idempotency",
                                 marketplace::common::idempotency::IdempotencyMigrations());

  const common::Clock* clock = common::SystemClock::Get();
  common::identity_client::IdentityConnection identity(pc.identity, "payments", clock);
  payments::SandboxProcessor processor;

  payments::PaymentsMetrics metrics(*runtime->registry());
  payments::EscrowServiceOptions options;
  options.metrics = &metrics;
  options.default_commission_bps = static_cast<int32_t>(pc.default_commission_bps);
  options.default_hold = pc.default_hold_period;
  options.retry_initial_backoff = pc.retry_initial_backoff;
  options.retry_max_backoff = pc.retry_max_backoff;
  options.write_batch_max = static_cast<size_t>(pc.write_batch_max);
  options.write_batches_in_flight = static_cast<int>(pc.write_batches_in_flight);
  options.write_batch_overlap_min = static_cast<size_t>(pc.write_batch_overlap_min);
  payments::EscrowService escrow(&runtime->pool(), &processor, &identity.sellers(), clock, options);

  std::unique_ptr<payments::ReleaseWorker> worker;
  std::unique_ptr<payments::CompletionWorker> completion;
  std::unique_ptr<common::outbox::GrpcEventSinkPublisher> publisher;
  std::unique_ptr<common::outbox::OutboxRelay> relay;
  if (!config.migrate_only) {
    worker = std::make_unique<payments::ReleaseWorker>(
        &escrow, *runtime->registry(),
        payments::ReleaseWorkerOptions{.interval = pc.release_interval,
                                       .batch_size = static_cast<int>(pc.release_batch)});
    worker->Start();
    completion = std::make_unique<payments::CompletionWorker>(
        &escrow, *runtime->registry(),
        payments::CompletionWorkerOptions{.interval = pc.completion_interval});
    completion->Start();
    publisher = std::make_unique<common::outbox::GrpcEventSinkPublisher>(
        common::MakeChannel({.target = pc.event_sink_target}));
    auto created = common::outbox::OutboxRelay::Create(
        runtime->pool(), *publisher, {.clock = clock, .registry = runtime->registry().get()});
    if (!created.ok()) common::ExitWithError("outbox relay", created.status(), 2);
    relay = *std::move(created);
    relay->Start();
    if (!identity.has_credentials()) {
      common::LogError("no --service_client_secret: seller checks with identity will fail");
    }
  }

  common::auth::Authenticator authenticator(&identity.verifier(), {});
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  payments::PaymentsService service(&runner, &escrow);
  const int code =
      runtime->Serve({{marketplace::payments::v1::Payments::service_full_name(), &service}});
  if (relay) relay->Stop();
  if (worker) worker->Stop();
  if (completion) completion->Stop();
  return code;
}
