#include "common/logging.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace marketplace::common {
namespace {

using ::testing::MatchesRegex;
using ::testing::SizeIs;

using Json = nlohmann::json;

// Every line the logger wrote, each parsed as JSON (a line that does not parse fails the test).
std::vector<Json> ParseLines(const std::string& output) {
  std::vector<Json> lines;
  EXPECT_TRUE(output.empty() || output.back() == '\n') << output;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    Json parsed = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(parsed.is_object()) << line;
    lines.push_back(std::move(parsed));
  }
  return lines;
}

class LoggingTest : public ::testing::Test {
 protected:
  absl::Time start_ =
      absl::FromCivil(absl::CivilSecond(2027, 1, 15, 8, 0, 0), absl::UTCTimeZone()) +
      absl::Microseconds(123);
  ManualClock clock_{start_};
  std::ostringstream out_;
  Logger logger_{"payments", LogLevel::kDebug, &out_, &clock_};
};

TEST_F(LoggingTest, WritesOneJsonObjectPerLineWithTheEnvelope) {
  logger_.Log(LogLevel::kInfo, "escrow released");
  logger_.Log(LogLevel::kWarn, "slow query");

  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0]["ts"], "2027-01-15T08:00:00.000123Z");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["service"], "payments");
  EXPECT_EQ(lines[0]["msg"], "escrow released");
  EXPECT_FALSE(lines[0].contains("request_id"));
  EXPECT_EQ(lines[1]["level"], "warn");
}

TEST_F(LoggingTest, TimestampIsRfc3339UtcWithMicroseconds) {
  clock_.Set(absl::FromUnixMicros(1'800'000'000'000'007));
  logger_.Log(LogLevel::kInfo, "tick");
  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["ts"], "2027-01-15T08:00:00.000007Z");
  EXPECT_THAT(lines[0]["ts"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
}

TEST_F(LoggingTest, WritesTypedFields) {
  const std::string order_id = "o-17";
  logger_.Log(LogLevel::kInfo, "order placed",
              {{"order_id", order_id},
               {"amount_minor", int64_t{1250}},
               {"items", 3},
               {"gift", true},
               {"ratio", 0.25},
               {"note", "fragile"}});

  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["order_id"], "o-17");
  EXPECT_TRUE(lines[0]["amount_minor"].is_number_integer());
  EXPECT_EQ(lines[0]["amount_minor"], 1250);
  EXPECT_EQ(lines[0]["items"], 3);
  EXPECT_TRUE(lines[0]["gift"].is_boolean());
  EXPECT_EQ(lines[0]["gift"], true);
  EXPECT_DOUBLE_EQ(lines[0]["ratio"].get<double>(), 0.25);
  EXPECT_EQ(lines[0]["note"], "fragile");
}

TEST_F(LoggingTest, NonFiniteDoublesStayValidJson) {
  logger_.Log(
      LogLevel::kInfo, "odd numbers",
      {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}, {"big", 1e300}});
  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["nan"], "NaN");
  EXPECT_EQ(lines[0]["inf"], "+Inf");
  EXPECT_DOUBLE_EQ(lines[0]["big"].get<double>(), 1e300);
}

TEST_F(LoggingTest, NewlineInjectionStaysOnOneLine) {
  const std::string hostile =
      "ok\n{\"ts\":\"2020-01-01T00:00:00.000000Z\",\"level\":\"error\",\"msg\":\"forged\"}\r\n";
  logger_.Log(LogLevel::kInfo, hostile, {{"comment", hostile}, {hostile, "in the key"}});

  const std::string output = out_.str();
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  EXPECT_EQ(output.find('\r'), std::string::npos);
  std::vector<Json> lines = ParseLines(output);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["msg"], hostile);
  EXPECT_EQ(lines[0]["comment"], hostile);
  EXPECT_EQ(lines[0][hostile], "in the key");
}

TEST_F(LoggingTest, QuotesCannotForgeAField) {
  const std::string hostile = "x\",\"level\":\"error\",\"admin\":true,\"y\":\"";
  logger_.Log(LogLevel::kInfo, hostile, {{"user", hostile}});

  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_FALSE(lines[0].contains("admin"));
  EXPECT_EQ(lines[0]["msg"], hostile);
  EXPECT_EQ(lines[0]["user"], hostile);
}

