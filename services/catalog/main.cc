// catalog_server: listings and their moderation (README "Flags").
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
#include "common/client/channel.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"
#include "common/logging.h"
#include "common/outbox/grpc_event_sink_publisher.h"
#include "common/outbox/outbox_relay.h"
#include "common/server/service_runtime.h"
#include "common/server/unary_call.h"
#include "services/catalog/catalog_service.h"
#include "services/catalog/catalog_api.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/live_rules.h"

namespace {

namespace common = marketplace::common;
namespace catalog = marketplace::catalog;

struct CatalogConfig {
  std::string categories_file;
  std::string rules_file;
  absl::Duration rules_check_interval;
  int64_t report_threshold = 3;
  absl::Duration claim_timeout;
  int64_t new_seller_listings = -1;
  absl::Duration public_cache_ttl;
  absl::Duration public_cache_poll;
  absl::Duration public_cache_overlap;
  int64_t public_cache_capacity = 200000;
  int64_t point_read_threads = 2;
  std::string event_sink_target;
  common::identity_client::IdentityClientConfig identity;
};

void AddCatalogFlags(common::Flags& flags, CatalogConfig* c) {
  flags.AddString("categories_file", &c->categories_file, "services/catalog/data/categories.json",
                  "Category tree (JSON, README \"Data files\").");
  flags.AddString("moderation_rules_file", &c->rules_file,
                  "services/catalog/data/moderation_rules.json",
                  "Moderation rules and word lists (JSON, README \"Data files\").");
  flags.AddDuration("rules_check_interval", &c->rules_check_interval, absl::Seconds(10),
                    "How often the data files are checked for changes (a changed file is "
                    "reloaded; SIGHUP reloads at the next check).");
  flags.AddInt64("report_threshold", &c->report_threshold, 3, 1, 1000,
                 "Open reports from distinct buyers that send a LIVE listing back to review.");
  flags.AddDuration("claim_timeout", &c->claim_timeout, absl::Minutes(15),
                    "How long a moderator's claim on a review lasts.");
  flags.AddInt64("new_seller_listings", &c->new_seller_listings, -1, -1, 1000,
                 "Decided listings under which a seller's clean listings still go to review; "
                 "-1: the rules file's thresholds.new_seller_listings.");
  flags.AddDuration("public_cache_ttl", &c->public_cache_ttl, absl::Minutes(1),
                    "Longest GetListing keeps a public view of a LIVE listing in memory for "
                    "callers other than sellers and staff. Views are evicted when their listing "
                    "changes (seen by a poll of the listings table every --public_cache_poll); "
                    "the TTL bounds staleness only for a write that committed more than "
                    "--public_cache_overlap after it began. 0s: no cache.");
  flags.AddDuration("public_cache_poll", &c->public_cache_poll, absl::Milliseconds(200),
                    "How often the listings changed since the last poll are evicted from the "
                    "public view cache: a change shows to public readers of every replica within "
                    "about this long. Views are not served while polls fail for over 2s.");
  flags.AddDuration("public_cache_overlap", &c->public_cache_overlap, absl::Seconds(30),
                    "Every 5s a poll also re-reads the changes of this long before the previous "
                    "such poll (writes that committed long after they began, clock differences "
                    "between replicas); other polls look back 2s.");
  flags.AddInt64("public_cache_capacity", &c->public_cache_capacity, 200000, 1, 100000000,
                 "Most public views kept in memory (about 1-2 KiB each; the cache is emptied "
                 "when full).");
  flags.AddInt64("point_read_threads", &c->point_read_threads, 2, 1, 64,
                 "GetListing reads at the database at once, each on a pool connection; the "
                 "reads asked for meanwhile go together in the next statement.");
  flags.AddString("event_sink_target", &c->event_sink_target, "",
                  "EventSink (host:port) the outbox relay delivers catalog events to; empty: no "
                  "relay runs and events stay pending in outbox_events.");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
}

std::atomic<bool> reload_requested{false};
extern "C" void OnSighup(int) { reload_requested.store(true); }

// Last modification of `path` in nanoseconds, 0 when it cannot be read.
int64_t ModifiedAt(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  common::BlockTerminationSignals();
  common::ServiceConfig config;
  CatalogConfig catalog_config;
  common::Flags flags("catalog_server", "Catalog: listings and their moderation.");
  common::AddServiceFlags(flags, "catalog", &config);
  AddCatalogFlags(flags, &catalog_config);
  flags.ParseOrExit(argc, argv);

  if (catalog_config.public_cache_poll < absl::Milliseconds(1)) {
    common::ExitWithError("flags",
                          absl::InvalidArgumentError("--public_cache_poll: must be at least 1ms"),
                          2);
  }

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

  catalog::CatalogOptions options;
  options.report_threshold = catalog_config.report_threshold;
  options.claim_timeout = catalog_config.claim_timeout;
  if (catalog_config.new_seller_listings >= 0) {
    options.new_seller_listings = catalog_config.new_seller_listings;
  }
  catalog::PublicViewCacheOptions public_cache;
  public_cache.ttl = catalog_config.public_cache_ttl;
  public_cache.poll_interval = catalog_config.public_cache_poll;
  public_cache.overlap = catalog_config.public_cache_overlap;
  public_cache.capacity = static_cast<size_t>(catalog_config.public_cache_capacity);
  public_cache.registry = runtime->registry().get();
  catalog::MysqlListingStore store(
      &runtime->pool(), clock,
      {.point_read_threads = static_cast<int>(catalog_config.point_read_threads)});
  catalog::CatalogApi listings(&store, rules->get(), &identity.sellers(), clock, options,
                               public_cache);

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

  // Rules reload: when a data file changes, or on SIGHUP. A bad file keeps the rules in force.
  std::signal(SIGHUP, OnSighup);
  absl::Notification stop;
  std::thread reloader([&] {
    int64_t seen =
        ModifiedAt(catalog_config.categories_file) ^ ModifiedAt(catalog_config.rules_file);
    absl::Time next_check = absl::Now() + catalog_config.rules_check_interval;
    absl::Time next_purge = absl::Now() + absl::Minutes(10);
    while (!stop.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      if (absl::Now() >= next_purge) {
        next_purge = absl::Now() + absl::Hours(1);
        if (auto purged = store.PurgeRequestIds(); !purged.ok()) {
          common::LogWarn("request id purge failed",
                          {{"error", std::string(purged.status().message())}});
        }
      }
      const bool asked = reload_requested.exchange(false);
      if (!asked && absl::Now() < next_check) continue;
      next_check = absl::Now() + catalog_config.rules_check_interval;
      const int64_t now_seen =
          ModifiedAt(catalog_config.categories_file) ^ ModifiedAt(catalog_config.rules_file);
      if (!asked && now_seen == seen) continue;
      seen = now_seen;
      if (absl::Status s = (*rules)->Reload(); !s.ok()) {
        common::LogError("moderation rules reload refused; previous rules stay in force",
                         {{"error", std::string(s.message())}});
      } else {
        common::LogInfo("moderation rules reloaded", {{"version", (*rules)->Current()->version()}});
      }
    }
  });

  common::auth::Authenticator authenticator(&identity.verifier(), catalog::CatalogPublicMethods());
  common::UnaryRunner runner(&runtime->executor(), &authenticator);
  catalog::CatalogService service(&runner, &listings);
  const int code =
      runtime->Serve({{marketplace::catalog::v1::CatalogService::service_full_name(), &service}});
  stop.Notify();
  reloader.join();
  if (relay) relay->Stop();
  return code;
}
