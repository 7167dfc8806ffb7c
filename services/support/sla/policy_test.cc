#include "services/support/sla/policy.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/errors.h"
#include "common/money.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace marketplace::support::sla {
namespace {

std::string SeedFilePath() {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string relative = "services/support/sla/default_sla_policy.textproto";
  if (dir == nullptr) return relative;
  return absl::StrCat(dir, "/", workspace ? workspace : "marketplace", "/", relative);
}

std::string ReadSeedFile() {
  std::ifstream in(SeedFilePath());
  EXPECT_TRUE(in.good()) << SeedFilePath();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Time Berlin(int y, int m, int d, int hh, int mm) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &tz));
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), tz);
}

void ExpectTarget(const Policy& policy, v1::TicketLevel level, v1::Channel channel,
                  v1::SlaMetric metric, absl::Duration duration, v1::SlaMode mode) {
  const auto target = policy.TargetFor(level, channel, metric);
  ASSERT_TRUE(target.has_value()) << v1::TicketLevel_Name(level) << " " << v1::Channel_Name(channel)
                                  << " " << v1::SlaMetric_Name(metric);
  EXPECT_EQ(duration, target->duration) << v1::Channel_Name(channel);
  EXPECT_EQ(mode, target->mode);
}

TEST(DefaultPolicy, ShippedFileIsValidAndSaysWhatTheIssueSays) {
  auto loaded = LoadPolicyFile(SeedFilePath());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Policy& policy = *loaded;
  EXPECT_EQ(1, policy.version());

  const v1::Channel kChannels[] = {v1::EMAIL, v1::CHAT, v1::PHONE, v1::WEB_FORM};
  // L1 first reply: EMAIL 6 h, CHAT/PHONE/WEB_FORM 24 h.
  ExpectTarget(policy, v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, absl::Hours(6), v1::CALENDAR);
  for (v1::Channel c : {v1::CHAT, v1::PHONE, v1::WEB_FORM}) {
    ExpectTarget(policy, v1::L1_SELLER, c, v1::FIRST_REPLY, absl::Hours(24), v1::CALENDAR);
  }
  for (v1::Channel c : kChannels) {
    // L1 next reply 24 h; L1 window 48 h; L2 first reply 24 h; L2 requester wait 72 h.
    ExpectTarget(policy, v1::L1_SELLER, c, v1::NEXT_REPLY, absl::Hours(24), v1::CALENDAR);
    ExpectTarget(policy, v1::L1_SELLER, c, v1::L1_WINDOW, absl::Hours(48), v1::CALENDAR);
    ExpectTarget(policy, v1::L2_OPERATOR, c, v1::FIRST_REPLY, absl::Hours(24), v1::CALENDAR);
    ExpectTarget(policy, v1::L2_OPERATOR, c, v1::REQUESTER_WAIT, absl::Hours(72), v1::CALENDAR);
    // An agent's question to the seller at level 2: 24 h.
    ExpectTarget(policy, v1::L2_OPERATOR, c, v1::SELLER_REPLY, absl::Hours(24), v1::CALENDAR);
    // Nothing else runs a clock.
    EXPECT_FALSE(policy.TargetFor(v1::L1_SELLER, c, v1::REQUESTER_WAIT).has_value());
    EXPECT_FALSE(policy.TargetFor(v1::L2_OPERATOR, c, v1::NEXT_REPLY).has_value());
    EXPECT_FALSE(policy.TargetFor(v1::L2_OPERATOR, c, v1::L1_WINDOW).has_value());
  }
  EXPECT_EQ(7, policy.proto().targets_size());

  EXPECT_EQ(75, policy.warn_percent());
  EXPECT_EQ(absl::Hours(96), policy.close_after());
  EXPECT_EQ(absl::Hours(24), policy.csat_delay());

  // 30.00 EUR, and a positive cap in every currency the platform supports.
  auto eur = policy.AutoRefundCap("EUR");
  ASSERT_TRUE(eur.has_value());
  EXPECT_EQ(*common::Money::Of("EUR", 3000), *eur);
  const std::vector<std::string> codes =
      absl::StrSplit(common::SupportedCurrencyCodes(), ", ", absl::SkipEmpty());
  ASSERT_GT(codes.size(), 50u);
  for (const std::string& code : codes) {
    auto cap = policy.AutoRefundCap(code);
    ASSERT_TRUE(cap.has_value()) << code;
    EXPECT_GT(cap->amount_minor(), 0) << code;
  }
  EXPECT_EQ(static_cast<int>(codes.size()), policy.proto().auto_refund_caps_size());
  EXPECT_FALSE(policy.AutoRefundCap("XYZ").has_value());

  ASSERT_NE(nullptr, policy.schedule());
  EXPECT_EQ("Europe/Berlin", policy.schedule()->zone().name());
}

