#include "common/outbox/subscribers.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace marketplace::common::outbox {
namespace {

constexpr char kFlag[] = "event_subscribers";

absl::Status Bad(absl::string_view item, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(kFlag, ": '", item, "': ", rule));
}

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsValidPrefix(absl::string_view prefix) {
  if (prefix == "*") return true;
  if (prefix.empty() || prefix.size() > 255 || !absl::ascii_islower(prefix[0])) return false;
  for (char c : prefix) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '.' && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<SubscriberSpec>> ParseSubscriberSpecs(absl::string_view text) {
  std::vector<SubscriberSpec> specs;
  if (absl::StripAsciiWhitespace(text).empty()) return specs;
  std::set<std::string> names;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    const size_t equals = item.find('=');
    if (equals == absl::string_view::npos) return Bad(item, "must be name=target:prefixes");
    SubscriberSpec spec;
    spec.name = std::string(absl::StripAsciiWhitespace(item.substr(0, equals)));
    if (!IsValidName(spec.name)) return Bad(item, "the name must be 1-64 of [a-z0-9_-]");
    if (!names.insert(spec.name).second) return Bad(item, "the name is used twice");
    const absl::string_view rest = item.substr(equals + 1);
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return Bad(item, "must be name=target:prefixes (target such as host:port)");
    }
    spec.target = std::string(rest.substr(0, colon));
    // A target ends in a port: "host:port", "[::1]:7005", "dns:///host:port".
    const size_t port_colon = spec.target.rfind(':');
    if (port_colon == std::string::npos || port_colon == 0 ||
        port_colon + 1 == spec.target.size() || spec.target[port_colon - 1] == ':' ||
        spec.target.find_first_not_of("0123456789", port_colon + 1) != std::string::npos) {
      return Bad(item, "the target must be host:port (e.g. sellerkpi:7000, [::1]:7005)");
    }
    for (absl::string_view prefix : absl::StrSplit(rest.substr(colon + 1), '|')) {
      if (!IsValidPrefix(prefix)) {
        return Bad(item,
                   "each topic prefix (separated by '|') must be '*' or a letter [a-z] then "
                   "[a-z0-9._], at most 255 characters");
      }
      spec.topic_prefixes.emplace_back(prefix);
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

void AddRelayFlags(Flags& flags, RelayConfig* config, std::string default_subscribers) {
  flags.AddString(kFlag, &config->subscribers, std::move(default_subscribers),
                  "Who receives this service's events: name=host:port:prefix[|prefix...], "
                  "comma-separated; each subscriber gets every event whose topic starts with one "
                  "of its prefixes ('*': all), with its own delivery state. Empty: no relay "
                  "runs and events wait in outbox_events (common/outbox/README.md).");
  flags.AddInt64("event_max_refusals", &config->max_refusals, 5, 1, 1000,
                 "Refusals (INVALID_ARGUMENT or FAILED_PRECONDITION) after which a subscriber's "
                 "event goes to outbox_dead_letters and the next event of its key proceeds.");
}

}  // namespace marketplace::common::outbox
