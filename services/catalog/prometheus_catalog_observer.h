#ifndef MARKETPLACE_SERVICES_CATALOG_PROMETHEUS_CATALOG_OBSERVER_H_
#define MARKETPLACE_SERVICES_CATALOG_PROMETHEUS_CATALOG_OBSERVER_H_

#include <cstdint>

#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/catalog/catalog_observer.h"

namespace marketplace::catalog {

// CatalogObserver as the counters catalog_public_cache_{hits,misses,evictions,poll_failures}_total.
class PrometheusCatalogObserver final : public CatalogObserver {
 public:
  // `registry` must outlive the object.
  explicit PrometheusCatalogObserver(prometheus::Registry& registry);

  void OnPublicCacheHit() override { hits_.Increment(); }
  void OnPublicCacheMiss() override { misses_.Increment(); }
  void OnPublicCacheEvictions(int64_t count) override {
    if (count > 0) evictions_.Increment(static_cast<double>(count));
  }
  void OnPublicCachePollFailure() override { poll_failures_.Increment(); }

 private:
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Counter& evictions_;
  prometheus::Counter& poll_failures_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_PROMETHEUS_CATALOG_OBSERVER_H_
