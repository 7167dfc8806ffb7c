#include "services/catalog/public_view_cache.h"

#include <utility>

namespace marketplace::catalog {

PublicViewCache::PublicViewCache(ListingStore* store, const common::Clock* clock,
                                 PublicViewCacheOptions options)
    : cache_([store](absl::Time from) { return store->ListChangedSince(from); }, clock, options,
             options.observer) {}

}  // namespace marketplace::catalog
