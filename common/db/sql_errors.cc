#include "common/db/sql_errors.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace marketplace::common::db {
namespace {

// Carries the MySQL error number. It reaches clients as an Any detail through ToGrpcStatus,
// so it holds the number only.
constexpr char kMySqlErrorPayload[] = "type.marketplace/marketplace.db.MySqlError";
constexpr char kRetryableConflictPayload[] = "type.marketplace/marketplace.db.RetryableConflict";

// Errors whose text quotes a stored value ("Incorrect integer value: 'x'", "Duplicate entry
// 'a@b.c'"): their text is never copied into a status.
bool QuotesValues(int error_code) {
  switch (error_code) {
    case 1062:  // ER_DUP_ENTRY
    case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
    case 1292:  // ER_TRUNCATED_WRONG_VALUE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1367:  // ER_ILLEGAL_VALUE_FOR_TYPE
    case 1411:  // ER_WRONG_VALUE_FOR_TYPE
    case 1525:  // ER_WRONG_VALUE
    case 1300:  // ER_INVALID_CHARACTER_STRING
      return true;
    default:
      return false;
  }
}

// "Duplicate entry 'x' for key 'users.email'" -> "users.email".
std::string DuplicateKeyName(absl::string_view message) {
  constexpr absl::string_view kMarker = "for key '";
  const size_t at = message.rfind(kMarker);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = message.substr(at + kMarker.size());
  const size_t end = rest.find('\'');
  return std::string(end == absl::string_view::npos ? rest : rest.substr(0, end));
}

absl::Status WithCode(absl::Status status, int error_code) {
  return WithMySqlErrorCode(std::move(status), error_code);
}

}  // namespace

absl::Status WithMySqlErrorCode(absl::Status status, int error_code) {
  if (status.ok()) return status;
  status.SetPayload(kMySqlErrorPayload, absl::Cord(absl::StrCat(error_code)));
  return status;
}

bool IsConnectionError(int error_code) {
  switch (error_code) {
    case kErrCantConnectSocket:
    case kErrCantConnect:
    case kErrUnknownHost:
    case kErrServerGone:
    case kErrServerLost:
    case kErrServerLostExtended:
    case kErrServerShutdown:
    case kErrConnectionKilled:
      return true;
    default:
      return false;
  }
}

absl::Status MySqlErrorToStatus(int error_code, absl::string_view sql_state,
                                absl::string_view driver_message, absl::string_view context) {
  switch (error_code) {
    case kErrDuplicateKey: {
      const std::string key = DuplicateKeyName(driver_message);
      return WithCode(absl::AlreadyExistsError(absl::StrCat("duplicate value for unique key '", key,
                                                            "' during ", context)),
                      error_code);
    }
    case kErrDeadlock:
      return WithCode(absl::AbortedError(absl::StrCat("deadlock during ", context)), error_code);
    case kErrLockWaitTimeout:
      return WithCode(absl::AbortedError(absl::StrCat("lock wait timeout during ", context)),
                      error_code);
    case kErrSnapshotConflict:
      return WithCode(
          absl::AbortedError(absl::StrCat("row changed since snapshot during ", context)),
          error_code);
    case kErrStatementTimeout:
      return WithCode(
          absl::DeadlineExceededError(absl::StrCat("statement timed out during ", context)),
          error_code);
    default:
      break;
  }
  if (IsConnectionError(error_code)) {
    return WithCode(absl::UnavailableError(absl::StrCat("database unavailable during ", context,
                                                        ": ", driver_message)),
                    error_code);
  }
  std::string message = absl::StrCat("database error ", error_code, " (SQLSTATE ",
                                     sql_state.empty() ? "?" : sql_state, ") during ", context);
  if (!QuotesValues(error_code) && !driver_message.empty()) {
    absl::StrAppend(&message, ": ", driver_message);
  }
  return WithCode(absl::InternalError(message), error_code);
}

std::optional<int> MySqlErrorCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload(kMySqlErrorPayload);
  if (!payload.has_value()) return std::nullopt;
  int code;
  if (!absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

bool IsRetryable(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) return false;
  if (status.GetPayload(kRetryableConflictPayload).has_value()) return true;
  const std::optional<int> code = MySqlErrorCodeOf(status);
  return code.has_value() &&
         (*code == kErrDeadlock || *code == kErrLockWaitTimeout || *code == kErrSnapshotConflict);
}

absl::Status RetryableConflict(absl::string_view what, const absl::Status& cause) {
  absl::Status out =
      AnnotateStatus(absl::Status(absl::StatusCode::kAborted, cause.message()), what);
  cause.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  out.SetPayload(kRetryableConflictPayload, absl::Cord("1"));
  return out;
}

absl::Status AnnotateStatus(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace marketplace::common::db
