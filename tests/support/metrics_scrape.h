#ifndef MARKETPLACE_TESTS_SUPPORT_METRICS_SCRAPE_H_
#define MARKETPLACE_TESTS_SUPPORT_METRICS_SCRAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace marketplace::testing {

// GET /metrics from 127.0.0.1:`port` over a plain socket: the whole HTTP answer, or "" when
// nothing listens there.
std::string ScrapeMetrics(int port);

// The value of the sample line starting with `series` ("name{labels}") in `metrics`, or -1.
double MetricSample(absl::string_view metrics, absl::string_view series);

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_SUPPORT_METRICS_SCRAPE_H_
