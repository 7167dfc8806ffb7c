#include "services/catalog/public_view_cache.h"

#include <utility>

namespace marketplace::catalog {

PublicViewCache::PublicViewCache(ListingStore* store, const common::Clock* clock,
                                 PublicViewCacheOptions options)
    : reports_(options.observer),
      cache_([store](absl::Time from) { return store->ListChangedSince(from); }, clock, options,
             &reports_) {}

}  // namespace marketplace::catalog
