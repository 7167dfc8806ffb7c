// catalog_server: listings and their moderation (README "Flags").
#include <memory>
#include <string>

#include "common/auth/grpc_auth.h"
#include "common/change_poll_cache_metrics.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/events/event_consumer.h"
#include "common/events/event_intake.h"
#include "common/events/revocations.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/event_relay.h"
#include "common/periodic.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/catalog/catalog_api.h"
#include "services/catalog/catalog_service.h"
#include "services/catalog/config.h"
#include "services/catalog/enforcement.h"
#include "services/catalog/fasttext_category_classifier.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/paid_order_events.h"
#include "services/catalog/reporter_directory.h"
#include "services/catalog/rules_reloader.h"
#include "services/catalog/seller_suspension_events.h"

namespace common = marketplace::common;
namespace catalog = marketplace::catalog;

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::KeepFreedHeapMapped();
  common::ServiceConfig config;
  catalog::CatalogConfig catalog_config;
  common::Flags flags("catalog_server", "Catalog: listings and their moderation.");
  common::AddServiceFlags(flags, "catalog", &config);
  catalog::AddFlags(flags, &catalog_config);
  flags.ParseOrExit(argc, argv);
  if (absl::Status s = catalog_config.Validate(); !s.ok()) common::ExitWithError("flags", s, 2);

  // The learned category check the moderation rules consult (README "Category model"): read
  // with the rules, at start and at every reload; a missing or corrupt model stops the start
  // like a bad rules file (and a reload keeps the rules and model in force).
  auto rules = catalog::LiveRules::Load(
      catalog_config.categories_file, catalog_config.rules_file,
      catalog::FastTextModelLoader(catalog_config.category_model_file));
  if (!rules.ok()) common::ExitWithError("moderation data files", rules.status(), 2);
  common::LogInfo("moderation rules and category model loaded",
                  {{"version", (*rules)->Current()->version()}});

  auto runtime = common::ServiceRuntime::CreateOrExit("catalog", config, flags);
  if (absl::Status s = catalog::ApplyCatalogMigrations(runtime->pool()); !s.ok()) {
    common::ExitWithError("migrations", s, 1);
  }
  if (absl::Status s = common::events::ApplyRevocationMigrations(runtime->pool()); !s.ok()) {
    common::ExitWithError("migrations", s, 1);
  }
  if (config.migrate_only) return runtime->Serve({});

  const common::Clock* clock = common::SystemClock::Get();
  common::identity_client::IdentityConnection identity(catalog_config.identity, "catalog", clock);
  if (!identity.has_credentials()) {
    common::LogWarn("no --service_client_secret: seller checks with identity will fail");
  }

  catalog::MysqlListingStore store(&runtime->pool(), clock, catalog_config.Store());
  common::PrometheusChangePollCacheObserver observer(*runtime->registry(), "catalog_public_cache",
                                                     "public listing views");
  catalog::IdentityReporterDirectory reporters(identity.channel(), &identity.tokens());
  catalog::CatalogApi api(&store, rules->get(), &identity.sellers(), clock,
                          catalog_config.Options(), catalog_config.PublicCache(&observer),
                          &reporters);

  // Events: one EventSink publisher per --event_subscribers entry, each Deliver with catalog's
  // own token; none: no relay runs.
  auto started = common::outbox::StartEventRelay(
      runtime->pool(), catalog_config.events,
      {.token = [&identity] { return identity.tokens().Token(); },
       .token_refused = [&identity] { identity.tokens().Invalidate(); }},
      clock, runtime->registry().get());
  if (!started.ok()) common::ExitWithError("outbox relay", started.status(), 2);
  std::unique_ptr<common::outbox::OutboxRelay> relay = *std::move(started);

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

  // Events through EventSink. identity's: tokens withdrawn (suspension, LogoutAll, password
  // change) into token_revocations, re-read by every replica twice a second; a suspension
  // takes the seller's listings down and a reinstatement restores them. payments': a held
  // payment records its buyer's paid order (its reports count).
  common::events::EventIntake intake(&runtime->pool());
  catalog::Enforcement enforcement(&store, clock);
  catalog::AddSellerSuspensionConsumer(intake.consumer(), &enforcement);
  catalog::AddPaidOrderConsumer(intake.consumer(), &store);
  intake.Start();

  common::auth::Authenticator authenticator(&identity.verifier(), catalog::CatalogPublicMethods(),
                                            intake.revocation_check());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  catalog::CatalogService service(&runner, &api, &runtime->executor());
  common::events::EventSinkService sink(&runner, &intake.consumer());
  const int code =
      runtime->Serve({{marketplace::catalog::v1::CatalogService::service_full_name(), &service},
                      {common::events::EventSinkService::FullServiceName(), &sink}});
  intake.Stop();
  purger.Stop();
  reloader.Stop();
  if (relay) relay->Stop();
  return code;
}
