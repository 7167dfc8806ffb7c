#include "common/change_poll_cache_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace marketplace::common {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PrometheusChangePollCacheObserver::PrometheusChangePollCacheObserver(prometheus::Registry& registry,
                                                                     const std::string& prefix,
                                                                     const std::string& what)
    : hits_(NewCounter(registry, absl::StrCat(prefix, "_hits_total"),
                       absl::StrCat("Reads answered from the cache of ", what, "."))),
      misses_(NewCounter(registry, absl::StrCat(prefix, "_misses_total"),
                         absl::StrCat("Reads of ", what, " the cache did not answer."))),
      evictions_(NewCounter(registry, absl::StrCat(prefix, "_evictions_total"),
                            absl::StrCat("Cached ", what, " dropped because they changed."))),
      poll_failures_(NewCounter(
          registry, absl::StrCat(prefix, "_poll_failures_total"),
          absl::StrCat("Failed polls for changed ", what,
                       " (the cache serves nothing while polls fail for longer than its max "
                       "poll age)."))) {}

}  // namespace marketplace::common