TEST_F(LoggingTest, ControlCharactersAndBadUtf8AreEscaped) {
  const std::string value = std::string(
                                "a\x01"
                                "b\x1f"
                                "c\x7f"
                                "d\\e\te\b\f",
                                14) +
                            "caf\xC3\xA9 \xE2\x80\xA8 \xFF\xC3";
  logger_.Log(LogLevel::kInfo, value, {{"raw", value}});

  const std::string output = out_.str();
  for (char c : output.substr(0, output.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << output;
  }
  EXPECT_EQ(output.find("\xE2\x80\xA8"), std::string::npos) << "U+2028 must be escaped";
  std::vector<Json> lines = ParseLines(output);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["raw"], std::string("a\x01"
                                         "b\x1f"
                                         "c\x7f"
                                         "d\\e\te\b\f",
                                         14) +
                                 "caf\xC3\xA9 \xE2\x80\xA8 \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(LoggingTest, SensitiveFieldsAreRedacted) {
  logger_.Log(LogLevel::kInfo, "connecting",
              {{"password", "hunter2"},
               {"db_password", "hunter2"},
               {"Authorization", "Bearer abc.def"},
               {"refresh-token", "rt-1"},
               {"accessToken", "at-1"},
               {"client_secret", "cs-1"},
               {"private_key", "-----BEGIN"},
               {"PrivateKey", "-----BEGIN"},
               {"credentials", "c-1"},
               {"pin_attempts", 3},
               {"user", "alice"}});

  const std::string output = out_.str();
  for (const char* secret : {"hunter2", "abc.def", "rt-1", "at-1", "cs-1", "BEGIN", "c-1"}) {
    EXPECT_EQ(output.find(secret), std::string::npos) << secret << " leaked: " << output;
  }
  std::vector<Json> lines = ParseLines(output);
  ASSERT_THAT(lines, SizeIs(1));
  for (const char* key :
       {"password", "db_password", "Authorization", "refresh-token", "accessToken", "client_secret",
        "private_key", "PrivateKey", "credentials"}) {
    EXPECT_EQ(lines[0][key], "[REDACTED]") << key;
  }
  EXPECT_EQ(lines[0]["pin_attempts"], 3);
  EXPECT_EQ(lines[0]["user"], "alice");
}

TEST(IsSensitiveLogKeyTest, MatchesByWordIgnoringCaseAndSeparators) {
  EXPECT_TRUE(IsSensitiveLogKey("PASSWORD"));
  EXPECT_TRUE(IsSensitiveLogKey("x-api-token"));
  EXPECT_TRUE(IsSensitiveLogKey("private-key"));
  EXPECT_FALSE(IsSensitiveLogKey("order_id"));
  EXPECT_FALSE(IsSensitiveLogKey("private"));
}

TEST_F(LoggingTest, FieldsCannotOverwriteTheEnvelope) {
  logger_.Log(LogLevel::kInfo, "real", {{"level", "error"}, {"msg", "fake"}, {"ts", 0}});
  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["msg"], "real");
  EXPECT_EQ(lines[0]["field_level"], "error");
  EXPECT_EQ(lines[0]["field_msg"], "fake");
  EXPECT_EQ(lines[0]["field_ts"], 0);
}

TEST_F(LoggingTest, DropsLinesBelowTheMinimumLevel) {
  logger_.set_min_level(LogLevel::kWarn);
  logger_.Log(LogLevel::kDebug, "d");
  logger_.Log(LogLevel::kInfo, "i");
  logger_.Log(LogLevel::kWarn, "w");
  logger_.Log(LogLevel::kError, "e");
  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_FALSE(logger_.Enabled(LogLevel::kInfo));
}

TEST(ParseLogLevelTest, AcceptsTheFourNames) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "warn");
}

