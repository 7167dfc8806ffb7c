#include "common/db/sql_errors.h"

#include "gtest/gtest.h"

namespace marketplace::common::db {
namespace {

TEST(SqlErrorsTest, DuplicateKeyNamesTheKeyNotTheValue) {
  absl::Status status = MySqlErrorToStatus(
      1062, "23000", "Duplicate entry 'alice@example.com' for key 'users.email'", "query");
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(status.message().find("users.email"), absl::string_view::npos);
  EXPECT_EQ(status.message().find("alice"), absl::string_view::npos);
  EXPECT_EQ(MySqlErrorCodeOf(status), 1062);
  EXPECT_FALSE(IsRetryable(status));
}

TEST(SqlErrorsTest, ConflictsAreRetryableAborts) {
  for (int code : {1213, 1205, 1020}) {
    absl::Status status = MySqlErrorToStatus(code, "40001", "Deadlock found", "statement");
    EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << code;
    EXPECT_TRUE(IsRetryable(status)) << code;
  }
  // An ABORTED from elsewhere (another service) is not a database conflict.
  EXPECT_FALSE(IsRetryable(absl::AbortedError("other")));
}

TEST(SqlErrorsTest, ARecognisedConflictIsRetryableAndKeepsItsCause) {
  absl::Status duplicate = MySqlErrorToStatus(
      1062, "23000", "Duplicate entry 'x' for key 'tickets_order_successor'", "statement");
  absl::Status conflict = RetryableConflict("a ticket was opened meanwhile", duplicate);
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(IsRetryable(conflict));
  EXPECT_EQ(MySqlErrorCodeOf(conflict), 1062);
  EXPECT_NE(conflict.message().find("a ticket was opened meanwhile"), absl::string_view::npos);
  EXPECT_NE(conflict.message().find("tickets_order_successor"), absl::string_view::npos);
  EXPECT_EQ(conflict.message().find("'x'"), absl::string_view::npos);
  // The duplicate itself is not retryable.
  EXPECT_FALSE(IsRetryable(duplicate));
}

TEST(SqlErrorsTest, ConnectionErrorsAreUnavailable) {
  for (int code : {2002, 2003, 2006, 2013, 2055, 1927}) {
    EXPECT_TRUE(IsConnectionError(code)) << code;
    absl::Status status = MySqlErrorToStatus(code, "HY000", "Lost connection", "query");
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << code;
    EXPECT_FALSE(IsRetryable(status)) << code;
  }
  EXPECT_FALSE(IsConnectionError(1062));
}

TEST(SqlErrorsTest, OtherErrorsAreInternalWithoutQuotedValues) {
  absl::Status syntax = MySqlErrorToStatus(1064, "42000", "You have an error near 'SELEC'", "q");
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInternal);
  EXPECT_NE(syntax.message().find("1064"), absl::string_view::npos);
  absl::Status value = MySqlErrorToStatus(
      1366, "22007", "Incorrect integer value: 'secret' for column", "statement");
  EXPECT_EQ(value.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(value.message().find("secret"), absl::string_view::npos);
}

TEST(SqlErrorsTest, AnnotateKeepsCodeAndPayload) {
  absl::Status status = AnnotateStatus(MySqlErrorToStatus(1213, "40001", "", "commit"), "outer");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(IsRetryable(status));
  EXPECT_EQ(status.message().substr(0, 7), "outer: ");
}

}  // namespace
}  // namespace marketplace::common::db
