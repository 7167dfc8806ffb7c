#ifndef MARKETPLACE_COMMON_CLIENT_CALL_ORIGIN_H_
#define MARKETPLACE_COMMON_CLIENT_CALL_ORIGIN_H_

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace marketplace::common {

// The call being served on whose behalf a service calls another one (identity, a payment
// processor): the outgoing call carries its deadline (never later than the caller's) and its
// x-request-id, as the top README promises. Empty: a background call (workers), made with
// the callee's own timeout and no request id. No gRPC here, so interfaces can take it.
struct CallOrigin {
  // The caller's deadline, if it set one.
  std::optional<absl::Time> deadline;
  // x-request-id of the call being served.
  std::string request_id;

  // Whether the caller's deadline has passed at `now`: nothing is started for it then.
  bool Expired(absl::Time now) const { return deadline.has_value() && now >= *deadline; }
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_CLIENT_CALL_ORIGIN_H_
