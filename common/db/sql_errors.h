#ifndef MARKETPLACE_COMMON_DB_SQL_ERRORS_H_
#define MARKETPLACE_COMMON_DB_SQL_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketplace::common::db {

// Server and client error numbers this module gives a meaning to.
inline constexpr int kErrDuplicateKey = 1062;        // ER_DUP_ENTRY
inline constexpr int kErrDeadlock = 1213;            // ER_LOCK_DEADLOCK
inline constexpr int kErrLockWaitTimeout = 1205;     // ER_LOCK_WAIT_TIMEOUT
inline constexpr int kErrSnapshotConflict = 1020;    // ER_CHECKREAD (innodb_snapshot_isolation)
inline constexpr int kErrStatementTimeout = 1969;    // ER_STATEMENT_TIMEOUT (max_statement_time)
inline constexpr int kErrServerShutdown = 1053;      // ER_SERVER_SHUTDOWN
inline constexpr int kErrConnectionKilled = 1927;    // ER_CONNECTION_KILLED
inline constexpr int kErrCantConnectSocket = 2002;   // CR_CONNECTION_ERROR
inline constexpr int kErrCantConnect = 2003;         // CR_CONN_HOST_ERROR
inline constexpr int kErrUnknownHost = 2005;         // CR_UNKNOWN_HOST
inline constexpr int kErrServerGone = 2006;          // CR_SERVER_GONE_ERROR
inline constexpr int kErrServerLost = 2013;          // CR_SERVER_LOST
inline constexpr int kErrServerLostExtended = 2055;  // CR_SERVER_LOST_EXTENDED

// The one mapping from a MySQL error to a status. Every status it makes carries the error
// number (see MySqlErrorCodeOf):
//   1062                          -> ALREADY_EXISTS naming the unique key, not the value
//   1213, 1205, 1020              -> ABORTED: the whole transaction may be run again
//   connection errors (2002, 2003, 2005, 2006, 2013, 2055, 1053, 1927)
//                                 -> UNAVAILABLE with the driver's message
//   1969                          -> DEADLINE_EXCEEDED
//   anything else                 -> INTERNAL, "database error N (SQLSTATE S) during <context>";
//                                    the driver's text is kept only for errors that never
//                                    quote stored values, since those could be personal data.
// `context` says what was being done ("query", "commit", ...), never the values involved.
absl::Status MySqlErrorToStatus(int error_code, absl::string_view sql_state,
                                absl::string_view driver_message, absl::string_view context);

// `status` carrying `error_code` as MySqlErrorCodeOf reports it.
absl::Status WithMySqlErrorCode(absl::Status status, int error_code);

// True for errors that mean the connection itself is gone: it must not be reused.
bool IsConnectionError(int error_code);

// The MySQL error number behind a status made by MySqlErrorToStatus.
std::optional<int> MySqlErrorCodeOf(const absl::Status& status);

// True when running the whole transaction again may succeed: deadlock, lock wait timeout,
// snapshot conflict, or a RetryableConflict. A connection error is not retryable here: a
// COMMIT that lost its connection may have landed, and only the caller knows whether doing it
// twice is harmless.
bool IsRetryable(const absl::Status& status);

// A conflict with a concurrent transaction that the caller recognised itself, e.g. a unique
// key another transaction filled first where the right answer depends on that transaction's
// rows: ABORTED and IsRetryable, so that RunInTransaction runs the whole function again on a
// fresh snapshot, which sees them. `cause` (kept as the payloads and the message's tail) is
// the error that showed it, e.g. the duplicate key's ALREADY_EXISTS.
absl::Status RetryableConflict(absl::string_view what, const absl::Status& cause);

// `status` with `prefix: ` before its message, keeping its code and payloads.
absl::Status AnnotateStatus(const absl::Status& status, absl::string_view prefix);

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_SQL_ERRORS_H_