TEST(DefaultPolicy, CompiledInCopyIsTheShippedFile) {
  EXPECT_EQ(ReadSeedFile(), DefaultPolicyText());
  auto policy = DefaultPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(1, policy->version());
}

TEST(DefaultPolicy, ThreeBusinessDaysWindowIsTheOneCommentedLine) {
  const std::string text = ReadSeedFile();
  const std::string marker = "#   targets { level: L1_SELLER metric: L1_WINDOW";
  const size_t comment = text.find(marker);
  ASSERT_NE(std::string::npos, comment);
  const std::string variant = text.substr(comment + 4, text.find('\n', comment) - comment - 4);
  const std::string current =
      "targets { level: L1_SELLER metric: L1_WINDOW target { seconds: 172800 } mode: CALENDAR }";
  ASSERT_TRUE(absl::StrContains(text, absl::StrCat("\n", current, "\n")));
  const std::string changed = absl::StrReplaceAll(
      text, {{absl::StrCat("\n", current, "\n"), absl::StrCat("\n", variant, "\n")}});

  auto policy = ParsePolicyText(changed, "variant");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ExpectTarget(*policy, v1::L1_SELLER, v1::CHAT, v1::L1_WINDOW, absl::Hours(72), v1::BUSINESS);
  // Opened on a Friday afternoon: the buyer may escalate on Wednesday afternoon.
  EXPECT_EQ(Berlin(2026, 1, 21, 15, 0),
            policy->Add(v1::BUSINESS, Berlin(2026, 1, 16, 15, 0), absl::Hours(72)));
  // Opened on a Saturday: Monday, Tuesday, Wednesday.
  EXPECT_EQ(Berlin(2026, 1, 22, 0, 0),
            policy->Add(v1::BUSINESS, Berlin(2026, 1, 17, 11, 0), absl::Hours(72)));
  // Everything else stays as it was.
  ExpectTarget(*policy, v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY, absl::Hours(6), v1::CALENDAR);
}

// --- validation ---

v1::SlaPolicy Minimal() {
  v1::SlaPolicy proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        version: 3
        targets {
          level: L1_SELLER
          channel: EMAIL
          metric: FIRST_REPLY
          target { seconds: 3600 }
          mode: CALENDAR
        }
      )pb",
      &proto));
  return proto;
}

std::string Violation(const v1::SlaPolicy& proto, absl::string_view field = "") {
  auto policy = Policy::FromProto(proto, field);
  if (policy.ok()) return "OK";
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, policy.status().code());
  std::vector<std::string> parts;
  for (const auto& v : common::FieldViolationsOf(policy.status())) {
    parts.push_back(absl::StrCat(v.field, ": ", v.rule));
  }
  return absl::StrJoin(parts, "; ");
}

TEST(PolicyFromProto, MinimalPolicyGetsItsDefaults) {
  auto policy = Policy::FromProto(Minimal());
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(75, policy->warn_percent());
  EXPECT_EQ(75, policy->proto().warn_percent());
  EXPECT_EQ(absl::Hours(96), policy->close_after());
  EXPECT_EQ(345600, policy->proto().close_after().seconds());
  EXPECT_EQ(absl::Hours(24), policy->csat_delay());
  EXPECT_EQ(86400, policy->proto().csat_delay().seconds());
  EXPECT_EQ(nullptr, policy->schedule());
  EXPECT_FALSE(policy->AutoRefundCap("EUR").has_value());
}

