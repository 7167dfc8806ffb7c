#ifndef MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_
#define MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/catalog_observer.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

struct PublicViewCacheOptions {
  // Longest a view is kept. It bounds staleness only when the change poll cannot see a change
  // (a write committed more than `overlap` after its update time); zero: no cache at all
  // (catalog_server's --public_cache_ttl defaults to one minute).
  absl::Duration ttl = absl::ZeroDuration();
  // How often `listings` is asked which rows changed; a change shows in every replica's cache
  // within about this long.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // A poll asks for the rows updated since the previous poll began minus `recent_overlap`
  // (time between a write's update time and its commit, clock differences between replicas
  // and the database); every `full_poll_interval` a poll goes back `overlap` before the
  // previous such full poll instead, for writes that committed later still.
  absl::Duration recent_overlap = absl::Seconds(2);
  absl::Duration full_poll_interval = absl::Seconds(5);
  absl::Duration overlap = absl::Seconds(30);
  // Views are served only while the last successful poll began less than this long ago: a
  // replica that cannot poll (database unreachable) reads the database instead.
  absl::Duration max_poll_age = absl::Seconds(2);
  // Most views kept (the cache is emptied when full).
  size_t capacity = 200000;
  // Hits, misses, evictions and poll failures are reported here if set (must outlive the
  // cache).
  CatalogObserver* observer = nullptr;
};

// Public views of LIVE listings (what anonymous callers and buyers get from GetListing), kept
// in memory and kept coherent with the database across replicas: a poller reads
// (listing_id, updated_at) of the rows changed since its last poll (every write of a listing
// sets updated_at) and evicts them. A view read from the database while its listing changed
// is not stored (each read carries a ticket; an eviction newer than the ticket wins).
// Thread-safe.
class PublicViewCache {
 public:
  // `store` and `clock` must outlive the cache (the clock is the one writes stamp updated_at
  // with). Polling starts with StartPolling(); tests may call Poll() themselves.
  PublicViewCache(ListingStore* store, const common::Clock* clock, PublicViewCacheOptions options);
  ~PublicViewCache();  // stops polling

  bool enabled() const { return options_.ttl > absl::ZeroDuration(); }
  void StartPolling();

  // The cached view of `listing_id` (ASCII case-insensitive, as in the database), or nullptr
  // (not cached, expired, or polls behind).
  std::shared_ptr<const v1::Listing> Find(absl::string_view listing_id);

  // Taken before reading a listing from the database; Put() needs it.
  struct Ticket {
    uint64_t epoch = 0;
    absl::Time taken;
  };
  Ticket BeginRead();
  // Stores the public view read with `ticket`, unless the listing changed since.
  void Put(absl::string_view listing_id, v1::Listing view, const Ticket& ticket);

  // One poll: evicts the listings changed since the previous one.
  absl::Status Poll();

  struct Totals {
    int64_t hits = 0, misses = 0, evictions = 0, polls = 0, poll_failures = 0;
  };
  Totals totals() const;

 private:
  struct Entry {
    std::shared_ptr<const v1::Listing> view;
    absl::Time expires_at;
  };
  struct Eviction {
    uint64_t epoch;
    absl::Time at;
  };

  ListingStore* store_;
  const common::Clock* clock_;
  const PublicViewCacheOptions options_;
  CatalogObserver& observer_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Listings evicted lately, with the epoch of their eviction (reads with an older ticket do
  // not store them).
  absl::flat_hash_map<std::string, Eviction> evicted_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_poll_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t polls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t poll_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> hits_{0}, misses_{0};

  // The poller's own state: when the last successful poll and full poll began, and the update
  // time of each row seen in the overlap window (a row seen again unchanged is not evicted
  // again).
  absl::Mutex poll_mu_;
  absl::Time last_start_ ABSL_GUARDED_BY(poll_mu_);
  absl::Time last_full_start_ ABSL_GUARDED_BY(poll_mu_);
  absl::flat_hash_map<std::string, absl::Time> seen_ ABSL_GUARDED_BY(poll_mu_);

  common::PeriodicThread poller_;  // last: stopped first
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_PUBLIC_VIEW_CACHE_H_
