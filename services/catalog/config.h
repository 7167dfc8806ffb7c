#ifndef MARKETPLACE_SERVICES_CATALOG_CONFIG_H_
#define MARKETPLACE_SERVICES_CATALOG_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"
#include "common/outbox/subscribers.h"
#include "services/catalog/catalog_options.h"
#include "services/catalog/mysql_listing_store.h"
#include "services/catalog/public_view_cache.h"

namespace marketplace::catalog {

// catalog_server's own settings (README "Flags"), read once at start-up.
struct CatalogConfig {
  std::string categories_file;
  std::string rules_file;
  std::string category_model_file;  // the fastText category model (README "Category model")
  absl::Duration rules_check_interval;
  int64_t report_threshold = 3;
  absl::Duration report_min_account_age;
  int64_t report_rate_limit = 20;
  absl::Duration report_rate_window;
  int64_t report_burst_limit = 5;
  absl::Duration report_burst_window;
  absl::Duration claim_timeout;
  int64_t new_seller_listings = -1;  // -1: the rules file's threshold
  absl::Duration public_cache_ttl;
  absl::Duration public_cache_poll;
  absl::Duration public_cache_overlap;
  int64_t public_cache_capacity = 200000;
  int64_t point_read_threads = 2;
  common::outbox::RelayConfig events;  // no subscriber: no outbox relay
  common::identity_client::IdentityClientConfig identity;

  // What the flags' bounds cannot say; OK for every value Parse() accepts today.
  [[nodiscard]] absl::Status Validate() const;

  CatalogOptions Options() const;
  // The cache reports to `observer` (may be null).
  PublicViewCacheOptions PublicCache(common::ChangePollCacheObserver* observer) const;
  MysqlListingStore::Options Store() const;
};

// Declares every flag with its default, bounds and environment variable.
void AddFlags(common::Flags& flags, CatalogConfig* config);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CONFIG_H_
