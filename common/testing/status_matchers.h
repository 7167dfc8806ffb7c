#ifndef MARKETPLACE_COMMON_TESTING_STATUS_MATCHERS_H_
#define MARKETPLACE_COMMON_TESTING_STATUS_MATCHERS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

// gtest helpers for absl::Status / absl::StatusOr (Abseil 20220623 ships none).

namespace marketplace::common::testing::internal {
inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace marketplace::common::testing::internal

// Each evaluates `expr` once.
#define EXPECT_OK(expr)                                                 \
  do {                                                                  \
    const auto& mp_result_ = (expr);                                    \
    const absl::Status& mp_status_ =                                    \
        ::marketplace::common::testing::internal::StatusOf(mp_result_); \
    EXPECT_TRUE(mp_status_.ok()) << mp_status_;                         \
  } while (0)
#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    const auto& mp_result_ = (expr);                                    \
    const absl::Status& mp_status_ =                                    \
        ::marketplace::common::testing::internal::StatusOf(mp_result_); \
    ASSERT_TRUE(mp_status_.ok()) << mp_status_;                         \
  } while (0)

#define MP_TESTING_CONCAT_INNER_(a, b) a##b
#define MP_TESTING_CONCAT_(a, b) MP_TESTING_CONCAT_INNER_(a, b)

// `ASSERT_OK_AND_ASSIGN(auto rows, pool.Query(...));` binds the value or fails the test.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  MP_ASSERT_OK_AND_ASSIGN_IMPL_(MP_TESTING_CONCAT_(mp_statusor_, __LINE__), lhs, expr)
#define MP_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  ASSERT_TRUE(statusor.ok()) << statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // MARKETPLACE_COMMON_TESTING_STATUS_MATCHERS_H_