TEST(PolicyFromProto, TargetRules) {
  v1::SlaPolicy p = Minimal();
  p.clear_targets();
  EXPECT_EQ("targets: at least one target is required", Violation(p));

  p = Minimal();
  p.mutable_targets(0)->mutable_target()->set_seconds(59);
  EXPECT_EQ("targets[0].target: must be 1 minute to 90 days", Violation(p));
  p.mutable_targets(0)->mutable_target()->set_seconds(60);
  EXPECT_EQ("OK", Violation(p));
  p.mutable_targets(0)->mutable_target()->set_seconds(90 * 86400);
  EXPECT_EQ("OK", Violation(p));
  p.mutable_targets(0)->mutable_target()->set_seconds(90 * 86400 + 1);
  EXPECT_EQ("targets[0].target: must be 1 minute to 90 days", Violation(p));
  p.mutable_targets(0)->mutable_target()->set_seconds(3600);
  p.mutable_targets(0)->mutable_target()->set_nanos(500);
  EXPECT_EQ("targets[0].target: must be whole seconds", Violation(p));
  p.mutable_targets(0)->mutable_target()->set_nanos(-500);
  EXPECT_EQ("targets[0].target: must be a valid google.protobuf.Duration", Violation(p));
  p.mutable_targets(0)->clear_target();
  EXPECT_EQ("targets[0].target: is required: 1 minute to 90 days", Violation(p));

  p = Minimal();
  p.mutable_targets(0)->set_level(v1::TICKET_LEVEL_UNSPECIFIED);
  EXPECT_EQ("targets[0].level: must be L1_SELLER or L2_OPERATOR", Violation(p));
  p = Minimal();
  p.mutable_targets(0)->set_channel(static_cast<v1::Channel>(99));
  EXPECT_EQ(
      "targets[0].channel: must be CHANNEL_UNSPECIFIED (every channel), EMAIL, CHAT, PHONE or "
      "WEB_FORM",
      Violation(p));
  p = Minimal();
  p.mutable_targets(0)->set_metric(v1::SLA_METRIC_UNSPECIFIED);
  EXPECT_EQ(
      "targets[0].metric: must be FIRST_REPLY, NEXT_REPLY, REQUESTER_WAIT, L1_WINDOW or "
      "SELLER_REPLY",
      Violation(p));
  p = Minimal();
  p.mutable_targets(0)->set_level(v1::L2_OPERATOR);
  p.mutable_targets(0)->set_metric(v1::L1_WINDOW);
  EXPECT_EQ("targets[0].metric: L1_WINDOW is for level L1_SELLER only", Violation(p));
  p = Minimal();
  p.mutable_targets(0)->set_level(v1::L1_SELLER);
  p.mutable_targets(0)->set_metric(v1::SELLER_REPLY);
  EXPECT_EQ("targets[0].metric: SELLER_REPLY is for level L2_OPERATOR only", Violation(p));
  p = Minimal();
  p.mutable_targets(0)->set_mode(v1::SLA_MODE_UNSPECIFIED);
  EXPECT_EQ("targets[0].mode: must be CALENDAR or BUSINESS", Violation(p));
}

TEST(PolicyFromProto, EachLevelChannelMetricAtMostOnce) {
  v1::SlaPolicy p = Minimal();
  *p.add_targets() = p.targets(0);
  p.mutable_targets(1)->set_channel(v1::CHAT);  // another channel: fine
  *p.add_targets() = p.targets(0);
  p.mutable_targets(2)->mutable_target()->set_seconds(7200);  // same key, other duration
  EXPECT_EQ(
      "targets[2]: duplicates targets[0] (L1_SELLER, EMAIL, FIRST_REPLY): each (level, channel, "
      "metric) at most once",
      Violation(p));
}

TEST(PolicyFromProto, BusinessTargetNeedsAValidSchedule) {
  v1::SlaPolicy p = Minimal();
  auto* t = p.add_targets();
  t->set_level(v1::L1_SELLER);
  t->set_metric(v1::L1_WINDOW);
  t->mutable_target()->set_seconds(3 * 86400);
  t->set_mode(v1::BUSINESS);
  EXPECT_EQ("schedule: is required when a target is BUSINESS (targets[1])", Violation(p));

  p.mutable_schedule()->set_time_zone("Europe/Berlin");
  EXPECT_EQ("schedule.hours: at least one interval is required", Violation(p));
  auto* h = p.mutable_schedule()->add_hours();
  h->set_weekday(1);
  h->set_open_minute(600);
  h->set_close_minute(540);
  EXPECT_EQ("policy.schedule.hours[0].close_minute: must be > open_minute", Violation(p, "policy"));
  h->set_close_minute(1020);
  EXPECT_EQ("OK", Violation(p));
}

