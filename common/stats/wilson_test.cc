#include "common/stats/wilson.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

// The issue's "right unless too often" examples: the buyer is refunded at once when the lower
// bound is <= 5 %.
TEST(WilsonLowerBound, IssueExamples) {
  EXPECT_NEAR(0.01788, WilsonLowerBound(1, 10), 0.00005);  // 1.8 %: refunded at once
  EXPECT_LE(WilsonLowerBound(1, 10), 0.05);
  EXPECT_NEAR(0.05668, WilsonLowerBound(2, 10), 0.00005);  // 5.7 %: to a person
  EXPECT_GT(WilsonLowerBound(2, 10), 0.05);
}

TEST(WilsonLowerBound, KnownValues) {
  // Computed independently: (p + z²/2n - z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
  EXPECT_NEAR(0.2065, WilsonLowerBound(1, 1), 0.0001);
  EXPECT_NEAR(0.2366, WilsonLowerBound(5, 10), 0.0001);
  EXPECT_NEAR(0.0381, WilsonLowerBound(50, 1000), 0.0001);
  EXPECT_NEAR(0.7225, WilsonLowerBound(10, 10), 0.0001);
  EXPECT_NEAR(0.7634, WilsonUpperBound(5, 10), 0.0001);
  // A wider interval (z = 2.576, 99 %) lowers the lower bound.
  EXPECT_LT(WilsonLowerBound(5, 10, 2.576), WilsonLowerBound(5, 10));
}

TEST(WilsonLowerBound, NoEvidenceIsZero) {
  EXPECT_EQ(0.0, WilsonLowerBound(0, 0));
  EXPECT_EQ(0.0, WilsonLowerBound(3, 0));
  EXPECT_EQ(0.0, WilsonLowerBound(0, -5));
  EXPECT_EQ(0.0, WilsonLowerBound(0, 1000));
  EXPECT_EQ(1.0, WilsonUpperBound(0, 0));
}

TEST(WilsonLowerBound, ClampsSuccessesToTrials) {
  EXPECT_EQ(WilsonLowerBound(10, 10), WilsonLowerBound(11, 10));
  EXPECT_EQ(0.0, WilsonLowerBound(-1, 10));
}

TEST(WilsonLowerBound, GrowsWithEvidenceAtTheSameRate) {
  // 10 % observed: more orders make the bound approach 10 % from below.
  double previous = 0;
  for (int64_t n : {10, 100, 1000, 100000}) {
    const double bound = WilsonLowerBound(n / 10, n);
    EXPECT_GT(bound, previous) << n;
    EXPECT_LT(bound, 0.1) << n;
    previous = bound;
  }
  EXPECT_NEAR(0.1, previous, 0.003);
}

TEST(WilsonLowerBound, StaysWithinTheUnitIntervalAndBelowTheUpperBound) {
  for (int64_t n = 1; n <= 60; ++n) {
    for (int64_t k = 0; k <= n; ++k) {
      const double lo = WilsonLowerBound(k, n);
      const double hi = WilsonUpperBound(k, n);
      const double p = static_cast<double>(k) / static_cast<double>(n);
      EXPECT_GE(lo, 0.0);
      EXPECT_LE(hi, 1.0);
      EXPECT_LE(lo, p + 1e-12) << k << "/" << n;
      EXPECT_GE(hi, p - 1e-12) << k << "/" << n;
    }
  }
}

}  // namespace
}  // namespace marketplace::common
