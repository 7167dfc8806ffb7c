#ifndef MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_
#define MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/change_poll_cache.h"
#include "common/clock.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

// The cache's settings (common/change_poll_cache.h; catalog_server's --public_cache_ttl
// defaults to one minute, zero: no cache), and where it reports.
struct PublicViewCacheOptions : common::ChangePollCacheOptions {
  // Hits, misses, evictions and poll failures are reported here if set (must outlive the
  // cache).
  common::ChangePollCacheObserver* observer = nullptr;
};

// Public views of LIVE listings (what anonymous callers and buyers get from GetListing), kept
// in memory and kept coherent with the database across replicas by common::ChangePollCache:
// a poller reads (listing_id, updated_at) of the rows changed since its last poll (every
// write of a listing sets updated_at) and evicts them. A view read from the database while its
// listing changed is not stored (each read carries a ticket; an eviction newer than the ticket
// wins). Listing ids compare exactly, in the database (ascii_bin, migration 0005) as here.
// Thread-safe.
class PublicViewCache {
 public:
  // `store` and `clock` must outlive the cache (the clock is the one writes stamp updated_at
  // with). Polling starts with StartPolling(); tests may call Poll() themselves.
  PublicViewCache(ListingStore* store, const common::Clock* clock, PublicViewCacheOptions options);

  bool enabled() const { return cache_.enabled(); }
  void StartPolling() { cache_.StartPolling(); }

  // The cached view of `listing_id`, or nullptr (not cached, expired, or polls behind).
  std::shared_ptr<const v1::Listing> Find(absl::string_view listing_id) {
    return cache_.Find(listing_id);
  }

  // Taken before reading a listing from the database; Put() needs it.
  using Ticket = common::ChangePollCacheCore::Ticket;
  Ticket BeginRead() { return cache_.BeginRead(); }
  // Stores the public view read with `ticket`, unless the listing changed since.
  void Put(absl::string_view listing_id, v1::Listing view, const Ticket& ticket) {
    cache_.Put(listing_id, std::move(view), ticket);
  }

  // One poll: evicts the listings changed since the previous one.
  absl::Status Poll() { return cache_.Poll(); }

  using Totals = common::ChangePollCacheCore::Totals;
  Totals totals() const { return cache_.totals(); }

 private:
  common::ChangePollCache<v1::Listing> cache_;  // last: its poller stops first
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_
