#ifndef MARKETPLACE_SERVICES_CATALOG_CATALOG_OBSERVER_H_
#define MARKETPLACE_SERVICES_CATALOG_CATALOG_OBSERVER_H_

#include <cstdint>

namespace marketplace::catalog {

// What the catalog reports as it happens, for metrics. The code only calls; the Prometheus
// implementation (prometheus_catalog_observer.h) lives with the server wiring. Every method may
// be called from many threads.
class CatalogObserver {
 public:
  virtual ~CatalogObserver() = default;
  // GetListing answered from the public view cache, or (a caller the cache serves) not.
  virtual void OnPublicCacheHit() = 0;
  virtual void OnPublicCacheMiss() = 0;
  // Cached views dropped because their listing changed.
  virtual void OnPublicCacheEvictions(int64_t count) = 0;
  virtual void OnPublicCachePollFailure() = 0;
};

// Discards everything (tests, tools).
class NoCatalogObserver final : public CatalogObserver {
 public:
  void OnPublicCacheHit() override {}
  void OnPublicCacheMiss() override {}
  void OnPublicCacheEvictions(int64_t) override {}
  void OnPublicCachePollFailure() override {}
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_CATALOG_OBSERVER_H_
