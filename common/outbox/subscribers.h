#ifndef MARKETPLACE_COMMON_OUTBOX_SUBSCRIBERS_H_
#define MARKETPLACE_COMMON_OUTBOX_SUBSCRIBERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config.h"

namespace marketplace::common::outbox {

// One subscriber of a service's events, as configured.
struct SubscriberSpec {
  std::string name;                         // its delivery state: 1-64 of [a-z0-9_-]
  std::string target;                       // where its Publisher delivers (gRPC target)
  std::vector<std::string> topic_prefixes;  // topics it receives; "*": all
};

// Parses the --event_subscribers grammar (common/outbox/README.md):
//   subscribers := "" | subscriber ("," subscriber)*
//   subscriber  := name "=" target ":" prefixes
//   prefixes    := prefix ("|" prefix)*
//   name        := 1-64 of [a-z0-9_-], unique in the list
//   target      := a gRPC target, everything up to the LAST ":" ("host:port", "[::1]:7005",
//                  "dns:///sellerkpi:7000")
//   prefix      := "*" (every topic) | a letter [a-z] then up to 254 of [a-z0-9._]
// e.g. "sellerkpi=sellerkpi:7000:payments.,support=support:7000:payments.payment_held".
// Blanks around the items are ignored. INVALID_ARGUMENT naming the item and the rule.
[[nodiscard]] absl::StatusOr<std::vector<SubscriberSpec>> ParseSubscriberSpecs(
    absl::string_view text);

// The relay settings a service that emits events shares: --event_subscribers (its default
// given by the service) and --event_max_refusals.
struct RelayConfig {
  std::string subscribers;
  int64_t max_refusals = 5;
};
void AddRelayFlags(Flags& flags, RelayConfig* config, std::string default_subscribers);

}  // namespace marketplace::common::outbox

#endif  // MARKETPLACE_COMMON_OUTBOX_SUBSCRIBERS_H_
