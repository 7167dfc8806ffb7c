#include "common/logging.h"

#include <charconv>
#include <cmath>
#include <iostream>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"

namespace marketplace::common {
namespace {

// One lock for every logger: loggers that share a stream (tests, or stderr) must not
// interleave their lines.
absl::Mutex& WriteMutex() {
  static auto* mu = new absl::Mutex();
  return *mu;
}

thread_local const std::string* current_request_id = nullptr;

constexpr char kHexDigits[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  unsigned char c = byte(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c == 0xE0) return cont(i + 1, 0xA0, 0xBF) && cont(i + 2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;  // no surrogates
  if (c == 0xF0) return cont(i + 1, 0x90, 0xBF) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

// Appends `s` as a JSON string. Every control character is escaped, so user input can never
// end the line or the string early; invalid UTF-8 becomes U+FFFD so that strict JSON parsers
// accept every line; U+2028/U+2029 are escaped because some consumers treat them as newlines.
void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out->append("\\u00");
            out->push_back(kHexDigits[c >> 4]);
            out->push_back(kHexDigits[c & 0xF]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    absl::string_view sequence = s.substr(i, len);
    if (sequence == "\xE2\x80\xA8") {
      out->append("\\u2028");
    } else if (sequence == "\xE2\x80\xA9") {
      out->append("\\u2029");
    } else {
      out->append(sequence.data(), sequence.size());
    }
    i += len;
  }
  out->push_back('"');
}

void AppendJsonDouble(std::string* out, double value) {
  // JSON has no NaN or infinity; write them as strings rather than produce an invalid line.
  if (std::isnan(value)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "\"+Inf\"" : "\"-Inf\"");
    return;
  }
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendValue(std::string* out, const LogValue& value) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          absl::StrAppend(out, v);
        } else {
          AppendJsonDouble(out, v);
        }
      },
      value.value());
}

bool IsReservedKey(absl::string_view key) {
  return key == "ts" || key == "level" || key == "service" || key == "msg" || key == "request_id";
}

std::atomic<Logger*>& DefaultLoggerSlot() {
  static auto* slot = new std::atomic<Logger*>(new Logger("unknown"));
  return *slot;
}

}  // namespace

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log level must be one of debug, info, warn, error; got \"", name, "\""));
}

bool IsSensitiveLogKey(absl::string_view key) {
  std::string normalized;
  normalized.reserve(key.size());
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    normalized.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  for (const char* word :
       {"password", "secret", "token", "authorization", "privatekey", "credential"}) {
    if (absl::StrContains(normalized, word)) return true;
  }
  return false;
}

Logger::Logger(std::string service, LogLevel min_level, std::ostream* out, const Clock* clock)
    : service_(std::move(service)),
      min_level_(min_level),
      out_(out != nullptr ? out : &std::cerr),
      clock_(clock != nullptr ? clock : SystemClock::Get()) {}

std::string Logger::FormatLine(LogLevel level, absl::string_view msg,
                               absl::Span<const LogField> fields) const {
  std::string line;
  line.reserve(128 + msg.size());
  line.append("{\"ts\":");
  AppendJsonString(&line,
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", clock_->Now(), absl::UTCTimeZone()));
  line.append(",\"level\":");
  AppendJsonString(&line, LogLevelName(level));
  line.append(",\"service\":");
  AppendJsonString(&line, service_);
  line.append(",\"msg\":");
  AppendJsonString(&line, msg);
  absl::string_view request_id = CurrentRequestId();
  if (!request_id.empty()) {
    line.append(",\"request_id\":");
    AppendJsonString(&line, request_id);
  }
  for (const LogField& field : fields) {
    line.push_back(',');
    // A field may not overwrite the envelope: {"level": ...} from a caller would otherwise
    // make a line look like something it is not.
    AppendJsonString(&line,
                     IsReservedKey(field.key) ? absl::StrCat("field_", field.key) : field.key);
    line.push_back(':');
    if (IsSensitiveLogKey(field.key)) {
      AppendJsonString(&line, "[REDACTED]");
    } else {
      AppendValue(&line, field.value);
    }
  }
  line.push_back('}');
  return line;
}

void Logger::Log(LogLevel level, absl::string_view msg, absl::Span<const LogField> fields) const {
  if (!Enabled(level)) return;
  std::string line = FormatLine(level, msg, fields);
  line.push_back('\n');
  absl::MutexLock lock(&WriteMutex());
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->flush();
}

namespace {

// libprotobuf's own messages ("String field ... contains invalid UTF-8 data when parsing a
// protocol buffer", ...) as JSON lines of the process logger, not plain text on stderr.
void ProtobufLogLine(google::protobuf::LogLevel level, const char* filename, int line,
                     const std::string& message) {
  LogLevel ours = LogLevel::kError;
  if (level == google::protobuf::LOGLEVEL_INFO) ours = LogLevel::kInfo;
  if (level == google::protobuf::LOGLEVEL_WARNING) ours = LogLevel::kWarn;
  DefaultLogger().Log(ours, message,
                      {{"component", "protobuf"}, {"file", filename}, {"line", line}});
}

}  // namespace

void InitLogging(std::string service, LogLevel min_level) {
  // The previous logger is leaked on purpose: another thread may still be using it.
  DefaultLoggerSlot().store(new Logger(std::move(service), min_level), std::memory_order_release);
  google::protobuf::SetLogHandler(&ProtobufLogLine);
}

Logger& DefaultLogger() { return *DefaultLoggerSlot().load(std::memory_order_acquire); }

void LogDebug(absl::string_view msg, absl::Span<const LogField> fields) {
  DefaultLogger().Log(LogLevel::kDebug, msg, fields);
}
void LogInfo(absl::string_view msg, absl::Span<const LogField> fields) {
  DefaultLogger().Log(LogLevel::kInfo, msg, fields);
}
void LogWarn(absl::string_view msg, absl::Span<const LogField> fields) {
  DefaultLogger().Log(LogLevel::kWarn, msg, fields);
}
void LogError(absl::string_view msg, absl::Span<const LogField> fields) {
  DefaultLogger().Log(LogLevel::kError, msg, fields);
}

ScopedRequestId::ScopedRequestId(std::string request_id)
    : id_(std::move(request_id)), previous_(current_request_id) {
  current_request_id = &id_;
}

ScopedRequestId::~ScopedRequestId() { current_request_id = previous_; }

absl::string_view CurrentRequestId() {
  return current_request_id == nullptr ? absl::string_view() : *current_request_id;
}

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  uint64_t high = absl::Uniform<uint64_t>(gen);
  uint64_t low = absl::Uniform<uint64_t>(gen);
  return absl::StrFormat("%016x%016x", high, low);
}

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string RequestIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find(grpc::string_ref(kRequestIdHeader));
  if (it != metadata.end()) {
    absl::string_view id(it->second.data(), it->second.size());
    if (IsValidRequestId(id)) return std::string(id);
  }
  return NewRequestId();
}

}  // namespace marketplace::common