TEST_F(LoggingTest, RequestIdAppearsOnlyInsideItsScope) {
  logger_.Log(LogLevel::kInfo, "before");
  {
    ScopedRequestId outer("req-outer");
    logger_.Log(LogLevel::kInfo, "outer");
    {
      ScopedRequestId inner("req-inner");
      logger_.Log(LogLevel::kInfo, "inner");
    }
    logger_.Log(LogLevel::kInfo, "outer again");
    // Another thread has its own scope: the id does not leak onto unrelated work.
    std::thread([this] { logger_.Log(LogLevel::kInfo, "other thread"); }).join();
  }
  logger_.Log(LogLevel::kInfo, "after");

  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(6));
  EXPECT_FALSE(lines[0].contains("request_id"));
  EXPECT_EQ(lines[1]["request_id"], "req-outer");
  EXPECT_EQ(lines[2]["request_id"], "req-inner");
  EXPECT_EQ(lines[3]["request_id"], "req-outer");
  EXPECT_EQ(lines[4]["msg"], "other thread");
  EXPECT_FALSE(lines[4].contains("request_id"));
  EXPECT_FALSE(lines[5].contains("request_id"));
  EXPECT_EQ(CurrentRequestId(), "");
}

TEST_F(LoggingTest, ConcurrentLinesNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      ScopedRequestId scope("thread-" + std::to_string(t));
      for (int i = 0; i < kLinesPerThread; ++i) {
        logger_.Log(LogLevel::kInfo, std::string(200, 'x'), {{"thread", t}, {"i", i}});
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<Json> lines = ParseLines(out_.str());
  ASSERT_THAT(lines, SizeIs(kThreads * kLinesPerThread));
  for (const Json& line : lines) {
    EXPECT_EQ(line["request_id"], "thread-" + std::to_string(line["thread"].get<int>()));
  }
}

TEST(DefaultLoggerTest, FreeFunctionsUseTheProcessLogger) {
  InitLogging("identity", LogLevel::kWarn);
  EXPECT_EQ(DefaultLogger().service(), "identity");
  EXPECT_EQ(DefaultLogger().min_level(), LogLevel::kWarn);
  // Below the minimum: nothing is written, and the call compiles with typed fields.
  LogInfo("call failed", {{"method", std::string("/a.B/C")}, {"attempt", 2}});
}

// libprotobuf's own messages (here: a string field that is not UTF-8) are JSON lines of the
// process logger, not plain text.
TEST(DefaultLoggerTest, ProtobufMessagesAreJsonLines) {
  InitLogging("catalog", LogLevel::kInfo);
  google::protobuf::StringValue value;
  ::testing::internal::CaptureStderr();
  const bool parsed = value.ParseFromString(std::string("\x0a\x02\xc3\x28", 4));
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(parsed);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  ASSERT_EQ(lines.size(), 1u) << output;
  const nlohmann::json line = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << "not JSON: " << lines[0];
  EXPECT_EQ(line["service"], "catalog");
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["component"], "protobuf");
  EXPECT_TRUE(absl::StrContains(line["msg"].get<std::string>(), "invalid UTF-8")) << lines[0];
}

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::string IdFrom(const std::string& value) {
  Metadata metadata;
  metadata.emplace(grpc::string_ref(kRequestIdHeader), grpc::string_ref(value));
  return RequestIdFromMetadata(metadata);
}

TEST(RequestIdTest, KeepsAValidIncomingId) {
  EXPECT_EQ(IdFrom("abc-123"), "abc-123");
  EXPECT_EQ(IdFrom("trace:01.span_02-x"), "trace:01.span_02-x");
  const std::string longest(128, 'a');
  EXPECT_EQ(IdFrom(longest), longest);
}

TEST(RequestIdTest, ReplacesAnInvalidIncomingId) {
  const std::string too_long(129, 'a');
  for (const std::string& bad :
       {std::string(""), std::string("has space"), std::string("line\nbreak"),
        std::string("quote\""), std::string("{\"level\":\"error\"}"), too_long,
        std::string("caf\xC3\xA9")}) {
    std::string id = IdFrom(bad);
    EXPECT_NE(id, bad);
    EXPECT_THAT(id, MatchesRegex("[0-9a-f]{32}")) << "for " << bad;
  }
}

TEST(RequestIdTest, MakesANewIdWhenNoneIsSent) {
  Metadata metadata;
  const std::string other_value = "x";
  metadata.emplace(grpc::string_ref("x-other"), grpc::string_ref(other_value));
  std::string first = RequestIdFromMetadata(metadata);
  std::string second = RequestIdFromMetadata(metadata);
  EXPECT_THAT(first, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(first, second);
  EXPECT_TRUE(IsValidRequestId(first));
}

TEST(RequestIdTest, HeaderName) { EXPECT_STREQ(kRequestIdHeader, "x-request-id"); }

}  // namespace
}  // namespace marketplace::common
