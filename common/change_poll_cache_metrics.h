#ifndef MARKETPLACE_COMMON_CHANGE_POLL_CACHE_METRICS_H_
#define MARKETPLACE_COMMON_CHANGE_POLL_CACHE_METRICS_H_

#include <cstdint>
#include <string>

#include "common/change_poll_cache.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace marketplace::common {

// A ChangePollCache's reports as Prometheus counters: <prefix>_hits_total,
// <prefix>_misses_total, <prefix>_evictions_total (values dropped because their row changed:
// this replica's writes and the polls) and <prefix>_poll_failures_total. `what` names the
// cached values in the help texts (e.g. "ticket rows").
class PrometheusChangePollCacheObserver final : public ChangePollCacheObserver {
 public:
  PrometheusChangePollCacheObserver(prometheus::Registry& registry, const std::string& prefix,
                                    const std::string& what);

  void OnHit() override { hits_.Increment(); }
  void OnMiss() override { misses_.Increment(); }
  void OnEvictions(int64_t count) override {
    if (count > 0) evictions_.Increment(static_cast<double>(count));
  }
  void OnPollFailure() override { poll_failures_.Increment(); }

 private:
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Counter& evictions_;
  prometheus::Counter& poll_failures_;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_CHANGE_POLL_CACHE_METRICS_H_
