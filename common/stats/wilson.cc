#include "common/stats/wilson.h"

#include <algorithm>
#include <cmath>

namespace marketplace::common {
namespace {

// The Wilson interval's centre and half-width for k of n (n > 0, 0 <= k <= n).
void Interval(int64_t successes, int64_t trials, double z, double* centre, double* half) {
  const double n = static_cast<double>(trials);
  const double k = static_cast<double>(std::clamp<int64_t>(successes, 0, trials));
  const double p = k / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  *centre = (p + z2 / (2.0 * n)) / denominator;
  *half = z * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator;
}

}  // namespace

double WilsonLowerBound(int64_t successes, int64_t trials, double z) {
  if (trials <= 0 || successes <= 0) return 0.0;
  double centre = 0, half = 0;
  Interval(successes, trials, z, &centre, &half);
  return std::clamp(centre - half, 0.0, 1.0);
}

double WilsonUpperBound(int64_t successes, int64_t trials, double z) {
  if (trials <= 0 || successes >= trials) return 1.0;
  double centre = 0, half = 0;
  Interval(successes, trials, z, &centre, &half);
  return std::clamp(centre + half, 0.0, 1.0);
}

}  // namespace marketplace::common
