#include "services/catalog/prometheus_catalog_observer.h"

#include <string>

namespace marketplace::catalog {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PrometheusCatalogObserver::PrometheusCatalogObserver(prometheus::Registry& registry)
    : hits_(NewCounter(registry, "catalog_public_cache_hits_total",
                       "GetListing calls answered from the public view cache.")),
      misses_(NewCounter(registry, "catalog_public_cache_misses_total",
                         "Anonymous and buyer GetListing calls that read the database.")),
      evictions_(NewCounter(registry, "catalog_public_cache_evictions_total",
                            "Cached public views dropped because their listing changed.")),
      poll_failures_(NewCounter(registry, "catalog_public_cache_poll_failures_total",
                                "Failed polls for changed listings (views are not served while "
                                "polls fail for longer than the cache's max poll age).")) {}

}  // namespace marketplace::catalog
