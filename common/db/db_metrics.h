#ifndef MARKETPLACE_COMMON_DB_DB_METRICS_H_
#define MARKETPLACE_COMMON_DB_DB_METRICS_H_

#include <string>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace marketplace::common::db {

// The pool's Prometheus metrics, every series labelled with the database name. Without a
// registry every call is a no-op. Several pools may share a registry: gauges move by deltas,
// so two pools on one database add up.
class DbMetrics {
 public:
  DbMetrics(prometheus::Registry* registry, const std::string& database);

  DbMetrics(const DbMetrics&) = delete;
  DbMetrics& operator=(const DbMetrics&) = delete;

  void ConnectionsChanged(int in_use_delta, int idle_delta);
  void Acquired(absl::Duration waited);
  void PoolExhausted();
  void QueryDone(bool ok, absl::Duration took);
  void TransactionRetry(int mysql_error_code);

 private:
  std::string database_;
  prometheus::Gauge* in_use_ = nullptr;
  prometheus::Gauge* idle_ = nullptr;
  prometheus::Histogram* acquire_seconds_ = nullptr;
  prometheus::Counter* exhausted_ = nullptr;
  prometheus::Counter* queries_ok_ = nullptr;
  prometheus::Counter* queries_error_ = nullptr;
  prometheus::Histogram* query_seconds_ = nullptr;
  prometheus::Family<prometheus::Counter>* retries_ = nullptr;
};

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_DB_METRICS_H_
