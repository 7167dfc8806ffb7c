#ifndef MARKETPLACE_COMMON_LOGGING_H_
#define MARKETPLACE_COMMON_LOGGING_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "grpcpp/support/string_ref.h"

namespace marketplace::common {

// Structured logs: one JSON object per line,
//   {"ts":"2027-01-15T08:00:00.000123Z","level":"info","service":"payments",
//    "msg":"escrow released","request_id":"9f...","order_id":"o-1","amount_minor":1250}
// so that log pipelines can index fields without parsing prose.

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
absl::string_view LogLevelName(LogLevel level);
// The inverse of LogLevelName (case-insensitive; "warning" is accepted for "warn").
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// The value of a log field: a string, an integer, a bool or a double. Converts implicitly so
// that call sites read `{{"order_id", id}, {"attempt", 3}, {"retry", true}}`.
class LogValue {
 public:
  using Variant = std::variant<std::string, int64_t, bool, double>;

  LogValue(const char* value) : value_(std::string(value == nullptr ? "" : value)) {}
  LogValue(absl::string_view value) : value_(std::string(value)) {}
  LogValue(std::string_view value) : value_(std::string(value)) {}
  LogValue(const std::string& value) : value_(value) {}
  LogValue(std::string&& value) : value_(std::move(value)) {}
  LogValue(bool value) : value_(value) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogValue(T value) : value_(static_cast<int64_t>(value)) {}
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  LogValue(T value) : value_(static_cast<double>(value)) {}

  const Variant& value() const { return value_; }

 private:
  Variant value_;
};

struct LogField {
  LogField(absl::string_view key, LogValue value) : key(key), value(std::move(value)) {}
  std::string key;
  LogValue value;
};

// True when a field with this key must never be written in clear: the key contains, ignoring
// case, '_' and '-', one of password, secret, token, authorization, privatekey, credential.
bool IsSensitiveLogKey(absl::string_view key);

// Writes log lines for one service. Thread-safe: each line is formatted in full and then
// written with a single write under a process-wide lock, so lines from concurrent threads
// (and from several Loggers sharing a stream) never interleave.
class Logger {
 public:
  // `out` must outlive the logger; nullptr means stderr. `clock` likewise (nullptr: system).
  explicit Logger(std::string service, LogLevel min_level = LogLevel::kInfo,
                  std::ostream* out = nullptr, const Clock* clock = nullptr);

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, absl::string_view msg, absl::Span<const LogField> fields = {}) const;

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void set_min_level(LogLevel level) { min_level_ = level; }
  LogLevel min_level() const { return min_level_; }
  const std::string& service() const { return service_; }

  // The line Log() would write, without the trailing newline (exposed for tests).
  std::string FormatLine(LogLevel level, absl::string_view msg,
                         absl::Span<const LogField> fields) const;

 private:
  std::string service_;
  std::atomic<LogLevel> min_level_;
  std::ostream* out_;
  const Clock* clock_;
};

// The process-wide logger behind LogInfo() and friends. Until InitLogging() is called it
// writes to stderr with service "unknown" at level info.
void InitLogging(std::string service, LogLevel min_level = LogLevel::kInfo);
Logger& DefaultLogger();

void LogDebug(absl::string_view msg, absl::Span<const LogField> fields = {});
void LogInfo(absl::string_view msg, absl::Span<const LogField> fields = {});
void LogWarn(absl::string_view msg, absl::Span<const LogField> fields = {});
void LogError(absl::string_view msg, absl::Span<const LogField> fields = {});

// Request ids. Every line logged on a thread inside a ScopedRequestId carries its id, so all
// the lines of one call (and of the calls it makes to other services, which forward the
// header) can be found together.

// The gRPC metadata key that carries the request id between services.
inline constexpr char kRequestIdHeader[] = "x-request-id";

// Sets the request id of the current thread for the scope's lifetime; restores the previous
// one (if any) on destruction. Not movable: it must be destroyed on the thread that made it.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string id_;
  const std::string* previous_;
};

// The request id in scope on this thread; empty when none.
absl::string_view CurrentRequestId();

// A new random request id: 128 bits as 32 lowercase hex digits.
std::string NewRequestId();

// True for 1-128 characters of [A-Za-z0-9._:-]: safe to log and to forward.
bool IsValidRequestId(absl::string_view id);

// The caller's x-request-id when it is valid, otherwise a new one: a malformed or hostile id
// from outside is never logged or forwarded.
std::string RequestIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_LOGGING_H_
