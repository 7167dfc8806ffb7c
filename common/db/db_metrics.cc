#include "common/db/db_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace marketplace::common::db {

DbMetrics::DbMetrics(prometheus::Registry* registry, const std::string& database)
    : database_(database) {
  if (registry == nullptr) return;
  auto& connections = prometheus::BuildGauge()
                          .Name("db_pool_connections")
                          .Help("Open connections of the database pool, by state.")
                          .Register(*registry);
  in_use_ = &connections.Add({{"database", database}, {"state", "in_use"}});
  idle_ = &connections.Add({{"database", database}, {"state", "idle"}});
  acquire_seconds_ = &prometheus::BuildHistogram()
                          .Name("db_pool_acquire_seconds")
                          .Help("Time to get a connection from the pool, including opening one.")
                          .Register(*registry)
                          .Add({{"database", database}},
                               prometheus::Histogram::BucketBoundaries{
                                   0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5});
  exhausted_ = &prometheus::BuildCounter()
                    .Name("db_pool_exhausted_total")
                    .Help("Acquire() calls that gave up because every connection was in use.")
                    .Register(*registry)
                    .Add({{"database", database}});
  auto& queries = prometheus::BuildCounter()
                      .Name("db_queries_total")
                      .Help("Statements sent to the database, by result.")
                      .Register(*registry);
  queries_ok_ = &queries.Add({{"database", database}, {"result", "ok"}});
  queries_error_ = &queries.Add({{"database", database}, {"result", "error"}});
  query_seconds_ =
      &prometheus::BuildHistogram()
           .Name("db_query_seconds")
           .Help("Time of one statement, from sending it to having copied its rows.")
           .Register(*registry)
           .Add({{"database", database}},
                prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  retries_ = &prometheus::BuildCounter()
                  .Name("db_transaction_retries_total")
                  .Help(
                      "Transactions run again after a deadlock, lock wait timeout or "
                      "snapshot conflict, by MySQL error number.")
                  .Register(*registry);
}

void DbMetrics::ConnectionsChanged(int in_use_delta, int idle_delta) {
  if (in_use_ != nullptr) in_use_->Increment(in_use_delta);
  if (idle_ != nullptr) idle_->Increment(idle_delta);
}

void DbMetrics::Acquired(absl::Duration waited) {
  if (acquire_seconds_ != nullptr) acquire_seconds_->Observe(absl::ToDoubleSeconds(waited));
}

void DbMetrics::PoolExhausted() {
  if (exhausted_ != nullptr) exhausted_->Increment();
}

void DbMetrics::QueryDone(bool ok, absl::Duration took) {
  if (queries_ok_ == nullptr) return;
  (ok ? queries_ok_ : queries_error_)->Increment();
  query_seconds_->Observe(absl::ToDoubleSeconds(took));
}

void DbMetrics::TransactionRetry(int mysql_error_code) {
  if (retries_ == nullptr) return;
  retries_->Add({{"database", database_}, {"code", absl::StrCat(mysql_error_code)}}).Increment();
}

}  // namespace marketplace::common::db
