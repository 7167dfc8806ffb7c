#include "services/support/sla/policy.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/money_proto.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace marketplace::support::sla {

// The seed file's bytes, generated from default_sla_policy.textproto (see BUILD).
const std::vector<std::pair<std::string, std::string>>& EmbeddedSlaPolicyFiles();

namespace {

constexpr int64_t kMaxProtoDurationSeconds = 315'576'000'000;  // google.protobuf.Duration
constexpr absl::Duration kMinTarget = absl::Minutes(1);
constexpr absl::Duration kMaxTarget = absl::Hours(90 * 24);
constexpr absl::Duration kMinCloseAfter = absl::Hours(1);
constexpr absl::Duration kMaxCloseAfter = absl::Hours(30 * 24);
constexpr absl::Duration kMaxCsatDelay = absl::Hours(7 * 24);

std::string Path(absl::string_view prefix, absl::string_view rest) {
  return prefix.empty() ? std::string(rest) : absl::StrCat(prefix, ".", rest);
}

// A google.protobuf.Duration as absl::Duration, or nullopt when it breaks the type's own
// rules (range, nanos range, signs of seconds and nanos).
std::optional<absl::Duration> DurationOf(const google::protobuf::Duration& d) {
  if (d.seconds() < -kMaxProtoDurationSeconds || d.seconds() > kMaxProtoDurationSeconds ||
      d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return std::nullopt;
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
}

std::string TargetName(const v1::SlaTarget& t) {
  return absl::StrCat("(", v1::TicketLevel_Name(t.level()), ", ", v1::Channel_Name(t.channel()),
                      ", ", v1::SlaMetric_Name(t.metric()), ")");
}

class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

}  // namespace

absl::StatusOr<Policy> Policy::FromProto(const v1::SlaPolicy& proto, absl::string_view field) {
  common::Violations violations;
  Policy policy;
  policy.proto_ = proto;

  if (proto.version() < 0) violations.Add(Path(field, "version"), "must be >= 0");

  if (proto.has_schedule()) {
    auto schedule = common::BusinessSchedule::FromProto(proto.schedule(), Path(field, "schedule"));
    if (schedule.ok()) {
      policy.schedule_ = *std::move(schedule);
    } else {
      violations.Check(schedule.status());
    }
  }

  if (proto.targets_size() == 0) {
    violations.Add(Path(field, "targets"), "at least one target is required");
  }
  std::map<Key, int> seen;  // key -> index of its first entry
  int first_business = -1;
  for (int i = 0; i < proto.targets_size(); ++i) {
    const v1::SlaTarget& t = proto.targets(i);
    const std::string at = Path(field, absl::StrCat("targets[", i, "]"));
    bool ok = true;
    if (t.level() != v1::L1_SELLER && t.level() != v1::L2_OPERATOR) {
      violations.Add(absl::StrCat(at, ".level"), "must be L1_SELLER or L2_OPERATOR");
      ok = false;
    }
    if (!v1::Channel_IsValid(t.channel())) {
      violations.Add(absl::StrCat(at, ".channel"),
                     "must be CHANNEL_UNSPECIFIED (every channel), EMAIL, CHAT, PHONE or WEB_FORM");
      ok = false;
    }
    if (t.metric() == v1::SLA_METRIC_UNSPECIFIED || !v1::SlaMetric_IsValid(t.metric())) {
      violations.Add(absl::StrCat(at, ".metric"),
                     "must be FIRST_REPLY, NEXT_REPLY, REQUESTER_WAIT, L1_WINDOW or SELLER_REPLY");
      ok = false;
    } else if (t.metric() == v1::L1_WINDOW && t.level() == v1::L2_OPERATOR) {
      violations.Add(absl::StrCat(at, ".metric"), "L1_WINDOW is for level L1_SELLER only");
      ok = false;
    } else if (t.metric() == v1::SELLER_REPLY && t.level() == v1::L1_SELLER) {
      violations.Add(absl::StrCat(at, ".metric"), "SELLER_REPLY is for level L2_OPERATOR only");
      ok = false;
    }
    std::optional<absl::Duration> duration;
    if (!t.has_target()) {
      violations.Add(absl::StrCat(at, ".target"), "is required: 1 minute to 90 days");
    } else if (!(duration = DurationOf(t.target()))) {
      violations.Add(absl::StrCat(at, ".target"), "must be a valid google.protobuf.Duration");
    } else if (t.target().nanos() != 0) {
      violations.Add(absl::StrCat(at, ".target"), "must be whole seconds");
      duration.reset();
    } else if (*duration < kMinTarget || *duration > kMaxTarget) {
      violations.Add(absl::StrCat(at, ".target"), "must be 1 minute to 90 days");
      duration.reset();
    }
    if (t.mode() != v1::CALENDAR && t.mode() != v1::BUSINESS) {
      violations.Add(absl::StrCat(at, ".mode"), "must be CALENDAR or BUSINESS");
      ok = false;
    } else if (t.mode() == v1::BUSINESS && first_business < 0) {
      first_business = i;
    }
    if (!ok) continue;
    const Key key{t.level(), t.channel(), t.metric()};
    auto [it, inserted] = seen.emplace(key, i);
    if (!inserted) {
      violations.Add(at, absl::StrCat("duplicates targets[", it->second, "] ", TargetName(t),
                                      ": each (level, channel, metric) at most once"));
      continue;
    }
    if (duration) {
      policy.targets_[key] = Target{t.level(), t.channel(), t.metric(), *duration, t.mode()};
    }
  }
  if (first_business >= 0 && !proto.has_schedule()) {
    violations.Add(
        Path(field, "schedule"),
        absl::StrCat("is required when a target is BUSINESS (targets[", first_business, "])"));
  }

  if (proto.warn_percent() < 0 || proto.warn_percent() > 99) {
    violations.Add(Path(field, "warn_percent"), "must be 1 to 99 (0 means 75)");
  } else if (proto.warn_percent() == 0) {
    policy.proto_.set_warn_percent(kDefaultWarnPercent);
  }

  std::map<std::string, int> currencies;  // currency -> index of its first entry
  for (int i = 0; i < proto.auto_refund_caps_size(); ++i) {
    const std::string at = Path(field, absl::StrCat("auto_refund_caps[", i, "].cap"));
    if (!proto.auto_refund_caps(i).has_cap()) {
      violations.Add(at, "is required: a Money with amount_minor > 0");
      continue;
    }
    auto cap =
        common::MoneyFromProto(proto.auto_refund_caps(i).cap(), at, common::AmountRule::kPositive);
    if (!cap.ok()) {
      violations.Check(cap.status());
      continue;
    }
    auto [it, inserted] = currencies.emplace(cap->currency_code(), i);
    if (!inserted) {
      violations.Add(absl::StrCat(at, ".currency_code"),
                     absl::StrCat("duplicates auto_refund_caps[", it->second, "] (",
                                  cap->currency_code(), "): each currency at most once"));
      continue;
    }
    policy.caps_.emplace(cap->currency_code(), *cap);
  }

  policy.close_after_ = kDefaultCloseAfter;
  if (proto.has_close_after()) {
    const auto d = DurationOf(proto.close_after());
    if (!d || *d < kMinCloseAfter || *d > kMaxCloseAfter) {
      violations.Add(Path(field, "close_after"), "must be 1 hour to 30 days (unset means 4 days)");
    } else {
      policy.close_after_ = *d;
    }
  }
  policy.csat_delay_ = kDefaultCsatDelay;
  if (proto.has_csat_delay()) {
    const auto d = DurationOf(proto.csat_delay());
    if (!d || *d < absl::ZeroDuration() || *d > kMaxCsatDelay) {
      violations.Add(Path(field, "csat_delay"), "must be 0 to 7 days (unset means 24 hours)");
    } else {
      policy.csat_delay_ = *d;
    }
  }

  if (!violations.empty()) return violations.Status();
  SetDuration(policy.close_after_, policy.proto_.mutable_close_after());
  SetDuration(policy.csat_delay_, policy.proto_.mutable_csat_delay());
  return policy;
}

std::optional<Target> Policy::TargetFor(v1::TicketLevel level, v1::Channel channel,
                                        v1::SlaMetric metric) const {
  auto it = targets_.find(Key{level, channel, metric});
  if (it == targets_.end()) it = targets_.find(Key{level, v1::CHANNEL_UNSPECIFIED, metric});
  if (it == targets_.end()) return std::nullopt;
  return it->second;
}

std::optional<common::Money> Policy::AutoRefundCap(absl::string_view currency_code) const {
  auto it = caps_.find(currency_code);
  if (it == caps_.end()) return std::nullopt;
  return it->second;
}

absl::Time Policy::Add(v1::SlaMode mode, absl::Time start, absl::Duration d) const {
  if (mode == v1::BUSINESS && schedule_) return common::AddBusinessTime(start, d, *schedule_);
  if (d <= absl::ZeroDuration()) return start;
  return start + d;
}

absl::Duration Policy::Between(v1::SlaMode mode, absl::Time a, absl::Time b) const {
  if (mode == v1::BUSINESS && schedule_) return common::BusinessTimeBetween(a, b, *schedule_);
  return b - a;
}

absl::StatusOr<Policy> ParsePolicyText(absl::string_view text, absl::string_view source) {
  v1::SlaPolicy proto;
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &proto)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", errors.error()));
  }
  auto policy = Policy::FromProto(proto);
  if (!policy.ok()) {
    absl::Status status(policy.status().code(),
                        absl::StrCat(source, ": ", policy.status().message()));
    policy.status().ForEachPayload(
        [&](absl::string_view url, const absl::Cord& payload) { status.SetPayload(url, payload); });
    return status;
  }
  return policy;
}

absl::StatusOr<Policy> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read SLA policy file ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read SLA policy file ", path));
  return ParsePolicyText(text.str(), path);
}

absl::string_view DefaultPolicyText() { return EmbeddedSlaPolicyFiles().front().second; }

absl::StatusOr<Policy> DefaultPolicy() {
  return ParsePolicyText(DefaultPolicyText(), "default_sla_policy.textproto");
}

}  // namespace marketplace::support::sla