TEST(PolicyFromProto, WarnPercent) {
  v1::SlaPolicy p = Minimal();
  for (int ok : {1, 50, 99}) {
    p.set_warn_percent(ok);
    auto policy = Policy::FromProto(p);
    ASSERT_TRUE(policy.ok()) << ok;
    EXPECT_EQ(ok, policy->warn_percent());
  }
  for (int bad : {-1, 100, 1000}) {
    p.set_warn_percent(bad);
    EXPECT_EQ("warn_percent: must be 1 to 99 (0 means 75)", Violation(p)) << bad;
  }
}

TEST(PolicyFromProto, CloseAfterAndCsatDelayBounds) {
  v1::SlaPolicy p = Minimal();
  p.mutable_close_after()->set_seconds(3599);
  EXPECT_EQ("close_after: must be 1 hour to 30 days (unset means 4 days)", Violation(p));
  p.mutable_close_after()->set_seconds(30 * 86400 + 1);
  EXPECT_EQ("close_after: must be 1 hour to 30 days (unset means 4 days)", Violation(p));
  p.mutable_close_after()->set_seconds(3600);
  auto policy = Policy::FromProto(p);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(absl::Hours(1), policy->close_after());

  p = Minimal();
  p.mutable_csat_delay()->set_seconds(0);  // set to zero: right away, not the default
  policy = Policy::FromProto(p);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(absl::ZeroDuration(), policy->csat_delay());
  EXPECT_TRUE(policy->proto().has_csat_delay());
  p.mutable_csat_delay()->set_seconds(7 * 86400 + 1);
  EXPECT_EQ("csat_delay: must be 0 to 7 days (unset means 24 hours)", Violation(p));
  p.mutable_csat_delay()->set_seconds(-1);
  EXPECT_EQ("csat_delay: must be 0 to 7 days (unset means 24 hours)", Violation(p));
}

TEST(PolicyFromProto, AutoRefundCaps) {
  v1::SlaPolicy p = Minimal();
  auto add = [&](const std::string& currency, int64_t amount) {
    auto* cap = p.add_auto_refund_caps()->mutable_cap();
    cap->set_currency_code(currency);
    cap->set_amount_minor(amount);
  };
  add("EUR", 3000);
  add("JPY", 5000);
  auto policy = Policy::FromProto(p);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(*common::Money::Of("JPY", 5000), *policy->AutoRefundCap("JPY"));

  add("EUR", 2000);
  EXPECT_EQ(
      "auto_refund_caps[2].cap.currency_code: duplicates auto_refund_caps[0] (EUR): each "
      "currency at most once",
      Violation(p));
  p.mutable_auto_refund_caps()->RemoveLast();
  add("USD", 0);
  EXPECT_EQ("auto_refund_caps[2].cap.amount_minor: must be > 0", Violation(p));
  p.mutable_auto_refund_caps()->RemoveLast();
  add("XYZ", 100);
  EXPECT_EQ(
      "auto_refund_caps[2].cap.currency_code: must be a supported upper-case ISO 4217 code such "
      "as EUR",
      Violation(p));
  p.mutable_auto_refund_caps()->RemoveLast();
  p.add_auto_refund_caps();
  EXPECT_EQ("auto_refund_caps[2].cap: is required: a Money with amount_minor > 0", Violation(p));
}

TEST(PolicyFromProto, EveryViolationAtOnceUnderTheGivenPath) {
  v1::SlaPolicy p = Minimal();
  p.set_version(-1);
  p.set_warn_percent(100);
  p.mutable_targets(0)->mutable_target()->set_seconds(1);
  p.mutable_csat_delay()->set_seconds(-5);
  EXPECT_EQ(
      "policy.version: must be >= 0; policy.targets[0].target: must be 1 minute to 90 days; "
      "policy.warn_percent: must be 1 to 99 (0 means 75); policy.csat_delay: must be 0 to 7 "
      "days (unset means 24 hours)",
      Violation(p, "policy"));
}

