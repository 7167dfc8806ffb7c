#ifndef MARKETPLACE_COMMON_STATS_WILSON_H_
#define MARKETPLACE_COMMON_STATS_WILSON_H_

#include <cstdint>

namespace marketplace::common {

// z of a two-sided 95 % confidence interval.
inline constexpr double kZ95 = 1.96;

// The lower bound of the Wilson score interval for a proportion: with `successes` of `trials`
// (p = successes / trials),
//
//   (p + z²/2n - z * sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
//
// a pessimistic rate that stays low only when the evidence is large enough: 1 of 10 gives
// about 0.0179 (1.8 %), 2 of 10 about 0.0567 (5.7 %), 0 of anything 0.
//
// The result is a fraction in [0, 1] (not a percentage). Defined for every input:
// trials <= 0 gives 0 (no evidence, nothing counts against anyone); successes are clamped to
// [0, trials]. `z` must be > 0 (kZ95 by default). Not for money: a ratio of counts.
double WilsonLowerBound(int64_t successes, int64_t trials, double z = kZ95);

// The matching upper bound (1 for trials <= 0).
double WilsonUpperBound(int64_t successes, int64_t trials, double z = kZ95);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_STATS_WILSON_H_
