// catalog_server: listings and their moderation (README "Flags").
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/grpc_event_sink_publisher.h"
#include "common/outbox/outbox_relay.h"
#include "common/periodic.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/catalog/catalog_api.h"
#include "services/catalog/catalog_service.h"
#include "services/catalog/config.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/prometheus_catalog_observer.h"
#include "services/catalog/reporter_directory.h"
#include "services/catalog/rules_reloader.h"

namespace common = marketplace::common;
namespace catalog = marketplace::catalog;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  catalog::CatalogConfig catalog_config;
  common::Flags flags("catalog_server", "Catalog: listings and their moderation.");
  common::AddServiceFlags(flags, "catalog", &config);
  catalog::AddFlags(flags, &catalog_config);
  flags.ParseOrExit(argc, argv);
  if (absl::Status s = catalog_config.Validate(); !s.ok()) common::ExitWithError("flags", s, 2);

  auto rules = catalog::LiveRules::Load(catalog_config.categories_file, catalog_config.rules_file);
  if (!rules.ok()) common::ExitWithError("moderation data files", rules.status(), 2);

  auto runtime = common::ServiceRuntime::CreateOrExit("catalog", config, flags);
  if (absl::Status s = catalog::ApplyCatalogMigrations(runtime->pool()); !s.ok()) {
    common::ExitWithError("migrations", s, 1);
  }
  if (config.migrate_only) return runtime->Serve({});

  const common::Clock* clock = common::SystemClock::Get();
  common::identity_client::IdentityConnection identity(catalog_config.identity, "catalog", clock);
  if (!identity.has_credentials()) {
    common::LogWarn("no --service_client_secret: seller checks with identity will fail");
  }

  catalog::MysqlListingStore store(&runtime->pool(), clock, catalog_config.Store());
  catalog::PrometheusCatalogObserver observer(*runtime->registry());
  catalog::IdentityReporterDirectory reporters(identity.channel(), &identity.tokens());
  catalog::CatalogApi api(&store, rules->get(), &identity.sellers(), clock,
                          catalog_config.Options(), catalog_config.PublicCache(&observer),
                          &reporters);

  // Events: delivered by the outbox relay when a sink is configured.
  std::unique_ptr<common::outbox::GrpcEventSinkPublisher> publisher;
  std::unique_ptr<common::outbox::OutboxRelay> relay;
  if (!catalog_config.event_sink_target.empty()) {
    publisher = std::make_unique<common::outbox::GrpcEventSinkPublisher>(
        common::MakeChannel({.target = catalog_config.event_sink_target}));
    common::outbox::OutboxRelayOptions relay_options;
    relay_options.registry = runtime->registry().get();
    auto created = common::outbox::OutboxRelay::Create(runtime->pool(), *publisher, relay_options);
    if (!created.ok()) common::ExitWithError("outbox relay", created.status(), 2);
    relay = *std::move(created);
    relay->Start();
  }

  // Rules reload: when a data file changes, or on SIGHUP.
  catalog::RulesReloader reloader(rules->get(), catalog_config.categories_file,
                                  catalog_config.rules_file, catalog_config.rules_check_interval);
  catalog::RulesReloader::ReloadOnSighup();
  reloader.Start();
  // Request ids are kept a day.
  common::PeriodicThread purger(absl::Hours(1), [&store] {
    if (auto purged = store.PurgeRequestIds(); !purged.ok()) {
      common::LogWarn("request id purge failed",
                      {{"error", std::string(purged.status().message())}});
    }
    return false;
  });
  purger.Start();

  common::auth::Authenticator authenticator(&identity.verifier(), catalog::CatalogPublicMethods());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  catalog::CatalogService service(&runner, &api, &runtime->executor());
  const int code =
      runtime->Serve({{marketplace::catalog::v1::CatalogService::service_full_name(), &service}});
  purger.Stop();
  reloader.Stop();
  if (relay) relay->Stop();
  return code;
}