TEST(PolicyTargetFor, OwnChannelFirstThenEveryChannelEntry) {
  v1::SlaPolicy p;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        targets {
          level: L1_SELLER
          channel: CHAT
          metric: FIRST_REPLY
          target { seconds: 600 }
          mode: CALENDAR
        }
        targets {
          level: L1_SELLER
          metric: FIRST_REPLY
          target { seconds: 7200 }
          mode: CALENDAR
        }
        targets {
          level: L2_OPERATOR
          channel: PHONE
          metric: FIRST_REPLY
          target { seconds: 900 }
          mode: CALENDAR
        }
      )pb",
      &p));
  auto policy = Policy::FromProto(p);
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto chat = policy->TargetFor(v1::L1_SELLER, v1::CHAT, v1::FIRST_REPLY);
  ASSERT_TRUE(chat.has_value());
  EXPECT_EQ(absl::Minutes(10), chat->duration);
  EXPECT_EQ(v1::CHAT, chat->channel);
  auto email = policy->TargetFor(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY);
  ASSERT_TRUE(email.has_value());
  EXPECT_EQ(absl::Hours(2), email->duration);
  EXPECT_EQ(v1::CHANNEL_UNSPECIFIED, email->channel);
  // No every-channel entry at level 2: only PHONE has a target there.
  EXPECT_TRUE(policy->TargetFor(v1::L2_OPERATOR, v1::PHONE, v1::FIRST_REPLY).has_value());
  EXPECT_FALSE(policy->TargetFor(v1::L2_OPERATOR, v1::EMAIL, v1::FIRST_REPLY).has_value());
  EXPECT_FALSE(policy->TargetFor(v1::L1_SELLER, v1::EMAIL, v1::NEXT_REPLY).has_value());
}

// --- loading ---

TEST(ParsePolicyText, SyntaxErrorNamesSourceLineAndColumn) {
  auto policy = ParsePolicyText("version: 1\ntargets { level: L3_NOBODY }\n", "seed.textproto");
  ASSERT_EQ(absl::StatusCode::kInvalidArgument, policy.status().code());
  EXPECT_TRUE(absl::StartsWith(policy.status().message(), "seed.textproto:2:")) << policy.status();
  EXPECT_TRUE(absl::StrContains(policy.status().message(), "L3_NOBODY")) << policy.status();
}

TEST(ParsePolicyText, MisspelledFieldIsAnErrorNotIgnored) {
  auto policy = ParsePolicyText("version: 1\nwarn_percnt: 80\n", "seed.textproto");
  ASSERT_EQ(absl::StatusCode::kInvalidArgument, policy.status().code());
  EXPECT_TRUE(absl::StartsWith(policy.status().message(), "seed.textproto:2:")) << policy.status();
  EXPECT_TRUE(absl::StrContains(policy.status().message(), "warn_percnt")) << policy.status();
}

TEST(ParsePolicyText, RuleViolationKeepsFieldViolationsAndNamesTheSource) {
  auto policy = ParsePolicyText("version: 1 warn_percent: 150", "seed.textproto");
  ASSERT_EQ(absl::StatusCode::kInvalidArgument, policy.status().code());
  EXPECT_TRUE(absl::StartsWith(policy.status().message(), "seed.textproto: ")) << policy.status();
  std::vector<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(policy.status())) fields.push_back(v.field);
  EXPECT_EQ((std::vector<std::string>{"targets", "warn_percent"}), fields);
}

TEST(LoadPolicyFile, MissingFileIsNotFound) {
  EXPECT_EQ(absl::StatusCode::kNotFound,
            LoadPolicyFile("/nonexistent/sla_policy.textproto").status().code());
}

TEST(PolicyArithmetic, CalendarIsWallTimeBusinessFollowsTheSchedule) {
  auto policy = DefaultPolicy();
  ASSERT_TRUE(policy.ok());
  const absl::Time friday = Berlin(2026, 1, 16, 22, 0);
  EXPECT_EQ(friday + absl::Hours(6), policy->Add(v1::CALENDAR, friday, absl::Hours(6)));
  // Weekdays only: 2 h left on Friday, then Monday from midnight.
  EXPECT_EQ(Berlin(2026, 1, 19, 4, 0), policy->Add(v1::BUSINESS, friday, absl::Hours(6)));
  EXPECT_EQ(absl::Hours(6), policy->Between(v1::BUSINESS, friday, Berlin(2026, 1, 19, 4, 0)));
  EXPECT_EQ(absl::Hours(54), policy->Between(v1::CALENDAR, friday, Berlin(2026, 1, 19, 4, 0)));
}

}  // namespace
}  // namespace marketplace::support::sla
