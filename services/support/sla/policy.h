#ifndef MARKETPLACE_SERVICES_SUPPORT_SLA_POLICY_H_
#define MARKETPLACE_SERVICES_SUPPORT_SLA_POLICY_H_

#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/money.h"
#include "common/time/business_time.h"
#include "protos/marketplace/support/v1/sla.pb.h"

namespace marketplace::support::sla {

// One target of a policy, as the clocks use it.
struct Target {
  v1::TicketLevel level = v1::TICKET_LEVEL_UNSPECIFIED;
  // The channel of the matching entry: the ticket's own channel, or CHANNEL_UNSPECIFIED when
  // the policy's every-channel entry applied.
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
  v1::SlaMetric metric = v1::SLA_METRIC_UNSPECIFIED;
  absl::Duration duration;                      // 1 minute to 90 days, whole seconds
  v1::SlaMode mode = v1::SLA_MODE_UNSPECIFIED;  // CALENDAR or BUSINESS
};

// A validated SLA policy (marketplace.support.v1.SlaPolicy) with its defaults applied. Built
// only by FromProto (or the loaders below), so every Policy obeys every rule. Immutable and
// safe to use from many threads at once; copyable; share one per version (e.g.
// std::shared_ptr<const Policy>).
class Policy {
 public:
  static constexpr int kDefaultWarnPercent = 75;
  static constexpr absl::Duration kDefaultCloseAfter = absl::Hours(4 * 24);
  static constexpr absl::Duration kDefaultCsatDelay = absl::Hours(24);

  // Validates `proto`; every violation is INVALID_ARGUMENT naming the field below `field`
  // ("" for the top: "targets[2].target"; "policy" for a request field:
  // "policy.targets[2].target"), all in one status. The rules (sla.proto's comments):
  //  - version >= 0 (assigned by the store; the seed is 1);
  //  - schedule: valid when present (common/time/business_time.h), required when any target
  //    is BUSINESS;
  //  - targets: at least one; level L1_SELLER or L2_OPERATOR; channel any Channel value
  //    (CHANNEL_UNSPECIFIED = every channel without its own entry); metric one of the four,
  //    L1_WINDOW at L1_SELLER only; target 1 minute to 90 days in whole seconds; mode CALENDAR
  //    or BUSINESS; each (level, channel, metric) at most once;
  //  - warn_percent: 0 (means 75) or 1 to 99;
  //  - auto_refund_caps: each cap a valid Money (supported currency, amount_minor > 0, at most
  //    10^13), each currency at most once;
  //  - close_after: unset (means 4 days) or 1 hour to 30 days;
  //  - csat_delay: unset (means 24 hours) or 0 to 7 days.
  // updated_at and updated_by are output only and kept as given.
  static absl::StatusOr<Policy> FromProto(const v1::SlaPolicy& proto, absl::string_view field = "");

  // The policy as given, with warn_percent, close_after and csat_delay filled in with their
  // effective values: what GetSlaPolicy shows and what the store keeps.
  const v1::SlaPolicy& proto() const { return proto_; }

  int64_t version() const { return proto_.version(); }
  int warn_percent() const { return proto_.warn_percent(); }
  absl::Duration close_after() const { return close_after_; }
  absl::Duration csat_delay() const { return csat_delay_; }

  // The business schedule, or nullptr when the policy has none.
  const common::BusinessSchedule* schedule() const { return schedule_ ? &*schedule_ : nullptr; }

  // The target for a ticket at `level` from `channel`: the entry for exactly that channel,
  // else the level's CHANNEL_UNSPECIFIED entry for `metric`, else none (no clock runs).
  std::optional<Target> TargetFor(v1::TicketLevel level, v1::Channel channel,
                                  v1::SlaMetric metric) const;

  // The cap of refunds granted at once in `currency_code`, or none: that currency never
  // refunds at once.
  std::optional<common::Money> AutoRefundCap(absl::string_view currency_code) const;

  // `start` + `d` counted in `mode`: wall time (CALENDAR) or business time of the policy's
  // schedule (BUSINESS; see common::AddBusinessTime). BUSINESS without a schedule counts wall
  // time (a validated policy has a schedule whenever a target is BUSINESS).
  absl::Time Add(v1::SlaMode mode, absl::Time start, absl::Duration d) const;
  // The time in [a, b) counted in `mode` (negative when b < a).
  absl::Duration Between(v1::SlaMode mode, absl::Time a, absl::Time b) const;

 private:
  using Key = std::tuple<int, int, int>;  // level, channel, metric

  Policy() = default;

  v1::SlaPolicy proto_;
  std::optional<common::BusinessSchedule> schedule_;
  std::map<Key, Target> targets_;
  std::map<std::string, common::Money, std::less<>> caps_;
  absl::Duration close_after_;
  absl::Duration csat_delay_;
};

// Parses a policy in protobuf text format and validates it (Policy::FromProto). A text that
// does not parse is INVALID_ARGUMENT "<source>:<line>:<column>: <what>"; a policy that breaks
// a rule is INVALID_ARGUMENT with its field violations, the message prefixed by "<source>: ".
absl::StatusOr<Policy> ParsePolicyText(absl::string_view text, absl::string_view source);

// Reads `path` and parses it as above. NOT_FOUND when the file cannot be read.
absl::StatusOr<Policy> LoadPolicyFile(const std::string& path);

// The policy shipped in services/support/sla/default_sla_policy.textproto (compiled into the
// binary), the seed a new support database starts from when no seed file is configured.
absl::string_view DefaultPolicyText();
absl::StatusOr<Policy> DefaultPolicy();

}  // namespace marketplace::support::sla

#endif  // MARKETPLACE_SERVICES_SUPPORT_SLA_POLICY_H_
